"""How long the profile's stages took, from the seconds each results file records: the README's timing table.

Every stage that computes writes its own time: a training run ``train_seconds`` (metrics.json), an
attack file ``seconds`` (the kind: every method of it, its classifier's reuse included), each learned
attack ``seconds`` and ``steps``, an information measurement ``seconds``. The table sums them per
kind of work; stages that only move files (fetch, encrypt, figures, the report) record no time and
are left out, so the total is the computing time of a `dvc repro` that runs every stage, one after
another (DVC runs stages one at a time).
"""
from __future__ import annotations

from pipeline.evaluate.recoverability import STATISTICAL
from pipeline.evaluate.runs import Run

Line = tuple[str, list[float]]


def _line(label: str, values: list[float]) -> str:
    return (f"| {label} | {len(values)} | {sum(values) / 60:.1f} | {sum(values) / len(values):.0f} | "
            f"{min(values):.0f}-{max(values):.0f} |")


def timing_lines(runs: list[Run], attack_rows: list[dict], information: list[dict]) -> list[Line]:
    """(label, the seconds of each file or run) per kind of work, in the order the stages run."""
    lines: list[Line] = [("train: `python -m train`, per run", [r.seconds for r in runs])]
    per_file: dict[str, dict] = {}
    for row in attack_rows:
        per_file.setdefault(row["file"], row)
    for kind in STATISTICAL:
        lines.append((f"attack: {kind}, per variant", [r["file_seconds"] for r in per_file.values()
                                                          if r["kind"] == kind and r["file_seconds"] is not None]))
    learned = sorted({(r["kind"], r["method"]) for r in attack_rows if r["kind"] not in STATISTICAL and r["seconds"] is not None})
    for kind, method in learned:
        lines.append((f"learned: {method}, per variant", [r["seconds"] for r in attack_rows
                                                            if (r["kind"], r["method"]) == (kind, method) and r["seconds"] is not None]))
    lines.append(("information, per variant", [r["seconds"] for r in information if r.get("seconds") is not None]))
    return [(label, values) for label, values in lines if values]


def timing_table(runs: list[Run], attack_rows: list[dict], information: list[dict]) -> str:
    """Markdown: per kind of work its count, total minutes, mean and range of seconds, and the total."""
    lines = timing_lines(runs, attack_rows, information)
    every = [v for _, values in lines for v in values]
    return "\n".join(["| work (stage: what is timed) | files or runs | total min | mean s | range s |", "|---|---|---|---|---|",
                      *(_line(label, values) for label, values in lines),
                      f"| **all of the above, one after another** | {len(every)} | **{sum(every) / 60:.1f}** | | |"]) + "\n"
