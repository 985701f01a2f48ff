"""pipeline.fetch: mirrors, real downloads from a local HTTP server, verification, corrupt input.

Generated IDX data come with their own checksum table (``Sources``); the real reference
data (partial MNIST, the CIFAR-10 subset, the MATLAB-written parameter files, Debian's
Fashion-MNIST) are checked against the official table.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from matlab_compat import loadmat
from workbench.data.cifar import read_cifar_split
from workbench.data.fetch import fetch, prepare_params
from workbench.data.fetch_idx import MAT_VARIABLES
from workbench.data.sources import (
    MIRROR_ENV,
    PARAMS,
    PARAMS_URL_ENV,
    CifarRelease,
    IdxDataset,
    IdxFile,
    ParamFile,
    Sources,
)
from workbench.errors import WorkbenchError
from pipeline.fetch import app
from tests.cli import invoke
from tests.shared import shared_path
from tests.generated import idx_bytes


DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
PARAM = b"a parameter file, bytes as published"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gz(data: bytes, level: int = 9) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


@pytest.fixture(autouse=True)
def no_user_settings(monkeypatch):
    """The user's own mirrors or parameter URL must not leak into these tests."""
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.delenv(PARAMS_URL_ENV, raising=False)


@pytest.fixture
def generated(tmp_path):
    """A small IDX dataset (7 train, 5 test), its .gz files and a checksum table pinning them."""
    rng = np.random.default_rng(3)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.array([5, 0, 4, 1, 9, 2, 1], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([7, 2, 1, 0, 4], dtype=np.uint8),
    }
    contents = {name: idx_bytes(a) for name, a in arrays.items()}
    files = {name + ".gz": gz(c) for name, c in contents.items()}

    def table(urls=("http://127.0.0.1:9/unused/",)):
        idx = IdxDataset(*(
            IdxFile(n, tuple(u + n for u in urls), arrays[n[:-3]].shape, hashlib.md5(files[n]).hexdigest(),
                    sha256(contents[n[:-3]]))
            for n in NAMES
        ))
        return Sources(mnist=idx, params={"mnist": (ParamFile("vor_params_test.mat", "mnist", sha256(PARAM)),)})

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, data in files.items():
        (mirror / name).write_bytes(data)
    (mirror / "vor_params_test.mat").write_bytes(PARAM)
    return {"arrays": arrays, "contents": contents, "files": files, "table": table, "mirror": mirror}


def record(data_dir: Path, dataset: str, folder: str = "origin") -> dict:
    return json.loads((data_dir / dataset / folder / "SOURCE.json").read_text())


def by_name(summary: dict) -> dict:
    return {r["name"]: r for r in summary["inputs"]}


# ----------------------------------------------------------------------------- mirrors, generated data


def test_gz_mirror_builds_mnist_mat_in_the_matlab_layout(generated, tmp_path):
    data = tmp_path / "data"
    fetch("mnist", data, [generated["mirror"]], sources=generated["table"]())
    mat = loadmat(data / "mnist" / "origin" / "mnist.mat")
    assert tuple(mat) == MAT_VARIABLES
    a = generated["arrays"]
    assert mat["train_x"].dtype == np.uint8 and mat["train_x"].shape == (7, 784)
    assert np.array_equal(mat["train_x"], a["train-images-idx3-ubyte"].reshape(7, 784))
    assert np.array_equal(mat["test_x"], a["t10k-images-idx3-ubyte"].reshape(5, 784))
    assert mat["train_y"].dtype == np.uint8 and mat["train_y"].shape == (7, 10)
    assert mat["train_y"].argmax(axis=1).tolist() == [5, 0, 4, 1, 9, 2, 1]
    assert mat["test_y"].sum(axis=1).tolist() == [1] * 5 and mat["test_y"].argmax(axis=1).tolist() == [7, 2, 1, 0, 4]
    summary = record(data, "mnist")
    assert summary["verified"] is True
    assert {r["verified_by"] for r in summary["inputs"]} == {"md5 of the .gz"}
    assert (data / "mnist" / "params" / "vor_params_test.mat").read_bytes() == PARAM
    assert record(data, "mnist", "params")["verified"] is True


