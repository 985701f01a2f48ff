"""One entry for every learned attack: train (or render), recover the victim's test images, score them per image.

:func:`run_attack` runs one kind of the registry (``registry.LEARNED``: ``itn``, ``gan``, ``fr``)
and returns a :class:`LearnedOutcome`: the recovered test pictures, a JSON-ready record for ``results/attacks/<dataset>_<variant>_<kind>.json`` and the per-image values for
its side file (``.npz``). It is two steps, :func:`train_attack` (the costly one, which :func:`train_kinds`
runs for several kinds side by side) and :func:`scored`. The victim's key is never passed in: only the scoring looks at the
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
from pipeline.evaluate.workers import process_pool
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


@dataclass(frozen=True)
class Trained:
    """What one learned attack's training gives (the costly part, run in a worker with ``--jobs``): the
    recovered test pictures, what the adversary held, each training stage's record, and the seconds
    spent; or, where the attack does not apply, why."""

    recovered: np.ndarray | None
    held: dict
    trainings: list[dict]
    seconds: float
    not_applicable: str | None = None


def train_attack(kind: str, data: AttackData, scheme: Scheme, options: KeyOptions, settings: LearnedSettings, *, device: str = "cpu",
                 checkpoint_dir: Path | None = None, progress: bool = False) -> Trained:
    """Train (or render) the learned attack ``kind`` and recover the victim's test pictures; nothing is scored here."""
    start = time.perf_counter()
    try:
        recovered, held, trainings = LEARNED.get(kind).run(data, scheme, options, settings, checkpoint_dir=checkpoint_dir,
                                                           progress=progress, device=device)
    except NotApplicable as err:
        return Trained(None, {}, [], 0.0, str(err))
    # the whole cost: training resumed from checkpoints included
    return Trained(recovered, held, trainings, time.perf_counter() - start + sum(t["resumed_seconds"] for t in trainings))


def scored(kind: str, trained: Trained, data: AttackData, settings: LearnedSettings, accuracy: AccuracyFn | None = None) -> LearnedOutcome:
    """The outcome of a training: per-image scores against the plain test pictures, and the JSON record.
    ``accuracy`` (recognisability: a classifier trained on plain images) fills the record's ``accuracy`` when given."""
    attack = LEARNED.get(kind)
    pairs = settings.known_pairs if attack.known_pairs and settings.known_pairs else None
    record = {"method": method_name(attack, settings), "pairs": pairs,
              "uses_statistics": False, "key_share": None, "threat_model": attack.threat_model, "settings": settings.record()}
    if trained.not_applicable is not None:
        return LearnedOutcome(None, {**record, "not_applicable": trained.not_applicable, "stopped": "not applicable", "psnr": None,
                                     "ssim": None, "lpips": None, "accuracy": None}, {})
    per_image = per_image_scores(trained.recovered, data.plain_test, settings.lpips_weights)
    record.update(held=trained.held, seconds=round(trained.seconds, 1), stopped=stopped(trained.trainings),
                  steps=sum(t["steps"] for t in trained.trainings), training=trained.trainings,
                  psnr=float(per_image["psnr"].mean()), ssim=float(per_image["ssim"].mean()),
                  lpips=None if per_image["lpips"] is None else float(per_image["lpips"].mean()),
                  accuracy=None if accuracy is None else float(accuracy(trained.recovered)))
    return LearnedOutcome(trained.recovered, record, per_image)


def run_attack(kind: str, data: AttackData, scheme: Scheme, options: KeyOptions, settings: LearnedSettings, *, device: str = "cpu",
               checkpoint_dir: Path | None = None, progress: bool = False, accuracy: AccuracyFn | None = None) -> LearnedOutcome:
    """Run the learned attack ``kind`` on ``data`` encrypted by ``scheme`` and score it.

    ``options`` give the adversary's key options (e.g. the public block size), never the
    victim's secret. ``device``: a torch device (the ``paper`` profile is meant for a GPU).
    """
    trained = train_attack(kind, data, scheme, options, settings, device=device, checkpoint_dir=checkpoint_dir, progress=progress)
    return scored(kind, trained, data, settings, accuracy)


def train_kinds(plans: dict[str, list[LearnedSettings]], data: AttackData, scheme: Scheme, options: KeyOptions, *, jobs: int,
                device: str = "cpu", checkpoint_dir: Path | None = None, progress: bool = False) -> dict[str, list[Trained]]:
    """Each kind's trainings (one per settings, in order: ITN's known-pairs run resumes its own-keys one), with
    ``jobs`` kinds at once in worker processes (:func:`~pipeline.evaluate.workers.process_pool`: spawned, ended with this process). A training depends only on its
    data, settings and seed, never on what runs beside it, so any ``jobs`` gives the same pictures."""
    if jobs == 1 or len(plans) == 1:
        return {kind: _train_plan(kind, plan, data, scheme, options, device, checkpoint_dir, progress) for kind, plan in plans.items()}
    with process_pool(min(jobs, len(plans))) as pool:
        futures = {kind: pool.submit(_train_plan, kind, plan, data, scheme, options, device, checkpoint_dir, progress)
                   for kind, plan in plans.items()}
        return {kind: future.result() for kind, future in futures.items()}


def _train_plan(kind: str, plan: list[LearnedSettings], data: AttackData, scheme: Scheme, options: KeyOptions, device: str,
                checkpoint_dir: Path | None, progress: bool) -> list[Trained]:
    return [train_attack(kind, data, scheme, options, settings, device=device, checkpoint_dir=checkpoint_dir, progress=progress)
            for settings in plan]
