"""Block-wise EtC: exact inverse, the published block semantics, deterministic keys, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from matlab_compat import loadmat, savemat
from pipeline import etc as etc_cli
from workbench.data.datasets import dataset_spec, load_split, pictures_from_rows
from workbench.data.preview import preview_grid
from pipeline.encrypt.etc import decrypt, encrypt
from pipeline.encrypt.etc_key import PERMUTATIONS_3, SECRET_ENV, derive_key, read_secret
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.stage import load_encrypted
from pipeline.errors import PipelineError
from tests.cli import invoke
from tests.shared import shared_path


def load_encrypted_split(data_dir, dataset, split, key):
    return load_encrypted(data_dir, dataset_spec(dataset), SCHEMES.get("etc"), split, key)

SECRET = b"correct horse battery staple"
OTHER = b"a completely different secret"


def reference_encrypt(picture: np.ndarray, key) -> np.ndarray:
    """The spec's four steps, one block at a time, written independently of pipeline.etc."""
    b = key.block_size
    cols = key.grid[1]
    out = np.empty_like(picture)
    for j in range(key.blocks):
        r, c = divmod(int(key.block_perm[j]), cols)
        block = picture[r * b:(r + 1) * b, c * b:(c + 1) * b]
        flip, turns = divmod(int(key.transform[j]), 4)
        if flip:
            block = np.fliplr(block)
        block = np.rot90(block, turns)
        if key.negate[j]:
            block = 255 - block
        block = block[:, :, key.channel_perm[j]]
        r, c = divmod(j, cols)
        out[r * b:(r + 1) * b, c * b:(c + 1) * b] = block
    return out


