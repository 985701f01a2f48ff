"""CLI: see :mod:`pipeline.evaluate.attack`."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, List, Optional
import numpy as np
import typer
from pipeline.errors import PipelineError
from pipeline.evaluate.attack import DEFAULT_PAIRS, Evaluation, KINDS, RECOGNISABILITY_SAMPLES, _flat, etc_block_size, load_attack_data, make_accuracy, random_truth, run_attacks, vortex_truth, write_results, write_strip

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.command()
def main(
    dataset: str = typer.Option(..., help="mnist, fashion or cifar10"),
    encryption: str = typer.Option(..., help="the encrypted variant under data/<dataset>/: vor, random, etc, ..."),
    kind: List[str] = typer.Option(..., help="known-plaintext and/or ciphertext-only (repeat to run both on one loading)"),
    pairs: List[int] = typer.Option(list(DEFAULT_PAIRS), help="known-plaintext: numbers k of known pairs (repeat)"),
    data_dir: Path = typer.Option(Path("data"), help="the project's data folder"),
    out: Path = typer.Option(Path("results/attacks"), help="output folder"),
    recognisability: bool = typer.Option(True, help="train a classifier on plain images and score recovered ones"),
    epochs: Optional[int] = typer.Option(None, help="recognisability classifier: training epochs [default: enough for ~30,000 samples, at least 2]"),
    seed: int = typer.Option(0, help="recognisability classifier: seed"),
    device: str = typer.Option("cpu", help="recognisability classifier: torch device"),
    classifier_cache: Optional[Path] = typer.Option(Path("results/attacks/classifiers"), help="folder keeping the plain classifier between runs"),
    key_share: bool = typer.Option(True, help="score the key share against the true key (vor: --vor-params; etc: --key-file; random: --random-seed)"),
    vor_params: Optional[Path] = typer.Option(None, help="vor: the parameter file used [default: <data-dir>/<dataset>/params/<published file>]"),
    num_vortices: Optional[int] = typer.Option(None, help="vor: number of vortices used [default: pipeline.vor's]"),
    key_file: Optional[Path] = typer.Option(None, help="etc: the secret [default: $VORTEX_ETC_SECRET]"),
    random_seed: Optional[int] = typer.Option(None, help="random: the seed pipeline.random used (per-image key share) [default: the one it recorded]"),
) -> None:
    """Attack DATASET's ENCRYPTION variant; write results/attacks/<dataset>_<encryption>_<kind>.json and .png."""
    try:
        for k in kind:
            if k not in KINDS:
                raise PipelineError(f"unknown attack kind {k!r}; choose {' or '.join(KINDS)}")
        if any(k < 1 for k in pairs):
            raise PipelineError(f"numbers of pairs must be >= 1, got {pairs}")
        start = time.perf_counter()
        data = load_attack_data(data_dir, dataset, encryption)
        truth, etc_truth, block_size = None, None, None
        if encryption == "etc":
            block_size = etc_block_size(data_dir, data.spec.name)
        if key_share and encryption == "vor":
            truth = vortex_truth(data.spec, vor_params or Path(data_dir) / data.spec.name / "params" / data.spec.published_params, num_vortices)
        if key_share and encryption == "etc":
            from pipeline.evaluate.etc_attack import etc_sample_map
            from pipeline.encrypt.etc_key import derive_key, read_secret

            etc_truth = derive_key(read_secret(key_file), data.shape, block_size)
            truth = etc_sample_map(etc_truth)
        per_image = None
        if key_share and encryption == "random":
            if random_seed is None:
                from pipeline.random import recorded_seed

                random_seed = recorded_seed(Path(data_dir) / data.spec.name / "random")
            per_image = random_truth(data.spec, len(data.plain_train), len(data.plain_test), random_seed)
            if not np.array_equal(np.take_along_axis(_flat(data.plain_test[:64]), per_image[:64], axis=1), _flat(data.enc_test[:64])):
                raise PipelineError(f"seed {random_seed} does not produce data/{data.spec.name}/random; pass the seed it was made with")
        if truth is not None and not np.array_equal(truth.apply(_flat(data.plain_test[:64])), _flat(data.enc_test[:64])):
            raise PipelineError(f"the given {encryption} key does not produce data/{data.spec.name}/{encryption}; check the parameter or key file")
        epochs = epochs or max(2, -(-RECOGNISABILITY_SAMPLES // len(data.plain_train)))
        accuracy, info = make_accuracy(data, epochs=epochs, seed=seed, device=device, cache=classifier_cache) if recognisability else (None, None)
        evaluation = Evaluation(data, encryption, truth=truth, etc_truth=etc_truth, block_size=block_size, accuracy=accuracy, per_image_truth=per_image)
        baselines = evaluation.baselines()
        for k in kind:
            kind_start = time.perf_counter()
            outcomes = run_attacks(evaluation, k, tuple(sorted(set(pairs))))
            stem = out / f"{data.spec.name}_{encryption}_{k}"
            write_results(stem.with_suffix(".json"), evaluation, k, outcomes, baselines, info, time.perf_counter() - kind_start)
            write_strip(stem.with_suffix(".png"), evaluation, outcomes)
            for o in outcomes:
                r = o.record
                share = (r["key_share"] or {}).get("exact", (r["key_share"] or {}).get("per_image_exact"))
                typer.echo(
                    f"{k:16s} {r['method']:11s} k={r['pairs']!s:4s} stats={r['uses_statistics']!s:5s} key={share if share is None else round(share, 4)!s:6s} "
                    f"psnr={r['psnr']:.2f} ssim={r['ssim']:.3f} acc={r['accuracy']} ({r['seconds']} s)"
                )
        typer.echo(f"wrote {out}/{data.spec.name}_{encryption}_*.json in {time.perf_counter() - start:.1f} s")
    except PipelineError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None


if __name__ == "__main__":
    app()