def test_plain_and_recompressed_files_are_verified_by_their_content(generated, tmp_path):
    """Debian recompresses the archives, other mirrors decompress them: the content checksum decides."""
    mirror = tmp_path / "debian"
    mirror.mkdir()
    for name, content in generated["contents"].items():
        if name.startswith("train"):
            (mirror / name).write_bytes(content)  # plain IDX, no .gz
        else:
            (mirror / (name + ".gz")).write_bytes(gz(content, level=1))  # other gzip bytes, same content
    assert (mirror / "t10k-images-idx3-ubyte.gz").read_bytes() != generated["files"]["t10k-images-idx3-ubyte.gz"]
    data = tmp_path / "data"
    fetch("mnist", data, [mirror], params=False, sources=generated["table"]())
    summary = record(data, "mnist")
    assert summary["verified"] is True
    assert {r["verified_by"] for r in summary["inputs"]} == {"sha256 of the content"}
    reference = tmp_path / "reference"
    fetch("mnist", reference, [generated["mirror"]], params=False, sources=generated["table"]())
    assert (data / "mnist/origin/mnist.mat").read_bytes() == (reference / "mnist/origin/mnist.mat").read_bytes()


def test_a_changed_file_is_refused_unless_allowed_and_then_recorded(generated, tmp_path):
    labels = generated["arrays"]["t10k-labels-idx1-ubyte"].copy()
    labels[0] = 3
    (generated["mirror"] / "t10k-labels-idx1-ubyte.gz").write_bytes(gz(idx_bytes(labels)))
    data = tmp_path / "data"
    with pytest.raises(WorkbenchError) as err:
        fetch("mnist", data, [generated["mirror"]], sources=generated["table"]())
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz from" in message and "differs from the official" in message
    assert "--allow-unverified" in message and "train-images" not in message
    assert not (data / "mnist").exists()  # nothing written, not even the (good) parameter files

    fetch("mnist", data, [generated["mirror"]], allow_unverified=True, sources=generated["table"]())
    summary = record(data, "mnist")
    assert summary["verified"] is False
    bad = by_name(summary)["t10k-labels-idx1-ubyte.gz"]
    assert bad["verified"] is False and bad["verified_by"] is None
    assert any("md5 of the .gz" in p for p in bad["problems"]) and any("sha256 of the content" in p for p in bad["problems"])
    assert by_name(summary)["train-images-idx3-ubyte.gz"]["verified"] is True
    assert loadmat(data / "mnist/origin/mnist.mat")["test_y"][0].argmax() == 3


