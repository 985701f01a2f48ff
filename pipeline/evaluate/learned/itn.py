"""ITN-Attack (Ito et al.): a network trained from encrypted to plain on pairs the adversary makes with its own keys.

The adversary knows the algorithm, not the key: it draws ``adversary_keys`` keys with
:meth:`Scheme.adversary_key`, encrypts its public plain images with them (each key a share of
the images), trains a :class:`~pipeline.evaluate.learned.networks.Translator` (L1 loss) from
encrypted to plain and applies it to the victim's encrypted test images. The stronger variant
then fine-tunes on the first k (encrypted, plain) victim train pairs; where the scheme lets no
adversary draw keys, that variant trains on the k pairs alone.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError
from pipeline.evaluate.attack import AttackData
from pipeline.evaluate.learned import training
from pipeline.evaluate.learned.networks import Translator
from pipeline.evaluate.learned.settings import LearnedSettings


class NotApplicable(PipelineError):
    """The attack does not apply to this scheme (the record says why instead of giving scores)."""


def adversary_pairs(data: AttackData, scheme: Scheme, options: KeyOptions, settings: LearnedSettings) -> tuple[np.ndarray, np.ndarray] | None:
    """(encrypted, plain) public pairs under the adversary's own keys, or None where it cannot draw keys."""
    try:
        keys = [scheme.adversary_key(data.spec, options, i) for i in range(settings.adversary_keys)]
    except PipelineError:
        return None
    plain = data.plain_train[:settings.public_images]
    shares = np.array_split(np.arange(len(plain)), len(keys))
    encrypted = np.concatenate([scheme.encrypt(key, plain[share]) for key, share in zip(keys, shares)])
    return encrypted, plain


def fit_translator(net: Translator, inputs: np.ndarray, targets: np.ndarray, *, steps: int, settings: LearnedSettings, name: str,
                   recipe: dict, checkpoint: Path | None, progress: bool, device: str) -> float:
    """Train ``net`` (on ``device``) to map ``inputs`` to ``targets`` (uint8 pictures) by L1 for ``steps`` seeded steps;
    the seconds of training resumed from ``checkpoint`` (:func:`training.train`)."""
    x, y = training.to_tensor(inputs, device), training.to_tensor(targets, device)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr)
    digest = hashlib.sha256(inputs.tobytes() + targets.tobytes()).hexdigest()[:16]

    def step(rng: np.random.Generator) -> dict[str, float]:
        batch = torch.from_numpy(rng.integers(0, len(x), settings.batch)).to(device)
        loss = (net(x[batch]) - y[batch]).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"l1": loss.item()}

    return training.train({"net": net}, {"adam": optimizer}, step, steps=steps, seed=settings.seed, name=name,
                          recipe={**recipe, "data": digest}, checkpoint=checkpoint,
                          every=settings.checkpoint_every, progress=progress, device=device)


def itn_attack(data: AttackData, scheme: Scheme, options: KeyOptions, settings: LearnedSettings, *, checkpoint_dir: Path | None,
               progress: bool, device: str = "cpu") -> tuple[np.ndarray, dict, float]:
    """Recovered test pictures, what the adversary held (own keys, and k victim pairs when
    ``known_pairs``) and the seconds of training resumed from checkpoints."""
    k = settings.known_pairs
    if k > len(data.plain_train):
        raise PipelineError(f"--known-pairs {k} asked for, but the train split holds {len(data.plain_train)} images")
    stem = f"{data.spec.name}_{scheme.name}_itn"
    recipe = {"scheme": scheme.name, "shape": list(data.shape), **settings.recipe("seed", "width", "batch", "lr")}
    with training.deterministic(settings.seed, settings.threads, device):
        net = Translator(data.shape, settings.width).to(device)
        pairs = adversary_pairs(data, scheme, options, settings)
        held = {"own_keys": 0, "public_plain_images": 0, "victim_pairs": k, "victim_key": "never used (scored against plain test images)"}
        resumed = 0.0
        if pairs is not None:
            held.update(own_keys=settings.adversary_keys, public_plain_images=len(pairs[1]))
            resumed += fit_translator(net, *pairs, steps=settings.itn_steps, settings=settings, name="itn own keys",
                                      recipe={**recipe, "stage": "own keys", "keys": settings.adversary_keys},
                                      checkpoint=None if checkpoint_dir is None else Path(checkpoint_dir) / f"{stem}_keys.pt", progress=progress, device=device)
        elif k == 0:
            raise NotApplicable(f"{scheme.name}: an adversary cannot draw keys of its own, so ITN with own keys does not apply "
                                f"(the known-pairs variant does)")
        if k:
            resumed += fit_translator(net, data.enc_train[:k], data.plain_train[:k], steps=settings.pairs_steps, settings=settings,
                                      name=f"itn {k} pairs", recipe={**recipe, "stage": f"{k} pairs", "after_own_keys": pairs is not None,
                                                                     "keys": settings.adversary_keys, "itn_steps": settings.itn_steps},
                                      checkpoint=None if checkpoint_dir is None else Path(checkpoint_dir) / f"{stem}_pairs{k}.pt", progress=progress, device=device)
        return training.apply(net, data.enc_test, device), held, resumed
