"""Compressibility of plain and encrypted images: the EtC paper's Table IV for every scheme.

The plain train and test images are encrypted in memory with each scheme's key (nothing is
written but the report), and every image -- plain and encrypted -- is compressed on its own
with each codec of :mod:`workbench.data.codecs`: JPEG at each quality and the lossless codecs
this environment provides. A row gives each codec's total bytes and their ratio to plain; for
the invertible schemes also the PSNR of decrypt(JPEG(encrypted)) against the plain images (for
plain: JPEG(plain) against plain), i.e. what a user gets back from compressed ciphertext.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from workbench.data.codecs import jpeg_roundtrip, lossless_sizes, psnr
from pipeline.encrypt.registry import PLAIN
from pipeline.encrypt.scheme import Scheme

#: A secret everybody may know, for a study whose keys need not be secret (compressibility
#: depends on the scheme, not on which key). Reports say when it was used.
PUBLIC_SECRET = b"public study secret: compressibility, not a key"


def jpeg_column(quality: int) -> str:
    return f"jpeg q{quality}"


def measure(splits: Mapping[str, np.ndarray], reference: np.ndarray, qualities: Sequence[int], lossless: Sequence[str],
            decrypt: Callable[[dict], dict] | None, subsampling: str) -> tuple[dict[str, int], dict[str, float]]:
    """(total bytes per codec, PSNR per JPEG quality) of ``splits``, plain or encrypted.

    ``decrypt`` maps JPEG-decoded splits back to plain pictures, compared with ``reference`` (the
    plain splits concatenated); None for a scheme that cannot be undone (no PSNR).
    """
    pictures = np.concatenate(list(splits.values()))
    cuts = np.cumsum([len(p) for p in splits.values()])[:-1]
    sizes, psnr_db = {}, {}
    for q in qualities:
        jpeg, each = jpeg_roundtrip(pictures, q, subsampling)
        sizes[jpeg_column(q)] = int(each.sum())
        if decrypt is not None:
            back = decrypt(dict(zip(splits, np.split(jpeg, cuts))))
            psnr_db[jpeg_column(q)] = psnr(reference, np.concatenate(list(back.values())))
    for codec in lossless:
        sizes[codec] = int(lossless_sizes(pictures, codec).sum())
    return sizes, psnr_db


def compressibility(plain: Mapping[str, np.ndarray], keyed: Sequence[tuple[Scheme, Any]], qualities: Sequence[int],
                    lossless: Sequence[str], subsampling: str = "4:4:4", progress: Callable[[str], None] | None = None) -> list[dict]:
    """One row for the plain images and one per (scheme, key): bytes, ratio to plain, PSNR after decryption."""
    reference = np.concatenate(list(plain.values()))
    rows = []
    for scheme, key in [(None, None), *keyed]:
        name = PLAIN if scheme is None else scheme.name
        if progress is not None:
            progress(name)
        if scheme is None:
            splits, decrypt = plain, dict
        else:
            splits = scheme.encrypt_splits(key, plain)
            decrypt = partial(scheme.decrypt_splits, key) if scheme.invertible else None
        sizes, psnr_db = measure(splits, reference, qualities, lossless, decrypt, subsampling)
        rows.append({"scheme": name, "title": "plain" if scheme is None else scheme.title,
                     "key": {} if scheme is None else scheme.record(key), "bytes": sizes, "psnr_db": psnr_db})
    for row in rows:
        row["over_plain"] = {codec: size / rows[0]["bytes"][codec] for codec, size in row["bytes"].items()}
    return rows


def markdown_table(dataset: str, images: int, uncompressed: int, rows: list[dict], note: str) -> str:
    """Table IV's layout, one row per scheme: MB (10^6 bytes) per codec with the ratio to plain, then PSNR."""
    codecs = list(rows[0]["bytes"])
    psnr_columns = [c for c in codecs if c in rows[0]["psnr_db"]]
    head = ["scheme", *(f"{c} MB (/ plain)" for c in codecs), *(f"PSNR {c} dB" for c in psnr_columns)]
    lines = [f"# Compressed file sizes, {dataset} ({images:,} images, {uncompressed / 1e6:.2f} MB uncompressed)", "",
             note, "", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for row in rows:
        cells = [row["title"] + (f" ({row['key']['key_mode']} keys)" if "key_mode" in row["key"] else "")]
        cells += [f"{row['bytes'][c] / 1e6:.3f} ({row['over_plain'][c]:.4f})" for c in codecs]
        cells += [f"{row['psnr_db'][c]:.2f}" if c in row["psnr_db"] else "n/a (not invertible)" for c in psnr_columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