@st.composite
def batches(draw):
    channels = draw(st.sampled_from([1, 3]))
    block = draw(st.sampled_from([1, 2, 4, 7, 8, 16]))
    gh, gw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    n = draw(st.integers(0, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    images = np.random.default_rng(seed).integers(0, 256, (n, gh * block, gw * block, channels), dtype=np.uint8)
    secret = draw(st.binary(min_size=16, max_size=40))
    return images, derive_key(secret, images.shape[1:], block, draw(st.sampled_from(["project", "reference"])))


@settings(max_examples=60, deadline=None)
@given(batches())
def test_decrypt_inverts_encrypt_and_matches_the_blockwise_definition(case):
    images, key = case
    encrypted = encrypt(images, key)
    assert encrypted.dtype == np.uint8 and encrypted.shape == images.shape
    assert np.array_equal(decrypt(encrypted, key), images)
    for picture, enc in zip(images, encrypted):
        assert np.array_equal(reference_encrypt(picture, key), enc)


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_every_dividing_block_size_round_trips(shape):
    images = np.random.default_rng(1).integers(0, 256, (4, *shape), dtype=np.uint8)
    sizes = [b for b in range(1, shape[0] + 1) if shape[0] % b == 0]
    for block in sizes:
        key = derive_key(SECRET, shape, block)
        encrypted = encrypt(images, key)
        assert np.array_equal(decrypt(encrypted, key), images), block
        if block < shape[0]:
            assert not np.array_equal(encrypted, images), block


def test_same_secret_same_bytes_and_a_pinned_fingerprint():
    images = np.random.default_rng(2).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    a, b = derive_key(SECRET, (32, 32, 3)), derive_key(SECRET, (32, 32, 3))
    assert encrypt(images, a).tobytes() == encrypt(images, b).tobytes()
    # The derivation is plain SHA-256/HMAC: these values must be the same on every machine.
    # Computed once by this implementation; any machine or library version must reproduce them.
    assert a.fingerprint == "c6694f407c94d430"  # keyed: HMAC of the secret, not of the tables
    assert a.block_perm.tolist() == [1, 2, 3, 0]
    assert a.transform.tolist() == [5, 2, 4, 3]
    assert a.negate.tolist() == [False, True, False, False]
    assert a.channel_perm.tolist() == [[0, 1, 2], [1, 2, 0], [0, 2, 1], [2, 1, 0]]
    assert derive_key(SECRET, (28, 28, 1), 7).fingerprint == "2abe5e7d5e60e5d8"


def test_different_secrets_encrypt_differently():
    images = np.random.default_rng(3).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    a, b = derive_key(SECRET, (32, 32, 3), 4), derive_key(OTHER, (32, 32, 3), 4)
    assert a.fingerprint != b.fingerprint
    assert not np.array_equal(encrypt(images, a), encrypt(images, b))
    assert not np.array_equal(decrypt(encrypt(images, a), b), images)


def test_key_depends_on_image_shape_and_block_size():
    keys = [derive_key(SECRET, (32, 32, 3), 8), derive_key(SECRET, (32, 32, 3), 4), derive_key(SECRET, (32, 32, 1), 8)]
    assert len({k.fingerprint for k in keys}) == 3


def test_tables_cover_every_choice_and_channels_are_a_true_permutation():
    key = derive_key(SECRET, (32, 32, 3), 1)  # 1024 blocks
    assert sorted(key.block_perm.tolist()) == list(range(1024))
    assert set(np.bincount(key.transform, minlength=8).nonzero()[0]) == set(range(8))
    assert 400 < key.negate.sum() < 624
    rows = {tuple(p) for p in key.channel_perm.tolist()}
    assert rows == {tuple(p) for p in PERMUTATIONS_3.tolist()}
    # Each channel keeps a distinct constant: the encryption must never duplicate a channel.
    image = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 10, 20, 30
    encrypted = encrypt(image, key)[0].reshape(-1, 3)
    assert all(len(set(px.tolist())) == 3 for px in encrypted)


def test_grey_keys_keep_the_single_channel():
    key = derive_key(SECRET, (28, 28, 1), 14)
    assert key.channel_perm.shape == (4, 1) and not key.channel_perm.any()


def test_bad_block_size_names_the_valid_ones():
    with pytest.raises(PipelineError, match=r"block size 16 does not divide 28 x 28 images; valid block sizes: 1, 2, 4, 7, 14, 28"):
        derive_key(SECRET, (28, 28, 1), 16)
    with pytest.raises(PipelineError, match="block size 0"):
        derive_key(SECRET, (32, 32, 3), 0)


def test_short_or_missing_secret_is_refused(tmp_path, monkeypatch):
    with pytest.raises(PipelineError, match="at least 16 bytes, got 15"):
        derive_key(b"x" * 15, (32, 32, 3))
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(PipelineError, match=f"--key-file PATH or set {SECRET_ENV}"):
        read_secret(None)
    short = tmp_path / "short.key"
    short.write_bytes(b"tooshort\n")
    with pytest.raises(PipelineError, match=r"short.key is 8 bytes; it must be at least 16") as err:
        read_secret(short)
    assert "tooshort" not in str(err.value)
    with pytest.raises(PipelineError, match="cannot read key file"):
        read_secret(tmp_path / "absent.key")


def test_secret_sources(tmp_path, monkeypatch):
    path = tmp_path / "etc.key"
    path.write_bytes(SECRET + b"\n")
    monkeypatch.setenv(SECRET_ENV, OTHER.decode())
    assert read_secret(path) == SECRET  # the key file wins, its trailing newline stripped
    assert read_secret(None) == OTHER


def test_key_for_other_images_is_refused():
    key = derive_key(SECRET, (32, 32, 3), 16)
    with pytest.raises(PipelineError, match=r"key [0-9a-f]{16} is for 32x32x3\|block=16 images, got 32x32x1"):
        encrypt(np.zeros((1, 32, 32, 1), dtype=np.uint8), key)
    with pytest.raises(PipelineError, match=r"block size 16 does not divide 28 x 28"):
        decrypt(np.zeros((1, 28, 28, 1), dtype=np.uint8), key)
    with pytest.raises(PipelineError, match="uint8"):
        encrypt(np.zeros((1, 32, 32, 3)), key)


def test_decrypt_refuses_another_keys_fingerprint():
    key, other = derive_key(SECRET, (32, 32, 3)), derive_key(OTHER, (32, 32, 3))
    images = encrypt(np.zeros((1, 32, 32, 3), dtype=np.uint8), key)
    assert np.array_equal(decrypt(images, key, key.fingerprint), np.zeros_like(images))
    with pytest.raises(PipelineError, match=f"encrypted with EtC key {other.fingerprint}, not with the given key {key.fingerprint}"):
        decrypt(images, key, other.fingerprint)


# --- the CLI: files in the dataset's MAT layout, a key record, and never the secret ---

def run_etc(monkeypatch, *args: str):
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    return invoke(etc_cli.app, list(args))


def all_output_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.fixture
def cifar_data(tmp_path):
    """A data folder whose CIFAR-10 origin is the shared real subset (linked, not copied)."""
    origin = tmp_path / "cifar10" / "origin"
    origin.mkdir(parents=True)
    (origin / "cifar-10-batches-mat").symlink_to(shared_path("data", "cifar-10-subset"))
    return tmp_path


def test_cli_writes_cifar10_etc_in_the_mat_layout(cifar_data, monkeypatch):
    preview = cifar_data / "preview.png"
    result = run_etc(monkeypatch, "--dataset", "cifar10", "--data-dir", str(cifar_data), "--preview", str(preview))
    assert result.exit_code == 0, result.output
    key = derive_key(SECRET, (32, 32, 3), 16)
    out = cifar_data / "cifar10" / "etc"
    assert sorted(p.name for p in out.iterdir()) == ["cifar_test_etc.mat", "cifar_train_etc.mat", "params.json"]
    spec = dataset_spec("cifar10")
    for split, n in (("train", 1017), ("test", 1017)):
        variables = loadmat(out / f"cifar_{split}_etc.mat")
        assert variables[f"{split}_x"].dtype == np.uint8 and variables[f"{split}_x"].shape == (n, 3072)
        assert variables[f"{split}_y"].dtype == np.uint8 and variables[f"{split}_y"].shape == (n, 1)
        assert variables["etc_fingerprint"] == key.fingerprint and variables["etc_version"] == "etc-1"
        assert variables["etc_block_size"].tolist() == [[16.0]]
        plain, labels = load_split(cifar_data, "cifar10", "origin", split)
        encrypted, etc_labels = load_encrypted_split(cifar_data, "cifar10", split, key)
        assert np.array_equal(etc_labels, labels)
        assert np.array_equal(encrypted, encrypt(pictures_from_rows(plain, spec), key))
        assert np.array_equal(decrypt(encrypted, key), pictures_from_rows(plain, spec))
    test_plain = pictures_from_rows(load_split(cifar_data, "cifar10", "origin", "test")[0][:8], spec)
    grid = preview_grid([test_plain, encrypt(test_plain, key)])
    with Image.open(preview) as png:
        assert png.format == "PNG" and np.array_equal(np.asarray(png)[:, -grid.shape[1]:], grid)
    params = (out / "params.json").read_text()
    assert f'"key_fingerprint": "{key.fingerprint}"' in params and '"block_size": 16' in params
    assert SECRET not in all_output_bytes(out) and SECRET.decode() not in result.output
    before = all_output_bytes(out)
    assert run_etc(monkeypatch, "--dataset", "cifar10", "--data-dir", str(cifar_data)).exit_code == 0
    assert all_output_bytes(out) == before  # same secret, same bytes


def test_encrypted_split_refuses_another_key(cifar_data, monkeypatch):
    assert run_etc(monkeypatch, "--dataset", "cifar10", "--data-dir", str(cifar_data)).exit_code == 0
    other = derive_key(OTHER, (32, 32, 3), 16)
    with pytest.raises(PipelineError, match=f"cifar_test_etc.mat was encrypted with EtC key [0-9a-f]{{16}} \\(block 16\\), not with the given key {other.fingerprint}"):
        load_encrypted_split(cifar_data, "cifar10", "test", other)


def test_cli_grey_dataset_with_one_hot_labels(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    labels = {s: rng.integers(0, 10, n) for s, n in (("train", 30), ("test", 20))}
    origin = {f"{s}_x": rng.integers(0, 256, (len(labels[s]), 784), dtype=np.uint8) for s in labels}
    origin |= {f"{s}_y": np.eye(10, dtype=np.uint8)[labels[s]] for s in labels}
    (tmp_path / "fashion" / "origin").mkdir(parents=True)
    savemat(tmp_path / "fashion" / "origin" / "fashion.mat", origin)

    refused = run_etc(monkeypatch, "--dataset", "fashion", "--block-size", "16", "--data-dir", str(tmp_path))
    assert refused.exit_code == 1 and "valid block sizes: 1, 2, 4, 7, 14, 28" in refused.output
    assert not (tmp_path / "fashion" / "etc").exists()

    key_file = tmp_path / "etc.key"
    key_file.write_bytes(OTHER + b"\n")
    result = invoke(etc_cli.app, ["--dataset", "fashion", "--block-size", "7", "--key-file", str(key_file), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    key = derive_key(OTHER, (28, 28, 1), 7)
    for split in labels:
        variables = loadmat(tmp_path / "fashion" / "etc" / f"fashion_{split}_etc.mat")
        assert np.array_equal(variables[f"{split}_y"], origin[f"{split}_y"])
        pictures = variables[f"{split}_x"].reshape(-1, 28, 28, 1)
        assert np.array_equal(decrypt(pictures, key, variables["etc_fingerprint"]).reshape(-1, 784), origin[f"{split}_x"])
    assert OTHER not in all_output_bytes(tmp_path / "fashion" / "etc")


def test_cli_without_a_secret_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    result = invoke(etc_cli.app, ["--dataset", "cifar10", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "no secret: pass --key-seed N (a public benchmark key), --key-file PATH or set VORTEX_SECRET" in result.output
