"""The learned attacks (ITN, GAN, FR) on tiny generated data: they train, are deterministic, resume, and
recover where the key is learnable (a fixed vortex map with known pairs) but not where it is not
(a fresh permutation per image); FR's features do not depend on the key; LPIPS and the files work."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from workbench.data.datasets import dataset_spec
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.etc_key import SECRET_ENV
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError
from pipeline.evaluate.attack_data import AttackData
from pipeline.evaluate.attack_summary import summary_rows
from pipeline.evaluate.learned import figures, fr, table, training
from pipeline.evaluate.learned.lpips import CHANNELS, Lpips, load_lpips, lpips
from pipeline.evaluate.learned.results import baselines, read_side_file, write_learned
from pipeline.evaluate.learned.run import per_image_scores, run_attack, train_kinds
from pipeline.evaluate.learned.settings import LearnedSettings
from pipeline.evaluate.metrics import ssim
from tests.shared import ROOT

SPEC = dataset_spec("fashion")  # 28 x 28 grey: the shape the vortex and EtC keys are made for
# A data folder that never exists: the victim's key comes only from what a test gives (a checkout's data/ after `make repro` holds the real one).
OPTIONS = KeyOptions(block_size=7, data_dir=ROOT / "tests" / "no-data")
TINY = LearnedSettings(width=4, batch=32, lr=1e-2, public_images=300, adversary_keys=2, itn_steps=1, known_pairs=300,
                       pairs_steps=40, gan_steps=3, gan_batch=16, holdout=30, eval_every=2, patience=3, checkpoint_every=2)


def shapes(n: int, seed: int) -> np.ndarray:
    """Blurred ellipses of random size, place and brightness on black: (n, 28, 28, 1) uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    out = np.zeros((n, 28, 28))
    for i in range(n):
        (cy, cx), (ry, rx) = rng.uniform(8, 20, 2), rng.uniform(3, 9, 2)
        out[i] = rng.uniform(120, 255) * (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1)
    return np.clip(gaussian_filter(out, (0, 1, 1)), 0, 255).astype(np.uint8)[..., None]


PLAIN_TRAIN, PLAIN_TEST = shapes(300, 1), shapes(60, 2)


def victim_data(scheme: Scheme) -> AttackData:
    """The shapes encrypted under a victim key (a key number no adversary in these tests draws)."""
    key = scheme.adversary_key(SPEC, OPTIONS, 99)
    enc = scheme.encrypt_splits(key, {"train": PLAIN_TRAIN, "test": PLAIN_TEST})
    return AttackData(SPEC, PLAIN_TRAIN, np.zeros(len(PLAIN_TRAIN), np.int64), enc["train"], PLAIN_TEST,
                      np.zeros(len(PLAIN_TEST), np.int64), enc["test"])


def mean_image_ssim() -> float:
    mean = np.rint(PLAIN_TRAIN.mean(axis=0)).astype(np.uint8)
    return float(ssim(np.broadcast_to(mean, PLAIN_TEST.shape), PLAIN_TEST).mean())


@pytest.fixture(scope="module")
def itn_with_pairs() -> dict[str, float]:
    """ITN (own keys, then 300 known victim pairs) SSIM against the vortex and the per-image permutation."""
    return {name: run_attack("itn", victim_data(SCHEMES.get(name)), SCHEMES.get(name), OPTIONS, TINY).record["ssim"]
            for name in ("vor", "random")}


def test_itn_learns_the_fixed_vortex_map_from_known_pairs(itn_with_pairs):
    data = victim_data(SCHEMES.get("vor"))
    encrypted = float(ssim(data.enc_test, PLAIN_TEST).mean())
    assert itn_with_pairs["vor"] > mean_image_ssim() + 0.3
    assert itn_with_pairs["vor"] > encrypted + 0.05


def test_itn_stays_near_the_mean_image_under_per_image_permutations(itn_with_pairs):
    # per-image statistics (brightness, size) let it do slightly better than the one mean image, no more
    assert itn_with_pairs["random"] < mean_image_ssim() + 0.1
    assert itn_with_pairs["random"] < itn_with_pairs["vor"] - 0.3


