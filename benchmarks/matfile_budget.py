"""The reader's work on honest files, against its budget (docs/matfile.md, "Malformed input").

For each MAT-file (default: every ``.mat`` under ``../shared/fixtures``), the work units the
reader charged (:mod:`matlab_compat.budget`) and their ratio to the file's size, largest last::

    python benchmarks/matfile_budget.py [FILES...]
"""
from __future__ import annotations

import sys
from pathlib import Path

from matlab_compat import MatFileError, budget, loadmat

ROOT = Path(__file__).resolve().parents[1]


def charged(path: Path) -> int:
    """Units charged while reading ``path`` (the class's own ``charge`` does the counting)."""
    seen = []
    original = budget.Budget.charge

    def counting(self, nbytes=0, elements=0, what="data"):
        original(self, nbytes, elements, what)
        seen[:] = [self.used]

    budget.Budget.charge = counting
    try:
        loadmat(path)
    finally:
        budget.Budget.charge = original
    return seen[0] if seen else 0


def main(paths: list[str]) -> None:
    files = [Path(p) for p in paths] or sorted((ROOT.parent / "shared" / "fixtures").rglob("*.mat"))
    rows = []
    for path in files:
        try:
            used = charged(path)
        except MatFileError as exc:
            print(f"not read: {exc}")
            continue
        rows.append((used / path.stat().st_size, path.stat().st_size, used, path.name))
    print(f"{'units/byte':>10} {'file bytes':>11} {'units':>12}  file   (budget: {budget.WORK_FACTOR} "
          f"per byte + {budget.WORK_FLOOR >> 20} MiB)")
    for ratio, size, used, name in sorted(rows):
        print(f"{ratio:10.1f} {size:11,d} {used:12,d}  {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
