"""The learned attacks' figures, drawn from the side files only: box plots like the EtC paper's Figure 8, a grid like its Figure 6.

* :func:`box_plot`: per-image SSIM (or PSNR, LPIPS) distributions, one group per scheme, one
  box per method (the encrypted images first): box = quartiles, line = median, whiskers = 5th
  and 95th percentiles.
* :func:`picture_grid`: one column per scheme, rows encrypted, FR, GAN, ITN (each ITN variant),
  plain, for one test image; a method that did not run on a scheme leaves its tile blank.
* :func:`curves_plot`: the held-out score of every training against its step (from the result
  files), one panel per trained kind, one line per variant in its scheme's colour; the end of a
  line says why it stopped.

A method whose training stopped at its cap instead of a plateau (``<method>/stopped`` in the side
file) has not converged: both figures mark it "cap" in red, and no verdict is to be read from it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from matlab_compat import atomic_output
from workbench.data.preview import preview_grid
from pipeline.encrypt.registry import SCHEMES
from pipeline.errors import PipelineError
from pipeline.evaluate.learned.results import curve_rows, read_side_file

ORDER = ("encrypted", "fr", "gan", "itn")  # row / box order; ITN variants (itn+kpairs) follow itn
COLOURS = [(120, 120, 120), (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


def rank(method: str) -> tuple[int, str]:
    """Sort key of a method: the order of ``ORDER``, ITN variants after ITN, others last."""
    return next((i for i, m in enumerate(ORDER) if method == m or method.startswith(m + "+")), len(ORDER)), method


def registry_rank(scheme: str) -> tuple[int, str]:
    """Sort key of a scheme: its place in the registry, others after them by name."""
    order = list(SCHEMES)
    return (order.index(scheme) if scheme in order else len(order)), scheme


def collect(results_dir: Path, dataset: str) -> dict[str, list[dict[str, np.ndarray]]]:
    """scheme -> one dict per attacked variant (benchmark key, in key order) of every array of its side files
    (``<method>/<name>``), merged over the learned kinds; schemes in registry order."""

    variants: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for path in sorted(Path(results_dir).glob(f"{dataset}_*.npz")):
        arrays = read_side_file(path)
        if "scheme" in arrays:
            scheme = str(arrays["scheme"])
            variants.setdefault((scheme, str(arrays.get("variant", scheme))), {}).update(arrays)
    if not variants:
        raise PipelineError(f"{results_dir}: no learned-attack side files of {dataset} ({dataset}_<variant>_<kind>.npz)")
    found: dict[str, list[dict[str, np.ndarray]]] = {}
    for (scheme, _), arrays in sorted(variants.items(), key=lambda item: (int(item[1].get("key_seed", -1)), item[0][1])):
        found.setdefault(scheme, []).append(arrays)
    return dict(sorted(found.items(), key=lambda item: registry_rank(item[0])))


def pooled(keys: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One scheme's variants as one: per-image scores of every key together, the first key's examples, and
    ``<method>/stopped`` "cap" where any key's training stopped at its cap."""
    out = dict(keys[0])
    for name in {n for arrays in keys for n in arrays}:
        if name.endswith("/stopped"):
            stops = [str(arrays[name]) for arrays in keys if name in arrays]
            out[name] = np.array("cap" if "cap" in stops else stops[0])
        elif "/" in name and not name.endswith("/examples"):
            out[name] = np.concatenate([arrays[name] for arrays in keys if name in arrays])
    return out


def not_converged(arrays: dict[str, np.ndarray], method: str) -> bool:
    """Whether ``method``'s training stopped at its cap (side files of older runs say nothing: not marked)."""
    return str(arrays.get(f"{method}/stopped", "")) == "cap"


def methods_of(arrays: dict[str, np.ndarray], metric: str) -> list[str]:
    return sorted({name.split("/")[0] for name in arrays if name.endswith("/" + metric)}, key=rank)


