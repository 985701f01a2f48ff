"""``python -m pipeline.vor``: the Random Vortex Transformation of a dataset (port of ``mnist_fashion_vor.m`` /
``cifar_vor.m``; ``python -m pipeline.encrypt --scheme vor``).

    python -m pipeline.vor --dataset mnist                       # the published parameters
    python -m pipeline.vor new-params --dataset mnist --key-seed 3   # draw fresh parameters (Random_Function)
    python -m pipeline.vor --dataset mnist --params data/mnist/params/vor_params_mnist_seed3.mat

The vortex parameters are vor's key, so the seed of their draw is a key seed (``--key-seed``), as
the random scheme's rng seed is; ``--seed`` is only ever a procedure's own randomness.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from matlab_compat.rng import rng
from workbench.cli import at_least, meaning, run, typer_app
from workbench.paths import check_writable
from workbench.data.datasets import dataset_spec
from pipeline.encrypt.command import encrypt_app
from pipeline.encrypt.options import DATA_DIR, DATASET, DatasetName
from pipeline.encrypt.vortex_params import new_vor_params, save_vor_params
from pipeline.errors import PipelineError

MAX_NEW_VORTICES = 1000  # the published sets hold 2 to 10; far more only makes the draw slow

encrypt = encrypt_app("vor", __doc__)
params_app = typer_app("Draw fresh vortex parameters by Random_Function's rules on MATLAB's random stream.")


@params_app.command("new-params")
def new_params(
    dataset: DatasetName = DATASET,
    key_seed: int = typer.Option(0, "--key-seed", help=meaning("--key-seed", "MATLAB rng seed of the vortex parameters' draw (0: MATLAB's default stream, twister seed 5489)")),
    vortices: Optional[int] = typer.Option(None, "--vortices", help=meaning("--vortices", "how many to draw [default: the script's v_num, 10; CIFAR-10 5]")),
    data_dir: Path = DATA_DIR,
    out: Optional[Path] = typer.Option(None, "--out", help=meaning("--out", "the parameter file [default: <data-dir>/<dataset>/params/vor_params_<prefix>_seed<S>.mat]")),
) -> None:
    """Draw fresh vortex parameters on MATLAB's random stream rng(KEY_SEED) and write them as vor_par."""
    spec = dataset_spec(dataset, data_dir)
    count = spec.script_vortices if vortices is None else at_least(vortices, "--vortices", 1)
    if count > MAX_NEW_VORTICES:
        raise PipelineError(f"--vortices must be at most {MAX_NEW_VORTICES}, got {count}")
    try:
        stream = rng(key_seed)
    except ValueError as err:
        raise PipelineError(f"--key-seed: {err}") from None
    path = check_writable(out or data_dir / spec.name / "params" / f"vor_params_{spec.prefix}_seed{key_seed}.mat", folder=False)
    rows = new_vor_params(count, spec.height, spec.width, spec.degree_scale, stream)
    save_vor_params(path, rows)
    typer.echo(f"wrote {path} ({len(rows)} vortices, rng({key_seed})); use it with "
               f"`python -m pipeline.vor --dataset {spec.name} --params {path}`")


def main(argv: list[str]) -> None:
    """``new-params ...`` draws parameters; anything else encrypts."""
    if argv[:1] == ["new-params"]:
        run(params_app, argv=argv[1:])
    run(encrypt, argv=argv)


if __name__ == "__main__":
    main(sys.argv[1:])
