"""The 128-byte MAT-file header: its text, the file's format version and byte order.

``read_header(f)`` gives what ``savemat`` needs to re-create ``f`` byte for byte
(``savemat(out, loadmat(f), header=read_header(f))``). Pipeline outputs use the fixed
:data:`DEFAULT_TEXT` so that the same inputs give the same bytes on every run and machine.
"""
from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from datetime import datetime, timezone

from matlab_compat import mat4
from matlab_compat.errors import MatFileError
from matlab_compat.source import open_input
from matlab_compat.format import (
    HEADER_BYTES,
    HEADER_TEXT_BYTES,
    SUBSYS_BYTES,
    V5_VERSION,
    V73_VERSION,
    miCOMPRESSED,
)

#: Fixed header text of pipeline outputs (MATLAB's wording, Linux platform, the Unix epoch).
DEFAULT_TEXT = "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 1970"
#: Fixed header text of v7.3 pipeline outputs (MATLAB appends the HDF5 schema).
DEFAULT_TEXT_73 = DEFAULT_TEXT.replace("5.0", "7.3") + " HDF5 schema 1.00 ."

VERSIONS = ("4", "6", "7", "7.3")


@dataclass(frozen=True)
class Header:
    """A MAT-file header.

    ``text``: the 116-byte descriptive text exactly as stored (padding included);
    ``version``: "4" (no header: ``text`` is empty), "6" (uncompressed v5), "7" (compressed
    v5) or "7.3" (HDF5);
    ``byte_order``: "<" (little-endian, ``IM``) or ">" (big-endian, ``MI``);
    ``subsys``: the 8-byte subsystem-data offset field (MATLAB writes zeros, Octave spaces).
    """

    text: str
    version: str = "7"
    byte_order: str = "<"
    subsys: bytes = bytes(SUBSYS_BYTES)

    @property
    def by_matlab(self) -> bool:
        """Whether the text is MATLAB's own wording (scipy writes "MAT-file Platform: posix",
        Octave "written by Octave"): writers differ in how uncompressed files hold chars."""
        return bool(re.match(r"MATLAB \d\.\d MAT-file, Platform: ", self.text))

    @property
    def description(self) -> str:
        """The text without its padding."""
        return self.text.rstrip(" \x00")

    def to_bytes(self) -> bytes:
        """The 128 header bytes for this header (v5 versions; v7.3 uses the same layout)."""
        raw = encode_text(self.text)
        if len(self.subsys) != SUBSYS_BYTES:
            raise MatFileError(f"header subsystem field must be {SUBSYS_BYTES} bytes")
        version = V73_VERSION if self.version == "7.3" else V5_VERSION
        return raw + self.subsys + struct.pack(self.byte_order + "H", version) + (
            b"IM" if self.byte_order == "<" else b"MI")


def encode_text(text: str) -> bytes:
    """The text padded with spaces to 116 bytes, as MATLAB pads it."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise MatFileError(f"header text is not 8-bit text: {text!r}") from exc
    if len(raw) > HEADER_TEXT_BYTES:
        raise MatFileError(f"header text longer than {HEADER_TEXT_BYTES} bytes: {text!r}")
    return raw.ljust(HEADER_TEXT_BYTES, b" ")


def header_text(created: datetime | None = None, platform: str = "GLNXA64",
                version: str = "7") -> str:
    """MATLAB's header wording for a given creation time (default: now, UTC) and platform."""
    when = created or datetime.now(timezone.utc)
    stamp = f"{when:%a %b} {when.day:2d} {when:%H:%M:%S %Y}"
    major = "7.3" if version == "7.3" else "5.0"
    text = f"MATLAB {major} MAT-file, Platform: {platform}, Created on: {stamp}"
    return text + " HDF5 schema 1.00 ." if version == "7.3" else text


def parse_header(raw: bytes, path: str | os.PathLike = "<bytes>") -> Header:
    """Header of a v5/v7/v7.3 file from its first 128 bytes (version "7" assumed for v5), or
    the byte order of a v4 file (which has no header)."""
    v4_order = mat4.byte_order(raw)
    if v4_order and (len(raw) < HEADER_BYTES or raw[126:128] not in (b"IM", b"MI")):
        return Header("", "4", v4_order)
    if len(raw) < HEADER_BYTES:
        raise MatFileError(f"{path}: offset {len(raw)}: truncated header (file shorter than 128 bytes)")
    endian = raw[126:128]
    if endian == b"IM":
        order = "<"
    elif endian == b"MI":
        order = ">"
    else:
        raise MatFileError(f"{path}: offset 126: bad magic {endian!r} (not a v5/v7/v7.3 MAT-file)")
    (version,) = struct.unpack(order + "H", raw[124:126])
    if version not in (V5_VERSION, V73_VERSION):
        raise MatFileError(f"{path}: offset 124: unknown MAT-file version 0x{version:04x}")
    return Header(text=raw[:HEADER_TEXT_BYTES].decode("latin-1"),
                  version="7.3" if version == V73_VERSION else "7",
                  byte_order=order, subsys=bytes(raw[HEADER_TEXT_BYTES:124]))


def read_header(path: str | os.PathLike) -> Header:
    """Header of the MAT-file at ``path``: text, version ("6", "7" or "7.3") and byte order.

    A v5 file counts as version "7" when its first variable is compressed, else "6".
    """
    with open_input(path) as fh:
        try:
            raw = fh.read(HEADER_BYTES + 8)
        except OSError as exc:
            raise MatFileError(f"{path}: cannot read: {exc}") from exc
    header = parse_header(raw, path)
    if header.version in ("4", "7.3") or len(raw) < HEADER_BYTES + 8:
        return header
    (first_type,) = struct.unpack_from(header.byte_order + "I", raw, HEADER_BYTES)
    version = "7" if first_type == miCOMPRESSED else "6"
    return Header(header.text, version, header.byte_order, header.subsys)
