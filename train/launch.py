"""``python -m train.launch``: run ``python -m train`` in one process or under torchrun, as a parameter says.

    python -m train.launch --launcher python -- --preset cpu --dataset fashion --model smallcnn
    python -m train.launch --nproc 4 -- --preset paper --dataset cifar10 --scheme vor --model resnet18

For a pipeline stage whose parameters choose the launcher (``train.launcher``: ``python`` or
``torchrun``; ``train.nproc``: processes on this machine): with ``torchrun`` or more than one
process it replaces itself with ``torchrun --standalone --nproc_per_node N -m train ARGS``
(one machine; several machines: call torchrun yourself, see docs/train.md), otherwise with
``python -m train ARGS``. The training options after ``--`` go through unchanged.
"""
from __future__ import annotations

import os
import sys

import typer

from train.errors import TrainError
from workbench.cli import run, typer_app

app = typer_app(__doc__)

LAUNCHERS = ("python", "torchrun")


def command(launcher: str, nproc: int, args: list[str]) -> list[str]:
    """The command line that runs training ``args`` with ``launcher`` on ``nproc`` processes."""
    if launcher not in LAUNCHERS:
        raise TrainError(f"--launcher: must be one of {', '.join(LAUNCHERS)}, got {launcher!r}")
    if nproc < 1:
        raise TrainError(f"--nproc: must be a whole number >= 1, got {nproc}")
    if launcher == "python" and nproc == 1:
        return [sys.executable, "-m", "train", *args]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "train", *args]


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def main(ctx: typer.Context,
         launcher: str = typer.Option("python", help="python, or torchrun (also chosen by --nproc > 1)"),
         nproc: int = typer.Option(1, help="processes on this machine (GPUs, or CPU groups with --device cpu)")) -> None:
    """Run ``python -m train`` with the options after ``--``, in one process or under torchrun."""
    argv = command(launcher, nproc, list(ctx.args))
    os.execv(argv[0], argv)


if __name__ == "__main__":
    run(app)