def box_plot(path: Path, schemes: dict[str, dict[str, np.ndarray]], metric: str = "ssim") -> Path:
    """PNG box plots of ``metric`` per scheme x method; returns the path."""


    methods = sorted({m for arrays in schemes.values() for m in methods_of(arrays, metric)}, key=rank)
    values = [arrays[f"{m}/{metric}"] for arrays in schemes.values() for m in methods if f"{m}/{metric}" in arrays]
    if not values:
        raise PipelineError(f"no per-image {metric} values to plot")
    p5s, p95s = [float(np.percentile(v, 5)) for v in values], [float(np.percentile(v, 95)) for v in values]
    if metric == "ssim":
        low, high = (-0.2 if min(p5s) < 0 else 0.0), 1.0
        ticks = np.arange(low, high + 1e-9, 0.2)
    else:
        low, high = min(p5s), max(max(p95s), min(p5s) + 1e-6)
        ticks = np.linspace(low, high, 6)
    box, gap, left, top, plot_h, bottom = 18, 24, 48, 16, 240, 40
    width = max(left + len(schemes) * (len(methods) * box + gap) + 8 + 110, 600)
    image = Image.new("RGB", (width, top + plot_h + bottom), "white")
    draw = ImageDraw.Draw(image)

    def y(v: float) -> int:
        return int(top + plot_h * (1 - (v - low) / (high - low)))

    for tick in ticks:
        draw.line([(left - 4, y(tick)), (width - 110, y(tick))], fill=(225, 225, 225))
        draw.text((2, y(tick) - 5), f"{tick:.2f}" if high - low < 10 else f"{tick:.0f}", fill="black")
    for g, (scheme, arrays) in enumerate(schemes.items()):
        x0 = left + g * (len(methods) * box + gap)
        for i, method in enumerate(methods):
            if f"{method}/{metric}" not in arrays:
                continue
            v = arrays[f"{method}/{metric}"]
            p5, q1, med, q3, p95 = np.percentile(v, [5, 25, 50, 75, 95])
            x, colour = x0 + i * box, COLOURS[i % len(COLOURS)]
            mid = x + box // 2
            draw.line([(mid, y(p95)), (mid, y(q3))], fill=colour)
            draw.line([(mid, y(q1)), (mid, y(p5))], fill=colour)
            draw.rectangle([x + 2, y(q3), x + box - 3, y(q1)], outline=colour, width=2)
            draw.line([(x + 2, y(med)), (x + box - 3, y(med))], fill="black", width=2)
            if not_converged(arrays, method):
                draw.text((x, max(y(p95) - 12, 0)), "cap", fill=(200, 0, 0))
        draw.text((x0, top + plot_h + 8), scheme, fill="black")
    for i, method in enumerate(methods):
        draw.rectangle([width - 104, top + 14 * i + 2, width - 96, top + 14 * i + 10], fill=COLOURS[i % len(COLOURS)])
        draw.text((width - 92, top + 14 * i), method, fill="black")
    draw.text((left, top + plot_h + 24), f"per-image {metric.upper()}: box quartiles, line median, whiskers 5-95 %; "
              f"cap: stopped at its cap, not converged", fill="black")
    with atomic_output(path) as tmp:
        image.save(tmp, format="PNG")
    return Path(path)


def picture_grid(path: Path, schemes: dict[str, dict[str, np.ndarray]], index: int = 0) -> Path:
    """PNG: rows encrypted / FR / GAN / ITN... / plain, one column per scheme (test image ``index``); returns the path."""


    methods = sorted({m for arrays in schemes.values() for m in methods_of(arrays, "examples")} - {"plain"}, key=rank) + ["plain"]
    shape = next(iter(schemes.values()))["plain/examples"].shape[1:]
    blank = np.full(shape, 255, dtype=np.uint8)
    rows = [np.stack([arrays[f"{m}/examples"][index] if f"{m}/examples" in arrays else blank for arrays in schemes.values()])
            for m in methods]
    scale, label, header = 3, 96, 16
    grid = Image.fromarray(preview_grid(rows, scale), "RGB")
    canvas = Image.new("RGB", (grid.width + label, grid.height + header), "white")
    canvas.paste(grid, (label, header))
    draw = ImageDraw.Draw(canvas)
    pitch_x, pitch_y = grid.width / len(schemes), grid.height / len(methods)
    for j, scheme in enumerate(schemes):
        draw.text((label + int(j * pitch_x) + 6, 2), scheme, fill="black")
    for i, method in enumerate(methods):
        draw.text((4, header + int((i + 0.5) * pitch_y) - 5), method, fill="black")
        for j, arrays in enumerate(schemes.values()):
            if not_converged(arrays, method):
                draw.text((label + int(j * pitch_x) + 2, header + int(i * pitch_y) + 1), "cap", fill=(200, 0, 0))
    with atomic_output(path) as tmp:
        canvas.save(tmp, format="PNG")
    return Path(path)


