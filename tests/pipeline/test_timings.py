"""The README's timing table: the seconds each results file records, summed per kind of work."""
from __future__ import annotations

from pipeline.evaluate.runs import Run
from pipeline.evaluate.timings import timing_lines, timing_table


def run(seconds: float, seed: int) -> Run:
    return Run("fashion", "smallcnn", "cpu", "origin", 90.0, 5, seconds, f"r{seed}", seed=seed)


def row(file: str, kind: str, method: str, file_seconds: float, seconds: float | None = None) -> dict:
    return {"file": file, "kind": kind, "method": method, "file_seconds": file_seconds, "seconds": seconds}


def test_each_file_counts_once_and_the_total_is_every_timed_piece_of_work():
    runs = [run(100.0, 0), run(140.0, 1)]
    rows = [row("a_kp.json", "known-plaintext", "map", 30.0), row("a_kp.json", "known-plaintext", "map+stats", 30.0),  # one file
            row("a_co.json", "ciphertext-only", "stats", 12.0),
            row("a_itn.json", "itn", "itn", 200.0, 50.0), row("a_itn.json", "itn", "itn+1000pairs", 200.0, 150.0),
            row("a_gan.json", "gan", "gan", 400.0, 400.0)]
    information = [{"seconds": 20.0}, {"seconds": 40.0}]
    lines = dict(timing_lines(runs, rows, information))
    assert lines == {"train: `python -m train`, per run": [100.0, 140.0], "attack: ciphertext-only, per variant": [12.0],
                     "attack: known-plaintext, per variant": [30.0], "learned: gan, per variant": [400.0],
                     "learned: itn, per variant": [50.0], "learned: itn+1000pairs, per variant": [150.0],
                     "information, per variant": [20.0, 40.0]}
    table = timing_table(runs, rows, information)
    total = 100 + 140 + 12 + 30 + 400 + 50 + 150 + 20 + 40
    assert f"| **all of the above, one after another** | 9 | **{total / 60:.1f}** | | |" in table
    assert "| train: `python -m train`, per run | 2 | 4.0 | 120 | 100-140 |" in table
