"""The results tables of a profile, rendered from its results files beside the published numbers.

``results/table.md``: the accuracy of each dataset x model x recipe x variant cell as mean ± sd over its
runs (:mod:`pipeline.evaluate.runs`), the paper's figure and the drop against the plain cell of the
same recipe; ``results/table.png``, the same as a bar chart (drawn with Pillow so that the project
needs no plotting library). Where ``pipeline.attack`` and ``pipeline.information`` have written
results, a second table: per dataset and encryption, the accuracy drop beside what an adversary
recovers and the information lost (mean ± sd over benchmark keys, :mod:`pipeline.evaluate.recoverability`);
and where ``pipeline.information_study run`` has written a study, a third: its encryptions' losses,
drops and correlations.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from workbench.outputs import read_json
from pipeline.evaluate.aggregate import Spread, grouped
from pipeline.evaluate.information import DistanceWeight
from pipeline.evaluate.study_stats import PARTS, at_weight, describe
from pipeline.evaluate.recoverability import Attack, attacks_by_cell, blind, learned, paired
from pipeline.evaluate.runs import ORDER, PLAIN, Run, cells, drop, in_order, plain_published
from train.model_registry import tag


def markdown(runs: list[Run]) -> str:
    """The table: one row per cell, its accuracy as mean ± sd over its runs (n of them), the drop against
    the plain cell in percentage points (difference of means)."""
    lines = ["| dataset | model | recipe | variant | accuracy % (final epoch, mean ± sd) | runs (n) | published % | "
             "drop vs plain (pp) | published drop (pp) | epochs | training s (mean) | seeds (keys) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    table = cells(runs)
    for cell in table:
        fall = drop(table, cell)
        pub, pub_plain = cell.published, plain_published(cell)
        pub_drop = f"{pub_plain - pub:.2f}" if pub is not None and pub_plain is not None and cell.variant != PLAIN else ""
        lines.append(f"| {cell.dataset} | {cell.model} | {cell.recipe} | {cell.variant} | {cell.accuracy.text()} | "
                     f"{cell.accuracy.n} | {'' if pub is None else f'{pub:.2f}'} | {'' if fall is None else f'{fall:.2f}'} | "
                     f"{pub_drop} | {cell.epochs} | {cell.seconds:.0f} | {cell.repetitions} |")
    return "\n".join(lines) + "\n"


_PALETTE = ((70, 120, 190), (230, 140, 40), (150, 150, 150), (90, 170, 110), (170, 90, 160), (200, 80, 80), (120, 100, 60),
            (60, 160, 170))


def _colour(variant: str) -> tuple[int, int, int]:
    """One colour per variant, the same in every chart (plain first, then the registry's order)."""
    return _PALETTE[ORDER.index(variant) % len(_PALETTE)] if variant in ORDER else (40, 40, 40)


def chart(runs: list[Run]) -> Image.Image:
    """Bars of mean accuracy per cell, grouped by dataset/model/recipe; a grey whisker spans mean ± sd where a
    cell has several runs, a black tick marks the published figure."""
    groups = grouped(cells(runs), lambda c: (c.dataset, c.model, c.recipe))
    bar, gap, left, top, height = 34, 30, 60, 40, 320
    width = left + sum(len(g) * bar + gap for g in groups.values()) + 20
    img = Image.new("RGB", (max(width, 420), top + height + 90), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=12)
    draw.text((left, 10), "test accuracy % (final epoch, mean ± sd over runs); black tick: published", fill="black", font=font)
    for pct in range(0, 101, 20):
        y = top + height - pct * height / 100
        draw.line([(left - 5, y), (img.width - 10, y)], fill=(225, 225, 225))
        draw.text((15, y - 7), f"{pct}", fill="black", font=font)
    x = left + 10
    for (dataset, model, recipe), members in groups.items():
        for cell in members:
            mean, sd = cell.accuracy.mean, cell.accuracy.sd
            y = top + height - mean * height / 100
            draw.rectangle([x, y, x + bar - 6, top + height], fill=_colour(cell.variant))
            if sd is not None:
                centre, (low, high) = x + (bar - 6) / 2, (top + height - (mean + e * sd) * height / 100 for e in (-1, 1))
                draw.line([(centre, low), (centre, high)], fill=(60, 60, 60), width=2)
            draw.text((x, y - 14), f"{mean:.1f}", fill="black", font=font)
            draw.text((x, top + height + 4), cell.variant[:6], fill="black", font=font)
            if cell.published is not None:
                py = top + height - cell.published * height / 100
                draw.line([(x - 2, py), (x + bar - 4, py)], fill="black", width=3)
            x += bar
        draw.text((x - len(members) * bar, top + height + 22), f"{dataset}", fill="black", font=font)
        draw.text((x - len(members) * bar, top + height + 38), f"{tag(model)}", fill="black", font=font)
        draw.text((x - len(members) * bar, top + height + 54), recipe, fill="black", font=font)
        x += gap
    return img


def _text(value: Spread | None, digits: int, scale: float = 1.0) -> str:
    return "" if value is None else value.text(digits, scale)


def _scores(attack: Attack) -> str:
    """``PSNR dB / SSIM`` of an attack, each mean ± sd over its keys."""
    return f"{_text(attack.score('psnr'), 2)} / {_text(attack.score('ssim'), 3)}"


def _attack_cells(attack: Attack | None, with_pairs: bool) -> str:
    if attack is None:
        return " | | | " if with_pairs else " | | "
    cells = (f"{_text(attack.score('key_share'), 1, 100)} | {_scores(attack)} | "
             f"{_text(attack.score('accuracy_recovered'), 1, 100)}")
    return f"{attack.pairs} | {cells}" if with_pairs else cells


def _learned_cells(attack: Attack | None) -> str:
    """The strongest learned attack's cells, marked "not converged" where its training stopped at its cap
    and "below the public mean image" where it recovers less than that image (in how many runs, if not all)."""
    if attack is None:
        return " | "
    n = len(attack.rows)
    marks = [f"{what}{'' if count == n else f' in {count} of {n} runs'}"
             for what, count in (("not converged: stopped at its cap", attack.stopped_at_cap),
                                 ("below the public mean image", attack.below_mean_image)) if count]
    method = attack.method + (f" ({'; '.join(marks)})" if marks else "")
    return f"{method} | {_scores(attack)} | {_text(attack.score('accuracy_recovered'), 1, 100)}"


def security_markdown(runs: list[Run], attacks: list[dict], information: dict[tuple[str, str], Spread]) -> str:
    """Accuracy and recoverability side by side: one row per dataset x encryption measured.

    Ciphertext-only: the strongest attack without pairs. Known-plaintext: the strongest attack
    from the most pairs, using the pairs alone. Recognisability is the accuracy of a classifier
    trained on plain images, on the recovered test images. Scores and information loss are
    mean ± sd over the benchmark keys a keyed scheme ran under (n of them in the runs column).
    """
    by_cell = attacks_by_cell(attacks)
    found = sorted(set(by_cell) | set(information), key=lambda c: (c[0], *in_order(c[1])))
    if not found:
        return ""
    lines = ["| dataset | encryption | runs (n) | accuracy drop vs plain (pp) | information loss % | "
             "ciphertext-only: key share % | PSNR dB / SSIM | recognisability % | "
             "known-plaintext: pairs | key share % | PSNR dB / SSIM | recognisability % | "
             "learned (ITN, GAN, FR): strongest | PSNR dB / SSIM | recognisability % |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    table = cells(runs)
    for dataset, encryption in found:
        drops = [f"{drop(table, c):.2f} ({tag(c.model)}, {c.recipe})" for c in table
                 if (c.dataset, c.variant) == (dataset, encryption) and drop(table, c) is not None]
        mine = by_cell.get((dataset, encryption), [])
        loss = information.get((dataset, encryption))
        keys = max([len(a.rows) for a in mine] + [loss.n if loss else 0])
        lines.append(f"| {dataset} | {encryption} | {keys} | {'; '.join(drops)} | {_text(loss, 1, 100)} | "
                     f"{_attack_cells(blind(mine), False)} | {_attack_cells(paired(mine), True)} | "
                     f"{_learned_cells(learned(mine))} |")
    return "\n".join(lines) + "\n"


def study_markdown(folder: Path) -> str:
    """Every graded study in ``folder`` (``python -m pipeline.information_study run`` wrote ``<study>.json``):
    its encryptions by total loss at the measure's default weight with their accuracy drops, then the
    correlations at that weight (every other weight is in the JSON)."""
    default, out = DistanceWeight(), []
    for path in sorted(folder.glob("*.json")):
        result = read_json(path)  # information_results has refused what is not JSON
        if not (isinstance(result, dict) and {"study", "encryptions", "correlations", "plain"} <= set(result)):
            continue
        plain, options = result["plain"], ", ".join(f"{k} {v}" for k, v in result["train_options"].items())
        out += [f"Study `{result['study']}` (`{path.name}`): {result['dataset']}, {result['train_images']:,} training images, "
                f"preset `{result['preset']}`{f' ({options})' if options else ''}, seeds {', '.join(map(str, result['seeds']))}; "
                f"plain {100 * plain['mean']:.2f} ± {100 * plain['sd']:.2f} %. Loss rates at the default weight "
                f"(λ {default.scale:g}, γ {default.shape:g}).", "",
                "| encryption | total loss % | value loss % | neighbouring loss % | accuracy drop, pp (mean ± sd) |",
                "|---|---|---|---|---|"]
        rows = []
        for label, e in result["encryptions"].items():
            grid = next(g for g in e["information"] if (g["scale"], g["shape"]) == (default.scale, default.shape))
            rows.append((grid["total"], f"| {label}{' (baseline)' if label == result['baseline'] else ''} | "
                         + " | ".join(f"{100 * grid[p]:.1f}" for p in PARTS)
                         + f" | {e['drop_mean_pp']:.2f} ± {e['drop_sd_pp']:.2f} |"))
        out += [row for _, row in sorted(rows)] + [""]
        for part in PARTS:
            for with_baseline in ([True, False] if result["baseline"] else [True]):
                row = at_weight(result, default, part, with_baseline)
                which = "all" if with_baseline else f"without {result['baseline']}"
                p = " / ".join("n/a" if row[c]["p"] is None else f"{row[c]['p']:.2g}" for c in ("pearson", "spearman"))
                out.append(f"- {part} loss, {which}: {describe(row)}; p {p}")
        out.append("")
    return "\n".join(out)
