"""Every number of the README and docs comes from a results file (issue 23, item 3).

- The README's results tables are the blocks the report renders (``results/readme_tables.md``,
  between ``<!-- results:NAME:begin/end -->`` markers), and that file is what the committed results
  render to; the accuracy and information cells are also checked against the files directly
  (json + numpy, not the report's code).
- A region ``<!-- numbers-from: FILE... -->`` ... ``<!-- /numbers-from -->`` of the README or a doc
  quotes only numbers those files hold: every decimal number in it equals a number of the files
  (as stored or as a percentage, rounded to the digits shown; ``FILE#/key/...`` narrows the check
  to that part of a large file; a ``.md`` file a stage writes offers the numbers it shows). A number of a large file can match by chance, so a region is
  kept to the text that quotes its files.
- A region ``<!-- copy-of: FILE -->`` ... ``<!-- /copy-of -->`` is that file's text (a table a stage
  writes, shown whole: the colour profile's SSIM beside the EtC paper's Figure 6).
- Every image a doc shows exists.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline.evaluate.attack_summary import summary_rows
from pipeline.evaluate.learned import figures, table
from pipeline.evaluate.readme_tables import document, fill, marked
from pipeline.evaluate.runs import find_runs
from pipeline.errors import PipelineError
from pipeline.report import app, rendered_blocks
from tests.cli import invoke
from tests.shared import ROOT

RESULTS = ROOT / "results"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _rendered() -> dict[str, str]:
    return rendered_blocks(find_runs(RESULTS / "runs"), summary_rows(RESULTS / "attacks"), RESULTS / "information")[0]


def test_the_committed_readme_tables_file_is_what_the_committed_results_render_to():
    assert (RESULTS / "readme_tables.md").read_text() == document(_rendered())


def test_the_colour_profile_s_committed_table_is_what_its_side_files_render_to():
    """results/colour/ is committed from a dvc exp run of the colour profile: its table beside the EtC paper's
    Figure 6 is the rendering of its own side files."""
    folder = RESULTS / "colour"
    keys = figures.collect(folder / "attacks", "cifar10")
    assert list(keys) == ["vor", "random", "etc", "pe", "le", "ele", "block"]
    assert (folder / "figures" / "cifar10_learned_table.md").read_text() == table.comparison_markdown("cifar10", keys)


def test_every_readme_table_equals_its_rendering_from_the_results_files():
    readme = marked((ROOT / "README.md").read_text())
    rendered = marked((RESULTS / "readme_tables.md").read_text())
    assert {"accuracy", "attacks", "learned", "information", "study", "timings"} <= set(readme)
    for name, body in readme.items():
        assert body == rendered[name], f"README block {name} differs from results/readme_tables.md: " \
                                       "python -m pipeline.report --profile cpu --readme README.md"


def _table_rows(body: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("|")[1:-1]] for line in body.splitlines()
            if line.startswith("| ") and not line.startswith("| dataset")]


def _mean_sd(values: list[float], digits: int) -> str:
    values = np.array(values)
    return f"{values.mean():.{digits}f}" + (f" ± {values.std(ddof=1):.{digits}f}" if len(values) > 1 else "")


def test_readme_accuracies_are_the_runs_final_epochs_mean_and_sd():
    """Read every metrics.json here (not through the report) and recompute each README accuracy cell."""
    runs: dict[tuple[str, str, str], list[float]] = {}
    for path in sorted((RESULTS / "runs").glob("*/metrics.json")):
        m = json.loads(path.read_text())
        dataset, _, variant = m["config"]["dataset"].partition("_")
        cell = (m.get("dataset", dataset), m.get("model", m["config"]["model"]), m.get("scheme", variant or "origin"))
        runs.setdefault(cell, []).append(100 * m["test_acc_final"])
    rows = _table_rows(marked((ROOT / "README.md").read_text())["accuracy"])
    assert len(rows) == len(runs)
    for dataset, model, _, variant, accuracy, n, drop, *_ in rows:
        values = runs[(dataset, model, variant)]
        assert accuracy == f"**{_mean_sd(values, 2)}**" and n == str(len(values))
        if variant != "origin":
            assert drop == f"{np.mean(runs[(dataset, model, 'origin')]) - np.mean(values):.2f}"


def test_readme_information_losses_are_the_files_mean_and_sd():
    files: dict[tuple[str, str], list[dict]] = {}
    for path in sorted((RESULTS / "information").glob("*.json")):
        r = json.loads(path.read_text())
        # a default measurement: labelled by its variant (the scheme, or <scheme>-k<key seed>), not a study's label
        if isinstance(r, dict) and "total_loss_rate" in r and r["label"] in (r["encryption"], f"{r['encryption']}-k{r.get('key_seed')}"):
            files.setdefault((r["dataset"], r["encryption"]), []).append(r)
    rows = _table_rows(marked((ROOT / "README.md").read_text())["information"])
    assert len(rows) == len(files)
    for dataset, scheme, n, *cells in rows:
        results = files[(dataset, scheme)]
        assert n == str(len(results))
        assert cells == [_mean_sd([100 * r[f"{part}_loss_rate"] for r in results], 1) for part in ("total", "value", "neighbour")]


NUMBER = re.compile(r"(?<!section )(?<![\w.])[-−+]?(\d+\.\d+)(?![\d.]*e-?\d)(?!\w)")  # not "section 7.3"
REGION = re.compile(r"<!-- numbers-from: (?P<files>[^>]*?) -->(?P<body>.*?)<!-- /numbers-from -->", re.S)


def _leaves(value) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [float(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def _shown(numbers: list[float], digits: int) -> set[str]:
    return {f"{abs(scale * x):.{digits}f}" for x in numbers for scale in (1, 100)}


def _regions() -> list[tuple[Path, str, str]]:
    return [(doc, m["files"], m["body"]) for doc in DOCS for m in REGION.finditer(doc.read_text())]


def test_numbers_in_marked_regions_are_numbers_of_the_files_they_name():
    regions = _regions()
    assert len({doc for doc, _, _ in regions}) >= 3  # the README and the docs that quote results
    for doc, files, body in regions:
        numbers = []
        for name in files.split():
            name, _, pointer = name.partition("#")  # FILE#/key/key: only the numbers under that part of the file
            path = ROOT / name
            assert path.is_file(), f"{doc.name}: numbers-from names {name}, which does not exist"
            if path.suffix == ".md":  # a table a stage writes: the numbers it shows
                numbers += [float(m.group(0).replace("−", "-")) for m in NUMBER.finditer(path.read_text())]
                continue
            part = json.loads(path.read_text())
            for key in filter(None, pointer.split("/")):
                part = part[int(key)] if isinstance(part, list) else part[key]
            numbers += _leaves(part)
        shown = {d: _shown(numbers, d) for d in range(1, 5)}
        for match in NUMBER.finditer(body):
            text = match.group(1)
            assert text in shown[len(text.split(".")[1])], \
                f"{doc.name}: {text} is in no file its region names ({files}): ...{body[max(0, match.start() - 60):match.end()]}"


COPY = re.compile(r"<!-- copy-of: (?P<file>\S+) -->\n(?P<body>.*?)<!-- /copy-of -->", re.S)


def test_a_copied_region_is_the_text_of_the_file_it_names():
    copies = [(doc, m["file"], m["body"]) for doc in DOCS for m in COPY.finditer(doc.read_text())]
    assert copies  # docs/attack.md shows the colour profile's table
    for doc, name, body in copies:
        assert (ROOT / name).is_file(), f"{doc.name}: copy-of names {name}, which does not exist"
        assert body == (ROOT / name).read_text(), f"{doc.name}: the copy of {name} differs from the file"


def test_a_region_check_fails_on_a_number_its_file_does_not_hold(tmp_path):
    """The check above can fail: 14.1 against a file holding 0.142 (the issue's stale information row)."""
    numbers = _leaves({"total_loss_rate": 0.1416, "runs": [{"x": 2.5}]})
    assert "14.2" in _shown(numbers, 1) and "14.1" not in _shown(numbers, 1) and "2.50" in _shown(numbers, 2)
    assert [m.group(1) for m in NUMBER.finditer("14.1 % and −0.19, p 1.1e-5, v1.2.3, section 7.3, 0.5")] == ["14.1", "0.19", "0.5"]


def test_every_image_a_doc_shows_exists():
    for doc in DOCS:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", doc.read_text()):
            assert (doc.parent / target).is_file(), f"{doc.name}: image {target} does not exist"


def test_fill_replaces_the_marked_blocks_and_refuses_one_without_results():
    text = "intro\n<!-- results:a:begin -->\nold\n<!-- results:a:end -->\nmiddle\n<!-- results:b:begin -->\n<!-- results:b:end -->\n"
    filled = fill(text, {"a": "| new |\n", "b": "B\n", "c": "unused\n"}, "X.md")
    assert filled == "intro\n<!-- results:a:begin -->\n| new |\n<!-- results:a:end -->\nmiddle\n" \
                     "<!-- results:b:begin -->\nB\n<!-- results:b:end -->\n"
    assert marked(filled) == {"a": "| new |\n", "b": "B\n"}
    with pytest.raises(PipelineError, match="X.md: blocks b have no results to render them from"):
        fill(text, {"a": "x\n"}, "X.md")


def test_report_fills_a_readme_and_leaves_an_unchanged_one_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = sorted((RESULTS / "runs").glob("fashion*origin*/metrics.json"))[0]  # one committed run of the plain images
    runs = tmp_path / "results" / "runs" / source.parent.name
    runs.mkdir(parents=True)
    (runs / "metrics.json").write_text(source.read_text())
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- results:accuracy:begin -->\nstale\n<!-- results:accuracy:end -->\n")
    result = invoke(app, ["--profile", "cpu", "--out", "results", "--readme", "README.md"])
    assert result.exit_code == 0, result.output
    body = marked(readme.read_text())["accuracy"]
    assert body == marked((tmp_path / "results" / "readme_tables.md").read_text())["accuracy"]
    accuracy = 100 * json.loads(source.read_text())["test_acc_final"]
    assert f"| **{accuracy:.2f}** | 1 |" in body
    stamp = readme.stat().st_mtime_ns
    assert invoke(app, ["--profile", "cpu", "--out", "results", "--readme", "README.md"]).exit_code == 0
    assert readme.stat().st_mtime_ns == stamp
    readme.write_text("<!-- results:learned:begin -->\n<!-- results:learned:end -->\n")
    result = invoke(app, ["--profile", "cpu", "--out", "results", "--readme", "README.md"])
    assert result.exit_code == 1 and "README.md: blocks learned have no results" in result.stderr


def test_every_picture_the_readme_and_docs_show_is_in_the_repository():
    """A picture link names a file the checkout holds (results pictures come with the results)."""
    missing = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for link in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text()):
            if not (page.parent / link).is_file():
                missing.append(f"{page.name}: {link}")
    assert not missing
