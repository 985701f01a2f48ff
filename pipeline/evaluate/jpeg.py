"""JPEG compression of plain and EtC images: file sizes (the paper's Table IV) and PSNR.

Every image is compressed on its own with Pillow: ``quality`` as given, ``subsampling=2``
(4:2:0 chroma for RGB; grey images have no chroma), ``optimize=False`` (the standard Huffman
tables, Pillow's default), no EXIF/ICC. Sizes are the bytes of the JPEG files.

PSNR is computed over a whole dataset at once: 10 log10(255^2 / MSE), MSE over every sample
of every image. For EtC it compares decrypt(JPEG(EtC image)) with the plain image, beside
JPEG(plain image) with the plain image.

CLI: ``python -m pipeline.jpeg --dataset cifar10`` writes ``results/jpeg/cifar10.{json,md}``;
with ``--write-dataset`` also ``data/<dataset>/originq<Q>/`` and ``data/<dataset>/etcq<Q>/``
(JPEG-decoded images in the MAT layout of the other variants, for training).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from pipeline.data.datasets import SPLITS, dataset_spec, load_split, pictures_from_rows
from pipeline.errors import PipelineError
from pipeline.etc import VARIANT, decrypt, load_encrypted_split

SUBSAMPLING = 2  # Pillow's code for 4:2:0


def jpeg_bytes(picture: np.ndarray, quality: int) -> bytes:
    """One (H, W, C) uint8 picture as a baseline JPEG file."""
    image = Image.fromarray(picture[:, :, 0] if picture.shape[2] == 1 else picture)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, subsampling=SUBSAMPLING, optimize=False)
    return buffer.getvalue()


def jpeg_roundtrip(pictures: np.ndarray, quality: int, desc: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(decoded pictures, JPEG file size of each) of a uint8 (N, H, W, C) batch."""
    if not 1 <= quality <= 95:
        raise PipelineError(f"JPEG quality must be 1..95 (Pillow's useful range), got {quality}")
    decoded = np.empty_like(pictures)
    sizes = np.empty(len(pictures), dtype=np.int64)
    for i in tqdm(range(len(pictures)), desc=desc, disable=desc is None, leave=False):
        data = jpeg_bytes(pictures[i], quality)
        sizes[i] = len(data)
        decoded[i] = np.asarray(Image.open(io.BytesIO(data))).reshape(pictures.shape[1:])
    return decoded, sizes


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of ``test`` against ``reference`` (uint8), over all samples together."""
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


@dataclass
class QualityResult:
    quality: int
    origin_bytes: int
    etc_bytes: int
    etc_over_origin: float  # etc_bytes / origin_bytes
    psnr_origin_db: float  # JPEG(plain) vs plain
    psnr_etc_db: float  # decrypt(JPEG(EtC)) vs plain


def compare(plain: np.ndarray, encrypted: np.ndarray, key, qualities: list[int], progress: bool = False) -> tuple[list[QualityResult], dict]:
    """Sizes and PSNR of JPEG(plain) and JPEG(EtC) at each quality; also the decoded images.

    Returns (results, decoded) with ``decoded[(variant, quality)]`` the JPEG-decoded pictures
    of ``origin`` and ``etc`` (still encrypted).
    """
    results, decoded = [], {}
    for q in qualities:
        plain_jpeg, plain_sizes = jpeg_roundtrip(plain, q, f"JPEG q{q} plain" if progress else None)
        etc_jpeg, etc_sizes = jpeg_roundtrip(encrypted, q, f"JPEG q{q} EtC" if progress else None)
        decoded[("origin", q)], decoded[(VARIANT, q)] = plain_jpeg, etc_jpeg
        o, e = int(plain_sizes.sum()), int(etc_sizes.sum())
        results.append(QualityResult(q, o, e, e / o, psnr(plain, plain_jpeg), psnr(plain, decrypt(etc_jpeg, key))))
    return results, decoded


def markdown_table(dataset: str, images: int, uncompressed: int, results: list[QualityResult]) -> str:
    """The paper's Table IV layout: total file sizes (MB = 10^6 bytes), plus PSNR."""
    head = "| | " + " | ".join(f"JPEG q{r.quality}" for r in results) + " | uncompressed |"
    lines = [
        f"# JPEG file sizes, {dataset} ({images:,} images)",
        "",
        head,
        "|---" * (len(results) + 2) + "|",
        "| plain (MB) | " + " | ".join(f"{r.origin_bytes / 1e6:.2f}" for r in results) + f" | {uncompressed / 1e6:.2f} |",
        "| EtC (MB) | " + " | ".join(f"{r.etc_bytes / 1e6:.2f}" for r in results) + f" | {uncompressed / 1e6:.2f} |",
        "| EtC / plain | " + " | ".join(f"{r.etc_over_origin:.4f}" for r in results) + " | 1 |",
        "| PSNR JPEG(plain) (dB) | " + " | ".join(f"{r.psnr_origin_db:.2f}" for r in results) + " | inf |",
        "| PSNR decrypt(JPEG(EtC)) (dB) | " + " | ".join(f"{r.psnr_etc_db:.2f}" for r in results) + " | inf |",
        "",
    ]
    return "\n".join(lines)


def jpeg_variant(variant: str, quality: int) -> str:
    """Name of a JPEG-compressed variant: ``etcq85``, ``originq80``."""
    return f"{variant}q{quality}"


def load_both(data_dir: Path, dataset: str, key) -> tuple[dict, dict, dict]:
    """Plain and EtC pictures and the labels of each split, checked to belong together."""
    plain, encrypted, labels = {}, {}, {}
    for split in SPLITS:
        rows, labels[split] = load_split(data_dir, dataset, "origin", split)
        plain[split] = pictures_from_rows(rows, dataset_spec(dataset))
        encrypted[split], etc_labels = load_encrypted_split(data_dir, dataset, split, key)
        if not np.array_equal(etc_labels, labels[split]):
            raise PipelineError(f"{dataset} EtC {split} labels differ from the plain ones; re-run `python -m pipeline.etc --dataset {dataset}`")
    return plain, encrypted, labels
