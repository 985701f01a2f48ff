"""The learned attacks' stopping rule and its records: plateau or cap on known score sequences, a real
short run that records its curve and reason, held-out data that never holds an attacked test image,
and the report, table and figures marking a run that stopped at its cap."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from pipeline.encrypt.registry import SCHEMES
from pipeline.errors import PipelineError
from pipeline.evaluate.attack_summary import summary_rows
from pipeline.evaluate.learned import figures, gan, itn, table, training
from pipeline.evaluate.learned.results import baselines, write_learned
from pipeline.evaluate.learned.run import run_attack
from pipeline.evaluate.learned.settings import LearnedSettings
from pipeline.evaluate.report import security_markdown
from tests.shared import ROOT, shared_path
from tests.pipeline.test_learned_attacks import OPTIONS, PLAIN_TEST, TINY, victim_data


def scripted(scores: list[float], cap: int, every: int, patience: int, min_delta: float) -> tuple[training.Training, float]:
    """Train a one-number module whose value is the step count, scored by ``scores`` in turn; (run, value kept)."""
    value = torch.nn.Parameter(torch.zeros(()))
    module = torch.nn.Module()
    module.value = value
    feed = iter(scores)

    def step(rng):
        with torch.no_grad():
            value.add_(1.0)
        return {"loss": 0.0}

    run = training.train({"m": module}, {}, step, cap=cap, seed=0, name="scripted", recipe={}, checkpoint=None,
                         score=lambda: next(feed), eval_every=every, patience=patience, min_delta=min_delta,
                         checkpoint_every=every, progress=False)
    return run, float(value.detach())


def test_the_rule_stops_at_a_plateau_and_keeps_the_best_weights():
    # best 0.30 at the 3rd evaluation (step 30); the next three beat it by at most 0.002: a plateau at the 6th
    run, kept = scripted([0.10, 0.20, 0.30, 0.301, 0.302, 0.20, 0.9], cap=1000, every=10, patience=3, min_delta=0.002)
    assert run.stopped == "plateau" and run.steps == 60
    assert [r["step"] for r in run.curve] == [10, 20, 30, 40, 50, 60]
    assert [r["heldout_ssim"] for r in run.curve] == [0.10, 0.20, 0.30, 0.301, 0.302, 0.20]
    assert run.best_step == 50 and kept == 50.0  # the weights of the best score (0.302), not the last
    assert training.plateaued([0.1, 0.2, 0.3, 0.301, 0.302, 0.2], 3, 0.002)
    assert not training.plateaued([0.1, 0.2, 0.3, 0.301, 0.303], 3, 0.002)  # 0.303 beats 0.2 (best before) by more
    assert not training.plateaued([0.3, 0.3, 0.3], 3, 0.0)  # no best before the window yet


def test_the_rule_runs_to_the_cap_while_the_score_improves():
    run, kept = scripted([0.01 * i for i in range(1, 100)], cap=45, every=10, patience=2, min_delta=0.005)
    assert run.stopped == "cap" and run.steps == 45
    assert [r["step"] for r in run.curve] == [10, 20, 30, 40, 45]  # an evaluation at the cap too
    assert kept == 45.0


def test_a_short_real_attack_records_its_curve_and_why_it_stopped(tmp_path):
    scheme = SCHEMES.get("vor")
    data = victim_data(scheme)
    settings = TINY.with_(known_pairs=0, itn_steps=400, eval_every=5, patience=3, min_delta=0.002, checkpoint_every=5)
    outcome = run_attack("itn", data, scheme, OPTIONS, settings, checkpoint_dir=tmp_path)
    record = outcome.record
    (stage,) = record["training"]
    scores = [row["heldout_ssim"] for row in stage["curve"]]
    assert record["stopped"] == stage["stopped"] == "plateau" and record["steps"] == stage["steps"] < 400
    assert [row["step"] for row in stage["curve"]] == list(range(5, stage["steps"] + 1, 5))
    # the rule holds at the stop and at no evaluation before it
    assert training.plateaued(scores, 3, 0.002) and not any(training.plateaued(scores[:i], 3, 0.002) for i in range(len(scores)))
    assert stage["best_step"] == 5 * (1 + int(np.argmax(scores))) and stage["seconds"] > 0
    assert all(row["train_loss"] > 0 for row in stage["curve"])
    assert record["held"]["heldout_public_images"] == 30 and record["held"]["public_plain_images"] == 270

    base = baselines(data, scheme, OPTIONS, None)
    write_learned(tmp_path, data, scheme, "itn", [outcome], base, None, 1.0)
    saved = json.loads((tmp_path / "fashion_vor_itn.json").read_text())["attacks"][0]
    assert saved["mean_image_ssim"] == base["mean_image"]["ssim"]
    assert saved["beats_mean_image"] == (saved["ssim"] > base["mean_image"]["ssim"])
    with open(tmp_path / "fashion_vor_itn_curve.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [float(r["heldout_ssim"]) for r in rows] == scores and {r["stage"] for r in rows} == {"itn own keys"}
    # resumed from its final checkpoint: nothing trains, the same weights come back
    again = run_attack("itn", data, scheme, OPTIONS, settings, checkpoint_dir=tmp_path)
    assert np.array_equal(again.recovered, outcome.recovered) and again.record["training"][0]["curve"] == stage["curve"]


def rows_of(pictures: np.ndarray) -> set[bytes]:
    return {p.tobytes() for p in pictures}


def test_held_out_data_is_the_adversarys_own_never_an_attacked_test_image():
    scheme = SCHEMES.get("le")
    data = victim_data(scheme)
    test_plain, test_enc, train_plain = rows_of(data.plain_test), rows_of(data.enc_test), rows_of(data.plain_train)
    assert len(test_plain) == len(PLAIN_TEST) and not test_plain & train_plain  # the generated splits share no picture
    settings = TINY.with_(holdout=40)
    (enc, plain), (held_enc, held_plain) = itn.adversary_pairs(data, scheme, OPTIONS, settings)
    assert len(held_plain) == 40 and len(plain) == 260
    assert rows_of(held_plain) <= train_plain and not rows_of(held_plain) & (test_plain | rows_of(plain))
    assert not rows_of(held_enc) & (test_enc | rows_of(enc))  # under a key the training never used
    (pairs_enc, pairs_plain), (held_enc, held_plain) = itn.victim_pairs(data, 300)
    assert len(held_plain) == 30 and rows_of(held_plain) <= train_plain and not rows_of(held_plain) & (test_plain | rows_of(pairs_plain))
    assert not rows_of(held_enc) & test_enc
    plain, held_plain, encrypted, held_enc = gan.unpaired_sets(data, settings)
    assert len(held_plain) == len(held_enc) == 30  # a fifth of the 150 images of each half
    assert rows_of(held_plain) <= train_plain and not rows_of(held_plain) & (test_plain | rows_of(plain))
    assert rows_of(held_enc) <= rows_of(data.enc_train) and not rows_of(held_enc) & (test_enc | rows_of(encrypted))


def test_settings_refuse_a_rule_they_cannot_apply():
    with pytest.raises(PipelineError, match="multiple of eval_every"):
        LearnedSettings(eval_every=100, checkpoint_every=150)
    with pytest.raises(PipelineError, match="held out"):
        LearnedSettings(known_pairs=1)


def test_a_run_stopped_at_its_cap_is_marked_not_converged_in_the_report_table_and_figures(tmp_path):
    scheme = SCHEMES.get("vor")
    data = victim_data(scheme)
    capped = run_attack("itn", data, scheme, OPTIONS, TINY.with_(known_pairs=0, itn_steps=4))  # 2 evaluations < patience 3
    assert capped.record["stopped"] == "cap"
    base = baselines(data, scheme, OPTIONS, None)
    write_learned(tmp_path, data, scheme, "itn", [capped], base, None, 1.0)
    write_learned(tmp_path, data, scheme, "fr", [run_attack("fr", data, scheme, OPTIONS, TINY)], base, None, 1.0)
    rows = summary_rows(tmp_path)
    assert {(r["method"], r["stopped"]) for r in rows} == {("itn", "cap"), ("fr", "no training")}
    capped_row = next(r for r in rows if r["method"] == "itn")
    line = next(x for x in security_markdown([], [capped_row], {}).splitlines() if x.startswith("| fashion"))
    below = "" if capped_row["beats_mean_image"] else "; below the public mean image"
    assert f"itn (not converged: stopped at its cap{below})" in line
    converged = {**capped_row, "stopped": "plateau", "beats_mean_image": True}
    assert "| itn | " in security_markdown([], [converged], {})
    assert "itn (below the public mean image) |" in security_markdown([], [{**converged, "beats_mean_image": False}], {})
    schemes = figures.collect(tmp_path, "fashion")
    assert figures.not_converged(schemes["vor"][0], "itn") and not figures.not_converged(schemes["vor"][0], "fr")
    markdown = table.comparison_markdown("fashion", schemes)
    assert "| itn | " + f"{capped.record['ssim']:.3f} (not converged) |" in markdown
    assert f"| fr | {run_attack('fr', data, scheme, OPTIONS, TINY).record['ssim']:.3f} |" in markdown


def test_the_papers_figure6_is_set_beside_ours_on_cifar10_only():
    schemes = {"le": [{"encrypted/ssim": np.array([0.1, 0.3]), "gan/ssim": np.array([0.4]), "gan/stopped": np.array("plateau")}]}
    markdown = table.comparison_markdown("cifar10", schemes)
    assert "| encrypted | 0.200 (paper 0.037) |" in markdown and "| gan | 0.400 (paper 0.864) |" in markdown
    assert "paper" not in table.comparison_markdown("fashion", schemes)


def test_the_kept_figure6_values_are_the_papers():
    """The oracle: the Figure 6 table of the EtC paper's summary in ../shared/spec/etc.md (rows: the encrypted
    image, FR, GAN, ITN; columns LE, ELE, PE, EtC), read here cell by cell."""
    lines = shared_path("spec", "etc.md").read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line.replace(" ", "") == "||LE|ELE|PE|EtC|")
    rows = {"the encrypted image itself": "encrypted", "FR-Attack": "fr", "GAN-Attack": "gan", "ITN-Attack": "itn"}
    published = {}
    for line in lines[header + 2:header + 6]:
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        method = next(m for label, m in rows.items() if cells[0].startswith(label))
        published.update({(method, s): float(c) for s, c in zip(("le", "ele", "pe", "etc"), cells[1:])})
    assert table.PUBLISHED_FIGURE6["cifar10"] == published


def test_the_command_refuses_one_known_pair_before_any_work(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pipeline.learned_attack", "--dataset", "fashion", "--scheme", "vor", "--kind", "itn",
                             "--known-pairs", "1", "--data-dir", str(tmp_path / "no-data"), "--out", str(tmp_path / "out"), "--no-figures"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["error: --known-pairs must be 0 or at least 2 (a tenth of the pairs is held out "
                                                  "to score the training), got 1"]
    assert not (tmp_path / "out" / "checkpoints").exists()