def test_itn_is_deterministic_and_a_longer_run_resumes_a_shorter_one_exactly(tmp_path):
    scheme = SCHEMES.get("vor")
    data = victim_data(scheme)
    own = TINY.with_(known_pairs=0, itn_steps=4)
    straight = run_attack("itn", data, scheme, OPTIONS, own)
    run_attack("itn", data, scheme, OPTIONS, own.with_(itn_steps=2), checkpoint_dir=tmp_path)
    resumed = run_attack("itn", data, scheme, OPTIONS, own, checkpoint_dir=tmp_path)
    assert np.array_equal(straight.recovered, resumed.recovered)
    assert straight.record["held"]["own_keys"] == 2 and straight.record["held"]["victim_pairs"] == 0
    assert not np.array_equal(straight.recovered, run_attack("itn", data, scheme, OPTIONS, own.with_(seed=1)).recovered)

    (checkpoint,) = tmp_path.glob("fashion_vor_itn_keys_*.pt")  # named by the recipe's digest
    with pytest.raises(PipelineError, match="more than the 2 asked"):
        run_attack("itn", data, scheme, OPTIONS, own.with_(itn_steps=2), checkpoint_dir=tmp_path)
    other = run_attack("itn", data, scheme, OPTIONS, own.with_(lr=5e-3), checkpoint_dir=tmp_path)  # other settings: a file of its own
    assert np.array_equal(other.recovered, run_attack("itn", data, scheme, OPTIONS, own.with_(lr=5e-3)).recovered)
    assert len(list(tmp_path.glob("fashion_vor_itn_keys_*.pt"))) == 2
    foreign = checkpoint.read_bytes()
    for made in tmp_path.glob("fashion_vor_itn_keys_*.pt"):  # a file whose content is of another recipe is refused
        if made != checkpoint:
            checkpoint.write_bytes(made.read_bytes())
            checkpoint.with_name(checkpoint.name + ".sha256").write_bytes(made.with_name(made.name + ".sha256").read_bytes())
    with pytest.raises(PipelineError, match="other settings"):
        run_attack("itn", data, scheme, OPTIONS, own, checkpoint_dir=tmp_path)
    checkpoint.write_bytes(foreign)
    raw = bytearray(checkpoint.read_bytes())
    raw[-1] ^= 1
    checkpoint.write_bytes(bytes(raw))
    with pytest.raises(PipelineError, match="SHA-256"):
        run_attack("itn", data, scheme, OPTIONS, own, checkpoint_dir=tmp_path)


def test_training_time_is_kept_in_the_checkpoint_and_reported_on_resume(tmp_path):
    """A result resumed from checkpoints reports the training earlier runs did (each step here
    sleeps 0.1 s, so the time is known from below)."""
    net = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)

    def step(rng):
        time.sleep(0.1)
        loss = net(torch.from_numpy(rng.random((4, 2), dtype=np.float32))).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss.item()}

    def run(steps):
        return training.train({"net": net}, {"sgd": optimizer}, step, cap=steps, seed=0, name="t", recipe={"r": 1},
                              checkpoint=tmp_path / "t.pt", score=lambda: 0.0, eval_every=1, patience=10, min_delta=0.0,
                              checkpoint_every=1, progress=False)

    assert run(2).earlier == 0.0                    # fresh: nothing earlier
    after_two = run(4)                              # resumes the 2 steps done
    assert 0.2 <= after_two.earlier < 1.0 and after_two.seconds >= 0.4
    finished = run(4)                               # finished: all 4 steps' training, none run now
    assert 0.4 <= finished.earlier < after_two.earlier + 1.0 and finished.steps == 4 and finished.stopped == "cap"


