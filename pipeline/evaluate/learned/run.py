"""One entry for every learned attack: train (or render), recover the victim's test images, score them per image.

:func:`run_attack` runs one kind of the registry (``registry.LEARNED``: ``itn``, ``gan``, ``fr``)
and returns a :class:`LearnedOutcome`: the recovered test pictures, a JSON-ready record for ``results/attacks/<dataset>_<scheme>_<kind>.json`` and the per-image values for
its side file (``.npz``). The victim's key is never passed in: only the scoring looks at the
plain test images.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.evaluate.attack_data import AttackData
from pipeline.evaluate.recognisability import AccuracyFn
from pipeline.evaluate.learned.itn import NotApplicable
from pipeline.evaluate.learned.kind import LearnedAttack
from pipeline.evaluate.learned.lpips import load_lpips, lpips
from pipeline.evaluate.learned.registry import LEARNED
from pipeline.evaluate.learned.settings import LearnedSettings
from pipeline.evaluate.metrics import psnr, ssim


@dataclass
class LearnedOutcome:
    """One learned attack's recovered test pictures, its JSON record and its per-image scores (``lpips`` None without weights).

    The record's ``stopped`` (:func:`stopped`) and ``training`` (per stage: curve, stopping reason,
    steps, seconds) say whether the attack converged. Where the attack does not apply to the
    scheme, ``recovered`` is None, ``per_image`` empty and the record's ``not_applicable`` says
    why (its scores are None).
    """

    recovered: np.ndarray | None
    record: dict
    per_image: dict[str, np.ndarray | None]


def stopped(trainings: list[dict]) -> str:
    """Why an attack's training ended: ``plateau`` when every stage reached its plateau, ``cap`` when one
    stopped at its cap (not converged: no verdict), ``no training`` (FR)."""
    if not trainings:
        return "no training"
    return "plateau" if all(t["stopped"] == "plateau" for t in trainings) else "cap"


def method_name(attack: LearnedAttack, settings: LearnedSettings) -> str:
    """The attack's name, with the known pairs where it fine-tuned on some (``itn+1000pairs``)."""
    return f"{attack.name}+{settings.known_pairs}pairs" if attack.known_pairs and settings.known_pairs else attack.name


def per_image_scores(recovered: np.ndarray, plain: np.ndarray, lpips_weights: tuple[Path, ...] = ()) -> dict[str, np.ndarray | None]:
    """PSNR, SSIM and (given weight files) LPIPS of every recovered picture against its plain one."""
    out = {"psnr": psnr(recovered, plain), "ssim": ssim(recovered, plain), "lpips": None}
    if lpips_weights:

        out["lpips"] = lpips(load_lpips(lpips_weights), recovered, plain)
    return out


def run_attack(kind: str, data: AttackData, scheme: Scheme, options: KeyOptions, settings: LearnedSettings, *, device: str = "cpu",
               checkpoint_dir: Path | None = None, progress: bool = False, accuracy: AccuracyFn | None = None) -> LearnedOutcome:
    """Run the learned attack ``kind`` on ``data`` encrypted by ``scheme`` and score it.

    ``options`` give the adversary's key options (e.g. the public block size), never the
    victim's secret; ``accuracy`` (recognisability: a classifier trained on plain images)
    fills the record's ``accuracy`` when given. ``device``: a torch device (the ``paper``
    profile is meant for a GPU).
    """
    attack = LEARNED.get(kind)
    pairs = settings.known_pairs if attack.known_pairs and settings.known_pairs else None
    record = {"method": method_name(attack, settings), "pairs": pairs,
              "uses_statistics": False, "key_share": None, "threat_model": attack.threat_model, "settings": settings.record()}
    start = time.perf_counter()
    try:
        recovered, held, trainings = attack.run(data, scheme, options, settings, checkpoint_dir=checkpoint_dir, progress=progress, device=device)
    except NotApplicable as err:
        return LearnedOutcome(None, {**record, "not_applicable": str(err), "stopped": "not applicable", "psnr": None, "ssim": None, "lpips": None, "accuracy": None}, {})
    # the whole cost: training resumed from checkpoints included
    seconds = time.perf_counter() - start + sum(t["resumed_seconds"] for t in trainings)
    per_image = per_image_scores(recovered, data.plain_test, settings.lpips_weights)
    record.update(held=held, seconds=round(seconds, 1), stopped=stopped(trainings), steps=sum(t["steps"] for t in trainings),
                  training=trainings, psnr=float(per_image["psnr"].mean()), ssim=float(per_image["ssim"].mean()),
                  lpips=None if per_image["lpips"] is None else float(per_image["lpips"].mean()),
                  accuracy=None if accuracy is None else float(accuracy(recovered)))
    return LearnedOutcome(recovered, record, per_image)
