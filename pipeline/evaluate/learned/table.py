"""The learned attacks' table: mean SSIM per method x scheme from the side files, beside the EtC paper's Figure 6.

The paper's values are read from a Markdown file that holds its Figure 6 table (rows: the
encrypted image itself, FR-Attack, GAN-Attack, ITN-Attack; columns: LE, ELE, PE, EtC), e.g.
``../shared/spec/etc.md``; nothing of it is kept in the project. The paper's Figure 6 shows
one CIFAR-10 test image per cell, ours are means over every attacked test image. A method whose
training stopped at its cap is marked "not converged".
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError
from pipeline.evaluate.learned.figures import methods_of, not_converged, rank

#: Row labels of the paper's Figure 6 table (their first words) -> our method; its column headers -> our scheme.
PAPER_ROWS = {"the encrypted image itself": "encrypted", "FR-Attack": "fr", "GAN-Attack": "gan", "ITN-Attack": "itn"}
PAPER_COLUMNS = {"LE": "le", "ELE": "ele", "PE": "pe", "EtC": "etc"}


def figure6(path: Path) -> dict[tuple[str, str], float]:
    """(method, scheme) -> SSIM from the Markdown table whose header names LE, ELE, PE and EtC in ``path``."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise PipelineError(f"{path}: cannot read the paper's Figure 6 table ({err})") from None
    header = [i for i, line in enumerate(lines) if [c.strip() for c in line.strip().strip("|").split("|")][1:] == list(PAPER_COLUMNS)]
    if not header:
        raise PipelineError(f"{path}: no table with the columns | | {' | '.join(PAPER_COLUMNS)} | (the paper's Figure 6)")
    values = {}
    for line in lines[header[0] + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        method = next((m for label, m in PAPER_ROWS.items() if cells[0].startswith(label)), None)
        if method is None:
            continue
        for scheme, cell in zip(PAPER_COLUMNS.values(), cells[1:]):
            number = re.fullmatch(r"\**(-?[0-9.]+)\**", cell)
            if number is None:
                raise PipelineError(f"{path}: Figure 6 cell {cell!r} ({method}, {scheme}) is not a number")
            values[(method, scheme)] = float(number.group(1))
    if not values:
        raise PipelineError(f"{path}: the Figure 6 table has none of the rows {', '.join(PAPER_ROWS)}")
    return values


def comparison_markdown(dataset: str, schemes: dict[str, dict[str, np.ndarray]], paper: dict[tuple[str, str], float] | None) -> str:
    """Markdown: one row per method (the encrypted images first), one column per scheme; each cell our mean
    SSIM over the attacked test images, then the paper's Figure 6 value where it has one."""
    methods = sorted({m for arrays in schemes.values() for m in methods_of(arrays, "ssim")}, key=rank)
    lines = [f"Mean SSIM of the learned attacks on {dataset} (ours: mean over the attacked test images"
             + ("; paper: the EtC paper's Figure 6, one CIFAR-10 test image" if paper else "") + ").", "",
             "| method | " + " | ".join(schemes) + " |", "|---|" + "---|" * len(schemes)]
    for method in methods:
        cells = []
        for scheme, arrays in schemes.items():
            if f"{method}/ssim" not in arrays:
                cells.append("")
                continue
            cell = f"{float(np.mean(arrays[f'{method}/ssim'])):.3f}"
            if not_converged(arrays, method):
                cell += " (not converged)"
            if paper and (method, scheme) in paper:
                cell += f" (paper {paper[(method, scheme)]:.3f})"
            cells.append(cell)
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