def test_gan_trains_unpaired_and_is_deterministic():
    scheme = SCHEMES.get("block")
    data = victim_data(scheme)
    first, second = (run_attack("gan", data, scheme, OPTIONS, TINY) for _ in range(2))
    assert first.recovered.shape == PLAIN_TEST.shape and first.recovered.dtype == np.uint8
    assert np.array_equal(first.recovered, second.recovered)
    held = first.record["held"]
    assert held["paired"] is False and held["victim_pairs"] == 0
    assert (held["public_plain_images"], held["heldout_public_images"], held["victim_encrypted_images"],
            held["heldout_victim_encrypted_images"]) == (120, 30, 120, 30)
    assert not np.array_equal(first.recovered, data.enc_test)  # three steps did change the generator
    (stage,) = first.record["training"]  # the held-out cycle SSIM every 2 steps; 3 steps: the cap
    assert [row["step"] for row in stage["curve"]] == [2, 3] and all(-1 <= row["heldout_ssim"] <= 1 for row in stage["curve"])
    assert first.record["stopped"] == stage["stopped"] == "cap" and held["own_keys"] == 0


class Negation(Scheme):
    """Test scheme: each key negates a fixed random half of the samples (no moves); no adversary keys."""

    name, title, key_kind, key_source, invertible = "negation", "negation", "a negation mask", "seed", True
    negates = True
    moves_whole_pixels = True

    def key(self, spec, options):
        return np.random.default_rng(options.key_seed).random(spec.row_length) < 0.5

    def encrypt(self, key, pictures):
        flat = pictures.reshape(len(pictures), -1)
        return np.where(key, 255 - flat, flat).astype(np.uint8).reshape(pictures.shape)


def test_fr_features_do_not_depend_on_the_key():
    random_scheme, negation = SCHEMES.get("random"), Negation()
    a, b = (random_scheme.encrypt(random_scheme.adversary_key(SPEC, OPTIONS, i), PLAIN_TEST) for i in (0, 1))
    assert not np.array_equal(a, b)
    assert np.array_equal(fr.render(random_scheme, a, PLAIN_TRAIN)[0], fr.render(random_scheme, b, PLAIN_TRAIN)[0])
    c, d = (negation.encrypt(negation.key(SPEC, KeyOptions(key_seed=s)), PLAIN_TEST) for s in (0, 1))
    assert not np.array_equal(c, d)
    rendered, how = fr.render(negation, c, PLAIN_TRAIN)
    assert np.array_equal(rendered, fr.render(negation, d, PLAIN_TRAIN)[0])
    # black background folds to the extreme; the polarity the public images prefer brings it back to black
    assert how["polarity_inverted"] and rendered.shape == PLAIN_TEST.shape
    assert ssim(rendered, PLAIN_TEST).mean() > ssim(c, PLAIN_TEST).mean() + 0.3
    vortex = SCHEMES.get("vor")  # declares no value transform and no per-image key: FR renders it unchanged
    enc = vortex.encrypt(vortex.adversary_key(SPEC, OPTIONS, 0), PLAIN_TEST)
    assert np.array_equal(fr.render(vortex, enc, PLAIN_TRAIN)[0], enc)


def test_itn_with_own_keys_is_recorded_as_not_applicable_where_the_adversary_cannot_draw_keys():
    negation = Negation()
    enc = negation.encrypt(negation.key(SPEC, KeyOptions(key_seed=3)), np.concatenate([PLAIN_TRAIN, PLAIN_TEST]))
    data = AttackData(SPEC, PLAIN_TRAIN, np.zeros(300, np.int64), enc[:300], PLAIN_TEST, np.zeros(60, np.int64), enc[300:])
    outcome = run_attack("itn", data, negation, OPTIONS, TINY.with_(known_pairs=0))
    assert outcome.recovered is None and "cannot draw keys" in outcome.record["not_applicable"] and outcome.record["ssim"] is None
    with_pairs = run_attack("itn", data, negation, OPTIONS, TINY.with_(pairs_steps=2))
    assert with_pairs.record["held"]["own_keys"] == 0 and with_pairs.record["method"] == "itn+300pairs"