def test_outputs_are_byte_reproducible(generated, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for data in (first, second):
        fetch("mnist", data, [generated["mirror"]], sources=generated["table"]())
    for rel in ("mnist/origin/mnist.mat", "mnist/origin/SOURCE.json", "mnist/params/SOURCE.json"):
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    assert record(first, "mnist")["outputs"]["mnist.mat"] == sha256((first / "mnist/origin/mnist.mat").read_bytes())


def test_mirror_from_the_environment(generated, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(MIRROR_ENV, os.pathsep.join([str(tmp_path / "empty"), str(generated["mirror"])]))
    fetch("mnist", tmp_path / "data", sources=generated["table"]())
    assert record(tmp_path / "data", "mnist")["verified"] is True


def test_a_missing_mirror_folder_is_an_error(generated, tmp_path):
    with pytest.raises(WorkbenchError, match="--mirror: .*nowhere does not exist"):
        fetch("mnist", tmp_path / "data", [tmp_path / "nowhere"], sources=generated["table"]())


# ----------------------------------------------------------------------------- corrupt input


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("train-images-idx3-ubyte.gz", lambda b: b[: len(b) // 2], "corrupt or truncated gzip"),
        ("t10k-images-idx3-ubyte.gz", lambda b: gz(b"\x08\x03\x00\x00" + gzip.decompress(b)[4:]), "not an IDX file"),
        ("t10k-labels-idx1-ubyte.gz", lambda b: gz(idx_bytes(np.array([7, 2, 1], dtype=np.uint8))), "5 images in .* but 3 labels in"),
        ("train-labels-idx1-ubyte.gz", lambda b: gz(idx_bytes(np.array([5, 0, 4, 1, 12, 2, 1], dtype=np.uint8))), "label 12 outside 0..9"),
        ("t10k-images-idx3-ubyte.gz", lambda b: gz(idx_bytes(np.zeros((5, 32, 32), dtype=np.uint8))), r"items of shape \(32, 32\)"),
    ],
)
def test_corrupt_idx_input_names_the_file_and_writes_nothing(generated, tmp_path, name, damage, message):
    path = generated["mirror"] / name
    path.write_bytes(damage(path.read_bytes()))
    data = tmp_path / "data"
    with pytest.raises(WorkbenchError, match=message) as err:
        fetch("mnist", data, [generated["mirror"]], allow_unverified=True, sources=generated["table"]())
    assert f"{generated['mirror'] / name}" in str(err.value)
    assert not (data / "mnist").exists()


# ----------------------------------------------------------------------------- real downloads (local HTTP server)


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving ``tmp_path / 'www'``; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_falls_back_between_urls_caches_and_reuses(generated, server, tmp_path):
    root, base = server
    (root / "mnist").mkdir()
    for name, data in generated["files"].items():
        (root / "mnist" / name).write_bytes(data)
    (root / "params" / "mnist").mkdir(parents=True)
    (root / "params" / "mnist" / "vor_params_test.mat").write_bytes(PARAM)
    table = generated["table"](urls=(base + "missing/", base + "mnist/"))
    data = tmp_path / "data"
    fetch("mnist", data, sources=table, params_url=base + "params")
    summary = record(data, "mnist")
    assert summary["verified"] is True
    assert by_name(summary)["t10k-images-idx3-ubyte.gz"]["source"] == base + "mnist/t10k-images-idx3-ubyte.gz"
    assert record(data, "mnist", "params")["inputs"][0]["source"] == base + "params/mnist/vor_params_test.mat"
    cached = data / "downloads" / "mnist" / "t10k-images-idx3-ubyte.gz"
    assert cached.read_bytes() == generated["files"]["t10k-images-idx3-ubyte.gz"]
    built = (data / "mnist/origin/mnist.mat").read_bytes()
    assert loadmat(data / "mnist/origin/mnist.mat")["train_y"].argmax(axis=1).tolist() == [5, 0, 4, 1, 9, 2, 1]

    shutil.rmtree(root / "mnist")  # the second run must not need the network
    (data / "mnist/origin/mnist.mat").unlink()
    fetch("mnist", data, sources=table, params_url=base + "params")
    assert (data / "mnist/origin/mnist.mat").read_bytes() == built
    assert record(data, "mnist") == summary


def test_a_download_that_fails_verification_leaves_no_cache(generated, server, tmp_path):
    root, base = server
    for name, data in generated["files"].items():
        (root / name).write_bytes(data)
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(gz(idx_bytes(np.array([1, 1, 1, 1, 1], dtype=np.uint8))))
    data = tmp_path / "data"
    with pytest.raises(WorkbenchError, match="t10k-labels-idx1-ubyte.gz from http://127.0.0.1"):
        fetch("mnist", data, params=False, sources=generated["table"](urls=(base,)))
    cache = data / "downloads" / "mnist"
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".url")) == sorted(set(NAMES) - {"t10k-labels-idx1-ubyte.gz"})


