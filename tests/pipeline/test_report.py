"""python -m pipeline.report on run folders (metrics.json as python -m train writes them)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from PIL import Image

import numpy as np
import pytest

from pipeline.evaluate.runs import find_runs
from pipeline.report import app
from tests.cli import invoke
from tests.shared import ROOT
from train.config import resolve_config


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Every report runs in a fresh working folder: the cpu profile's results folder is its results/."""
    monkeypatch.chdir(tmp_path)


def write_run(runs, preset, overrides, best, final=None, *, folder=None, recorded=None, seconds=12.0):
    """A metrics.json as python -m train writes it; ``recorded``: the identity fields newer files carry
    (dataset, scheme, model, seed, key_seed), absent from files written before them."""
    config = resolve_config(preset, dict(overrides))
    folder = runs / (folder or config.out.rsplit("/", 1)[1])
    folder.mkdir(parents=True)
    metrics = {**(recorded or {}), "test_acc_best": best, "test_acc_final": final or best, "epochs": config.epochs,
               "train_seconds": seconds, "images_per_second": 100.0, "config": config.to_dict()}
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_report_table_with_published_numbers_and_drops(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "fashion_resnet18_origin", {}, 0.9400)
    write_run(runs, "fashion_resnet18_vor", {}, 0.9200)
    write_run(runs, "fashion_resnet18_random", {}, 0.4000)
    write_run(runs, "fashion_smallcnn_cpu", {}, 0.9000)
    write_run(runs, "fashion_smallcnn_cpu", {"scheme": "vor"}, 0.8700)
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results"])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "results" / "table.md").read_text().splitlines()
    row = next(line for line in table if "| fashion | resnet18 | published | vor |" in line)
    cells = [c.strip() for c in row.split("|")]
    # ours 92.00, published 92.85, drop 94.00 - 92.00, published drop 94.12 - 92.85
    assert cells[5] == "92.00" and cells[6] == "1" and cells[7] == "92.85" and cells[8] == "2.00" and cells[9] == "1.27"
    row = next(line for line in table if "| fashion | smallcnn | cpu | vor |" in line)
    cells = [c.strip() for c in row.split("|")]
    assert cells[5] == "87.00" and cells[7] == "" and cells[8] == "3.00"
    png = Image.open(tmp_path / "results" / "table.png")
    assert png.format == "PNG" and png.width > 200
    assert len(find_runs(runs)) == 5


def test_report_takes_the_final_epoch_never_the_best_test_evaluation(tmp_path):
    """A run whose test accuracy peaked before its last epoch is reported at its last epoch, and so
    is the drop: choosing the best epoch by test accuracy would select on the test set."""
    runs = tmp_path / "runs"
    write_run(runs, "fashion_smallcnn_cpu", {}, best=0.9100, final=0.9000)
    write_run(runs, "fashion_smallcnn_cpu", {"scheme": "vor"}, best=0.8900, final=0.8600)
    write_attack(tmp_path / "attacks", "ciphertext-only", [
        dict(pairs=None, uses_statistics=True, key_share={"exact": 0.5}, psnr=20.0, ssim=0.5, accuracy=0.5)])
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results", "--attacks-dir", str(tmp_path / "attacks")])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "results" / "table.md").read_text()
    assert "accuracy % (final epoch, mean ± sd)" in table and "best" not in table
    row = next(line for line in table.splitlines() if "| fashion | smallcnn | cpu | vor |" in line)
    cells = [c.strip() for c in row.split("|")]
    assert cells[5] == "86.00" and cells[8] == "4.00"
    assert "| fashion | vor | 1 | 4.00 (smallcnn, cpu) |" in table   # the security table's drop too


def test_report_without_runs_says_so(tmp_path):
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(tmp_path / "none"), "--out", "results"])
    assert result.exit_code == 1 and "no runs found" in result.stderr


def write_attack(folder, kind, attacks, plain=0.9, encrypted=0.2):
    folder.mkdir(parents=True, exist_ok=True)
    result = {"dataset": "fashion", "encryption": "vor", "kind": kind,
              "baselines": {"plain": {"accuracy": plain}, "encrypted": {"accuracy": encrypted}},
              "attacks": [{"method": "sample-map", "seconds": 1.0, **a} for a in attacks]}
    (folder / f"fashion_vor_{kind}.json").write_text(json.dumps(result))