def test_lpips_from_user_weight_files(tmp_path):
    torch.manual_seed(0)
    model = Lpips()
    state = {f"features.{k}": v for k, v in model.features.state_dict().items()}
    torch.save(state, tmp_path / "alexnet.pth")
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(CHANNELS)}, tmp_path / "alex.pth")
    loaded = load_lpips([tmp_path / "alexnet.pth", tmp_path / "alex.pth"])
    a, b = PLAIN_TEST[:6], PLAIN_TEST[6:12]
    assert np.allclose(lpips(loaded, a, a), 0.0)
    ab, ba = lpips(loaded, a, b), lpips(loaded, b, a)
    assert np.allclose(ab, ba) and (ab > 0).all()
    files = (tmp_path / "alexnet.pth", tmp_path / "alex.pth")
    assert np.allclose(per_image_scores(a, b, files)["lpips"], ab)  # the path run_attack and the side files take
    with pytest.raises(PipelineError, match="missing lin0"):
        load_lpips([tmp_path / "alexnet.pth"])


def test_result_files_feed_the_report_and_the_figures(tmp_path):
    outcomes = {}
    for name in ("random", "etc"):
        scheme = SCHEMES.get(name)
        data = victim_data(scheme)
        outcome = run_attack("fr", data, scheme, OPTIONS, TINY)
        base = {"plain": {"psnr": None, "ssim": 1.0, "accuracy": None}, "encrypted": {"psnr": 5.0, "ssim": 0.0, "accuracy": None}}
        write_learned(tmp_path, data, scheme, "fr", [outcome], base, None, 1.0)
        outcomes[name] = outcome
    rows = summary_rows(tmp_path)
    assert [(r["encryption"], r["method"]) for r in rows] == [("etc", "fr"), ("random", "fr")]
    assert rows[1]["ssim"] == pytest.approx(float(ssim(outcomes["random"].recovered, PLAIN_TEST).mean()))
    side = read_side_file(tmp_path / "fashion_random_fr.npz")
    assert np.array_equal(side["fr/ssim"], outcomes["random"].per_image["ssim"]) and side["fr/examples"].shape == (8, 28, 28, 1)
    assert json.loads((tmp_path / "fashion_etc_fr.json").read_text())["attacks"][0]["held"]["rendered"]["folded"] is True
    schemes = {scheme: figures.pooled(keys) for scheme, keys in figures.collect(tmp_path, "fashion").items()}
    from PIL import Image

    assert Image.open(figures.box_plot(tmp_path / "box.png", schemes)).size[1] > 200
    grid = Image.open(figures.picture_grid(tmp_path / "grid.png", schemes))
    assert grid.size[0] > grid.size[1] / 3  # two columns (schemes), three rows (encrypted, fr, plain)
    # the DVC stage's command: figures only, from the side files in --out, into --figures-dir
    drawn = subprocess.run([sys.executable, "-m", "pipeline.learned_attack", "--dataset", "fashion", "--out", str(tmp_path),
                            "--figures-dir", str(tmp_path / "figures")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert drawn.returncode == 0, drawn.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "figures" / "fashion_learned_grid.png")), np.asarray(grid))
    assert not (tmp_path / "fashion_learned_grid.png").exists()
    written = (tmp_path / "figures" / "fashion_learned_table.md").read_text()
    assert f"| fr | {rows[1]['ssim']:.3f} | {rows[0]['ssim']:.3f} |" in written  # columns in registry order: random, etc


