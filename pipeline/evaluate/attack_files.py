"""The statistical attacks' outputs: ``<dataset>_<scheme>_<kind>.json`` (schema: docs/attack.md) and its PNG strip."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.data.preview import save_preview
from workbench.outputs import write_json
from pipeline.evaluate.evaluation import PREVIEW_IMAGES, Evaluation, Outcome

THREAT_MODEL = (
    "adversary holds the encrypted training data with its labels, knows the algorithm and has public plain images of the same kind "
    "(the other half of the training images: stratified by label, fixed seed); its ciphertext-only statistics come from those, "
    "never from the attacked encrypted test split; "
    "known-plaintext adds the first k plain/encrypted train pairs"
)


def key_form(evaluation: Evaluation) -> str:
    truth = evaluation.truth
    return "fixed sample map" if truth.fixed is not None else "per image" if truth.per_image is not None else "unknown (no key share)"


def write_results(path: Path, evaluation: Evaluation, kind: str, outcomes: list[Outcome], baselines: dict, recognisability: dict | None,
                  seconds: float, key_seed: int | None = None) -> dict:
    """Write one kind's JSON file atomically; returns what it holds. ``scheme`` and ``key_seed`` (the benchmark
    key, None for a key without one) say what was attacked."""
    d = evaluation.data
    result = {
        "dataset": d.spec.name,
        "encryption": evaluation.encryption,
        "scheme": evaluation.encryption,
        "key_seed": key_seed,
        "kind": kind,
        "threat_model": THREAT_MODEL,
        "images": {"public_plain": len(evaluation.public_rows), "encrypted_statistics": len(evaluation.encrypted_rows), "attacked": len(d.plain_test)},
        "statistics_from": evaluation.statistics_source(),
        "key_form": key_form(evaluation),
        "negation_considered": evaluation.negation,
        "recognisability": recognisability,
        "baselines": baselines,
        "attacks": [o.record for o in outcomes],
        "skipped": evaluation.skipped(),
        "seconds": round(seconds, 1),
    }
    write_json(path, result)
    return result


def write_strip(path: Path, evaluation: Evaluation, outcomes: list[Outcome]) -> None:
    """PNG: plain / encrypted / recovered by each method (its strongest setting) for the first test images."""
    d = evaluation.data
    last = {}
    for o in outcomes:
        last[o.record["method"]] = o  # known-plaintext: the last one is the most pairs with statistics
    rows = [np.asarray(d.plain_test[:PREVIEW_IMAGES]), np.asarray(d.enc_test[:PREVIEW_IMAGES])] + [o.recovered for o in last.values()]
    labels = ["plain", "encrypted"] + [m + (f" k={o.record['pairs']}" if o.record["pairs"] else "") for m, o in last.items()]
    save_preview(path, rows, labels)
