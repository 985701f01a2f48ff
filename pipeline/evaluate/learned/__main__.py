"""CLI: ``python -m pipeline.evaluate.learned --dataset fashion --scheme vor --kind itn --data-dir data --out results/attacks``.

Runs the learned attacks (ITN, GAN, FR) on one encrypted variant, writes
``<out>/<dataset>_<scheme>_<kind>.json`` with its ``.npz`` side file, then redraws the
dataset's figures from every side file in ``<out>``: ``<dataset>_learned_ssim.png`` (box
plots) and ``<dataset>_learned_grid.png`` (pictures).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import List, Optional

import typer

from pipeline import cli
from pipeline.encrypt.scheme import Scheme
from pipeline.errors import PipelineError
from pipeline.evaluate.learned.settings import LearnedSettings

application = cli.app(__doc__.split("\n\n")[0])


@application.command()
def main(
    dataset: str = typer.Option(..., help=cli.OPTION_NAMES["--dataset"]),
    scheme: Optional[str] = typer.Option(None, help=cli.OPTION_NAMES["--scheme"] + " (needed with --kind)"),
    kind: List[str] = typer.Option([], help="itn, gan or fr (repeat for several); none: only redraw the figures from <out>"),
    data_dir: Path = typer.Option(Path("data"), help=cli.OPTION_NAMES["--data-dir"]),
    out: Path = typer.Option(Path("results/attacks"), help="output folder"),
    profile: str = typer.Option("cpu", help="settings: cpu (minutes on 2 cores) or paper (GPU-sized)"),
    known_pairs: int = typer.Option(1000, help="itn: also run the variant fine-tuned on the first k victim train pairs (0: own keys only)"),
    seed: int = typer.Option(0, help="the attacks' seed"),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads [default: the profile's]"),
    device: str = typer.Option("cpu", help="torch device of the attacks and the classifier"),
    checkpoints: Optional[Path] = typer.Option(None, help="folder of resumable checkpoints [default: <out>/checkpoints]"),
    lpips_weights: List[Path] = typer.Option([], help="LPIPS v0.1 weight files: torchvision's AlexNet and lpips' alex.pth (repeat); none: no LPIPS"),
    recognisability: bool = typer.Option(True, help="score recovered images with a classifier trained on plain images"),
    epochs: int = typer.Option(2, help="recognisability classifier: training epochs"),
    classifier_cache: Path = typer.Option(Path("results/attacks/classifiers"), help="folder keeping the plain classifier between runs"),
    params: Optional[Path] = typer.Option(None, help="true-key baseline only: " + cli.OPTION_NAMES["--params"]),
    key_file: Optional[Path] = typer.Option(None, help="true-key baseline only: " + cli.OPTION_NAMES["--key-file"]),
    draw: bool = typer.Option(True, "--figures/--no-figures", help="redraw the dataset's figures from every side file in <out> (DVC: one stage of its own)"),
) -> None:
    """Attack DATASET's SCHEME variant with the learned attacks KIND, then redraw the dataset's figures."""
    from pipeline.encrypt.registry import get_scheme
    from pipeline.evaluate.learned import figures
    from pipeline.evaluate.learned.run import LEARNED
    from pipeline.evaluate.learned.settings import profile as profile_settings

    for k in kind:
        if k not in LEARNED:
            raise PipelineError(f"--kind {k!r}: choose one of {', '.join(LEARNED)}")
    if kind and scheme is None:
        raise PipelineError("--scheme is needed with --kind")
    if kind:
        attack(dataset, get_scheme(scheme), kind, data_dir, out, profile_settings(profile).with_(
            seed=seed, lpips_weights=tuple(lpips_weights), **({} if threads is None else {"threads": threads})),
            cli.at_least(known_pairs, "--known-pairs", 0), device, checkpoints or out / "checkpoints",
            (epochs, classifier_cache) if recognisability else None, params, key_file)
    if not draw:
        return
    schemes = figures.collect(out, dataset)
    print(f"wrote {figures.box_plot(out / f'{dataset}_learned_ssim.png', schemes)} and {figures.picture_grid(out / f'{dataset}_learned_grid.png', schemes)}")


def attack(dataset: str, chosen: Scheme, kind: list[str], data_dir: Path, out: Path, settings: LearnedSettings, known_pairs: int, device: str,
           checkpoints: Path, classifier: tuple[int, Path] | None, params: Path | None, key_file: Path | None) -> None:
    """Run the kinds on one scheme's variant and write their result and side files (``classifier``: epochs and cache, or None)."""
    from pipeline.encrypt.scheme import KeyOptions
    from pipeline.evaluate.attack import load_attack_data, make_accuracy
    from pipeline.evaluate.learned.results import baselines, write_learned
    from pipeline.evaluate.learned.run import run_attack

    scheme = chosen.name
    cli.check_writable(out, folder=True)
    recorded = Path(data_dir) / dataset / scheme / "params.json"
    try:  # the public values the encryption recorded (e.g. the EtC block size): the algorithm, not the key
        public = json.loads(recorded.read_text()).get("key", {})
    except (OSError, ValueError) as err:
        raise PipelineError(f"{recorded}: cannot read the scheme's recorded parameters ({err}); run `python -m pipeline.encrypt` first") from None
    options = KeyOptions(data_dir=data_dir, params=params, key_file=key_file).merged(public)
    data = load_attack_data(data_dir, dataset, scheme)
    accuracy, info = (None, None)
    if classifier is not None:
        accuracy, info = make_accuracy(data, epochs=classifier[0], seed=settings.seed, device=device, cache=classifier[1])
    base = baselines(data, chosen, options, accuracy)
    for k in kind:
        start = time.perf_counter()
        variants = [settings] + ([settings.with_(known_pairs=known_pairs)] if k == "itn" and known_pairs else [])
        outcomes = [run_attack(k, data, chosen, options, variant, device=device, checkpoint_dir=checkpoints,
                               progress=True, accuracy=accuracy) for variant in variants]
        json_path, _ = write_learned(out, data, chosen, k, outcomes, base, info, time.perf_counter() - start, settings.lpips_weights)
        for o in outcomes:
            r = o.record
            print(f"{dataset} {scheme} {r['method']}: " + (f"not applicable: {r['not_applicable']}" if "not_applicable" in r else
                  f"SSIM {r['ssim']:.3f} PSNR {r['psnr']:.2f} dB accuracy {r['accuracy']} ({r['seconds']} s)"))
        print(f"wrote {json_path}")


if __name__ == "__main__":
    cli.run(application)
