"""The reference code's rules as independent oracles: LE (Tanaka's BlockScramble), ELE (Madono et al.),
EtC's rotation x flip codes, PE (ScrambleMix / SIA-GAN), under both key draws; the key spaces of
both draws; and the import of published key formats (generated here in those formats), with a
pickle that carries anything but arrays refused unexecuted.

The oracles are written from the references' descriptions (docs/schemes.md), with explicit loops
over blocks, samples and pixels; none uses the schemes' vectorised code.
"""
from __future__ import annotations

import collections
import json
import math
import os
import pickle
import random

import numpy as np
import pytest

from workbench.data.datasets import dataset_spec
from pipeline.encrypt.etc import encrypt as etc_encrypt
from pipeline.encrypt.etc_key import EtcKey, reference_transform
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from pipeline.errors import PipelineError
from pipeline.keys import app as keys_app
from tests.cifar_origin import write_cifar_origin
from tests.cli import invoke
from tests.pipeline.test_schemes import SequentialStream, pe_reference, seed_of

SECRET = b"reference draw test secret"
CIFAR = dataset_spec("cifar10")
RNG = np.random.default_rng(29)
PICTURES = RNG.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
#: ScrambleMix's six colour codes, written out: output channel j reads input channel PERM[code][j].
PERM = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]


def key_of(name: str, draw: str | None, block: int | None = 4, mode: str | None = None, **given):
    options = KeyOptions(secret=SECRET, block_size=None if name == "pe" else block, key_draw=draw, key_mode=mode, **given)
    return SCHEMES[name].key(CIFAR, options)


# --- oracles: the references' rules, one block / sample / pixel at a time ------------------------

