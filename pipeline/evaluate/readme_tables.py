"""The README's results tables, rendered from the results files and kept between markers.

Each table is a block of the README::

    <!-- results:accuracy:begin -->
    | ... rendered table ... |
    <!-- results:accuracy:end -->

``python -m pipeline.report`` renders every block from the profile's results files into
``<results>/readme_tables.md`` (the same markers) and, given ``--readme README.md``, replaces the
README's blocks with them; ``tests/test_readme_numbers.py`` fails when a README block differs from
the committed results. Accuracies are mean ± sd over runs (seeds, and benchmark keys for a keyed
scheme), attack scores and information loss mean ± sd over keys; n is always shown and one run has
no ±.
"""
from __future__ import annotations

import re

from pipeline.errors import PipelineError
from pipeline.evaluate.aggregate import Spread
from pipeline.evaluate.recoverability import STATISTICAL, Attack, attacks_by_cell, blind, paired
from pipeline.evaluate.runs import Run, cells, drop, in_order
from train.presets import PUBLISHED_ACCURACY, VARIANTS

#: The model whose published figures (the paper's Table, 50 epochs on a GPU) the README sets beside ours.
PAPER_MODEL = "resnet18"


def _place(item: tuple[tuple[str, str], list]) -> tuple:
    (dataset, scheme), _ = item
    return (dataset, *in_order(scheme))


def _text(value: Spread | None, digits: int, scale: float = 1.0) -> str:
    return "–" if value is None else value.text(digits, scale)


def _n(*spreads: Spread | None) -> str:
    """The number of runs behind a row's cells (a range where they differ)."""
    counts = sorted({s.n for s in spreads if s is not None})
    return "–" if not counts else str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


def accuracy_table(runs: list[Run]) -> str:
    """Test accuracy of every cell (final epoch; mean ± sd over runs, n), the drop against the plain cell of
    the same recipe (difference of means), the paper's ResNet-18 figure where it has one, mean training time."""
    lines = ["| dataset | model | recipe | variant | test accuracy % (final epoch, mean ± sd) | runs (n) | drop vs plain (pp) | "
             "paper, ResNet-18 % | training s (mean) | seeds (keys) |", "|---|---|---|---|---|---|---|---|---|---|"]
    table = cells(runs)
    for cell in table:
        fall = drop(table, cell)
        paper = PUBLISHED_ACCURACY.get((cell.dataset, PAPER_MODEL))
        published = f"{paper[VARIANTS.index(cell.variant)]:.2f}" if paper and cell.variant in VARIANTS else ""
        lines.append(f"| {cell.dataset} | {cell.model} | {cell.recipe} | {cell.variant} | **{cell.accuracy.text()}** | "
                     f"{cell.accuracy.n} | {'' if fall is None else f'{fall:.2f}'} | {published} | {cell.seconds:.0f} | "
                     f"{cell.repetitions} |")
    return "\n".join(lines) + "\n\n" + rerun_spread(table) + "\n"


def rerun_spread(table: list) -> str:
    """How far a re-run may move an accuracy: the largest sd over the cells with several runs, or, where no
    cell has any, that the files record no spread yet and what will produce it."""
    spread_cells = [c for c in table if c.accuracy.sd is not None]
    if not spread_cells:
        return ("Every cell holds one run (n = 1), so these files record no run-to-run spread: how far a re-run "
                "moves an accuracy will be the ± of the `train` stages once they run over several seeds (and "
                "benchmark keys). Until then no difference between two variants is tested against that spread.")
    widest = max(spread_cells, key=lambda c: c.accuracy.sd)
    return (f"A re-run may move an accuracy by about its sd: up to {widest.accuracy.sd:.2f} pp between the runs of "
            f"one cell here ({widest.dataset} {widest.model} {widest.recipe} {widest.variant}, n = {widest.accuracy.n}); "
            f"{len(table) - len(spread_cells)} of {len(table)} cells hold one run and show no spread.")


def _recovered(attack: Attack | None, pairs: bool) -> list[str]:
    if attack is None:
        return ["–"] * (5 if pairs else 4)
    cells = [attack.method, _text(attack.score("key_share"), 1, 100),
             f"{_text(attack.score('psnr'), 1)} dB / {_text(attack.score('ssim'), 2)}",
             _text(attack.score("accuracy_recovered"), 1, 100)]
    return [str(attack.pairs), *cells] if pairs else cells


