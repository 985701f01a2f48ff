"""The study's pictures: a labelled scatter plot with error bars, and the study's accuracy drop against
its information loss (with and without the baseline)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

from PIL import Image, ImageDraw

from workbench.outputs import atomic_output
from pipeline.evaluate.information import DistanceWeight
from pipeline.evaluate.study_stats import at_weight, describe

def scatter_png(path: Path, labels: list[str], xs: list[float], ys: list[float], title: str, x_title: str, y_title: str,
                errors: Optional[list[float]] = None) -> None:
    """A labelled scatter plot of ``ys`` against ``xs`` (:func:`scatter_image`) saved as a PNG."""
    with atomic_output(path) as tmp:
        scatter_image(labels, xs, ys, title, x_title, y_title, errors).save(tmp, format="PNG")


def scatter_image(labels: list[str], xs: list[float], ys: list[float], title: str, x_title: str, y_title: str,
                  errors: Optional[list[float]] = None, size: tuple[int, int] = (760, 560)) -> Image.Image:
    """A labelled scatter plot (PIL) of ``ys`` against ``xs``, with vertical error bars ``ys +- errors`` when given."""
    width, height = size
    left, right, top, bottom = 80, 30, 64, 70
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    errors = list(errors) if errors is not None else [0.0] * len(ys)

    def axis_range(values):
        lo, hi = min(values + [0.0]), max(values)
        step = _nice_step((hi - lo) or 1.0)
        return math.floor(lo / step) * step, math.ceil(hi / step) * step + (step if hi == math.ceil(hi / step) * step else 0), step

    (x0, x1, xstep) = axis_range(list(xs))
    (y0, y1, ystep) = axis_range([y - e for y, e in zip(ys, errors)] + [y + e for y, e in zip(ys, errors)])

    def to_px(x, y):
        return (left + (x - x0) / (x1 - x0) * (width - left - right), height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom))

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for i in range(int(round((x1 - x0) / xstep)) + 1):
        x = x0 + i * xstep
        px, _ = to_px(x, y0)
        draw.line([px, height - bottom, px, height - bottom + 5], fill="black")
        draw.text((px - 10, height - bottom + 8), f"{x:g}", fill="black")
    for i in range(int(round((y1 - y0) / ystep)) + 1):
        y = y0 + i * ystep
        _, py = to_px(x0, y)
        draw.line([left - 5, py, left, py], fill="black")
        draw.text((left - 40, py - 6), f"{y:g}", fill="black")
    draw.text((left, 8), title, fill="black")
    draw.text(((width - 6 * len(x_title)) // 2, height - 30), x_title, fill="black")
    draw.text((8, top - 22), y_title, fill="black")
    for label, x, y, e in zip(labels, xs, ys, errors):
        px, py = to_px(x, y)
        if e > 0:
            _, lo = to_px(x, y - e)
            _, hi = to_px(x, y + e)
            draw.line([px, lo, px, hi], fill="#7f8c8d")
            draw.line([px - 4, lo, px + 4, lo], fill="#7f8c8d")
            draw.line([px - 4, hi, px + 4, hi], fill="#7f8c8d")
        draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill="#c0392b")
        draw.text((px + 6, py - 12), label, fill="#333333")
    return img


def _nice_step(span: float) -> float:
    raw = span / 6
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def study_png(path: Path, result: dict) -> None:
    """Accuracy drop (mean +- sd over seeds) against the total information loss at the default weight:
    every encryption, and beside it the same without the study's baseline (whose large drop would
    otherwise squeeze the rest into one line at the bottom)."""
    weight = DistanceWeight()
    e = result["encryptions"]
    index = next(i for i, g in enumerate(next(iter(e.values()))["information"])
                 if (g["scale"], g["shape"]) == (weight.scale, weight.shape))

    def panel(labels: list[str], with_baseline: bool) -> Image.Image:
        which = "" if with_baseline else f"without {result['baseline']}: "
        title = (f"{result['dataset']}, {result['preset']}, {len(result['seeds'])} seeds, weight {weight.scale:g}, "
                 f"{weight.shape:g}\n{which}{describe(at_weight(result, weight, 'total', with_baseline))}")
        return scatter_image(labels, [100 * e[k]["information"][index]["total"] for k in labels],
                             [e[k]["drop_mean_pp"] for k in labels], title, "total information-loss rate (%)",
                             "accuracy drop (points, mean +- sd)", [e[k]["drop_sd_pp"] for k in labels])

    panels = [panel(list(e), True)]
    if result["baseline"] in e:
        panels.append(panel([k for k in e if k != result["baseline"]], False))
    img = Image.new("RGB", (sum(p.width for p in panels), max(p.height for p in panels)), "white")
    for i, one in enumerate(panels):
        img.paste(one, (sum(p.width for p in panels[:i]), 0))
    with atomic_output(path) as tmp:
        img.save(tmp, format="PNG")
