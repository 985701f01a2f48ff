"""The colour settings' block-wise mixing against the dense map: training steps/second at 32 x 32 x 3, in one run.

    python -m benchmarks.learned_mixing                 # ITN and GAN steps, blocks of 4, one CPU thread

``dense``: the translators' dense S x S mixing (3,072^2 weights), as the ``cpu`` settings train EtC and
block scrambling at 32 x 32 x 3. ``block-wise``: the (blocks x blocks) and (B B C x B B C) maps the
``colour`` settings give them (``block_mixing``). The rest is the step of ``benchmarks/learned.py``
(the ``cpu`` settings' width, batch, layout and optimiser); same generated pictures, same threads,
alternating runs, the median of ``--repeats`` timings each. Prints steps/second and the ratio.
"""
from __future__ import annotations

import numpy as np
import torch
import typer

from workbench.cli import meaning, typer_app
from benchmarks.learned import _step_fn, median_rates
from pipeline.evaluate.learned.settings import PROFILES

SHAPE = (32, 32, 3)

app = typer_app(__doc__)


@app.command()
def main(steps: int = typer.Option(20, help=meaning("--steps")), repeats: int = typer.Option(3, help=meaning("--repeats", "of each, alternating")),
         threads: int = typer.Option(1, help=meaning("--threads")), block: int = typer.Option(4, "--block-size", help=meaning("--block-size"))) -> None:
    if block < 1 or SHAPE[0] % block:
        raise typer.BadParameter(f"{block} does not tile a 32-pixel side (the block-wise mixing needs one that does)", param_hint="--block-size")
    torch.set_num_threads(threads)
    settings = PROFILES["colour"]
    images = np.random.default_rng(0).integers(0, 256, (2000, *SHAPE), dtype=np.uint8)
    print(f"torch {torch.__version__}, {threads} thread(s), {steps} steps x {repeats} runs each, 32 x 32 x 3, blocks of {block}")
    print("attack  batch  dense steps/s  block-wise steps/s  ratio")
    for kind, batch in (("itn", settings.batch), ("gan", settings.gan_batch)):
        rates = median_rates({mixing: (lambda mixing=mixing: _step_fn(kind, SHAPE, True, batch, images, block=mixing)) for mixing in (None, block)},
                             steps, repeats)
        dense, blockwise = rates[None], rates[block]
        print(f"{kind:6}  {batch:5}  {dense:13.2f}  {blockwise:18.2f}  {blockwise / dense:5.2f}")


if __name__ == "__main__":
    app()