def statistical_table(rows: list[dict]) -> str:
    """Per dataset x scheme: the plain classifier on the encrypted images as they are, the strongest
    ciphertext-only attack and the strongest attack from the most known pairs alone (key share
    recovered, PSNR / SSIM, recognised), each mean ± sd over the benchmark runs (n)."""
    lines = ["| dataset | scheme | runs (n) | encrypted as is: recognised % | ciphertext-only | key recovered % | "
             "PSNR / SSIM | recognised % | known pairs (k) | attack | key recovered % | PSNR / SSIM | recognised % |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (dataset, scheme), attacks in sorted(attacks_by_cell(rows).items(), key=_place):
        statistical = [a for a in attacks if a.kind in STATISTICAL]
        if not statistical:
            continue
        encrypted = statistical[0].score("accuracy_encrypted")
        cells = [dataset, scheme, _n(*(a.score("psnr") for a in statistical)), _text(encrypted, 1, 100),
                 *_recovered(blind(statistical), False), *_recovered(paired(statistical), True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: The learned attacks' columns: (kind, with victim pairs) -> heading.
LEARNED_COLUMNS = {("fr", False): "FR", ("gan", False): "GAN (unpaired)", ("itn", False): "ITN, adversary's own keys",
                   ("itn", True): "ITN + victim pairs"}


def _learned_cell(attack: Attack) -> str:
    ssim, n = attack.score("ssim"), len(attack.rows)
    notes = ([f"{attack.pairs} pairs"] if attack.pairs else []) \
        + ([f"recognised {_text(attack.score('accuracy_recovered'), 1, 100)} %"] if attack.pairs else []) \
        + ([f"not converged{'' if attack.stopped_at_cap == n else f' in {attack.stopped_at_cap} of {n}'}"]
           if attack.stopped_at_cap else [])
    return _text(ssim, 2) + (f" ({'; '.join(notes)})" if notes else "")


def learned_table(rows: list[dict]) -> str:
    """Per dataset x scheme: the SSIM of each learned attack on the attacked test images (mean ± sd over the
    benchmark keys, n), with the victim pairs and recognition of the paired ITN."""
    lines = ["| dataset | scheme | runs (n) | " + " | ".join(f"{h}: SSIM" for h in LEARNED_COLUMNS.values()) + " |",
             "|---|---|---|" + "---|" * len(LEARNED_COLUMNS)]
    for (dataset, scheme), attacks in sorted(attacks_by_cell(rows).items(), key=_place):
        learned = {(a.kind, bool(a.pairs)): a for a in attacks if a.kind not in STATISTICAL}
        if not learned:
            continue
        cells = [_learned_cell(learned[c]) if c in learned else "–" for c in LEARNED_COLUMNS]
        lines.append(f"| {dataset} | {scheme} | {_n(*(a.score('ssim') for a in learned.values()))} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def information_table(information: dict[str, dict[tuple[str, str], Spread]]) -> str:
    """Per dataset x scheme: the information loss and its value and neighbouring parts (mean ± sd over keys, n)."""
    lines = ["| dataset | scheme | runs (n) | information loss % | value loss % | neighbouring loss % |",
             "|---|---|---|---|---|---|"]
    for dataset, scheme in sorted(information["total"], key=lambda c: (c[0], *in_order(c[1]))):
        parts = [information[p][(dataset, scheme)] for p in ("total", "value", "neighbour")]
        lines.append(f"| {dataset} | {scheme} | {_n(*parts)} | " + " | ".join(_text(p, 1, 100) for p in parts) + " |")
    return "\n".join(lines) + "\n"


def blocks(runs: list[Run], attack_rows: list[dict], information: dict[str, dict[tuple[str, str], Spread]],
           study: str = "", timings: str = "") -> dict[str, str]:
    """Every README block by name: accuracy, statistical and learned attacks, information loss, the graded
    study (``study``: :func:`pipeline.evaluate.report.study_markdown`'s text) and the stages' times
    (``timings``: :func:`pipeline.evaluate.timings.timing_table`'s); a block whose results are absent is left out."""
    out = {"accuracy": accuracy_table(runs)}
    if any(r["kind"] in STATISTICAL for r in attack_rows):
        out["attacks"] = statistical_table(attack_rows)
    if any(r["kind"] not in STATISTICAL for r in attack_rows):
        out["learned"] = learned_table(attack_rows)
    if information.get("total"):
        out["information"] = information_table(information)
    if study:
        out["study"] = study
    if timings:
        out["timings"] = timings
    return out


_BLOCK = re.compile(r"<!-- results:(?P<name>[\w-]+):begin -->\n(?P<body>.*?)<!-- results:(?P=name):end -->", re.S)


def marked(text: str) -> dict[str, str]:
    """The blocks of ``text`` by name (their bodies, without the markers)."""
    return {m["name"]: m["body"] for m in _BLOCK.finditer(text)}


def document(rendered: dict[str, str]) -> str:
    """``rendered`` as one markdown file: each block between its markers (``<results>/readme_tables.md``)."""
    return "\n".join(f"<!-- results:{name}:begin -->\n{body}<!-- results:{name}:end -->\n"
                     for name, body in rendered.items())


def fill(text: str, rendered: dict[str, str], where: str) -> str:
    """``text`` with each marked block replaced by its rendering; a block with no rendering is refused
    (its results are absent, and the README would quote numbers no file holds)."""
    missing = sorted(set(marked(text)) - set(rendered))
    if missing:
        raise PipelineError(f"{where}: blocks {', '.join(missing)} have no results to render them from "
                            f"(rendered: {', '.join(rendered) or 'none'})")
    return _BLOCK.sub(lambda m: f"<!-- results:{m['name']}:begin -->\n{rendered[m['name']]}<!-- results:{m['name']}:end -->",
                      text)