def curves_plot(path: Path, results_dir: Path, dataset: str, kinds: tuple[str, ...] = ("itn", "gan")) -> Path | None:
    """PNG: per kind a panel of held-out SSIM against step of each ``<dataset>_<variant>_<kind>.json`` (its most
    complete method: ITN's own keys, then pairs, on one step axis); a line ends in a dot, marked ``cap`` where
    the training stopped at its cap. Returns the path, or None (nothing drawn) where nothing trained (FR only)."""
    panels = {}
    for kind in kinds:
        lines = []
        for file in sorted(Path(results_dir).glob(f"{dataset}_*_{kind}.json")):
            record = json.loads(file.read_text())
            trained = [a for a in record["attacks"] if a.get("training")]
            if trained:
                points = [(step, ssim) for _, step, ssim, _ in curve_rows(trained[-1]["training"])]
                lines.append((record["scheme"], record["variant"], trained[-1]["stopped"], points))
        if lines:
            panels[kind] = lines
    if not panels:
        return None
    schemes = sorted({scheme for lines in panels.values() for scheme, *_ in lines}, key=registry_rank)
    colour = {scheme: COLOURS[i % len(COLOURS)] for i, scheme in enumerate(schemes)}
    pw, ph, left, top, bottom, legend = 320, 220, 40, 20, 36, 90
    image = Image.new("RGB", (len(panels) * (pw + left + 10) + legend, top + ph + bottom), "white")
    draw = ImageDraw.Draw(image)
    low = min(-0.2, min(v for lines in panels.values() for *_, pts in lines for _, v in pts))
    for p, (kind, lines) in enumerate(panels.items()):
        x0, last = p * (pw + left + 10) + left, max(step for *_, pts in lines for step, _ in pts)

        def xy(step: float, value: float) -> tuple[int, int]:
            return int(x0 + pw * step / last), int(top + ph * (1 - (value - low) / (1 - low)))

        for tick in np.arange(-0.2 if low >= -0.2 else low, 1.0001, 0.2):
            draw.line([xy(0, tick), xy(last, tick)], fill=(225, 225, 225))
            draw.text((x0 - 36, xy(0, tick)[1] - 5), f"{tick:.1f}", fill="black")
        for scheme, variant, stopped, pts in lines:
            if len(pts) > 1:
                draw.line([xy(*pt) for pt in pts], fill=colour[scheme], width=2)
            end = xy(*pts[-1])
            draw.ellipse([end[0] - 2, end[1] - 2, end[0] + 2, end[1] + 2], fill=colour[scheme])
            if stopped == "cap":
                draw.text((end[0] - 18, end[1] - 12), "cap", fill=(200, 0, 0))
        draw.text((x0, 4), f"{kind}: held-out SSIM by step", fill="black")
        draw.text((x0, top + ph + 6), f"0 .. {last} steps", fill="black")
    for i, scheme in enumerate(schemes):
        xl = image.width - legend + 6
        draw.rectangle([xl, top + 14 * i + 2, xl + 8, top + 14 * i + 10], fill=colour[scheme])
        draw.text((xl + 12, top + 14 * i), scheme, fill="black")
    draw.text((left, top + ph + 20), "each line ends where its training stopped (cap: not converged)", fill="black")
    with atomic_output(path) as tmp:
        image.save(tmp, format="PNG")
    return Path(path)
