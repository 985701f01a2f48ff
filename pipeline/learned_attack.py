"""``python -m pipeline.learned_attack``: the EtC paper's learned attacks (ITN, GAN, FR) on one encrypted variant.

    python -m pipeline.learned_attack --dataset fashion --scheme vor --kind itn --kind gan --kind fr --out results/learned

writes ``<out>/<dataset>_<scheme>_<kind>.json`` with its ``.npz`` side file of per-image scores,
then redraws the dataset's figures from every side file in ``<out>`` (into ``--figures-dir``):
``<dataset>_learned_ssim.png`` (box plots, the paper's Figure 8), ``<dataset>_learned_grid.png``
(pictures, its Figure 6), ``<dataset>_learned_curves.png`` (each training's held-out score by step) and ``<dataset>_learned_table.md`` (mean SSIM per method x scheme, beside
Figure 6's values where the paper has them). The threat model of each attack is in :mod:`pipeline.evaluate.learned`.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from matlab_compat import atomic_output
from workbench.cli import at_least, meaning, refuse_given, run, typer_app
from workbench.paths import check_input, check_writable
from workbench.data.datasets import dataset_spec
from pipeline.encrypt.options import DATA_DIR, DATASET, DatasetName, SchemeName, chosen_scheme, key_options, with_key_options
from pipeline.encrypt.scheme import Scheme
from pipeline.encrypt.stage import recorded_options, variant_of
from pipeline.errors import PipelineError
from pipeline.evaluate.recognisability import check_device, make_accuracy
from pipeline.evaluate.learned import figures, table
from pipeline.evaluate.learned.results import baselines, write_learned
from pipeline.evaluate.learned.registry import LEARNED
from pipeline.evaluate.learned.run import scored, train_kinds
from pipeline.evaluate.learned.sample import load_capped, sized_for
from pipeline.evaluate.learned.settings import LearnedSettings
from pipeline.evaluate.learned.settings import profile as named_settings

app = typer_app(__doc__)
KNOWN_PAIRS = 1000  # --known-pairs' default


@app.command()
@with_key_options
def main(
    context: typer.Context,
    dataset: DatasetName = DATASET,
    scheme: Optional[SchemeName] = typer.Option(None, "--scheme", help=meaning("--scheme", "of the encrypted variant data/<dataset>/<scheme> (needed with --kind)")),
    kind: List[str] = typer.Option([], "--kind", help=meaning("--kind", "itn, gan or fr (repeat for several); none: only redraw the figures from <out>")),
    data_dir: Path = DATA_DIR,
    out: Path = typer.Option(Path("results/learned"), "--out", help=meaning("--out", "the results folder")),
    settings_name: str = typer.Option("cpu", "--settings", help="the attacks' training budget: cpu (minutes on 2 cores), colour (cpu for the colour profile: GAN lr 2e-4, block-wise mixing for EtC and block scrambling) or paper (GPU-sized)"),
    known_pairs: Optional[int] = typer.Option(None, "--known-pairs", help="itn: also run the variant fine-tuned on the first k victim train pairs (0: own keys only) [default: 1000, or the whole train split where it holds fewer]"),
    seed: int = typer.Option(0, "--seed", help=meaning("--seed", "the attacks' trainings and the classifier's")),
    threads: Optional[int] = typer.Option(None, "--threads", help=meaning("--threads", "[default: the settings' own]")),
    device: str = typer.Option("cpu", "--device", help=meaning("--device", "of the attacks and the classifier")),
    jobs: int = typer.Option(1, "--jobs", help=meaning("--jobs", "kinds trained at once, each in its own process (results never depend on it)")),
    checkpoints: Optional[Path] = typer.Option(None, "--checkpoints", help="folder of resumable checkpoints [default: <out>/checkpoints]"),
    lpips_weights: List[Path] = typer.Option([], "--lpips-weights", help="LPIPS v0.1 weight files: torchvision's AlexNet and lpips' alex.pth (repeat); none: no LPIPS"),
    recognisability: bool = typer.Option(True, "--recognisability/--no-recognisability", help=meaning("--recognisability")),
    epochs: int = typer.Option(2, "--epochs", help=meaning("--epochs", "of the recognisability classifier")),
    classifier_cache: Path = typer.Option(Path("results/attacks/classifiers"), "--classifier-cache", help=meaning("--classifier-cache")),
    draw: bool = typer.Option(True, "--figures/--no-figures", help="redraw the dataset's figures from every side file in <out>"),
    figures_dir: Optional[Path] = typer.Option(None, "--figures-dir", help="folder of the figures [default: <out>]"),
    key_given: dict = None,
) -> None:
    """Attack DATASET's SCHEME variant with the learned attacks KIND, then redraw the dataset's figures."""
    for k in kind:
        if k not in LEARNED:
            raise PipelineError(f"--kind {k!r}: choose one of {', '.join(LEARNED)}")
    with_pairs = " or ".join(a.name for a in LEARNED.where(lambda a: a.known_pairs))
    if not kind:  # only the figures are redrawn
        refuse_given(context, ["scheme", "data_dir", "settings_name", "known_pairs", "seed", "threads", "device", "jobs", "checkpoints",
                               "lpips_weights", "recognisability", "epochs", "classifier_cache", *key_given],
                     "it sets an attack, and no --kind is given (only the figures are redrawn)")
    if not any(LEARNED[k].known_pairs for k in kind):
        refuse_given(context, ["known_pairs"], f"only --kind {with_pairs} takes it")
    if not recognisability:
        refuse_given(context, ["epochs", "classifier_cache"],
                     "it sets the recognisability classifier, which --no-recognisability switches off")
    if not draw:
        refuse_given(context, ["figures_dir"], "--no-figures draws no figures")
    at_least(epochs, "--epochs", 1)
    at_least(threads, "--threads", 1)
    at_least(jobs, "--jobs", 1)
    at_least(known_pairs, "--known-pairs", 0)
    at_least(seed, "--seed", 0)
    base_settings = named_settings(settings_name)
    if known_pairs is not None:
        base_settings.with_(known_pairs=known_pairs)  # refused here, before any work (1: nothing to hold out)
    check_device(device)
    for path in lpips_weights:
        check_input(path, "--lpips-weights")
    check_input(data_dir, "--data-dir", folder=True, optional=True)
    check_writable(out, folder=True)
    figures_dir = figures_dir or out
    if draw:
        check_writable(figures_dir, folder=True, option="--figures-dir")
    if kind:
        check_writable(checkpoints or out / "checkpoints", folder=True, option="--checkpoints" if checkpoints else "--out")
        if recognisability:
            check_writable(classifier_cache, folder=True, option="--classifier-cache")
        chosen, spec = chosen_scheme(scheme, dataset, data_dir)
        given = key_options(chosen, data_dir, **key_given)
        options = recorded_options(chosen, spec, given)
        settings = base_settings.with_(seed=seed, lpips_weights=tuple(lpips_weights),
                                       **({} if threads is None else {"threads": threads}))
        attack(spec.name, chosen, options, kind, settings, known_pairs, device, jobs,
               checkpoints or out / "checkpoints", (epochs, classifier_cache) if recognisability else None, out,
               variant_of(chosen, given))
    if draw:
        name = dataset_spec(dataset, data_dir).name
        keys = figures.collect(out, name)
        schemes = {scheme: figures.pooled(variants) for scheme, variants in keys.items()}
        with atomic_output(figures_dir / f"{name}_learned_table.md") as tmp:
            tmp.write_text(table.comparison_markdown(name, keys))
        curves = figures.curves_plot(figures_dir / f"{name}_learned_curves.png", out, name)  # None: nothing trained
        typer.echo(f"wrote {figures.box_plot(figures_dir / f'{name}_learned_ssim.png', schemes)}, "
                   f"{figures.picture_grid(figures_dir / f'{name}_learned_grid.png', schemes)}, "
                   + (f"{curves}, " if curves else "") + f"and {figures_dir / f'{name}_learned_table.md'}")


def attack(dataset: str, chosen: Scheme, options, kind: list[str], settings: LearnedSettings, known_pairs: int | None, device: str,
           jobs: int, checkpoints: Path, classifier: tuple[int, Path] | None, out: Path, variant: str | None = None) -> None:
    """Run the kinds on one scheme's ``variant`` (its data folder; default the scheme's) and write their result and side files
    (``classifier``: epochs and cache, or None).

    The victim's key (from ``options``) is used only for the true-key baseline of the scores. On images
    larger than the profile is sized for, the settings are scaled and the images read capped
    (:mod:`pipeline.evaluate.learned.sample`)."""
    spec = dataset_spec(dataset, options.data_dir)
    settings = sized_for(settings, (spec.height, spec.width, spec.channels))
    data = load_capped(options.data_dir, spec, chosen, settings, variant)
    if known_pairs is None:  # the default: 1000 pairs, fewer on a small (declared) dataset
        known_pairs = min(KNOWN_PAIRS, len(data.plain_train))
    accuracy, info = (None, None)
    if classifier is not None:
        accuracy, info = make_accuracy(data, epochs=classifier[0], seed=settings.seed, device=device, cache=classifier[1],
                                       data_dir=options.data_dir)
    base = baselines(data, chosen, options, accuracy)
    plans = {k: [settings] + ([settings.with_(known_pairs=known_pairs)] if LEARNED[k].known_pairs and known_pairs else []) for k in kind}
    trained = train_kinds(plans, data, chosen, options, jobs=jobs, device=device, checkpoint_dir=checkpoints, progress=True)
    for k in kind:
        outcomes = [scored(k, t, data, s, accuracy) for t, s in zip(trained[k], plans[k])]
        json_path, _ = write_learned(out, data, chosen, k, outcomes, base, info, sum(t.seconds for t in trained[k]), settings.lpips_weights,
                                     variant, options.key_seed)
        for o in outcomes:
            r = o.record
            typer.echo(f"{dataset} {chosen.name} {r['method']}: " + (f"not applicable: {r['not_applicable']}" if "not_applicable" in r else
                       f"SSIM {r['ssim']:.3f} PSNR {r['psnr']:.2f} dB accuracy {r['accuracy']} ({r['seconds']} s, {r['steps']} steps, "
                       f"stopped: {r['stopped']})"))
        typer.echo(f"wrote {json_path}")


if __name__ == "__main__":
    run(app)
