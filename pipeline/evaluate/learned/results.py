"""The learned attacks' files: ``<dataset>_<variant>_<kind>.json`` (the attack results schema) and its ``.npz`` side file.

``variant`` is the data folder attacked: the scheme's name, or ``<scheme>-k<key seed>`` for a benchmark key
(:func:`workbench.data.datasets.variant_name`); both files record ``scheme``, ``variant`` and ``key_seed``,
by which the report and the figures group the keys of one scheme.

The JSON file has the fields :func:`pipeline.evaluate.attack_summary.summary_rows` reads (``baselines``,
``attacks`` with ``method``, ``pairs``, ``psnr``, ``ssim``, ``accuracy``), plus each attack's
``threat_model``, ``held`` and ``settings``. The side file holds, per method, the per-image
``<method>/psnr``, ``<method>/ssim`` (and ``<method>/lpips`` when measured) and the first
``EXAMPLES`` recovered pictures (``<method>/examples``), and the same for the encrypted test
images (method ``encrypted``) and the plain ones (``plain/examples``), and each method's stopping
reason (``<method>/stopped``): what the figures draw.

Every attack record also says whether its training converged (``stopped``: ``plateau``, ``cap``
or ``no training``) and how it compares with the public mean image on the same test images
(``mean_image_ssim``, ``beats_mean_image``); ``<dataset>_<variant>_<kind>_curve.tsv`` holds the
curve of a trained kind (the most complete method's: for ITN the own-keys stage, then the
known-pairs stage, on one step axis), the DVC plot of the ``learned`` stage.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from matlab_compat import atomic_output
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError
from pipeline.evaluate.attack_data import AttackData, true_key
from pipeline.evaluate.evaluation import Evaluation
from pipeline.evaluate.recognisability import AccuracyFn
from pipeline.evaluate.learned.run import LearnedOutcome, per_image_scores

EXAMPLES = 8


def baselines(data: AttackData, scheme: Scheme, options: KeyOptions, accuracy: AccuracyFn | None) -> dict:
    """The encrypted, mean-image and (where the victim's key is at hand and is one fixed map) true-key scores.

    Only here is the victim's key read, to score the ceiling; the attacks never see it.
    """
    try:
        key = scheme.key(data.spec, options)
    except PipelineError:  # the victim's key is not at hand (no parameter file or secret): no ceiling
        return Evaluation(data, scheme, accuracy=accuracy).baselines()
    return Evaluation(data, scheme, truth=true_key(scheme, key, data), accuracy=accuracy).baselines()


def write_learned(out_dir: Path, data: AttackData, scheme: Scheme, kind: str, outcomes: list[LearnedOutcome], base: dict,
                  recognisability: dict | None, seconds: float, lpips_weights: tuple[Path, ...] = (),
                  variant: str | None = None, key_seed: int | None = None) -> tuple[Path, Path]:
    """Write the JSON result and its ``.npz`` side file of ``variant`` (default: the scheme's name) under the
    benchmark key ``key_seed`` (None: unkeyed or a private key); returns both paths."""
    variant = variant or scheme.name
    stem = Path(out_dir) / f"{data.spec.name}_{variant}_{kind}"
    mean_image = base.get("mean_image", {}).get("ssim")
    for o in outcomes:
        if o.record.get("ssim") is not None and mean_image is not None:
            o.record.update(mean_image_ssim=mean_image, beats_mean_image=bool(o.record["ssim"] > mean_image))
    result = {
        "dataset": data.spec.name, "encryption": scheme.name, "scheme": scheme.name, "variant": variant, "key_seed": key_seed,
        "kind": kind,
        "threat_model": "learned attack (EtC paper Sec. IV-E); each attack states what the adversary held",
        "images": {"public_plain": len(data.plain_train), "attacked": len(data.plain_test)},
        "recognisability": recognisability, "baselines": base,
        "attacks": [o.record for o in outcomes], "side_file": stem.name + ".npz", "seconds": round(seconds, 1),
    }
    arrays: dict[str, np.ndarray] = {"dataset": np.array(data.spec.name), "scheme": np.array(scheme.name), "variant": np.array(variant),
                                     "key_seed": np.array(-1 if key_seed is None else key_seed), "kind": np.array(kind),
                                     "plain/examples": data.plain_test[:EXAMPLES]}
    encrypted = per_image_scores(data.enc_test, data.plain_test, lpips_weights)
    for method, recovered, per_image in [("encrypted", data.enc_test, encrypted)] + [(o.record["method"], o.recovered, o.per_image) for o in outcomes
                                                                                               if o.recovered is not None]:
        arrays[f"{method}/examples"] = recovered[:EXAMPLES]
        arrays[f"{method}/stopped"] = np.array(next((o.record["stopped"] for o in outcomes if o.record["method"] == method), "no training"))
        arrays.update({f"{method}/{name}": values for name, values in per_image.items() if values is not None})
    with atomic_output(stem.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    with atomic_output(stem.with_suffix(".npz")) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    trained = [o.record["training"] for o in outcomes if o.record.get("training")]
    if trained:
        with atomic_output(stem.parent / (stem.name + "_curve.tsv")) as tmp:
            tmp.write_text(curve_tsv(trained[-1]))
    return stem.with_suffix(".json"), stem.with_suffix(".npz")


def curve_rows(stages: list[dict]) -> list[tuple[str, int, float, float]]:
    """(stage, step, held-out SSIM, train loss) of every evaluation of the stages in order, ``step`` counted on
    across stages (ITN's pairs stage after its own-keys steps)."""
    rows, offset = [], 0
    for stage in stages:
        rows += [(stage["stage"], offset + row["step"], row["heldout_ssim"], row["train_loss"]) for row in stage["curve"]]
        offset += stage["steps"]
    return rows


def curve_tsv(stages: list[dict]) -> str:
    """One row per evaluation of the stages (:func:`curve_rows`): stage, step, held-out SSIM, train loss."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(["stage", "step", "heldout_ssim", "train_loss"])
    writer.writerows(curve_rows(stages))
    return out.getvalue()


def read_side_file(path: Path) -> dict[str, np.ndarray]:
    """A side file's arrays (no pickles), or a clear error."""
    try:
        with np.load(path, allow_pickle=False) as loaded:
            return {name: loaded[name] for name in loaded.files}
    except (OSError, ValueError) as err:
        raise PipelineError(f"{path}: not a learned-attack side file ({err})") from None