def test_the_keys_of_one_scheme_are_one_column_mean_and_sd_over_keys_and_pooled_figures(tmp_path):
    scheme = SCHEMES.get("etc")
    data = victim_data(scheme)
    outcome = run_attack("fr", data, scheme, OPTIONS, TINY)
    base = {"plain": {"psnr": None, "ssim": 1.0, "accuracy": None}, "encrypted": {"psnr": 5.0, "ssim": 0.0, "accuracy": None}}
    per_key = {}
    for key_seed, shift in ((0, 0.0), (1, 0.25)):  # the second key's per-image SSIMs a quarter higher
        scores = {**outcome.per_image, "ssim": outcome.per_image["ssim"] + shift}
        write_learned(tmp_path, data, scheme, "fr", [replace(outcome, per_image=scores)], base, None, 1.0,
                      variant=f"etc-k{key_seed}", key_seed=key_seed)
        per_key[key_seed] = scores["ssim"]
    recorded = json.loads((tmp_path / "fashion_etc-k1_fr.json").read_text())
    assert (recorded["scheme"], recorded["variant"], recorded["key_seed"]) == ("etc", "etc-k1", 1)
    keys = figures.collect(tmp_path, "fashion")
    assert list(keys) == ["etc"] and [int(k["key_seed"]) for k in keys["etc"]] == [0, 1]
    pooled = figures.pooled(keys["etc"])
    assert np.array_equal(pooled["fr/ssim"], np.concatenate([per_key[0], per_key[1]]))
    means = [float(per_key[0].mean()), float(per_key[1].mean())]
    cell = f"{np.mean(means):.3f} ± {np.std(means, ddof=1):.3f} (2)"
    assert f"| fr | {cell} |" in table.comparison_markdown("fashion", keys)


def test_baselines_score_the_victims_true_key_and_refuse_a_key_that_did_not_make_the_data(monkeypatch):
    scheme = SCHEMES.get("block")  # one fixed secret-keyed position map: its true key restores every pixel
    monkeypatch.setenv(SECRET_ENV, "the victim's secret")
    key = scheme.key(SPEC, OPTIONS)
    enc = scheme.encrypt_splits(key, {"train": PLAIN_TRAIN, "test": PLAIN_TEST})
    data = AttackData(SPEC, PLAIN_TRAIN, np.zeros(len(PLAIN_TRAIN), np.int64), enc["train"], PLAIN_TEST,
                      np.zeros(len(PLAIN_TEST), np.int64), enc["test"])
    base = baselines(data, scheme, OPTIONS, None)
    assert base["true_key"]["ssim"] == pytest.approx(1.0)
    assert base["encrypted"]["ssim"] == pytest.approx(float(ssim(enc["test"], PLAIN_TEST).mean()))
    monkeypatch.setenv(SECRET_ENV, "another secret, long enough")
    with pytest.raises(PipelineError, match="does not produce data/fashion/block"):
        baselines(data, scheme, OPTIONS, None)
    monkeypatch.delenv(SECRET_ENV)
    assert "true_key" not in baselines(data, scheme, OPTIONS, None)


def test_kinds_trained_side_by_side_recover_what_they_recover_one_by_one(tmp_path):
    """--jobs 2 trains each kind in its own spawned process: the pictures and training records are those of --jobs 1."""
    scheme = SCHEMES.get("etc")
    data = victim_data(scheme)
    plans = {"itn": [TINY.with_(known_pairs=0), TINY], "gan": [TINY], "fr": [TINY]}
    alone = train_kinds(plans, data, scheme, OPTIONS, jobs=1, checkpoint_dir=tmp_path / "one")
    beside = train_kinds(plans, data, scheme, OPTIONS, jobs=2, checkpoint_dir=tmp_path / "two")
    assert list(beside) == list(plans) and [len(t) for t in beside.values()] == [2, 1, 1]
    for kind in plans:
        for a, b in zip(alone[kind], beside[kind]):
            assert np.array_equal(a.recovered, b.recovered), kind
            assert [[row["heldout_ssim"] for row in s["curve"]] for s in a.trainings] == \
                   [[row["heldout_ssim"] for row in s["curve"]] for s in b.trainings], kind
    assert beside["itn"][1].trainings[-1]["steps"] > 0  # the pairs stage trained after the own-keys one, in one process


def checkpoint_names(kind: str, settings: LearnedSettings, tmp_path) -> list[str]:
    folder = tmp_path / f"{kind}-{len(list(tmp_path.iterdir()))}"
    run_attack(kind, victim_data(SCHEMES.get("block")), SCHEMES.get("block"), OPTIONS, settings, checkpoint_dir=folder)
    return sorted(p.name for p in folder.glob("*.pt"))