def test_report_puts_recoverability_and_information_beside_the_accuracy_drop(tmp_path):
    runs, attacks, info = tmp_path / "runs", tmp_path / "attacks", tmp_path / "information"
    write_run(runs, "fashion_smallcnn_cpu", {}, 0.9000)
    write_run(runs, "fashion_smallcnn_cpu", {"scheme": "vor"}, 0.8700)
    write_attack(attacks, "ciphertext-only", [
        dict(pairs=None, uses_statistics=True, key_share={"exact": 0.983}, psnr=26.21, ssim=0.929, accuracy=0.739),
    ])
    write_attack(attacks, "known-plaintext", [
        dict(pairs=1, uses_statistics=False, key_share={"exact": 0.19}, psnr=13.1, ssim=0.26, accuracy=0.26),
        dict(pairs=8, uses_statistics=False, key_share={"exact": 0.866}, psnr=24.87, ssim=0.928, accuracy=0.742),
        dict(pairs=8, uses_statistics=True, key_share={"exact": 0.983}, psnr=26.21, ssim=0.929, accuracy=0.739),
    ])
    write_attack(attacks, "itn", [  # a learned attack: the third group of columns
        dict(pairs=1000, uses_statistics=False, key_share=None, psnr=21.66, ssim=0.718, accuracy=0.834, method="itn+pairs"),
        dict(pairs=None, uses_statistics=False, key_share=None, psnr=12.95, ssim=0.174, accuracy=0.547, method="itn"),
    ])
    info.mkdir()
    (info / "fashion_vor.json").write_text(json.dumps(
        {"dataset": "fashion", "encryption": "vor", "label": "vor", "total_loss_rate": 0.4123, "value_loss_rate": 0.17,
         "neighbour_loss_rate": 0.55}))
    (info / "fashion_vor-strong.json").write_text(json.dumps(  # a parameter study, not the default measurement
        {"dataset": "fashion", "encryption": "vor", "label": "vor-strong", "total_loss_rate": 0.9, "value_loss_rate": 0.1,
         "neighbour_loss_rate": 0.9}))
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results", "--attacks-dir", str(attacks),
                                 "--information-dir", str(info)])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "results" / "table.md").read_text()
    assert "## Accuracy and recoverability" in table
    row = next(line for line in table.splitlines() if line.startswith("| fashion | vor |"))
    cells = [c.strip() for c in row.split("|")][1:-1]
    assert cells == ["fashion", "vor", "1", "3.00 (smallcnn, cpu)", "41.2", "98.3", "26.21 / 0.929", "73.9",
                     "8", "86.6", "24.87 / 0.928", "74.2", "itn+pairs", "21.66 / 0.718", "83.4"]


def test_report_refuses_a_foreign_attack_file(tmp_path):
    runs, attacks = tmp_path / "runs", tmp_path / "attacks"
    write_run(runs, "fashion_smallcnn_cpu", {}, 0.9000)
    attacks.mkdir()
    (attacks / "fashion_vor_ciphertext-only.json").write_text(json.dumps({"dataset": "fashion"}))
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results", "--attacks-dir", str(attacks)])
    assert result.exit_code == 1 and "not an attack result file" in result.stderr


def test_report_quotes_a_graded_study_from_its_json(tmp_path):
    runs, info = tmp_path / "runs", tmp_path / "information"
    write_run(runs, "fashion_smallcnn_cpu", {}, 0.9000)
    info.mkdir()
    study = json.loads((ROOT / "results" / "information" / "study-reduced" / "study.json").read_text())
    (info / "graded.json").write_text(json.dumps(study))
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results", "--information-dir", str(info)])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "results" / "table.md").read_text()
    assert "## Does information loss track accuracy loss?" in table and "Study `study` (`graded.json`)" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and line.split("|")[1].strip().split(" ")[0] in study["encryptions"]]
    assert len(rows) == len(study["encryptions"]) == 15
    totals = []
    for row in rows:  # every cell read back from the JSON at lambda 1.5, gamma 2
        cells = [c.strip() for c in row.split("|")[1:-1]]
        e = study["encryptions"][cells[0].split(" ")[0]]
        grid = next(g for g in e["information"] if (g["scale"], g["shape"]) == (1.5, 2.0))
        assert cells[1:4] == [f"{100 * grid[p]:.1f}" for p in ("total", "value", "neighbour")]
        assert cells[4] == f"{e['drop_mean_pp']:.2f} ± {e['drop_sd_pp']:.2f}"
        totals.append(grid["total"])
    assert totals == sorted(totals) and "| random (baseline) |" in table
    row = next(c for c in study["correlations"] if (c["scale"], c["shape"], c["part"], c["with_baseline"]) == (1.5, 2.0, "total", False))
    line = next(line for line in table.splitlines() if line.startswith("- total loss, without random:"))
    assert f"Pearson {row['pearson']['r']:.2f} [{row['pearson']['ci95'][0]:.2f}, {row['pearson']['ci95'][1]:.2f}]" in line
    assert f"(n = {row['n']})" in line and row["n"] == 14


