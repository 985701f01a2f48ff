"""``python -m pipeline.fetch``: a declared dataset (and the vortex parameters), verified, in the MATLAB layout.

    python -m pipeline.fetch --dataset NAME [--params-file params.yaml] [--mirror FOLDER ...]
    python -m pipeline.fetch --dataset all          # the three built-ins

``NAME`` is an entry of ``datasets:`` in the params file (:mod:`workbench.data.declared`), or a
built-in (mnist, fashion, cifar10). It writes

* ``data/mnist/origin/mnist.mat``, ``data/fashion/origin/fashion.mat``: uint8 ``train_x``
  (N x 784, IDX row order), one-hot uint8 ``train_y`` (N x 10), ``test_x``, ``test_y``;
* ``data/cifar10/origin/cifar-10-batches-mat/``: the MATLAB release of CIFAR-10 as published;
* a declared image folder, CSV or image archive (Imagenette): ``data/<name>/origin/<name>.mat``
  in the ``mnist.mat`` layout, ``dataset.json`` (its description, which later stages read) and
  ``images.tsv`` (each input's SHA-256, the split) (:mod:`workbench.data.own`);
* ``data/<dataset>/params/vor_params_*.mat``: the authors' parameter files, byte for byte; for a
  declared dataset, parameters drawn by ``Random_Function``'s rules on MATLAB's rng(key-seed);
* ``SOURCE.json`` beside them: where each input came from (mirror files by name), its
  checksums, whether it was verified.

Inputs come from local mirror folders (``--mirror``, ``$VORTEX_MIRROR``) when they hold them,
else from the download cache ``data/downloads/``, else from the internet. Nothing is written
until every input of a dataset has been read and checked (:mod:`workbench.data.fetch`).
"""
from __future__ import annotations

import json
from pathlib import Path

import typer

from workbench.outputs import atomic_output
from matlab_compat.rng import rng
from workbench.cli import meaning, run, typer_app
from workbench.paths import check_writable
from workbench.data.datasets import dataset_spec
from workbench.data.declaration import Declaration
from workbench.data.declared import load_declaration, parse_declaration
from workbench.data.fetch import DATASET_NAMES, fetch_declared
from workbench.data.fetch_inputs import SOURCE_RECORD
from workbench.data.sources import MIRROR_ENV
from pipeline.encrypt.vortex_params import new_vor_params, save_vor_params
from pipeline.errors import PipelineError

app = typer_app(__doc__)


def declaration(name: str, params_file: Path) -> Declaration:
    """The declaration of ``name`` in ``params_file``, else the built-in of that name."""
    found = load_declaration(params_file, name)
    if found is not None:
        return found
    if name in DATASET_NAMES:
        return parse_declaration(name, {"source": name})
    raise PipelineError(f"--dataset: {name!r} is neither declared under `datasets:` in {params_file} "
                        f"nor built in ({', '.join(DATASET_NAMES)})")


def draw_vortex_params(decl: Declaration, data_dir: Path) -> dict:
    """``data/<name>/params/vor_params_<name>.mat``: the script's v_num vortices drawn on rng(key-seed)."""
    spec = dataset_spec(decl.name, data_dir)
    rows = new_vor_params(spec.script_vortices, spec.height, spec.width, spec.degree_scale, rng(decl.key_seed))
    folder = data_dir / decl.name / "params"
    save_vor_params(folder / spec.published_params, rows)
    record = {"dataset": decl.name, "verified": None, "drawn": {"rng_seed": decl.key_seed, "vortices": len(rows),
              "degree_scale": spec.degree_scale, "note": "no published parameters: drawn as Random_Function.m does"},
              "outputs": [spec.published_params]}
    with atomic_output(folder / SOURCE_RECORD) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    return {"verified": None, "outputs": [spec.published_params]}


@app.command()
def main(
    dataset: str = typer.Option(..., "--dataset", help=meaning("--dataset", "one declared in --params-file, a built-in (mnist, fashion, cifar10), or all (the built-ins)")),
    params_file: Path = typer.Option(Path("params.yaml"), "--params-file", help=meaning("--params-file", "the one whose `datasets:` declares the dataset")),
    mirror: list[Path] = typer.Option([], "--mirror", help=f"folder holding local copies (repeatable); also ${MIRROR_ENV} (os.pathsep-separated)"),
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help=meaning("--data-dir")),
    allow_unverified: bool = typer.Option(False, "--allow-unverified", help="use inputs that fail their checksum (recorded in SOURCE.json)"),
    params: bool = typer.Option(True, "--vortex-params/--no-vortex-params", help=meaning("--vortex-params", "declared datasets draw them")),
) -> None:
    """Download (or copy from mirrors, or read the declared images), verify and write the MATLAB-layout datasets."""
    check_writable(data_dir, folder=True, option="--data-dir")
    declared = [declaration(name, params_file) for name in (DATASET_NAMES if dataset == "all" else (dataset,))]
    for decl in declared:
        summary = fetch_declared(decl, data_dir, mirror, allow_unverified, params)
        if params and not decl.builtin:
            summary["params"] = draw_vortex_params(decl, data_dir)
        for folder, part in summary.items():
            verified = part["verified"]
            state = "verified" if verified else ("UNVERIFIED (--allow-unverified)" if verified is False
                                                  else "written (nothing published to verify; SOURCE.json records the inputs)")
            for output in part["outputs"]:
                typer.echo(f"{data_dir / decl.name / folder / output}: {state}")


if __name__ == "__main__":
    run(app)
