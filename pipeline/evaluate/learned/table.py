"""The learned attacks' table: mean SSIM per method x scheme from the side files, beside the EtC paper's Figure 6.

The paper's Figure 6 (AprilPyone & Kiya, isotropic networks) restores one CIFAR-10 test image with
each attack and prints its SSIM; those published figures are kept here, beside the report's
published accuracies, so that a clone regenerates the table with nothing outside the project. Ours
are means over every attacked test image. A method whose training stopped at its cap is marked
"not converged".
"""
from __future__ import annotations

import numpy as np

from pipeline.evaluate.learned.figures import methods_of, not_converged, rank

#: The EtC paper's Figure 6: dataset -> (method, scheme) -> SSIM of the one restored test image.
PUBLISHED_FIGURE6 = {"cifar10": {
    ("encrypted", "le"): 0.037, ("encrypted", "ele"): 0.002, ("encrypted", "pe"): 0.041, ("encrypted", "etc"): 0.047,
    ("fr", "le"): 0.101, ("fr", "ele"): 0.055, ("fr", "pe"): 0.303, ("fr", "etc"): 0.042,
    ("gan", "le"): 0.864, ("gan", "ele"): 0.009, ("gan", "pe"): 0.109, ("gan", "etc"): 0.018,
    ("itn", "le"): 0.281, ("itn", "ele"): 0.071, ("itn", "pe"): 0.017, ("itn", "etc"): 0.025,
}}


def comparison_markdown(dataset: str, schemes: dict[str, list[dict[str, np.ndarray]]]) -> str:
    """Markdown: one row per method (the encrypted images first), one column per scheme; each cell our mean
    SSIM over the attacked test images (mean ± sd over the benchmark keys where a scheme ran under several,
    with their number), then the paper's Figure 6 value where it has one."""
    paper = PUBLISHED_FIGURE6.get(dataset)
    methods = sorted({m for keys in schemes.values() for arrays in keys for m in methods_of(arrays, "ssim")}, key=rank)
    lines = [f"Mean SSIM of the learned attacks on {dataset} (ours: mean over the attacked test images, ± sd over "
             f"benchmark keys (n)" + ("; paper: the EtC paper's Figure 6, one CIFAR-10 test image" if paper else "") + ").", "",
             "| method | " + " | ".join(schemes) + " |", "|---|" + "---|" * len(schemes)]
    for method in methods:
        cells = []
        for scheme, keys in schemes.items():
            means = [float(np.mean(arrays[f"{method}/ssim"])) for arrays in keys if f"{method}/ssim" in arrays]
            if not means:
                cells.append("")
                continue
            cell = f"{np.mean(means):.3f}" + (f" ± {np.std(means, ddof=1):.3f} ({len(means)})" if len(means) > 1 else "")
            capped = sum(not_converged(arrays, method) for arrays in keys)
            if capped:
                cell += " (not converged)" if capped == len(means) else f" ({capped} of {len(means)} not converged)"
            if paper and (method, scheme) in paper:
                cell += f" (paper {paper[(method, scheme)]:.3f})"
            cells.append(cell)
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
