"""Key-table files: a key given as its tables instead of a secret (published keys, ``python -m pipeline.keys``).

A key-table file is a NumPy ``.npz`` archive (no pickles: read with ``allow_pickle=False``) of

    format       "vortex-key-tables-1"
    scheme       le, ele or pe
    image_shape  (3,) int64: H, W, C of the images the key encrypts
    block_size   int64 (PE: 1)
    source       text: where the tables came from (e.g. "tanaka key.pkl")
    tag          32 random bytes drawn at import: the fingerprint is an HMAC keyed with them, so
                 the fingerprint beside the outputs names the key without letting anyone test
                 guesses of the tables (as the secret's fingerprint does, ``keystream``)
    <tables>     the scheme's tables in this project's layout (LE/ELE: block_perm, shuffle, negate;
                 PE: negate, order)

``--key-file F.npz`` of le, ele and pe reads one; every other key file holds a secret.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.outputs import atomic_output
from pipeline.errors import PipelineError

FORMAT = "vortex-key-tables-1"
TABLE_SUFFIX = ".npz"
MAX_TABLE_BYTES = 64 << 20  # far above any key of a 32 x 32 image (PE: 4 KiB); refuses a file that is not one
_HEADER = ("format", "scheme", "image_shape", "block_size", "source", "tag")


def is_table_file(path: Path | str | None) -> bool:
    """Whether a ``--key-file`` names key tables (by its ``.npz`` suffix) rather than a secret."""
    return path is not None and Path(path).suffix.lower() == TABLE_SUFFIX


@dataclass(frozen=True, eq=False)
class KeyTables:
    """The tables of one imported key, as read from its file."""

    scheme: str
    image_shape: tuple[int, int, int]
    block_size: int
    source: str
    fingerprint: str
    tables: dict[str, np.ndarray]


def write_tables(path: Path, scheme: str, image_shape: tuple[int, int, int], block_size: int, source: str,
                 tables: dict[str, np.ndarray]) -> None:
    """Write a key-table file atomically, with a fresh random tag."""
    header = {"format": np.array(FORMAT), "scheme": np.array(scheme), "image_shape": np.array(image_shape, np.int64),
              "block_size": np.array(block_size, np.int64), "source": np.array(source),
              "tag": np.frombuffer(secrets.token_bytes(32), np.uint8)}
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as out:
            np.savez(out, **header, **tables)


def read_tables(path: Path, scheme: str, image_shape: tuple[int, int, int], names: tuple[str, ...]) -> KeyTables:
    """The key tables of ``path`` for ``scheme`` on images of ``image_shape``; every problem is one PipelineError."""
    where = f"--key-file {path}"
    try:
        if not Path(path).is_file():
            raise PipelineError(f"{where}: not a regular file")
        with open(path, "rb") as stream:
            data = stream.read(MAX_TABLE_BYTES + 1)
        if len(data) > MAX_TABLE_BYTES:
            raise PipelineError(f"{where}: too large for key tables (at most {MAX_TABLE_BYTES} bytes)")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # sizes checked before anything is inflated
            if sum(info.file_size for info in archive.infolist()) > MAX_TABLE_BYTES:
                raise PipelineError(f"{where}: its tables would take more than {MAX_TABLE_BYTES} bytes")
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            missing = [n for n in (*_HEADER, *names) if n not in archive.files]
            if missing:
                raise PipelineError(f"{where}: not a key-table file of {scheme} (missing {', '.join(missing)})")
            arrays = {n: archive[n] for n in (*_HEADER, *names)}
    except PipelineError:
        raise
    except OSError as err:
        raise PipelineError(f"{where}: {err.strerror or err}") from None
    except (ValueError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise PipelineError(f"{where}: not a readable key-table file ({' '.join(str(err).split())})") from None
    text = {n: str(arrays[n]) if arrays[n].dtype.kind == "U" and arrays[n].ndim == 0 else None for n in ("format", "scheme", "source")}
    if text["format"] != FORMAT:
        raise PipelineError(f"{where}: format {text['format']!r} is not {FORMAT}")
    if text["scheme"] != scheme:
        raise PipelineError(f"{where} holds a key of {text['scheme']!r}, not of {scheme}")
    shape, block, tag = arrays["image_shape"], arrays["block_size"], arrays["tag"]
    if shape.dtype.kind != "i" or shape.shape != (3,) or tuple(int(v) for v in shape) != tuple(image_shape):
        raise PipelineError(f"{where} holds a key for {'x'.join(map(str, shape.reshape(-1)[:3]))} images, "
                            f"not {'x'.join(map(str, image_shape))}")
    if block.dtype.kind != "i" or block.shape != () or tag.dtype != np.uint8 or tag.shape != (32,):
        raise PipelineError(f"{where}: block_size or tag is malformed")
    context = f"{scheme}|{'x'.join(map(str, image_shape))}|block={int(block)}"
    fingerprint = hmac.new(tag.tobytes(), f"fingerprint|imported|{context}".encode(), hashlib.sha256).hexdigest()[:16]
    return KeyTables(scheme, tuple(image_shape), int(block), text["source"] or "", fingerprint,
                     {n: arrays[n] for n in names})


def check_table(tables: KeyTables, name: str, shape: tuple[int, ...], kinds: str, below: int | None = None) -> np.ndarray:
    """Table ``name`` of ``tables`` with the given shape, dtype kind and values in 0..below-1 (else one error line)."""
    table = tables.tables[name]
    bad = table.shape != shape or table.dtype.kind not in kinds
    if not bad and below is not None and table.size:
        bad = int(table.min()) < 0 or int(table.max()) >= below
    if bad:
        raise PipelineError(f"key table {name} of the {tables.scheme} key file is {table.dtype} {table.shape}; "
                            f"{shape} of kind {kinds}{'' if below is None else f' in 0..{below - 1}'} is needed")
    return table
