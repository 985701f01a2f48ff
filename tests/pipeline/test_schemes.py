"""PE, LE, ELE (and EtC, block scrambling beside them): exact inverses on real images, the papers'
steps transcribed pixel by pixel and block by block, keys from the secret, key spaces, fingerprints."""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from workbench.data.cifar import read_cifar_split
from workbench.data.datasets import dataset_spec, pictures_from_rows
from workbench.data.idx import read_idx
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from pipeline.errors import PipelineError
from pipeline.schemes import app as schemes_app
from tests.cifar_origin import write_cifar_origin
from tests.cli import invoke
from tests.shared import shared_path

SECRET = b"correct horse battery staple"
OTHER = b"a completely different secret"
FASHION = Path("/usr/share/datasets/fashion-mnist")
#: Every invertible scheme, with PE in both key modes.
INVERTIBLE = [("etc", None), ("block", None), ("pe", "dataset"), ("pe", "image"), ("le", None), ("ele", None)]
ORDERS = list(itertools.permutations(range(3)))  # the paper's 6 colour orders, written out again


def key_of(name: str, dataset: str, secret: bytes = SECRET, mode: str | None = None, block: int | None = None):
    return SCHEMES[name].key(dataset_spec(dataset), KeyOptions(secret=secret, key_mode=mode, block_size=block))


@pytest.fixture(scope="module")
def cifar10() -> dict[str, np.ndarray]:
    """The shared CIFAR-10 subset: 1,017 real train and 1,017 real test images."""
    folder = shared_path("data", "cifar-10-subset")
    return {split: pictures_from_rows(read_cifar_split(folder, split)[0], dataset_spec("cifar10")) for split in ("train", "test")}


@pytest.fixture(scope="module")
def fashion() -> dict[str, np.ndarray]:
    """Fashion-MNIST's 10,000 test images, as a 3,000 / 7,000 pair of splits."""
    if not FASHION.exists():
        pytest.skip(f"Fashion-MNIST is absent from {FASHION}")
    pictures = read_idx(FASHION / "t10k-images-idx3-ubyte.gz")[:, :, :, None]
    return {"train": pictures[:3000], "test": pictures[3000:]}


# --- independent transcriptions of the papers' steps (plain loops over pixels and blocks) ----

