"""ITN-Attack (Ito et al.): a network trained from encrypted to plain on pairs the adversary makes with its own keys.

The adversary knows the algorithm, not the key: it draws ``adversary_keys`` keys with
:meth:`Scheme.adversary_key`, encrypts its public plain images with them (each key a share of
the images), trains a :class:`~pipeline.evaluate.learned.networks.Translator` (L1 loss) from
encrypted to plain and applies it to the victim's encrypted test images. It scores the training
on public plain images it held out, encrypted under one more key of its own that the training
never saw (as the victim's key is unseen), and stops at the plateau of that score. The stronger
variant then fine-tunes on the first k (encrypted, plain) victim train pairs, scored on a tenth
of them held out; where the scheme lets no adversary draw keys, that variant trains on the k
pairs alone. The attacked test split is never part of any of this.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError
from pipeline.evaluate.attack_data import AttackData
from pipeline.evaluate.learned import training
from pipeline.evaluate.learned.mixing import mixing_problem
from pipeline.evaluate.learned.networks import Translator, chosen_mixing, translator
from pipeline.evaluate.learned.kind import LearnedAttack
from pipeline.evaluate.learned.settings import LearnedSettings


class NotApplicable(PipelineError):
    """The attack does not apply to this scheme (the record says why instead of giving scores)."""


#: What each stage's held-out score measures (the result records it beside the curve).
OWN_KEYS_SCORE = "SSIM of the restored held-out public plain images, encrypted under an own key the training never used"
PAIRS_SCORE = "SSIM of the restored held-out known victim train pairs (a tenth of the k pairs, not trained on)"

Pairs = tuple[np.ndarray, np.ndarray]  # (encrypted, plain) uint8 pictures


def heldout_count(settings: LearnedSettings, available: int) -> int:
    """Images held out of ``available``: the setting's number, at most a fifth of them."""
    return max(1, min(settings.holdout, available // 5))


def adversary_pairs(data: AttackData, scheme: Scheme, options: KeyOptions, settings: LearnedSettings) -> tuple[Pairs, Pairs] | None:
    """(training pairs under the adversary's ``adversary_keys`` keys, held-out pairs under one more of its keys)
    from the public plain images (the train split), or None where it cannot draw keys."""
    try:
        keys = [scheme.adversary_key(data.spec, options, i) for i in range(settings.adversary_keys + 1)]
    except PipelineError:
        return None
    public = data.plain_train[:settings.public_images]
    held = heldout_count(settings, len(public))
    plain, heldout = public[:-held], public[-held:]
    shares = np.array_split(np.arange(len(plain)), settings.adversary_keys)
    encrypted = np.concatenate([scheme.encrypt(key, plain[share]) for key, share in zip(keys, shares)])
    return (encrypted, plain), (scheme.encrypt(keys[-1], heldout), heldout)


def victim_pairs(data: AttackData, k: int) -> tuple[Pairs, Pairs]:
    """The first k victim train pairs: (the first k - k // 10 to train on, the last k // 10 held out)."""
    held = max(1, k // 10)
    return (data.enc_train[:k - held], data.plain_train[:k - held]), (data.enc_train[k - held:k], data.plain_train[k - held:k])


def fit_translator(net: Translator, pairs: Pairs, heldout: Pairs, *, cap: int, settings: LearnedSettings, name: str,
                   recipe: dict, checkpoint: Path | None, progress: bool, device: str) -> training.Training:
    """Train ``net`` (on ``device``) to map encrypted to plain pictures by L1 until the held-out SSIM reaches a
    plateau or ``cap`` steps (:func:`training.train`)."""
    x, y = training.to_tensor(pairs[0], device), training.to_tensor(pairs[1], device)
    adam = training.optimizer(net.parameters(), settings.lr)
    digest = hashlib.sha256(pairs[0].tobytes() + pairs[1].tobytes() + heldout[0].tobytes() + heldout[1].tobytes()).hexdigest()[:16]

    def step(rng: np.random.Generator) -> dict[str, float]:
        batch = torch.from_numpy(rng.integers(0, len(x), settings.batch)).to(device)
        loss = (net(x[batch]) - y[batch]).abs().mean()
        adam.zero_grad()
        loss.backward()
        adam.step()
        return {"loss": loss.item()}

    return training.train({"net": net}, {"adam": adam}, step, cap=cap, seed=settings.seed, name=name,
                          recipe={**recipe, "data": digest, **settings.stopping()}, checkpoint=checkpoint,
                          score=lambda: training.heldout_ssim(net, *heldout, device), eval_every=settings.eval_every,
                          patience=settings.patience, min_delta=settings.min_delta, checkpoint_every=settings.checkpoint_every,
                          progress=progress, device=device)


def itn_attack(data: AttackData, scheme: Scheme, options: KeyOptions, settings: LearnedSettings, *, checkpoint_dir: Path | None,
               progress: bool, device: str = "cpu") -> tuple[np.ndarray, dict, list[dict]]:
    """Recovered test pictures, what the adversary held (own keys, and k victim pairs when
    ``known_pairs``) and the record of each training (own keys, then pairs)."""
    if mixing_problem(data.shape) is not None:
        raise NotApplicable(mixing_problem(data.shape))
    k = settings.known_pairs
    if k > len(data.plain_train):
        raise PipelineError(f"--known-pairs {k} asked for, but the train split holds {len(data.plain_train)} images")
    stem = f"{data.spec.name}_{scheme.name}_itn"
    rule = settings.stopping()
    with training.deterministic(settings.seed, settings.threads, device):
        net = translator(data, scheme, options, settings.width, settings.block_mixing).to(device, memory_format=torch.channels_last)
        recipe = {"scheme": scheme.name, "shape": list(data.shape), **settings.recipe("seed", "width", "batch", "lr"), **chosen_mixing(net, settings)}
        own = adversary_pairs(data, scheme, options, settings)
        held = {"own_keys": 0, "public_plain_images": 0, "victim_pairs": k, "victim_key": "never used (scored against plain test images)",
                "mixing": type(net.mix).__name__}  # the translator's global layer (pipeline.evaluate.learned.mixing)
        trainings = []
        if own is not None:
            held.update(own_keys=settings.adversary_keys, public_plain_images=len(own[0][1]), heldout_public_images=len(own[1][1]))
            run = fit_translator(net, *own, cap=settings.itn_steps, settings=settings, name="itn own keys",
                                 recipe={**recipe, "stage": "own keys", "keys": settings.adversary_keys},
                                 checkpoint=None if checkpoint_dir is None else Path(checkpoint_dir) / f"{stem}_keys.pt", progress=progress, device=device)
            trainings.append(run.record(rule, OWN_KEYS_SCORE))
        elif k == 0:
            raise NotApplicable(f"{scheme.name}: an adversary cannot draw keys of its own, so ITN with own keys does not apply "
                                f"(the known-pairs variant does)")
        if k:
            pairs, heldout = victim_pairs(data, k)
            held.update(heldout_victim_pairs=len(heldout[1]))
            run = fit_translator(net, pairs, heldout, cap=settings.pairs_steps, settings=settings, name=f"itn {k} pairs",
                                 recipe={**recipe, "stage": f"{k} pairs", "after_own_keys": own is not None,
                                         "keys": settings.adversary_keys, "itn_steps": settings.itn_steps},
                                 checkpoint=None if checkpoint_dir is None else Path(checkpoint_dir) / f"{stem}_pairs{k}.pt", progress=progress, device=device)
            trainings.append(run.record(rule, PAIRS_SCORE))
        return training.apply(net, data.enc_test, device), held, trainings


ATTACK = LearnedAttack(
    "itn", itn_attack, known_pairs=True,
    threat_model="knows the algorithm, not the key: encrypts public plain images with keys it draws itself and trains an "
                 "encrypted-to-plain network; with k > 0 it also fine-tunes on k known victim (encrypted, plain) train pairs")