def test_the_table_goes_in_the_results_folder_the_profile_names(tmp_path):
    write_run(tmp_path / "results" / "paper" / "runs", "fashion_smallcnn_cpu", {}, 0.9000)
    result = invoke(app, ["--profile", "paper", "--out", "results/paper"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results" / "paper" / "table.md").read_text().startswith("# Results of the `paper` profile")
    assert not (tmp_path / "results" / "table.md").exists()


@pytest.mark.parametrize("args, problem", [
    (["--profile", "a/b", "--out", "results"], "--profile: a profile's name, got 'a/b'"),
    (["--profile", "cpu"], "Missing option '--out'"),
])
def test_report_refuses_a_bad_profile_name_or_no_results_folder(tmp_path, args, problem):
    write_run(tmp_path / "results" / "runs", "fashion_smallcnn_cpu", {}, 0.9000)
    before = sorted(p for p in tmp_path.rglob("*"))
    result = invoke(app, args)
    assert result.exit_code != 0 and problem in result.stderr, result.stderr
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written


def _row(table: str, start: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(start))
    return [c.strip() for c in line.split("|")[1:-1]]


def test_runs_over_seeds_and_keys_are_one_cell_of_mean_and_sd(tmp_path):
    """Runs are grouped by what their files record (not by folder name); each cell is mean ± sd over its
    runs with n shown, checked against numpy (sample sd, ddof 1); the drop is the difference of means."""
    runs = tmp_path / "runs"
    plain, etc = [0.9012, 0.9047, 0.8991], [0.8713, 0.8802, 0.8650, 0.8779]
    for seed, acc in enumerate(plain):
        write_run(runs, "fashion_smallcnn_cpu", {"seed": seed}, acc, folder=f"p{seed}",
                  recorded={"dataset": "fashion", "scheme": "origin", "model": "smallcnn", "seed": seed, "key_seed": None},
                  seconds=10.0 + seed)
    for i, acc in enumerate(etc):  # two seeds x two benchmark keys, in folders named for anything but the cell
        seed, key = divmod(i, 2)
        write_run(runs, "fashion_smallcnn_cpu", {"seed": seed, "scheme": f"etc-k{key}"}, acc, folder=f"x{i}",
                  recorded={"dataset": "fashion", "scheme": "etc", "model": "smallcnn", "seed": seed, "key_seed": key})
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results"])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "results" / "table.md").read_text()
    expect = {}
    for variant, accs in (("origin", plain), ("etc", etc)):
        values = 100 * np.array(accs)
        expect[variant] = values.mean()
        cells = _row(table, f"| fashion | smallcnn | cpu | {variant} |")
        assert cells[4] == f"{values.mean():.2f} ± {values.std(ddof=1):.2f}" and cells[5] == str(len(accs))
    assert cells[7] == f"{expect['origin'] - expect['etc']:.2f}"   # the etc row's drop
    assert cells[-1] == "0, 1; keys 0, 1"
    assert _row(table, "| fashion | smallcnn | cpu | origin |")[-2] == "11"   # mean training seconds
    readme = (tmp_path / "results" / "readme_tables.md").read_text()
    cells = _row(readme, "| fashion | smallcnn | cpu | etc |")
    assert cells[4] == f"**{np.mean(100 * np.array(etc)):.2f} ± {np.std(100 * np.array(etc), ddof=1):.2f}**" and cells[5] == "4"
    widest = max(np.std(100 * np.array(plain), ddof=1), np.std(100 * np.array(etc), ddof=1))  # how far a re-run may move
    assert f"A re-run may move an accuracy by about its sd: up to {widest:.2f} pp" in readme


def test_one_run_is_n_1_without_an_invented_spread(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "fashion_smallcnn_cpu", {}, 0.9000)
    assert invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results"]).exit_code == 0
    for name in ("table.md", "readme_tables.md"):
        cells = _row((tmp_path / "results" / name).read_text(), "| fashion | smallcnn | cpu | origin |")
        assert cells[4].strip("*") == "90.00" and cells[5] == "1" and not any("±" in c for c in cells), name
    assert "Every cell holds one run (n = 1), so these files record no run-to-run spread" in \
        (tmp_path / "results" / "readme_tables.md").read_text()


def test_a_cell_mixing_recipes_or_repeating_a_seed_is_refused(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "fashion_smallcnn_cpu", {"seed": 0}, 0.90, folder="a")
    write_run(runs, "fashion_smallcnn_cpu", {"seed": 1, "epochs": 9}, 0.91, folder="b")
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results"])
    assert result.exit_code == 1 and "runs a and b" in result.stderr and "different epochs" in result.stderr
    (runs / "b" / "metrics.json").unlink()
    write_run(runs, "fashion_smallcnn_cpu", {"seed": 0}, 0.91, folder="c")
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results"])
    assert result.exit_code == 1 and "runs a and c: both are seed 0 of the same cell" in result.stderr


def test_attack_scores_and_information_of_a_keyed_scheme_are_mean_and_sd_over_keys(tmp_path):
    runs, attacks, info = tmp_path / "runs", tmp_path / "attacks", tmp_path / "information"
    write_run(runs, "fashion_smallcnn_cpu", {}, 0.9000)
    attacks.mkdir()
    info.mkdir()
    psnr, ssim, share, acc, loss = [21.0, 23.5, 22.1], [0.70, 0.81, 0.77], [0.9, 1.0, 0.95], [0.8, 0.85, 0.83], [0.14, 0.15, 0.13]
    for key in range(3):
        result = {"dataset": "fashion", "encryption": "etc", "scheme": "etc", "key_seed": key, "kind": "ciphertext-only",
                  "baselines": {"plain": {"accuracy": 0.9}, "encrypted": {"accuracy": 0.1 + key / 100}},
                  "attacks": [{"method": "etc-blocks", "pairs": None, "uses_statistics": True, "key_share": {"exact": share[key]},
                               "psnr": psnr[key], "ssim": ssim[key], "accuracy": acc[key]}]}
        (attacks / f"whatever-{key}.json").write_text(json.dumps(result))
        (info / f"m{key}.json").write_text(json.dumps(
            {"dataset": "fashion", "encryption": "etc", "scheme": "etc", "key_seed": key, "label": f"etc-k{key}",
             "total_loss_rate": loss[key], "value_loss_rate": 0.0, "neighbour_loss_rate": 2 * loss[key]}))
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results", "--attacks-dir", str(attacks),
                          "--information-dir", str(info)])
    assert result.exit_code == 0, result.output
    sd = lambda v, scale=1: f"{scale * np.mean(v):.{d}f} ± {scale * np.std(v, ddof=1):.{d}f}"  # noqa: E731
    cells = _row((tmp_path / "results" / "table.md").read_text(), "| fashion | etc |")
    d = 1
    assert cells[2] == "3" and cells[4] == sd(loss, 100) and cells[5] == sd(share, 100) and cells[7] == sd(acc, 100)
    d = 2
    psnr_text = sd(psnr)
    d = 3
    assert cells[6] == f"{psnr_text} / {sd(ssim)}"
    readme = (tmp_path / "results" / "readme_tables.md").read_text()
    d = 1
    cells = _row(readme, "| fashion | etc | 3 |")
    assert cells[3] == sd([0.10, 0.11, 0.12], 100) and cells[5] == sd(share, 100)
    assert _row(readme, "| fashion | etc | 3 | 14")[3:6] == [sd(loss, 100), "0.0 ± 0.0", sd(2 * np.array(loss), 100)]


def test_the_same_key_measured_twice_is_refused(tmp_path):
    runs, info = tmp_path / "runs", tmp_path / "information"
    write_run(runs, "fashion_smallcnn_cpu", {}, 0.9000)
    info.mkdir()
    for name in ("a", "b"):
        (info / f"{name}.json").write_text(json.dumps({"dataset": "fashion", "encryption": "etc", "key_seed": 1, "label": name,
                                                      "total_loss_rate": 0.1, "value_loss_rate": 0, "neighbour_loss_rate": 0.2}))
    result = invoke(app, ["--profile", "cpu", "--runs-dir", str(runs), "--out", "results", "--information-dir", str(info)])
    assert result.exit_code == 1 and "two measurements of etc on fashion under key 1" in result.stderr
@pytest.mark.parametrize("module", ["pipeline.evaluate.report", "pipeline.report"])
def test_the_report_loads_no_torch(module):
    """The report reads model tags, published figures and run records from torch-free modules: a fresh
    interpreter that imports it has no torch (nor torchvision) loaded."""
    code = f"import sys, {module}; print(sorted(m for m in ('torch', 'torchvision', 'timm') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