def tanaka_block(values: list[int], key: list[int]) -> list[int]:
    """Tanaka's BlockScramble on one block's 8-bit samples ((row, column, channel) order).

    The 4-bit halves are listed lower halves first, then upper halves; positions q with
    key[q] > len(key) / 2 are negated (15 - v), the values are gathered (out[q] = v[key[q]]), the
    same positions are negated again, and sample s is rejoined as upper * 16 + lower."""
    d = len(values)
    nibbles = [v % 16 for v in values] + [v // 16 for v in values]
    rev = [k > len(key) / 2 for k in key]
    once = [15 - v if rev[q] else v for q, v in enumerate(nibbles)]
    moved = [once[key[q]] for q in range(2 * d)]
    twice = [15 - v if rev[q] else v for q, v in enumerate(moved)]
    return [twice[d + s] * 16 + twice[s] for s in range(d)]


def blocks_of(picture: np.ndarray, m: int) -> list[list[int]]:
    h, w, c = picture.shape
    return [[int(picture[r * m + y, q * m + x, k]) for y in range(m) for x in range(m) for k in range(c)]
            for r in range(h // m) for q in range(w // m)]


def picture_of(blocks: list[list[int]], shape, m: int) -> np.ndarray:
    h, w, c = shape
    out = np.empty(shape, np.uint8)
    for b, values in enumerate(blocks):
        r, q = divmod(b, w // m)
        for i, v in enumerate(values):
            pixel, k = divmod(i, c)
            y, x = divmod(pixel, m)
            out[r * m + y, q * m + x, k] = v
    return out


def tanaka_le(picture: np.ndarray, key, m: int) -> np.ndarray:
    """LE: one Tanaka key for every block, blocks in place."""
    return picture_of([tanaka_block(b, list(key)) for b in blocks_of(picture, m)], picture.shape, m)


def madono_ele(picture: np.ndarray, keys, order, m: int) -> np.ndarray:
    """ELE as Madono's code: block i (plain position) with key i, then output block j = block order[j]."""
    scrambled = [tanaka_block(b, list(keys[i])) for i, b in enumerate(blocks_of(picture, m))]
    return picture_of([scrambled[order[j]] for j in range(len(order))], picture.shape, m)


def reference_symmetry(block: list[list[int]], rotate: int, flip: int) -> list[list[int]]:
    """The reference EtC's step on one square block: rotation code r turns it (r + 1) % 4 quarter turns
    counter-clockwise (out[i][j] = in[j][n-1-i] per turn); then flip code 0 mirrors up-down, 1 left-right, 2 nothing."""
    n = len(block)
    for _ in range((rotate + 1) % 4):
        block = [[block[j][n - 1 - i] for j in range(n)] for i in range(n)]
    if flip == 0:
        block = [block[n - 1 - i] for i in range(n)]
    elif flip == 1:
        block = [row[::-1] for row in block]
    return block


def tanaka_form(key) -> list[list[int]]:
    """A PlaneKey's rows written back as Tanaka keys (his position q is our plane 2q+1 (q < d) or 2(q-d))."""
    p = key.shuffle.shape[1]
    d = p // 2
    ours = [2 * q + 1 if q < d else 2 * (q - d) for q in range(p)]
    theirs = {o: q for q, o in enumerate(ours)}
    return [[theirs[int(row[ours[q]])] for q in range(p)] for row in key.shuffle]


# --- LE and ELE --------------------------------------------------------------------------------

def test_le_reference_draw_is_tanakas_transformation_with_a_key_of_his_form():
    key = key_of("le", "reference")
    tanaka = tanaka_form(key)[0]
    assert sorted(tanaka) == list(range(96))
    encrypted = SCHEMES["le"].encrypt(key, PICTURES)
    for picture, enc in zip(PICTURES, encrypted):
        assert np.array_equal(tanaka_le(picture, tanaka, 4), enc)
    assert np.array_equal(SCHEMES["le"].decrypt(key, encrypted), PICTURES)


def test_le_project_draw_negates_independently_of_the_shuffle():
    """The project's key has negation bits of its own: Tanaka's rule (fixed by the permutation) does not give them."""
    key = key_of("le", "project")
    tanaka = tanaka_form(key)[0]
    assert not np.array_equal(tanaka_le(PICTURES[0], tanaka, 4), SCHEMES["le"].encrypt(key, PICTURES[:1])[0])
    # its negation bits are the NEGATE stream's, drawn beside the shuffle (the references draw none)
    seed = seed_of(SECRET, "le-1|32x32x3|block=4")
    assert key.negate[0].tolist() == SequentialStream(seed, b"NEGATE").bits(96)


def test_ele_reference_draw_is_madonos_transformation():
    key = key_of("ele", "reference")
    rows = tanaka_form(key)
    by_plain = [None] * 64
    for j, i in enumerate(key.block_perm):
        by_plain[int(i)] = rows[j]  # the reference indexes the keys by the plain block
    encrypted = SCHEMES["ele"].encrypt(key, PICTURES[:2])
    for picture, enc in zip(PICTURES[:2], encrypted):
        assert np.array_equal(madono_ele(picture, by_plain, [int(i) for i in key.block_perm], 4), enc)


@pytest.mark.parametrize("name", ["le", "ele"])
def test_reference_draw_derives_its_tables_from_the_keystream(name):
    """Reference draw: the Tanaka keys are the Fisher-Yates permutations of stream SHUFFLE of the ``draw=reference`` context."""
    key = key_of(name, "reference")
    seed = seed_of(SECRET, f"{name}-1|32x32x3|block=4|draw=reference")
    if name == "ele":
        assert key.block_perm.tolist() == SequentialStream(seed, b"BLOCKS").permutation(64)
    stream = SequentialStream(seed, b"SHUFFLE")
    assert tanaka_form(key)[:2] == [stream.permutation(96), stream.permutation(96)][:len(key.shuffle)]


# --- EtC ---------------------------------------------------------------------------------------

def test_the_twelve_reference_code_pairs_name_the_eight_symmetries_with_multiplicities_1_1_1_1_2_2_2_2():
    block = [[4 * i + j for j in range(4)] for i in range(4)]
    picture = np.array(block, np.uint8)[:, :, None]
    seen = collections.Counter()
    for rotate in range(4):
        for flip in range(3):
            t = int(reference_transform(np.array([rotate]), np.array([flip]))[0])
            seen[t] += 1
            key = EtcKey(4, (1, 1), 1, np.zeros(1, np.int64), np.array([t], np.uint8), np.zeros(1, bool),
                         np.zeros((1, 1), np.int64), "test")
            ours = etc_encrypt(picture[None], key)[0, :, :, 0].tolist()
            assert ours == reference_symmetry(block, rotate, flip), (rotate, flip)
    assert [seen[t] for t in range(8)] == [1, 1, 1, 1, 2, 2, 2, 2]  # t < 4: the rotations, once each


def test_etc_reference_draw_codes_and_exactly_half_negated_blocks():
    key = key_of("etc", "reference")
    seed = seed_of(SECRET, "etc-1|32x32x3|block=4|draw=reference")
    stream = SequentialStream(seed, b"K2")
    codes = [(stream.below(4), stream.below(3)) for _ in range(64)]
    assert key.transform.tolist() == [int(reference_transform(np.array([r]), np.array([f]))[0]) for r, f in codes]
    order = SequentialStream(seed, b"K3").permutation(64)
    assert key.negate.tolist() == [v < 32 for v in order] and int(key.negate.sum()) == 32
    project = key_of("etc", "project")
    assert project.fingerprint != key.fingerprint
    assert SCHEMES["etc"].record(key)["key_draw"] == "reference" and "key_draw" not in SCHEMES["etc"].record(project)


# --- PE ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["dataset", "image"])
def test_pe_reference_draw_negates_exactly_half_of_each_image_at_fresh_positions(mode):
    scheme = SCHEMES["pe"]
    key = key_of("pe", "reference", mode=mode)
    encrypted = scheme.encrypt_splits(key, {"train": PICTURES})["train"]
    negate, orders = key.tables("|train" if mode == "image" else "", len(PICTURES) if mode == "image" else 1)
    assert [int(n.sum()) for n in negate] == [1536] * len(negate)
    if mode == "image":
        assert not np.array_equal(negate[0], negate[1])  # fresh positions for every image
    for i, (picture, enc) in enumerate(zip(PICTURES, encrypted)):
        row = i if mode == "image" else 0
        assert np.array_equal(pe_reference(picture, negate[row], orders[row]), enc)
    seed = seed_of(SECRET, f"pe-1|32x32x3|block=1|mode={mode}|draw=reference")
    first = SequentialStream(seed, b"NP|train" if mode == "image" else b"NP").permutation(3072)
    assert negate[0].reshape(-1).tolist() == [v < 1536 for v in first]
    assert np.array_equal(scheme.decrypt_splits(key, {"train": encrypted})["train"], PICTURES)


# --- key spaces --------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset, block", [("cifar10", 4), ("cifar10", 16), ("fashion", 7), ("fashion", 4)])
def test_key_spaces_of_both_draws(dataset, block):
    spec = dataset_spec(dataset)
    n, pixels, c = (spec.height // block) * (spec.width // block), spec.height * spec.width, spec.channels
    values = 2 * c * block**2
    orders = 6 if c == 3 else 1
    expected = {
        ("le", "project"): math.factorial(values) * 2**values,
        ("le", "reference"): math.factorial(values),  # negation fixed by the permutation
        ("ele", "project"): (math.factorial(values) * 2**values) ** n * math.factorial(n),
        ("ele", "reference"): math.factorial(values) ** n * math.factorial(n),
        ("etc", "project"): 8**n * 2**n * orders**n * math.factorial(n),
        ("etc", "reference"): 8**n * math.comb(n, n // 2) * orders**n * math.factorial(n),  # all 8 symmetries reachable
        ("pe", "project"): 2 ** (pixels * c) * orders**pixels,
        ("pe", "reference"): math.comb(pixels * c, pixels * c // 2) * orders**pixels,
    }
    for (name, draw), count in expected.items():
        options = KeyOptions(block_size=block, key_draw=draw)
        assert SCHEMES[name].key_space_log2(spec, options) == pytest.approx(math.log2(count), rel=1e-9), (name, draw)


# --- options -----------------------------------------------------------------------------------

def test_key_draw_is_refused_where_it_has_no_meaning_and_checked_where_it_has(tmp_path):
    from pipeline.encrypt.command import encrypt_app

    for name in ("block", "random", "vor"):
        result = invoke(encrypt_app(), ["--scheme", name, "--dataset", "cifar10", "--data-dir", str(tmp_path), "--key-draw", "reference"])
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.startswith(f"error: --key-draw: the {name} scheme does not take it") and result.stderr.count("\n") == 1
    result = invoke(encrypt_app(), ["--scheme", "le", "--dataset", "cifar10", "--data-dir", str(tmp_path), "--key-draw", "paper"])
    assert result.exit_code == 1 and result.stderr == "error: --key-draw: choose project or reference, got 'paper'\n"
    assert not any(tmp_path.iterdir())  # refused before any work


# --- published keys ----------------------------------------------------------------------------

def tanaka_pickle(path, key, protocol: int, size=(4, 4, 3)) -> None:
    """A key.pkl as Tanaka's BlockScramble.save writes it: pickle.dump([blockSize, key])."""
    with open(path, "wb") as out:
        pickle.dump([list(size), np.asarray(key, dtype=np.uint32)], out, protocol=protocol)


def import_key(*args) -> tuple[int, str]:
    result = invoke(keys_app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_tanakas_key_pkl_imports_and_encrypts_as_his_code(tmp_path, protocol):
    tanaka = RNG.permutation(96)
    tanaka_pickle(tmp_path / "key.pkl", tanaka, protocol)
    code, output = import_key("--scheme", "le", "--dataset", "cifar10", "--from", "tanaka-pkl",
                              "--input", tmp_path / "key.pkl", "--out", tmp_path / "le.npz")
    assert code == 0, output
    key = SCHEMES["le"].key(CIFAR, KeyOptions(key_file=tmp_path / "le.npz"))
    encrypted = SCHEMES["le"].encrypt(key, PICTURES)
    for picture, enc in zip(PICTURES, encrypted):
        assert np.array_equal(tanaka_le(picture, tanaka.tolist(), 4), enc)
    assert key.block_size == 4 and SCHEMES["le"].record(key)["key_draw"] == "imported"
    assert SCHEMES["le"].key(CIFAR, KeyOptions(key_file=tmp_path / "le.npz")).fingerprint == key.fingerprint


def test_the_ele_papers_64_block_keys_import_with_its_block_order(tmp_path):
    folder = tmp_path / "key4"
    folder.mkdir()
    keys = [RNG.permutation(96) for _ in range(64)]
    for i, k in enumerate(keys):
        tanaka_pickle(folder / f"{i}_.pkl", k, 2)
    code, output = import_key("--scheme", "ele", "--dataset", "cifar10", "--from", "tanaka-pkl", "--input", folder,
                              "--out", tmp_path / "ele.npz")
    assert code == 0, output
    order = list(range(64))
    random.seed(30)  # the paper's scripts: random.seed(30), then random.shuffle of the block numbers
    random.shuffle(order)
    key = SCHEMES["ele"].key(CIFAR, KeyOptions(key_file=tmp_path / "ele.npz"))
    assert key.block_perm.tolist() == order
    encrypted = SCHEMES["ele"].encrypt(key, PICTURES[:2])
    for picture, enc in zip(PICTURES[:2], encrypted):
        assert np.array_equal(madono_ele(picture, [k.tolist() for k in keys], order, 4), enc)
    assert np.array_equal(SCHEMES["ele"].decrypt(key, encrypted), PICTURES[:2])


def siagan_npz(path, le_keys, inv, colors) -> None:
    """SIA-GAN's paper_keys.npz: le_key4 (64, 96), pe_inv (packed bits, 0 = negate), pe_colors (1024,)."""
    np.savez(path, le_key4=np.asarray(le_keys, np.int64), pe_inv=np.packbits(np.asarray(inv, np.uint8)),
             pe_colors=np.asarray(colors, np.int64))


def scramblemix_pe(picture: np.ndarray, inv, colors, aliased: bool = False) -> np.ndarray:
    """ScrambleMix's pixel_based_encryption, pixel by pixel: keep where inv = 1, else 255 - v; then the colour code.

    ``aliased``: its in-place assignment (channel 0, then 1, then 2 of the same pixel, each reading the
    pixel as already changed), the bug the project does not reproduce."""
    out = np.empty_like(picture)
    for y in range(32):
        for x in range(32):
            p = y * 32 + x
            v = [int(picture[y, x, k]) if inv[3 * p + k] else 255 - int(picture[y, x, k]) for k in range(3)]
            perm = PERM[colors[p]]
            if aliased:
                for j in range(3):
                    v[j] = v[perm[j]]
                out[y, x] = v
            else:
                out[y, x] = [v[perm[j]] for j in range(3)]
    return out


def test_siagan_keys_import_for_le_ele_and_pe(tmp_path):
    le_keys = [RNG.permutation(96) for _ in range(64)]
    inv, colors = RNG.integers(0, 2, 3072), RNG.integers(0, 6, 1024)
    siagan_npz(tmp_path / "paper_keys.npz", le_keys, inv, colors)
    common = ["--dataset", "cifar10", "--from", "siagan-npz", "--input", tmp_path / "paper_keys.npz"]
    for scheme, extra in [("le", ["--row", "0"]), ("ele", []), ("pe", [])]:
        code, output = import_key("--scheme", scheme, *common, *extra, "--out", tmp_path / f"{scheme}.npz")
        assert code == 0, output
    le = SCHEMES["le"].key(CIFAR, KeyOptions(key_file=tmp_path / "le.npz"))
    assert np.array_equal(SCHEMES["le"].encrypt(le, PICTURES[:1])[0], tanaka_le(PICTURES[0], le_keys[0].tolist(), 4))
    ele = SCHEMES["ele"].key(CIFAR, KeyOptions(key_file=tmp_path / "ele.npz"))
    order = list(range(64))
    random.Random(30).shuffle(order)
    assert np.array_equal(SCHEMES["ele"].encrypt(ele, PICTURES[:1])[0], madono_ele(PICTURES[0], le_keys, order, 4))
    pe = SCHEMES["pe"].key(CIFAR, KeyOptions(key_file=tmp_path / "pe.npz"))
    encrypted = SCHEMES["pe"].encrypt(pe, PICTURES)
    for picture, enc in zip(PICTURES, encrypted):
        assert np.array_equal(scramblemix_pe(picture, inv, colors), enc)
    assert np.array_equal(SCHEMES["pe"].decrypt(pe, encrypted), PICTURES)
    with pytest.raises(PipelineError, match="holds one key for every image"):
        SCHEMES["pe"].key(CIFAR, KeyOptions(key_file=tmp_path / "pe.npz", key_mode="image"))
    # the reference's aliased channel assignment duplicates a channel for some codes: not the project's PE
    aliased = scramblemix_pe(PICTURES[0], inv, colors, aliased=True)
    assert not np.array_equal(aliased, encrypted[0])
    assert any(len(set(aliased[y, x])) < len(set(scramblemix_pe(PICTURES[0], inv, colors)[y, x]))
               for y in range(32) for x in range(32))


class Payload:
    """Unpickling this calls os.system: what a malicious key.pkl does."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class ObjectArray:
    """Pickles as numpy's array constructor with an object dtype and a vast shape: its state is refused unbuilt."""

    def __reduce__(self):
        return (np.empty(0).__reduce__()[0], (np.ndarray, (0,), b"b"), (1, (10**10,), np.dtype(object), False, [1, 2, 3]))


class LatinArray:
    """A key array as a Python 2 pickle carries it: the data as latin-1 text."""

    def __init__(self, values) -> None:
        self.values = np.asarray(values, dtype="<u4")

    def __reduce__(self):
        return (np.empty(0).__reduce__()[0], (np.ndarray, (0,), b"b"),
                (1, self.values.shape, self.values.dtype, False, self.values.tobytes().decode("latin-1")))


def test_a_python_2_style_key_pickle_reads(tmp_path):
    tanaka = RNG.permutation(96)
    with open(tmp_path / "key.pkl", "wb") as out:
        pickle.dump([[4, 4, 3], LatinArray(tanaka)], out, protocol=2)
    assert import_key("--scheme", "le", "--dataset", "cifar10", "--from", "tanaka-pkl", "--input", tmp_path / "key.pkl",
                      "--out", tmp_path / "le.npz")[0] == 0
    key = SCHEMES["le"].key(CIFAR, KeyOptions(key_file=tmp_path / "le.npz"))
    assert np.array_equal(SCHEMES["le"].encrypt(key, PICTURES[:1])[0], tanaka_le(PICTURES[0], tanaka.tolist(), 4))


@pytest.mark.parametrize("content", ["system", "eval", "object array", "dict", "floats", "not a pickle", "short key"])
def test_a_pickle_with_anything_but_arrays_is_one_error_line_and_never_runs(tmp_path, content):
    marker = tmp_path / "MARKER"
    path = tmp_path / "key.pkl"
    values = {
        "system": [[4, 4, 3], Payload(marker)],
        "object array": [[4, 4, 3], ObjectArray()],
        "eval": [[4, 4, 3], np.arange(96)],
        "dict": {"blockSize": [4, 4, 3], "key": np.arange(96)},
        "floats": [[4, 4, 3], np.arange(96, dtype=float)],
        "short key": [[4, 4, 3], np.arange(95)],
    }
    if content == "not a pickle":
        path.write_bytes(b"\x80\x04not a pickle at all")
    elif content == "eval":  # a hand-made pickle calling builtins.eval
        path.write_bytes(b"cbuiltins\neval\n(S'open(\"" + str(marker).encode() + b"\", \"w\")'\ntR.")
    else:
        with open(path, "wb") as out:
            pickle.dump(values[content], out)
    code, output = import_key("--scheme", "le", "--dataset", "cifar10", "--from", "tanaka-pkl", "--input", path,
                              "--out", tmp_path / "le.npz")
    assert code == 1 and output.startswith("error: key pickle ") and output.count("\n") == 1, output
    assert not marker.exists() and not (tmp_path / "le.npz").exists()
    if content in ("system", "eval"):
        assert "may hold only numpy arrays and integers" in output
    if content == "object array":
        assert "may hold only numeric arrays" in output


def test_key_table_files_are_checked(tmp_path):
    tanaka_pickle(tmp_path / "key.pkl", RNG.permutation(96), 2)
    assert import_key("--scheme", "le", "--dataset", "cifar10", "--from", "tanaka-pkl", "--input", tmp_path / "key.pkl",
                      "--out", tmp_path / "le.npz")[0] == 0
    file = tmp_path / "le.npz"
    with pytest.raises(PipelineError, match=r"holds a key of 'le', not of ele"):
        SCHEMES["ele"].key(CIFAR, KeyOptions(key_file=file))
    with pytest.raises(PipelineError, match=r"holds a key for 32x32x3 images, not 28x28x1"):
        SCHEMES["le"].key(dataset_spec("fashion"), KeyOptions(key_file=file))
    with pytest.raises(PipelineError, match=r"--block-size 8: the key file .* holds blocks of 4"):
        SCHEMES["le"].key(CIFAR, KeyOptions(key_file=file, block_size=8))
    with pytest.raises(PipelineError, match=r"--key-draw reference: the key file .* holds its tables"):
        SCHEMES["le"].key(CIFAR, KeyOptions(key_file=file, key_draw="reference"))
    with pytest.raises(PipelineError, match=r"holds imported key tables, not a secret; only le, ele and pe"):
        SCHEMES["etc"].key(CIFAR, KeyOptions(key_file=file))
    with pytest.raises(PipelineError, match=r"imported key tables: pass the same --key-file"):
        SCHEMES["le"].key(CIFAR, KeyOptions(secret=None, key_draw="imported"))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(PipelineError, match=r"not a readable key-table file"):
        SCHEMES["le"].key(CIFAR, KeyOptions(key_file=broken))
    with np.load(file) as archive:
        tables = {name: archive[name] for name in archive.files}
    tables["shuffle"] = np.zeros_like(tables["shuffle"])  # not a permutation
    np.savez(tmp_path / "bad.npz", **tables)
    with pytest.raises(PipelineError, match="must be permutations"):
        SCHEMES["le"].key(CIFAR, KeyOptions(key_file=tmp_path / "bad.npz"))


def test_an_imported_key_runs_through_the_encrypt_stage_and_later_stages_need_its_file(tmp_path):
    from pipeline.encrypt.command import encrypt_app
    from pipeline.encrypt.stage import key_of_data, load_encrypted

    written = write_cifar_origin(tmp_path, 6, 4)
    tanaka = RNG.permutation(96)
    tanaka_pickle(tmp_path / "key.pkl", tanaka, 2)
    assert import_key("--scheme", "le", "--dataset", "cifar10", "--from", "tanaka-pkl", "--input", tmp_path / "key.pkl",
                      "--out", tmp_path / "le.npz")[0] == 0
    result = invoke(encrypt_app(), ["--scheme", "le", "--dataset", "cifar10", "--data-dir", str(tmp_path),
                                    "--key-file", str(tmp_path / "le.npz")])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "cifar10" / "le" / "params.json").read_text())["key"]
    assert record["key_draw"] == "imported" and record["block_size"] == 4
    scheme, key = key_of_data("le", CIFAR, KeyOptions(data_dir=tmp_path, key_file=tmp_path / "le.npz"))
    test, _ = load_encrypted(tmp_path, CIFAR, scheme, "test", key)
    plain = written[6:10].reshape(4, 3, 32, 32).transpose(0, 2, 3, 1)
    for picture, enc in zip(plain, test):
        assert np.array_equal(tanaka_le(picture, tanaka.tolist(), 4), enc)
    with pytest.raises(PipelineError, match="pass the same --key-file"):
        key_of_data("le", CIFAR, KeyOptions(data_dir=tmp_path))
    other = scheme.adversary_key(CIFAR, KeyOptions(data_dir=tmp_path, key_draw="imported", block_size=4), 0)
    assert other.draw == "reference" and other.fingerprint != key.fingerprint  # the adversary draws as the reference does


def test_reference_draw_through_the_encrypt_stage_is_recorded_and_rebuilt(tmp_path, monkeypatch):
    from pipeline.encrypt.command import encrypt_app
    from pipeline.encrypt.etc_key import SECRET_ENV
    from pipeline.encrypt.stage import key_of_data

    write_cifar_origin(tmp_path, 4, 4)
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    result = invoke(encrypt_app(), ["--scheme", "etc", "--dataset", "cifar10", "--data-dir", str(tmp_path),
                                    "--block-size", "4", "--key-draw", "reference"])
    assert result.exit_code == 0, result.output
    _, key = key_of_data("etc", CIFAR, KeyOptions(data_dir=tmp_path))  # draw and block size from params.json
    assert key.draw == "reference" and key.fingerprint == key_of("etc", "reference").fingerprint
