"""The results table of every run found, beside the published numbers.

Reads ``results/runs/*/metrics.json`` and writes ``results/table.md`` (accuracy of each
dataset x model x variant run, the paper's figure, and each encryption's accuracy drop against
the plain run of the same recipe) and ``results/table.png`` (the same as a bar chart, drawn
with Pillow so that the project needs no plotting library). Where ``pipeline.attack`` and
``pipeline.information`` have written results, ``table.md`` adds a second table: per dataset
and encryption, the accuracy drop beside what an adversary recovers and the information lost;
and where ``pipeline.information_study run`` has written a study, a third: its encryptions' losses,
drops and correlations.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from workbench.outputs import read_json
from pipeline.encrypt.registry import PLAIN, SCHEMES
from pipeline.errors import PipelineError
from pipeline.evaluate.information import DistanceWeight
from pipeline.evaluate.information_study import PARTS, at_weight, describe
from train.data import PLAIN
from train.errors import TrainError
from train.models import MODEL_TAGS
from train.presets import PUBLISHED_ACCURACY, VARIANTS, published_preset

#: The EtC paper's CIFAR-10 and Imagenette (224 x 224) figures (%), for runs of the ``*_etc`` presets.
PUBLISHED_ETC = {("cifar10", "convmixer"): {"origin": 96.07, "etc": 92.72},
                 ("cifar10", "vit_b_16"): {"origin": 99.06, "etc": 87.89},
                 ("imagenette", "convmixer"): {"origin": 96.10, "etc": 90.11},
                 ("imagenette", "vit_b_16"): {"origin": 99.64, "etc": 90.62}}

@dataclass(frozen=True)
class Run:
    dataset: str  # mnist, fashion, cifar10
    model: str
    recipe: str  # "published", the preset's suffix ("cpu", "etc"), or "custom"
    variant: str
    final: float  # %: the last epoch's test accuracy (a maximum over test evaluations would select on the test set)
    epochs: int
    seconds: float
    folder: str

    @property
    def published(self) -> float | None:
        if self.recipe == "published" and (self.dataset, self.model) in PUBLISHED_ACCURACY and self.variant in VARIANTS:
            return PUBLISHED_ACCURACY[(self.dataset, self.model)][VARIANTS.index(self.variant)]
        if self.recipe == "etc":
            return PUBLISHED_ETC.get((self.dataset, self.model), {}).get(self.variant)
        return None


def _recipe(config: dict, dataset: str, variant: str) -> str:
    preset = config.get("preset")
    if not preset:
        return "custom"
    if preset == published_preset(dataset, config["model"], variant):
        return "published"
    cell = f"{dataset}_{MODEL_TAGS.get(config['model'], config['model'])}_"
    return preset[len(cell):] if preset.startswith(cell) else preset


def find_runs(runs_dir: Path) -> list[Run]:
    """Every run under ``runs_dir`` with a ``metrics.json`` (sorted by dataset, model, recipe, variant)."""
    runs = []
    for path in sorted(runs_dir.glob("*/metrics.json")):
        try:
            m = read_json(path)
            config = m["config"]
            dataset, variant = config["dataset"], config.get("scheme", PLAIN)
            runs.append(Run(dataset, config["model"], _recipe(config, dataset, variant), variant,
                            100 * m["test_acc_final"], int(m["epochs"]),
                            float(m["train_seconds"]), path.parent.name))
        except (KeyError, ValueError, TypeError, TrainError) as err:
            raise PipelineError(f"{path}: not a metrics file of python -m train ({err})") from None
    order = {v: i for i, v in enumerate(ORDER)}
    return sorted(runs, key=lambda r: (r.dataset, r.model, r.recipe, order.get(r.variant, 9), r.variant))


def _plain(runs: list[Run], run: Run) -> Run | None:
    return next((r for r in runs if (r.dataset, r.model, r.recipe, r.variant) ==
                 (run.dataset, run.model, run.recipe, "origin")), None)


def _plain_published(run: Run) -> float | None:
    plain = Run(run.dataset, run.model, run.recipe, "origin", 0, 0, 0, "")
    return plain.published


def markdown(runs: list[Run]) -> str:
    """The table: one row per run, accuracy drops in percentage points against the plain run."""
    lines = ["| dataset | model | recipe | variant | accuracy % (final epoch) | published % | "
             "drop vs plain (pp) | published drop (pp) | epochs | training s | run |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        plain = _plain(runs, run)
        drop = f"{plain.final - run.final:.2f}" if plain and run.variant != "origin" else ""
        pub, pub_plain = run.published, _plain_published(run)
        pub_drop = f"{pub_plain - pub:.2f}" if pub is not None and pub_plain is not None and run.variant != "origin" else ""
        lines.append(f"| {run.dataset} | {run.model} | {run.recipe} | {run.variant} | {run.final:.2f} | "
                     f"{'' if pub is None else f'{pub:.2f}'} | {drop} | {pub_drop} | {run.epochs} | {run.seconds:.0f} | "
                     f"{run.folder} |")
    return "\n".join(lines) + "\n"


#: Variants in table order: the plain images, then the schemes in registry order.
ORDER = (PLAIN, *SCHEMES)
_PALETTE = ((70, 120, 190), (230, 140, 40), (150, 150, 150), (90, 170, 110), (170, 90, 160), (200, 80, 80), (120, 100, 60),
            (60, 160, 170))


def _colour(variant: str) -> tuple[int, int, int]:
    """One colour per variant, the same in every chart (plain first, then the registry's order)."""
    return _PALETTE[ORDER.index(variant) % len(_PALETTE)] if variant in ORDER else (40, 40, 40)


def chart(runs: list[Run]) -> Image.Image:
    """Bars of accuracy per run, grouped by dataset/model/recipe; a black tick marks the published figure."""
    groups: dict[tuple[str, str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.dataset, run.model, run.recipe), []).append(run)
    bar, gap, left, top, height = 34, 30, 60, 40, 320
    width = left + sum(len(g) * bar + gap for g in groups.values()) + 20
    img = Image.new("RGB", (max(width, 420), top + height + 90), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=12)
    draw.text((left, 10), "test accuracy % (final epoch); black tick: published", fill="black", font=font)
    for pct in range(0, 101, 20):
        y = top + height - pct * height / 100
        draw.line([(left - 5, y), (img.width - 10, y)], fill=(225, 225, 225))
        draw.text((15, y - 7), f"{pct}", fill="black", font=font)
    x = left + 10
    for (dataset, model, recipe), members in groups.items():
        for run in members:
            y = top + height - run.final * height / 100
            draw.rectangle([x, y, x + bar - 6, top + height], fill=_colour(run.variant))
            draw.text((x, y - 14), f"{run.final:.1f}", fill="black", font=font)
            draw.text((x, top + height + 4), run.variant[:6], fill="black", font=font)
            if run.published is not None:
                py = top + height - run.published * height / 100
                draw.line([(x - 2, py), (x + bar - 4, py)], fill="black", width=3)
            x += bar
        draw.text((x - len(members) * bar, top + height + 22), f"{dataset}", fill="black", font=font)
        draw.text((x - len(members) * bar, top + height + 38), f"{MODEL_TAGS.get(model, model)}", fill="black", font=font)
        draw.text((x - len(members) * bar, top + height + 54), recipe, fill="black", font=font)
        x += gap
    return img


def _strongest(rows: list[dict]) -> dict | None:
    """The attack row that recovers most (highest PSNR), if any."""
    return max(rows, key=lambda r: r["psnr"], default=None)


def _attack_cells(row: dict | None, with_pairs: bool) -> str:
    if row is None:
        return " | | | " if with_pairs else " | | "
    share = "" if row["key_share"] is None else f"{100 * row['key_share']:.1f}"
    acc = "" if row["accuracy_recovered"] is None else f"{100 * row['accuracy_recovered']:.1f}"
    cells = f"{share} | {row['psnr']:.2f} / {row['ssim']:.3f} | {acc}"
    return f"{row['pairs']} | {cells}" if with_pairs else cells


#: The statistical attack kinds; every other kind in the attacks folder is a learned attack (ITN, GAN, FR).
STATISTICAL = ("ciphertext-only", "known-plaintext")


def _learned_cells(row: dict | None) -> str:
    """The strongest learned attack's cells, marked "not converged" where its training stopped at its cap
    and "below the public mean image" where it recovers less than that image."""
    if row is None:
        return " | "
    acc = "" if row["accuracy_recovered"] is None else f"{100 * row['accuracy_recovered']:.1f}"
    marks = (["not converged: stopped at its cap"] if row.get("stopped") == "cap" else []) \
        + (["below the public mean image"] if row.get("beats_mean_image") is False else [])
    method = row["method"] + (f" ({'; '.join(marks)})" if marks else "")
    return f"{method} | {row['psnr']:.2f} / {row['ssim']:.3f} | {acc}"


def security_markdown(runs: list[Run], attacks: list[dict], information: dict[tuple[str, str], float]) -> str:
    """Accuracy and recoverability side by side: one row per dataset x encryption measured.

    Ciphertext-only: the strongest attack without pairs. Known-plaintext: the strongest attack
    from the most pairs, using the pairs alone. Recognisability is the accuracy of a classifier
    trained on plain images, on the recovered test images.
    """
    cells = sorted({(r["dataset"], r["encryption"]) for r in attacks} | set(information))
    if not cells:
        return ""
    lines = ["| dataset | encryption | accuracy drop vs plain (pp) | information loss % | "
             "ciphertext-only: key share % | PSNR dB / SSIM | recognisability % | "
             "known-plaintext: pairs | key share % | PSNR dB / SSIM | recognisability % | "
             "learned (ITN, GAN, FR): strongest | PSNR dB / SSIM | recognisability % |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for dataset, encryption in cells:
        drops = []
        for run in runs:
            plain = _plain(runs, run)
            if (run.dataset, run.variant) == (dataset, encryption) and plain:
                drops.append(f"{plain.final - run.final:.2f} ({MODEL_TAGS.get(run.model, run.model)}, {run.recipe})")
        mine = [r for r in attacks if (r["dataset"], r["encryption"]) == (dataset, encryption)]
        blind = _strongest([r for r in mine if r["kind"] == "ciphertext-only"])
        known = [r for r in mine if r["kind"] == "known-plaintext" and not r["uses_statistics"]]
        most = max((r["pairs"] for r in known), default=None)
        paired = _strongest([r for r in known if r["pairs"] == most])
        learned = _strongest([r for r in mine if r["kind"] not in STATISTICAL and r["psnr"] is not None])
        loss = information.get((dataset, encryption))
        lines.append(f"| {dataset} | {encryption} | {'; '.join(drops)} | {'' if loss is None else f'{100 * loss:.1f}'} | "
                     f"{_attack_cells(blind, False)} | {_attack_cells(paired, True)} | {_learned_cells(learned)} |")
    return "\n".join(lines) + "\n"


def information_losses(folder: Path) -> dict[tuple[str, str], float]:
    """Total information-loss rate per (dataset, encryption) from ``pipeline.information``'s default-named files."""
    losses = {}
    for path in sorted(folder.glob("*.json")):
        try:
            result = read_json(path)
        except ValueError as err:
            raise PipelineError(f"{path}: not JSON ({err})") from None
        if isinstance(result, dict) and {"dataset", "encryption", "label", "total_loss_rate"} <= set(result):
            if result["label"] == result["encryption"]:  # the default measurement, not a parameter study
                losses[(result["dataset"], result["encryption"])] = float(result["total_loss_rate"])
    return losses


def study_markdown(folder: Path) -> str:
    """Every graded study in ``folder`` (``python -m pipeline.information_study run`` wrote ``<study>.json``):
    its encryptions by total loss at the measure's default weight with their accuracy drops, then the
    correlations at that weight (every other weight is in the JSON)."""
    default, out = DistanceWeight(), []
    for path in sorted(folder.glob("*.json")):
        result = read_json(path)  # information_losses has refused what is not JSON
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
