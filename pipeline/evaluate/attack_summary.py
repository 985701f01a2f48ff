"""The attack results' rows for the results table, read from the JSON files alone (no torch, no numpy work)."""
from __future__ import annotations

from pathlib import Path

from workbench.outputs import read_json
from pipeline.errors import PipelineError


def summary_rows(results_dir: str | Path) -> list[dict]:
    """One flat row per attack in every ``<dataset>_<encryption>_<kind>.json`` of ``results_dir``,
    for the results table: dataset, encryption, kind, method, pairs, key share, PSNR, SSIM and
    the accuracies on recovered, encrypted and plain test images; for a learned attack also why its
    training stopped (``stopped``) and whether it beats the public mean image (``beats_mean_image``;
    both None for the statistical ones)."""
    rows = []
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            result = read_json(path)
            base = result["baselines"]
            for a in result["attacks"]:
                share = a.get("key_share") or {}
                rows.append({
                    "dataset": result["dataset"],
                    "encryption": result["encryption"],
                    "scheme": result.get("scheme", result["encryption"]),  # as recorded, for the report's grouping
                    "key_seed": result.get("key_seed"),  # the benchmark key of a keyed scheme (None: unkeyed or older files)
                    "kind": result["kind"],
                    "method": a["method"],
                    "pairs": a["pairs"],
                    "uses_statistics": a["uses_statistics"],
                    "key_share": share.get("exact", share.get("per_image_exact")),
                    "key_share_equivalent": share.get("equivalent"),
                    "psnr": a["psnr"],
                    "ssim": a["ssim"],
                    "accuracy_recovered": a["accuracy"],
                    "accuracy_encrypted": base["encrypted"]["accuracy"],
                    "accuracy_plain": base["plain"]["accuracy"],
                    "stopped": a.get("stopped"),  # learned attacks: plateau, cap (not converged) or no training
                    "beats_mean_image": a.get("beats_mean_image"),  # learned attacks: SSIM above the public mean image's
                    "steps": a.get("steps"),  # learned attacks: training steps taken
                    "seconds": a.get("seconds"),  # the method's own time, where it records one (learned attacks)
                    "file": path.name, "file_seconds": result.get("seconds"),  # the whole kind's time, once per file
                })
        except (KeyError, TypeError, ValueError) as err:
            raise PipelineError(f"{path}: not an attack result file ({err})") from None
    return rows
