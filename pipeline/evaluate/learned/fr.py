"""FR-Attack (after Chang et al.): render the features an encryption leaves independent of its key.

What is kept follows from the scheme's declared properties only (never its name):

* ``negates`` (samples may become 255 - v): only the distance from mid-grey survives, so a
  sample is folded to 2 |v - 127.5|; the fold's polarity (light or dark for extremes) is the
  one under which the public plain images look most like their own folds.
* not ``moves_whole_pixels`` with colour (channels may be shuffled): only the channels' mean
  survives; it is shown in every channel.
* ``per_image`` (a fresh permutation per image): positions carry nothing, only the image's
  multiset of values; its values are placed by rank onto the public mean image (its brightest
  value where the public images are brightest on average).

Positions that a fixed key moves (the vortex, block scrambling) stay where the key put them:
undoing them needs the key or a learned attack (ITN, GAN).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.evaluate.attack_data import AttackData
from pipeline.evaluate.learned.kind import LearnedAttack
from pipeline.evaluate.learned.settings import LearnedSettings
from pipeline.evaluate.metrics import psnr


def features(scheme: Scheme, pictures: np.ndarray) -> np.ndarray:
    """Key-independent values (float32, (N, H, W, C)): folded where the scheme negates, channel means where it shuffles channels."""
    x = np.asarray(pictures, dtype=np.float32)
    if scheme.negates:
        x = 2.0 * np.abs(x - 127.5)
    if not scheme.moves_whole_pixels and x.shape[-1] > 1:
        x = np.broadcast_to(x.mean(axis=-1, keepdims=True), x.shape)
    return x


def _as_pictures(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def render(scheme: Scheme, encrypted: np.ndarray, public_plain: np.ndarray) -> tuple[np.ndarray, dict]:
    """FR images of ``encrypted`` (uint8, same shape) and what was rendered, using only public plain images besides them."""
    public = features(scheme, public_plain)
    inverted = False
    if scheme.negates:  # polarity: the fold or its complement, whichever the public images resemble more
        inverted = bool(psnr(_as_pictures(255.0 - public), public_plain).mean() > psnr(_as_pictures(public), public_plain).mean())
    orient = (lambda x: 255.0 - x) if inverted else (lambda x: x)
    out = orient(features(scheme, encrypted))
    if scheme.per_image:
        n = len(out)
        order = np.argsort(orient(public).mean(axis=0).ravel(), kind="stable")
        placed = np.empty((n, order.size), dtype=np.float32)
        placed[:, order] = np.sort(out.reshape(n, -1), axis=1)
        out = placed.reshape(out.shape)
    rendered = {"folded": scheme.negates, "polarity_inverted": inverted,
                "channel_mean": (not scheme.moves_whole_pixels) and encrypted.shape[-1] > 1,
                "values_placed_by_public_mean_rank": scheme.per_image}
    return _as_pictures(out), rendered


def fr_attack(data: AttackData, scheme: Scheme, options: KeyOptions, settings: LearnedSettings, *, checkpoint_dir: Path | None,
              progress: bool, device: str = "cpu") -> tuple[np.ndarray, dict, list[dict]]:
    """FR images of the victim's encrypted test split (no training: no curve, nothing to checkpoint, no device)."""
    public = data.plain_train[:settings.public_images]
    recovered, rendered = render(scheme, data.enc_test, public)
    held = {"public_plain_images": len(public), "scheme_properties": ["negates", "moves_whole_pixels", "per_image"],
            "victim_pairs": 0, "own_keys": 0, "victim_key": "never used (scored against plain test images)", "rendered": rendered}
    return recovered, held, []


ATTACK = LearnedAttack(
    "fr", fr_attack,
    threat_model="knows the algorithm's declared properties (negation, channel shuffling, per-image keys) and public plain "
                 "images; renders the key-independent features")
