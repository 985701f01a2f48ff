"""``python -m pipeline.attack``: attack a dataset's encrypted variant; write what an adversary recovers.

    python -m pipeline.attack --dataset fashion --scheme vor --kind ciphertext-only --kind known-plaintext

writes ``<out>/<dataset>_<scheme>_<kind>.json`` and a ``.png`` strip per kind (threat model,
methods and scores: :mod:`pipeline.evaluate.evaluation`). The true key is used only to score (key
share); it comes from the same options as for encrypting, completed from what the encrypt
stage recorded (``--no-key-share`` attacks without it).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from workbench.cli import at_least, meaning, refuse_given, run, typer_app
from workbench.paths import check_input, check_writable
from pipeline.encrypt.options import (
    DATA_DIR,
    DATASET,
    DatasetName,
    SchemeName,
    chosen_scheme,
    key_options,
    with_key_options,
)
from pipeline.encrypt.stage import recorded_options, variant_of
from pipeline.errors import PipelineError
from pipeline.evaluate.attack_data import load_attack_data, true_key
from pipeline.evaluate.attack_files import write_results, write_strip
from pipeline.evaluate.attack_methods.method import KINDS
from pipeline.evaluate.evaluation import DEFAULT_PAIRS, Evaluation, run_attacks
from pipeline.evaluate.recognisability import check_device, default_epochs, make_accuracy

app = typer_app(__doc__)


@app.command()
@with_key_options
def main(
    context: typer.Context,
    dataset: DatasetName = DATASET,
    scheme: Optional[SchemeName] = typer.Option(None, "--scheme", help=meaning("--scheme", "of the encrypted variant data/<dataset>/<scheme> (python -m pipeline.schemes)")),
    kind: List[str] = typer.Option(..., "--kind", help=meaning("--kind", f"{' and/or '.join(KINDS)} (repeat to run several on one loading)")),
    pairs: List[int] = typer.Option(list(DEFAULT_PAIRS), "--pairs", help="known-plaintext: numbers k of known pairs (repeat)"),
    data_dir: Path = DATA_DIR,
    out: Path = typer.Option(Path("results/attacks"), "--out", help=meaning("--out", "the results folder")),
    recognisability: bool = typer.Option(True, "--recognisability/--no-recognisability", help=meaning("--recognisability")),
    epochs: Optional[int] = typer.Option(None, "--epochs", help=meaning("--epochs", "of the recognisability classifier [default: enough for ~30,000 samples, at least 2]")),
    seed: int = typer.Option(0, "--seed", help=meaning("--seed", "the recognisability classifier's training")),
    device: str = typer.Option("cpu", "--device", help=meaning("--device", "of the recognisability classifier (auto, cpu, cuda)")),
    classifier_cache: Optional[Path] = typer.Option(Path("results/attacks/classifiers"), "--classifier-cache", help=meaning("--classifier-cache")),
    key_share: bool = typer.Option(True, "--key-share/--no-key-share", help="score the key share against the true key"),
    key_given: dict = None,
) -> None:
    """Attack DATASET's SCHEME variant; write <out>/<dataset>_<variant>_<kind>.json and .png (variant: SCHEME, or SCHEME-k<key seed>)."""
    chosen, spec = chosen_scheme(scheme, dataset, data_dir)
    for k in kind:
        if k not in KINDS:
            raise PipelineError(f"--kind: unknown attack kind {k!r}; choose {' or '.join(KINDS)}")
    if "known-plaintext" not in kind:
        refuse_given(context, ["pairs"], "only --kind known-plaintext takes it")
    for k in pairs:
        at_least(k, "--pairs", 1)
    if not recognisability:
        refuse_given(context, ["epochs", "seed", "device", "classifier_cache"],
                     "it sets the recognisability classifier, which --no-recognisability switches off")
    at_least(epochs, "--epochs", 1)
    at_least(seed, "--seed", 0)
    check_device(device)
    check_input(data_dir, "--data-dir", folder=True, optional=True)
    check_writable(out, folder=True)
    if recognisability and classifier_cache is not None:
        check_writable(classifier_cache, folder=True, option="--classifier-cache")
    given = key_options(chosen, data_dir, **key_given)
    variant = variant_of(chosen, given)  # the folder the given key seed names, not the one its record holds
    options = recorded_options(chosen, spec, given)
    start = time.perf_counter()
    key = chosen.key(spec, options) if key_share else None
    data = load_attack_data(data_dir, spec, chosen, key, variant, stream=True)  # v7.3 splits stay in their files
    truth = true_key(chosen, key, data) if key_share else None
    epochs = epochs or default_epochs(data)
    accuracy, info = (make_accuracy(data, epochs=epochs, seed=seed, device=device, cache=classifier_cache, data_dir=data_dir)
                      if recognisability else (None, None))
    evaluation = Evaluation(data, chosen, truth=truth, block_size=chosen.public_block_size(spec, options), accuracy=accuracy)
    baselines = evaluation.baselines()
    for skip in evaluation.skipped():
        typer.echo(f"skipped {skip['method']}: {skip['reason']}")
    for k in kind:
        kind_start = time.perf_counter()
        outcomes = run_attacks(evaluation, k, tuple(sorted(set(pairs))))
        stem = out / f"{spec.name}_{variant}_{k}"
        write_results(stem.with_suffix(".json"), evaluation, k, outcomes, baselines, info, time.perf_counter() - kind_start, options.key_seed)
        write_strip(stem.with_suffix(".png"), evaluation, outcomes)
        for o in outcomes:
            r = o.record
            share = (r["key_share"] or {}).get("exact", (r["key_share"] or {}).get("per_image_exact"))
            typer.echo(
                f"{k:16s} {r['method']:11s} k={r['pairs']!s:4s} stats={r['uses_statistics']!s:5s} key={share if share is None else round(share, 4)!s:6s} "
                f"psnr={r['psnr']:.2f} ssim={r['ssim']:.3f} acc={r['accuracy']} ({r['seconds']} s)"
            )
    typer.echo(f"wrote {out}/{spec.name}_{variant}_*.json in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    run(app)
