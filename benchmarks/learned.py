"""The learned attacks' training speed: steps/second before and after issue 26, in one run, on one CPU thread.

    python benchmarks/learned.py                      # ITN and GAN steps, grey 28 x 28 and colour 32 x 32
    python benchmarks/learned.py --steps 40 --threads 1

``before``: the step as it ran until issue 26: translator width 16, tensors in the default
(channels-first) layout, ``torch.optim.Adam`` with its default kernels. ``after``: the step as
the ``cpu`` profile runs it now: :class:`~pipeline.evaluate.learned.settings.LearnedSettings`'s
width, :func:`training.to_tensor` (channels-last), :func:`training.optimizer` (fused Adam).
Same batch (the profile's), same generated pictures, same thread count, alternating runs; the
median of ``--repeats`` timings each. Prints steps/second and the ratio per attack and image
shape (images/second = steps/second x batch).
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import torch
import typer

from workbench.cli import meaning, typer_app
from pipeline.evaluate.learned import training
from pipeline.evaluate.learned.networks import Discriminator, Translator
from pipeline.evaluate.learned.settings import PROFILES

OLD_WIDTH = 16  # LearnedSettings.width until issue 26


def _step_fn(kind: str, shape: tuple[int, int, int], after: bool, batch: int, images: np.ndarray, block: int | None = None):
    """One training step of ``kind`` (itn: L1 translator; gan: two translators and two critics) in the old or new setup;
    ``block``: the translators take the block-wise mixing of that block size (the ``block_mixing`` setting)."""
    settings = PROFILES["cpu"]
    torch.manual_seed(0)
    width = settings.width if after else OLD_WIDTH
    fmt = {"memory_format": torch.channels_last} if after else {}
    x = training.to_tensor(images) if after else torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255
    adam = training.optimizer if after else (lambda params, lr, betas=(0.9, 0.999): torch.optim.Adam(params, lr=lr, betas=betas))
    nets = [Translator(shape, width, block=block, block_wise=block is not None).to(**fmt) for _ in range(1 if kind == "itn" else 2)]
    critics = [] if kind == "itn" else [Discriminator(shape[2], width).to(**fmt) for _ in range(2)]
    gen = adam([p for n in nets for p in n.parameters()], settings.lr)
    disc = adam([p for n in critics for p in n.parameters()], settings.lr) if critics else None
    rng = np.random.default_rng(0)

    def step() -> None:
        xb = x[torch.from_numpy(rng.integers(0, len(x), batch))]
        if kind == "itn":
            loss = (nets[0](xb) - xb).abs().mean()
        else:
            g, f = nets
            fake_p, fake_e = g(xb), f(xb)
            loss = ((critics[0](fake_p) - 1) ** 2).mean() + ((critics[1](fake_e) - 1) ** 2).mean() \
                + 10 * ((f(fake_p) - xb).abs().mean() + (g(fake_e) - xb).abs().mean())
        gen.zero_grad()
        loss.backward()
        gen.step()
        if disc is not None:
            critic = ((critics[0](xb) - 1) ** 2).mean() + (critics[0](fake_p.detach()) ** 2).mean()
            disc.zero_grad()
            critic.backward()
            disc.step()

    return step


def median_rates(makers: dict, steps: int, repeats: int) -> dict:
    """Median steps/second of each step maker (a name -> a function returning a fresh step), timed in
    alternating runs of ``steps`` steps after 3 warm-up steps, ``repeats`` runs each."""
    rates: dict = {name: [] for name in makers}
    for _ in range(repeats):
        for name, make in makers.items():
            step = make()
            for _ in range(3):
                step()
            start = time.perf_counter()
            for _ in range(steps):
                step()
            rates[name].append(steps / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


app = typer_app(__doc__)


@app.command()
def main(steps: int = typer.Option(20, help=meaning("--steps")), repeats: int = typer.Option(3, help=meaning("--repeats", "of each, alternating")),
         threads: int = typer.Option(1, help=meaning("--threads"))) -> None:
    torch.set_num_threads(threads)
    settings = PROFILES["cpu"]
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {threads} thread(s), {steps} steps x {repeats} runs each; width before {OLD_WIDTH}, after {settings.width}")
    print("attack  shape        batch  before steps/s  after steps/s  ratio")
    for kind, batch in (("itn", settings.batch), ("gan", settings.gan_batch)):
        for shape in ((28, 28, 1), (32, 32, 3)):
            images = rng.integers(0, 256, (2000, *shape), dtype=np.uint8)
            rates = median_rates({after: (lambda after=after: _step_fn(kind, shape, after, batch, images)) for after in (False, True)},
                                 steps, repeats)
            before, after = rates[False], rates[True]
            print(f"{kind:6}  {'x'.join(map(str, shape)):11}  {batch:5}  {before:14.2f}  {after:13.2f}  {after / before:5.2f}")


if __name__ == "__main__":
    app()