def test_offline_without_mirror_says_what_to_download_and_where_to_put_it(generated, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/mnist/"
    with pytest.raises(WorkbenchError) as err:
        fetch("mnist", tmp_path / "data", sources=generated["table"](urls=(url,)))
    message = str(err.value)
    assert f"cannot download train-images-idx3-ubyte.gz: {url}train-images-idx3-ubyte.gz" in message
    assert "refused" in message.lower()
    for name in NAMES:
        assert name in message
    assert "--mirror FOLDER" in message and MIRROR_ENV in message
    assert not (tmp_path / "data" / "downloads" / "mnist" / "train-images-idx3-ubyte.gz").exists()


def test_offline_parameter_files_say_the_same(generated, tmp_path):
    mirror = generated["mirror"]
    (mirror / "vor_params_test.mat").unlink()
    base = f"http://127.0.0.1:{closed_port()}/params"
    with pytest.raises(WorkbenchError, match=r"(?s)cannot download vor_params_test.mat: .*Connection refused.*--mirror FOLDER"):
        fetch("mnist", tmp_path / "data", [mirror], sources=generated["table"](), params_url=base)


# ----------------------------------------------------------------------------- real reference data


def test_partial_mnist_needs_allow_unverified_and_then_builds_real_data(tmp_path):
    mirror = shared_path("data", "mnist-partial")
    params = shared_path("fixtures", "matlab")
    data = tmp_path / "data"
    with pytest.raises(WorkbenchError) as err:
        fetch("mnist", data, [mirror, params])
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz from" in message and "train-labels-idx1-ubyte.gz from" in message
    assert "md5 of the .gz 13dba5ebab531645eaf9cb03eda7d22c differs from the official f68b3c2dcbeaaa9fbdd348bbdeb94873" in message
    assert "17435 items, the official file has 60000" in message
    assert "t10k" not in message
    assert not (data / "mnist").exists()

    fetch("mnist", data, [mirror, params], allow_unverified=True)
    mat = loadmat(data / "mnist" / "origin" / "mnist.mat")
    assert {k: (v.dtype, v.shape) for k, v in mat.items()} == {
        "train_x": (np.uint8, (17435, 784)), "train_y": (np.uint8, (17435, 10)),
        "test_x": (np.uint8, (10000, 784)), "test_y": (np.uint8, (10000, 10)),
    }
    assert mat["test_y"][:5].argmax(axis=1).tolist() == [7, 2, 1, 0, 4]
    assert mat["train_y"][:5].argmax(axis=1).tolist() == [5, 0, 4, 1, 9]
    assert mat["test_x"][0].reshape(28, 28)[:5].max() == 0 and mat["test_x"][0].max() == 255
    summary = record(data, "mnist")
    assert summary["verified"] is False
    assert {n: r["verified"] for n, r in by_name(summary).items()} == {
        "train-images-idx3-ubyte.gz": False, "train-labels-idx1-ubyte.gz": False,
        "t10k-images-idx3-ubyte.gz": True, "t10k-labels-idx1-ubyte.gz": True,
    }
    assert by_name(summary)["t10k-images-idx3-ubyte.gz"]["md5"] == "9fb629c4189551a2d022fa330f9573f3"
    for name in ("vor_params_mnist_result.mat", "vor_params_mnist_sensitivity1.mat",
                 "vor_params_mnist_sensitivity2.mat", "vor_params_mnist_sensitivity3.mat"):
        assert (data / "mnist" / "params" / name).read_bytes() == (params / name).read_bytes()
    assert record(data, "mnist", "params")["verified"] is True


def test_changed_parameter_file_is_refused_and_a_good_copy_preferred(tmp_path):
    fixtures = shared_path("fixtures", "matlab")
    changed = tmp_path / "changed"
    changed.mkdir()
    raw = bytearray((fixtures / "vor_params_fashion.mat").read_bytes())
    raw[-1] ^= 1
    (changed / "vor_params_fashion.mat").write_bytes(bytes(raw))
    with pytest.raises(WorkbenchError, match=r"vor_params_fashion.mat from .*sha256 of the content [0-9a-f]{64} differs from the official 013f4202"):
        prepare_params("fashion", PARAMS["fashion"], [changed], tmp_path / "data", allow_unverified=False)
    assert not (tmp_path / "data").exists()
    prepare_params("fashion", PARAMS["fashion"], [changed, fixtures], tmp_path / "data", allow_unverified=False).write()
    summary = record(tmp_path / "data", "fashion", "params")
    assert summary["verified"] is True and summary["inputs"][0]["source"] == "mirror: vor_params_fashion.mat"
    assert summary["inputs"][0]["md5"] == hashlib.md5((fixtures / "vor_params_fashion.mat").read_bytes()).hexdigest()  # the good copy


def require_debian_fashion() -> Path:
    if not DEBIAN_FASHION.is_dir():
        pytest.skip(f"{DEBIAN_FASHION} is absent (apt-get install dataset-fashion-mnist)")
    return DEBIAN_FASHION


@pytest.mark.slow
def test_debian_fashion_mnist_is_verified_by_content(tmp_path):
    mirror = require_debian_fashion()
    data = tmp_path / "data"
    fetch("fashion", data, [mirror], params=False)
    summary = record(data, "fashion")
    assert summary["verified"] is True
    assert {r["verified_by"] for r in summary["inputs"]} == {"sha256 of the content"}  # Debian recompressed
    mat = loadmat(data / "fashion" / "origin" / "fashion.mat")
    assert mat["train_x"].shape == (60000, 784) and mat["test_x"].shape == (10000, 784)
    assert mat["train_y"][:5].argmax(axis=1).tolist() == [9, 0, 0, 3, 0]
    assert mat["test_y"][:5].argmax(axis=1).tolist() == [9, 2, 1, 1, 6]
    assert mat["train_y"].sum(axis=0).tolist() == [6000] * 10


# ----------------------------------------------------------------------------- CIFAR-10


def cifar_table(folder: Path, *, md5: str | None = None, pin_files: bool = False, url: str = "http://127.0.0.1:9/") -> Sources:
    pins = tuple((p.name, sha256(p.read_bytes())) for p in sorted(folder.glob("*.mat"))) if pin_files else ()
    return Sources(cifar10=CifarRelease("cifar-10-matlab.tar.gz", (url + "cifar-10-matlab.tar.gz",), md5, pins,
                                        train_batches=1, batch_rows=1017), params={})


def test_cifar_subset_folder_is_copied_as_published(tmp_path):
    subset = shared_path("data", "cifar-10-subset")
    params = shared_path("fixtures", "matlab")
    data = tmp_path / "data"
    with pytest.raises(WorkbenchError, match=r"data_batch_1.mat from .*1017 images, the release has 10000"):
        fetch("cifar10", data, [subset, params])
    assert not (data / "cifar10").exists() and list(data.iterdir()) == []

    fetch("cifar10", data, [subset, params], allow_unverified=True)
    out = data / "cifar10" / "origin" / "cifar-10-batches-mat"
    assert sorted(p.name for p in out.iterdir()) == ["batches.meta.mat", "data_batch_1.mat", "test_batch.mat"]
    for p in out.iterdir():
        assert p.read_bytes() == (subset / p.name).read_bytes()
    x, y = read_cifar_split(out, "test")
    assert x.shape == (1017, 3072) and y.shape == (1017, 1)
    summary = record(data, "cifar10")
    assert summary["verified"] is False
    assert by_name(summary)["test_batch.mat"]["problems"] == ["no official checksum to compare with", "1017 images, the release has 10000"]
    assert (data / "cifar10/params/vor_params_cifar.mat").read_bytes() == (params / "vor_params_cifar.mat").read_bytes()


def test_cifar_folder_with_pinned_checksums_is_verified(tmp_path):
    subset = shared_path("data", "cifar-10-subset")
    data = tmp_path / "data"
    fetch("cifar10", data, [subset], sources=cifar_table(subset, pin_files=True))
    summary = record(data, "cifar10")
    assert summary["verified"] is True
    assert set(summary["outputs"]) == {f"cifar-10-batches-mat/{n}" for n in ("batches.meta.mat", "data_batch_1.mat", "test_batch.mat")}


def make_tarball(folder: Path, path: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for p in sorted(folder.iterdir()):
            tar.add(p, arcname=f"cifar-10-batches-mat/{p.name}")
        info = tarfile.TarInfo("../evil.mat")  # never extracted
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def test_cifar_tarball_download_is_verified_by_its_md5_and_replaces_old_output(tmp_path, server):
    subset = shared_path("data", "cifar-10-subset")
    root, base = server
    raw = make_tarball(subset, root / "cifar-10-matlab.tar.gz")
    data = tmp_path / "data"
    stale = data / "cifar10/origin/cifar-10-batches-mat"
    stale.mkdir(parents=True)
    (stale / "data_batch_9.mat").write_bytes(b"old")
    with pytest.raises(WorkbenchError, match=r"cifar-10-matlab.tar.gz from http://.*md5 of the .tar.gz [0-9a-f]{32} differs from the official 0{32}"):
        fetch("cifar10", data, sources=cifar_table(subset, md5="0" * 32, url=base))
    assert not (data / "downloads/cifar10/cifar-10-matlab.tar.gz").exists()  # a bad download is not kept
    assert sorted(p.name for p in stale.iterdir()) == ["data_batch_9.mat"]
    fetch("cifar10", data, sources=cifar_table(subset, md5=hashlib.md5(raw).hexdigest(), url=base))
    summary = record(data, "cifar10")
    assert summary["verified"] is True
    assert by_name(summary)["cifar-10-matlab.tar.gz"]["source"] == base + "cifar-10-matlab.tar.gz"
    assert by_name(summary)["data_batch_1.mat"]["verified_by"] == "md5 of the .tar.gz"
    assert sorted(p.name for p in stale.iterdir()) == ["batches.meta.mat", "data_batch_1.mat", "test_batch.mat"]
    assert not (tmp_path / "evil.mat").exists() and not (data / "cifar10/origin/evil.mat").exists()
    assert sorted(p.name for p in (data / "cifar10/origin").iterdir()) == ["SOURCE.json", "cifar-10-batches-mat"]
    assert sorted(p.name for p in data.iterdir()) == ["cifar10", "downloads"]


def test_corrupt_cifar_inputs_name_the_file_and_keep_the_old_output(tmp_path):
    subset = shared_path("data", "cifar-10-subset")
    mirror = tmp_path / "mirror"
    shutil.copytree(subset, mirror)
    (mirror / "test_batch.mat").chmod(0o644)
    (mirror / "test_batch.mat").write_bytes((subset / "test_batch.mat").read_bytes()[:5000])
    data = tmp_path / "data"
    fetch("cifar10", data, [subset], sources=cifar_table(subset, pin_files=True))
    before = {p.name: p.read_bytes() for p in (data / "cifar10/origin/cifar-10-batches-mat").iterdir()}
    with pytest.raises(WorkbenchError, match="test_batch.mat"):
        fetch("cifar10", data, [mirror], allow_unverified=True, sources=cifar_table(subset))
    after = {p.name: p.read_bytes() for p in (data / "cifar10/origin/cifar-10-batches-mat").iterdir()}
    assert after == before
    assert [p.name for p in data.iterdir()] == ["cifar10"]  # no staging folder left behind

    tarball = tmp_path / "tar" / "cifar-10-matlab.tar.gz"
    tarball.parent.mkdir()
    raw = make_tarball(subset, tarball)
    tarball.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(WorkbenchError, match=r"cifar-10-matlab.tar.gz: corrupt or truncated archive"):
        fetch("cifar10", data, [tarball.parent], allow_unverified=True, sources=cifar_table(subset))


def test_cifar_offline_message(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/"
    table = Sources(cifar10=CifarRelease("cifar-10-matlab.tar.gz", (url + "cifar-10-matlab.tar.gz",), None), params={})
    with pytest.raises(WorkbenchError, match=r"(?s)cannot download cifar-10-matlab.tar.gz.*cifar-10-batches-mat/ folder.*--mirror FOLDER"):
        fetch("cifar10", tmp_path / "data", sources=table)


# ----------------------------------------------------------------------------- command line


def test_cli_help_and_errors(tmp_path):
    result = invoke(app, ["--help"])
    assert result.exit_code == 0
    for option in ("--dataset", "--mirror", "--data-dir", "--allow-unverified", "--no-vortex-params"):
        assert option in result.output
    result = invoke(app, ["--dataset", "mnist", "--mirror", str(tmp_path / "absent"), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "--mirror: " in result.stderr and "absent does not exist" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.slow
def test_cli_fetches_the_real_parameter_files_of_all_datasets(tmp_path):
    subset = shared_path("data", "cifar-10-subset")
    params = shared_path("fixtures", "matlab")
    mnist = shared_path("data", "mnist-partial")
    fashion = require_debian_fashion()
    result = invoke(app, [
        "--dataset", "all", "--data-dir", str(tmp_path), "--allow-unverified",
        "--mirror", str(mnist), "--mirror", str(fashion), "--mirror", str(subset), "--mirror", str(params),
    ])
    assert result.exit_code == 0, result.output
    assert f"{tmp_path}/mnist/origin/mnist.mat: UNVERIFIED" in result.output
    assert f"{tmp_path}/fashion/origin/fashion.mat: verified" in result.output
    assert f"{tmp_path}/cifar10/params/vor_params_cifar.mat: verified" in result.output
    assert sorted(p.name for p in (tmp_path / "mnist" / "params").glob("*.mat")) == [
        "vor_params_mnist_result.mat", "vor_params_mnist_sensitivity1.mat",
        "vor_params_mnist_sensitivity2.mat", "vor_params_mnist_sensitivity3.mat",
    ]
    assert (tmp_path / "fashion/params/vor_params_fashion.mat").is_file()
    # MNIST and Fashion-MNIST share file names: each took the mirror copy matching its own checksums
    for dataset, mirror in (("fashion", fashion), ("mnist", mnist)):
        for r in record(tmp_path, dataset)["inputs"]:
            if r["name"].endswith(".gz"):
                assert r["source"] == f"mirror: {r['name']}"  # by name: no machine's path in a DVC output
                assert r["md5"] == hashlib.md5((mirror / r["name"]).read_bytes()).hexdigest()