def pe_reference(picture: np.ndarray, negate: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Sirichotedumrong et al.: negate the samples whose key bit is set, then reorder each pixel's colours."""
    h, w, c = picture.shape
    out = np.empty_like(picture)
    for y in range(h):
        for x in range(w):
            p = y * w + x
            values = [255 - int(picture[y, x, k]) if negate[p, k] else int(picture[y, x, k]) for k in range(c)]
            order = ORDERS[orders[p]] if c == 3 else (0,)
            out[y, x] = [values[order[k]] for k in range(c)]
    return out


def le_reference(picture: np.ndarray, key) -> np.ndarray:
    """Tanaka (LE) / Madono (ELE): per block, split into 4-bit planes, negate, shuffle, integrate."""
    m, (rows, cols), c = key.block_size, key.grid, key.channels
    out = np.empty_like(picture)
    for j in range(rows * cols):
        r, q = divmod(int(key.block_perm[j]), cols)
        values = []
        for y in range(m):
            for x in range(m):
                for k in range(c):
                    v = int(picture[r * m + y, q * m + x, k])
                    values += [v // 16, v % 16]
        row = j if len(key.shuffle) > 1 else 0
        negated = [15 - v if key.negate[row, i] else v for i, v in enumerate(values)]
        shuffled = [negated[key.shuffle[row, i]] for i in range(len(values))]
        r, q = divmod(j, cols)
        for i in range(0, len(values), 2):
            pixel, k = divmod(i // 2, c)
            y, x = divmod(pixel, m)
            out[r * m + y, q * m + x, k] = shuffled[i] * 16 + shuffled[i + 1]
    return out


class SequentialStream:
    """keystream's definition transcribed one draw at a time (no batching, no put-back)."""

    def __init__(self, seed: bytes, table: bytes) -> None:
        self.prefix, self.counter, self.buffer = seed + table, 0, b""

    def take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self.buffer += hashlib.sha256(self.prefix + self.counter.to_bytes(8, "big")).digest()
            self.counter += 1
        out, self.buffer = self.buffer[:count], self.buffer[count:]
        return out

    def below(self, n: int) -> int:
        while True:
            u = int.from_bytes(self.take(4), "big")
            if u < 2**32 - 2**32 % n:
                return u % n

    def permutation(self, n: int) -> list[int]:
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            p[i], p[j] = p[j], p[i]
        return p

    def bits(self, count: int) -> list[bool]:
        data = self.take((count + 7) // 8)
        return [bool(data[i // 8] >> (7 - i % 8) & 1) for i in range(count)]


def seed_of(secret: bytes, message: str) -> bytes:
    return hmac.new(secret, message.encode(), hashlib.sha256).digest()


# --- decrypt(encrypt(x)) == x on real images ------------------------------------------------

@pytest.mark.parametrize("name, mode", INVERTIBLE)
@pytest.mark.parametrize("dataset", ["cifar10", "fashion"])
def test_decrypt_inverts_encrypt_on_real_images(request, dataset, name, mode):
    splits = request.getfixturevalue(dataset)
    scheme, key = SCHEMES[name], key_of(name, dataset, mode=mode)
    encrypted = scheme.encrypt_splits(key, splits)
    for split, pictures in splits.items():
        assert encrypted[split].dtype == np.uint8 and encrypted[split].shape == pictures.shape
        assert (encrypted[split] != pictures).mean() > 0.4, split  # about half the samples (grey PE) or more change
    decrypted = scheme.decrypt_splits(key, encrypted)
    for split, pictures in splits.items():
        assert np.array_equal(decrypted[split], pictures), split


@pytest.mark.parametrize("name, mode", INVERTIBLE)
def test_different_secrets_encrypt_differently(cifar10, name, mode):
    scheme = SCHEMES[name]
    pictures = cifar10["test"][:64]
    a, b = key_of(name, "cifar10", SECRET, mode), key_of(name, "cifar10", OTHER, mode)
    assert a.fingerprint != b.fingerprint
    assert not np.array_equal(scheme.encrypt(a, pictures), scheme.encrypt(b, pictures))
    assert not np.array_equal(scheme.decrypt(b, scheme.encrypt(a, pictures)), pictures)
    assert np.array_equal(scheme.encrypt(a, pictures), scheme.encrypt(key_of(name, "cifar10", SECRET, mode), pictures))


# --- each scheme against its transcription -------------------------------------------------

@pytest.mark.parametrize("shape, block", [((8, 8, 3), 4), ((8, 12, 3), 2), ((6, 6, 1), 3), ((4, 4, 3), 4)])
@pytest.mark.parametrize("name", ["le", "ele"])
def test_le_and_ele_match_the_blockwise_transcription(name, shape, block):
    spec = dataclasses.replace(dataset_spec("cifar10"), height=shape[0], width=shape[1], channels=shape[2], block_size=block)
    key = SCHEMES[name].key(spec, KeyOptions(secret=SECRET))
    pictures = np.random.default_rng(sum(shape)).integers(0, 256, (3, *shape), dtype=np.uint8)
    encrypted = SCHEMES[name].encrypt(key, pictures)
    for picture, enc in zip(pictures, encrypted):
        assert np.array_equal(le_reference(picture, key), enc)
    assert key.shuffle.shape == ((shape[0] // block) * (shape[1] // block) if name == "ele" else 1, block * block * 2 * shape[2])


@pytest.mark.parametrize("mode", ["dataset", "image"])
@pytest.mark.parametrize("dataset", ["cifar10", "fashion"])
def test_pe_matches_the_pixelwise_transcription(dataset, mode):
    spec = dataset_spec(dataset)
    key = key_of("pe", dataset, mode=mode)
    pictures = np.random.default_rng(4).integers(0, 256, (3, spec.height, spec.width, spec.channels), dtype=np.uint8)
    negate, orders = key.tables("" if mode == "dataset" else "|train", 1 if mode == "dataset" else 3)
    encrypted = SCHEMES["pe"].encrypt_splits(key, {"train": pictures})["train"]
    for i, (picture, enc) in enumerate(zip(pictures, encrypted)):
        k = 0 if mode == "dataset" else i
        assert np.array_equal(pe_reference(picture, negate[k], orders[k]), enc)


def test_tables_follow_the_keystream_definition_draw_by_draw():
    """The batched stream (below_each with put-back, vectorised Fisher-Yates) equals one-at-a-time draws."""
    le, ele = key_of("le", "cifar10", block=4), key_of("ele", "cifar10", block=8)
    seed = seed_of(SECRET, "le-1|32x32x3|block=4")
    assert le.shuffle[0].tolist() == SequentialStream(seed, b"SHUFFLE").permutation(96)
    assert le.negate[0].tolist() == SequentialStream(seed, b"NEGATE").bits(96)
    seed = seed_of(SECRET, "ele-1|32x32x3|block=8")
    assert ele.block_perm.tolist() == SequentialStream(seed, b"BLOCKS").permutation(16)
    stream = SequentialStream(seed, b"SHUFFLE")
    assert ele.shuffle.tolist() == [stream.permutation(384) for _ in range(16)]
    pe = key_of("pe", "cifar10", mode="image")
    seed = seed_of(SECRET, "pe-1|32x32x3|block=1|mode=image")
    negate, orders = pe.tables("|test", 2)
    assert negate.reshape(-1).tolist() == SequentialStream(seed, b"NP|test").bits(2 * 3072)
    stream = SequentialStream(seed, b"CS|test")
    assert orders.reshape(-1).tolist() == [stream.below(6) for _ in range(2 * 1024)]


def test_batched_draws_redraw_rejected_words_exactly():
    from pipeline.encrypt.keystream import Stream

    moduli = [3 * 2**30 + 1] * 40 + [7, 6, 2**31 + 5] * 10  # a quarter of the first words are rejected
    reference = SequentialStream(b"s" * 32, b"T")
    assert Stream(b"s" * 32, b"T").below_each(np.array(moduli)).tolist() == [reference.below(n) for n in moduli]


# --- per-image keys (PE's "without key management") and the evaluation views --------------------

def test_pe_image_mode_gives_every_image_and_split_its_own_key(cifar10):
    scheme, key = SCHEMES["pe"], key_of("pe", "cifar10", mode="image")
    same = np.repeat(cifar10["test"][:1], 2, axis=0)
    encrypted = scheme.encrypt_splits(key, {"train": same, "test": same})
    assert not np.array_equal(encrypted["train"][0], encrypted["train"][1])
    assert not np.array_equal(encrypted["train"], encrypted["test"])
    assert scheme.key_per_image(key) and scheme.sample_map(key) is None
    counts = {"train": 2, "test": 2}
    sources, negate = scheme.per_image_maps(key, counts), scheme.per_image_negations(key, counts)
    for split in counts:  # each image's key is a sample map with negation
        flat = np.take_along_axis(same.reshape(2, -1), sources[split], axis=1) ^ (negate[split] * np.uint8(255))
        assert np.array_equal(flat.reshape(same.shape), encrypted[split])


def test_pe_dataset_mode_is_one_sample_map_and_le_is_none(cifar10):
    pe = key_of("pe", "cifar10")
    pictures = cifar10["test"][:16]
    sample_map = SCHEMES["pe"].sample_map(pe)
    assert sample_map.negate.mean() == pytest.approx(0.5, abs=0.03)
    assert np.array_equal(sample_map.apply(pictures.reshape(16, -1)).reshape(pictures.shape), SCHEMES["pe"].encrypt(pe, pictures))
    assert not SCHEMES["pe"].key_per_image(pe)
    with pytest.raises(PipelineError, match="key mode 'dataset'"):
        SCHEMES["pe"].per_image_maps(pe, {"test": 1})
    assert SCHEMES["le"].sample_map(key_of("le", "cifar10")) is None and SCHEMES["ele"].sample_map(key_of("ele", "cifar10")) is None


@pytest.mark.parametrize("name", ["vor", "random", "etc", "pe", "le", "ele", "block"])
def test_evaluation_flags_say_what_the_sample_map_does(name):
    """``moves_whole_pixels``: every sample reads the same channel of some pixel; ``negates``: some are XORed with 255."""
    scheme = SCHEMES[name]
    if name in ("vor", "random"):
        assert scheme.moves_whole_pixels and not scheme.negates  # their own tests check their maps
        return
    key = key_of(name, "cifar10", block=8)
    sample_map = scheme.sample_map(key)
    if sample_map is None:  # LE, ELE: 4-bit values move between samples; no sample map, no flags
        assert name in ("le", "ele") and not scheme.negates and not scheme.moves_whole_pixels
        return
    channel = np.arange(sample_map.size) % 3
    assert scheme.moves_whole_pixels == bool(np.all(sample_map.source % 3 == channel))
    assert scheme.negates == bool(sample_map.negate.any())


def test_grey_images_have_two_planes_and_no_colour_shuffle(fashion):
    le = key_of("le", "fashion")
    assert le.shuffle.shape == (1, 7 * 7 * 2)
    pe = key_of("pe", "fashion")
    negate, orders = pe.tables("", 1)
    assert negate.shape == (1, 784, 1) and not orders.any()
    picture = fashion["test"][:1]
    flipped = SCHEMES["pe"].encrypt(pe, picture)  # grey PE: every sample kept or negated in place
    assert np.array_equal(np.where(negate[0].reshape(28, 28, 1), 255 - picture[0], picture[0]), flipped[0])


# --- keys: spaces, fingerprints, errors -----------------------------------------------------

@pytest.mark.parametrize("dataset, block", [("cifar10", 16), ("cifar10", 4), ("fashion", 7), ("fashion", 14)])
def test_key_spaces_are_the_issues_formulas(dataset, block):
    spec = dataset_spec(dataset)
    options = KeyOptions(block_size=block)
    n, planes, pixels = (spec.height // block) * (spec.width // block), 2 * spec.channels, spec.height * spec.width
    le = math.factorial(planes * block**2) * 2 ** (planes * block**2)
    channel_orders = 6 if spec.channels == 3 else 1
    expected = {
        "le": le,
        "ele": le**n * math.factorial(n),
        "etc": 8**n * 2**n * channel_orders**n * math.factorial(n),
        "block": math.factorial(n),
        "pe": 2 ** (pixels * spec.channels) * channel_orders**pixels,
    }
    for name, count in expected.items():
        assert SCHEMES[name].key_space_log2(spec, options) == pytest.approx(math.log2(count), rel=1e-9, abs=1e-9), name


def test_fingerprints_are_hmacs_of_the_secret_not_of_the_tables():
    for name, message in [("etc", "fingerprint|etc|etc-1|32x32x3|block=16"), ("block", "fingerprint|block|etc-1|32x32x3|block=16"),
                          ("le", "fingerprint|le|le-1|32x32x3|block=16"), ("ele", "fingerprint|ele|ele-1|32x32x3|block=16"),
                          ("pe", "fingerprint|pe|pe-1|32x32x3|block=1|mode=dataset")]:
        key = key_of(name, "cifar10")
        assert key.fingerprint == hmac.new(SECRET, message.encode(), hashlib.sha256).hexdigest()[:16], name
        assert SCHEMES[name].record(key)["key_fingerprint"] == key.fingerprint
    # EtC with block 32 has one block: its tables are among 8 * 2 * 6 = 96, so a hash of the
    # tables could be inverted by trying them all; the keyed fingerprint differs for two secrets
    # whose tables agree.
    a, b = key_of("etc", "cifar10", SECRET, block=32), key_of("etc", "cifar10", OTHER, block=32)
    forced = dataclasses.replace(b, block_perm=a.block_perm, transform=a.transform, negate=a.negate, channel_perm=a.channel_perm)
    assert forced.fingerprint == b.fingerprint != a.fingerprint


def test_records_hold_no_secret():
    for name, mode in INVERTIBLE:
        record = SCHEMES[name].record(key_of(name, "cifar10", mode=mode))
        assert SECRET.decode() not in repr(record) and "seed" not in record


def test_bad_key_options_name_the_option():
    with pytest.raises(PipelineError, match=r"--key-mode: PE takes dataset or image, got 'pixel'"):
        key_of("pe", "cifar10", mode="pixel")
    for name in ("le", "ele"):
        with pytest.raises(PipelineError, match="--block-size: block size 16 does not divide 28 x 28 images; valid block sizes: 1, 2, 4, 7, 14, 28"):
            key_of(name, "fashion", block=16)
        with pytest.raises(PipelineError, match=r"needs uint8 \(N, 32, 32, 3\) pictures"):
            SCHEMES[name].encrypt(key_of(name, "cifar10"), np.zeros((1, 28, 28, 1), np.uint8))


def test_the_listing_shows_all_seven_schemes_with_key_spaces():
    result = invoke(schemes_app, ["--dataset", "cifar10"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[2:9]}
    assert list(lines) == ["vor", "random", "etc", "pe", "le", "ele", "block"]
    # both key draws: the project's, then the reference code's (log2 keys)
    assert lines["le"].split()[1:5] == ["true", "secret", "15585.1", f"{math.lgamma(6 * 16**2 + 1) / math.log(2):.1f}"]
    assert lines["ele"].split()[1:5] == ["true", "secret", "62345.1", f"{4 * math.lgamma(1537) / math.log(2) + math.log2(24):.1f}"]
    assert lines["block"].split()[3:5] == ["4.6", "same"] and lines["random"].split()[3:5] == ["32.0", "same"]
    assert lines["vor"].split()[1] == "false" and lines["random"].split()[1] == "false"
    assert "small" in lines["etc"] and "small" not in lines["pe"]
    assert "--key-draw" in lines["pe"] and "--key-draw" not in lines["block"]


# --- through the encrypt stage ---------------------------------------------------------------

@pytest.mark.parametrize("name, extra", [("pe", ["--key-mode", "image"]), ("le", ["--block-size", "8"]), ("ele", []), ("block", [])])
def test_encrypt_stage_writes_files_that_only_the_same_key_reads(tmp_path, monkeypatch, cifar10, name, extra):
    from pipeline.encrypt.command import encrypt_app
    from pipeline.encrypt.etc_key import SECRET_ENV
    from pipeline.encrypt.stage import key_of_data, load_encrypted

    write_cifar_origin(tmp_path, 12, 8)
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    result = invoke(encrypt_app(), ["--scheme", name, "--dataset", "cifar10", "--data-dir", str(tmp_path), *extra])
    assert result.exit_code == 0, result.output
    spec = dataset_spec("cifar10")
    scheme, key = key_of_data(name, spec, KeyOptions(data_dir=tmp_path))  # block size / key mode from params.json
    assert scheme.record(key) == json.loads((tmp_path / "cifar10" / name / "params.json").read_text())["key"]
    encrypted = {split: load_encrypted(tmp_path, spec, scheme, split, key)[0] for split in ("train", "test")}
    plain = {"train": cifar10["test"][:12], "test": cifar10["test"][12:20]}
    assert all(np.array_equal(d, plain[s]) for s, d in scheme.decrypt_splits(key, encrypted).items())
    other = key_of_data(name, spec, KeyOptions(data_dir=tmp_path, secret=OTHER))[1]
    with pytest.raises(PipelineError, match=f"was encrypted with {scheme.title} key {key.fingerprint}"):
        load_encrypted(tmp_path, spec, scheme, "test", other)