def test_the_colour_settings_leave_the_default_recipes_and_their_checkpoints_as_they_were(tmp_path):
    # oracle: the names the code before gan_lr and block_mixing gave these checkpoints (their recipe digests)
    assert checkpoint_names("gan", TINY, tmp_path) == ["fashion_block_gan_96af5d372d70.pt"]
    assert checkpoint_names("itn", TINY, tmp_path) == ["fashion_block_itn_keys_e92dfc9ab747.pt", "fashion_block_itn_pairs300_3f9073857f91.pt"]
    # the GAN's own learning rate, set to lr, is the same recipe; block_mixing trains into checkpoints of its own
    assert checkpoint_names("gan", TINY.with_(gan_lr=TINY.lr), tmp_path) == ["fashion_block_gan_96af5d372d70.pt"]
    assert checkpoint_names("gan", TINY.with_(block_mixing=True), tmp_path) != ["fashion_block_gan_96af5d372d70.pt"]
    assert set(checkpoint_names("itn", TINY.with_(block_mixing=True), tmp_path)).isdisjoint(checkpoint_names("itn", TINY, tmp_path))


def test_the_gan_trains_at_gan_lr_and_itn_at_lr():
    scheme = SCHEMES.get("block")
    data = victim_data(scheme)
    recovered = {name: run_attack("gan", data, scheme, OPTIONS, settings).recovered
                 for name, settings in {"lr": TINY.with_(lr=1e-3), "gan_lr": TINY.with_(gan_lr=1e-3), "default": TINY}.items()}
    assert np.array_equal(recovered["lr"], recovered["gan_lr"]) and not np.array_equal(recovered["gan_lr"], recovered["default"])
    itn = {name: run_attack("itn", data, scheme, OPTIONS, settings).recovered for name, settings in {"gan_lr": TINY.with_(gan_lr=1e-3), "default": TINY}.items()}
    assert np.array_equal(itn["gan_lr"], itn["default"])


def test_block_mixing_gives_schemes_of_a_public_block_size_the_block_wise_layer_and_others_the_dense_one():
    for name, mixing in (("block", "BlockMixing"), ("vor", "DenseMixing"), ("le", "DenseMixing")):  # LE declares no block size
        scheme = SCHEMES.get(name)
        outcome = run_attack("gan", victim_data(scheme), scheme, OPTIONS, TINY.with_(block_mixing=True))
        assert outcome.record["held"]["mixing"] == mixing
    with pytest.raises(PipelineError, match="gan_lr must be positive, got 0"):
        TINY.with_(gan_lr=0.0)


def test_the_curves_figure_draws_each_training_in_its_scheme_s_colour_and_nothing_where_nothing_trained(tmp_path):
    from PIL import Image

    base = {"plain": {"psnr": None, "ssim": 1.0, "accuracy": None}, "encrypted": {"psnr": 5.0, "ssim": 0.0, "accuracy": None}}
    scheme = SCHEMES.get("etc")
    data = victim_data(scheme)
    write_learned(tmp_path, data, scheme, "fr", [run_attack("fr", data, scheme, OPTIONS, TINY)], base, None, 1.0)
    assert figures.curves_plot(tmp_path / "curves.png", tmp_path, "fashion") is None and not (tmp_path / "curves.png").exists()
    write_learned(tmp_path, data, scheme, "gan", [run_attack("gan", data, scheme, OPTIONS, TINY.with_(gan_steps=6))], base, None, 1.0)
    pixels = np.asarray(Image.open(figures.curves_plot(tmp_path / "curves.png", tmp_path, "fashion")).convert("RGB"))
    first_scheme_colour = figures.COLOURS[0]  # etc is the only scheme drawn: the first colour, its line and legend
    assert (pixels == first_scheme_colour).all(axis=2).sum() > 50
    assert not (pixels == figures.COLOURS[1]).all(axis=2).any()
