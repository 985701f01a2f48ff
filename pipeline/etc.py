"""Block-wise EtC encryption (encryption-then-compression) of whole image batches.

Per square block of ``block_size`` pixels, with the four tables of an :class:`EtcKey`:
K1 scramble the blocks, K2 rotate/flip each block, K3 negate (XOR 255) each block,
K4 permute the colour channels of each block (RGB only). See ``docs/etc.md``.

Steps K1, K2 and K4 only move samples, so together they are one gather map over the
H*W*C samples of an image; K3 is one XOR mask. The map is built by running the block
operations (:func:`scramble_blocks`) on an image of sample indices, and then encryption
is ``take(x, map) ^ mask`` over the whole dataset at once; decryption is the inverse map
and the same mask.

CLI: ``python -m pipeline.etc --dataset cifar10`` writes ``data/cifar10/etc/``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from matlab_compat import atomic_output, savemat
from pipeline.datasets import (
    SPLITS,
    dataset_spec,
    load_split,
    onehot,
    pictures_from_rows,
    read_mat,
    rows_from_pictures,
    variant_files,
)
from pipeline.errors import PipelineError
from pipeline.etc_key import ALGORITHM_VERSION, TRANSFORMS, EtcKey, check_block_size, derive_key, read_secret

VARIANT = "etc"
#: Extra variables of every EtC MAT-file (besides ``<split>_x`` and ``<split>_y``).
FINGERPRINT_VAR, VERSION_VAR, BLOCK_VAR = "etc_fingerprint", "etc_version", "etc_block_size"


def to_blocks(pictures: np.ndarray, block_size: int) -> np.ndarray:
    """(N, H, W, C) -> (N, nb, B, B, C), blocks numbered row by row."""
    n, h, w, c = pictures.shape
    b = block_size
    return pictures.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, -1, b, b, c)


def from_blocks(blocks: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`to_blocks`."""
    n, _, b, _, c = blocks.shape
    gh, gw = grid
    return blocks.reshape(n, gh, gw, b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, gh * b, gw * b, c)


def scramble_blocks(blocks: np.ndarray, key: EtcKey) -> np.ndarray:
    """K1, K2, K4 on (N, nb, B, B, C) blocks of any dtype: scramble, rotate/flip, shuffle channels."""
    out = blocks[:, key.block_perm]
    for t, (flip, turns) in enumerate(TRANSFORMS):
        chosen = np.flatnonzero(key.transform == t)
        if chosen.size:
            group = out[:, chosen]
            if flip:
                group = group[:, :, :, ::-1]
            out[:, chosen] = np.rot90(group, turns, axes=(2, 3))
    return np.take_along_axis(out, key.channel_perm[None, :, None, None, :], axis=4)


def _maps(key: EtcKey) -> tuple[np.ndarray, np.ndarray]:
    """(gather map, XOR mask) over the flattened H*W*C samples: encrypted = plain[map] ^ mask."""
    h, w, c = key.image_shape
    index = np.arange(h * w * c, dtype=np.intp).reshape(1, h, w, c)
    gather = from_blocks(scramble_blocks(to_blocks(index, key.block_size), key), key.grid).reshape(-1)
    per_block = np.where(key.negate, 255, 0).astype(np.uint8).reshape(key.grid)
    mask = per_block.repeat(key.block_size, axis=0).repeat(key.block_size, axis=1)[:, :, None].repeat(c, axis=2)
    return gather, mask.reshape(-1)


def _check_images(images: np.ndarray, key: EtcKey) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise PipelineError(f"EtC needs uint8 (N, H, W, C) images, got {images.dtype} with shape {images.shape}")
    h, w, c = images.shape[1:]
    check_block_size(h, w, key.block_size)
    if images.shape[1:] != key.image_shape:
        raise PipelineError(f"EtC key {key.fingerprint} is for {key.describe()} images, got {h}x{w}x{c}")
    return images


def encrypt(images: np.ndarray, key: EtcKey) -> np.ndarray:
    """EtC-encrypt a uint8 (N, H, W, C) batch (C = 1 or 3) with ``key``; a new array."""
    images = _check_images(images, key)
    gather, mask = _maps(key)
    out = np.take(images.reshape(len(images), gather.size), gather, axis=1)
    np.bitwise_xor(out, mask, out=out)
    return out.reshape(images.shape)


def decrypt(images: np.ndarray, key: EtcKey, fingerprint: str | None = None) -> np.ndarray:
    """Invert :func:`encrypt`. ``fingerprint`` (as stored beside encrypted data) must match ``key``."""
    if fingerprint is not None and fingerprint != key.fingerprint:
        raise PipelineError(f"these images were encrypted with EtC key {fingerprint}, not with the given key {key.fingerprint}")
    images = _check_images(images, key)
    gather, mask = _maps(key)
    inverse = np.empty_like(gather)
    inverse[gather] = np.arange(gather.size)
    out = np.take(images.reshape(len(images), gather.size), inverse, axis=1)
    np.bitwise_xor(out, mask[inverse], out=out)
    return out.reshape(images.shape)


def labels_in_layout(labels: np.ndarray, dataset: str) -> np.ndarray:
    """Labels as the dataset stores them: N x 1 uint8 for CIFAR-10, one-hot uint8 otherwise."""
    spec = dataset_spec(dataset)
    if spec.name == "cifar10":
        return labels.astype(np.uint8).reshape(-1, 1)
    return onehot(labels, spec.num_classes)


def write_split(path: Path, split: str, rows: np.ndarray, labels: np.ndarray, dataset: str, extra: dict[str, object]) -> None:
    """One split in the MAT layout of :func:`pipeline.datasets.variant_files` (v7, fixed header, atomic)."""
    savemat(path, {f"{split}_x": rows, f"{split}_y": labels_in_layout(labels, dataset), **extra})


def key_variables(key: EtcKey) -> dict[str, object]:
    return {FINGERPRINT_VAR: key.fingerprint, VERSION_VAR: ALGORITHM_VERSION, BLOCK_VAR: float(key.block_size)}


def read_key_record(path: Path) -> tuple[str, int]:
    """(key fingerprint, block size) recorded in an EtC MAT-file."""
    variables = read_mat(path, variable_names=(FINGERPRINT_VAR, BLOCK_VAR))  # the images are skipped
    fingerprint, block = variables.get(FINGERPRINT_VAR), variables.get(BLOCK_VAR)
    if not isinstance(fingerprint, str) or block is None or np.size(block) != 1:
        raise PipelineError(f"{path}: no EtC key record ({FINGERPRINT_VAR} text and scalar {BLOCK_VAR}); not an EtC file")
    return fingerprint, int(np.asarray(block).reshape(-1)[0])


def load_encrypted_split(data_dir: str | Path, dataset: str, split: str, key: EtcKey, variant: str = VARIANT) -> tuple[np.ndarray, np.ndarray]:
    """(encrypted pictures, labels) of one split of an EtC variant, checked to be ``key``'s."""
    spec = dataset_spec(dataset)
    path = Path(data_dir) / spec.name / variant_files(dataset, variant)[split].path
    rows, labels = load_split(data_dir, dataset, variant, split)
    fingerprint, block = read_key_record(path)
    if fingerprint != key.fingerprint or block != key.block_size:
        raise PipelineError(f"{path} was encrypted with EtC key {fingerprint} (block {block}), not with the given key {key.fingerprint} (block {key.block_size})")
    return pictures_from_rows(rows, spec), labels


app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.command()
def main(
    dataset: str = typer.Option(..., help="mnist, fashion or cifar10"),
    block_size: int = typer.Option(16, help="block edge in pixels; must divide the image (28 x 28: 1, 2, 4, 7, 14, 28)"),
    key_file: Optional[Path] = typer.Option(None, help="file holding the secret (>= 16 bytes); else $VORTEX_ETC_SECRET"),
    data_dir: Path = typer.Option(Path("data"), help="the project's data folder (reads <dataset>/origin)"),
    output: Optional[Path] = typer.Option(None, help="output folder [default: <data-dir>/<dataset>/etc]"),
    preview: Optional[Path] = typer.Option(None, help="also write a PNG of plain vs encrypted test images"),
) -> None:
    """Encrypt the plain train and test splits of DATASET with a block-wise EtC key."""
    try:
        spec = dataset_spec(dataset)
        key = derive_key(read_secret(key_file), (spec.height, spec.width, spec.channels), block_size)
        out_dir = output or Path(data_dir) / spec.name / VARIANT
        files = variant_files(spec.name, VARIANT)
        counts = {}
        for split in SPLITS:
            rows, labels = load_split(data_dir, spec.name, "origin", split)
            plain = pictures_from_rows(rows, spec)
            encrypted = encrypt(plain, key)
            write_split(out_dir / Path(files[split].path).name, split, rows_from_pictures(encrypted, spec), labels, spec.name, key_variables(key))
            counts[split] = len(rows)
            if preview is not None and split == "test":
                write_preview(preview, plain[:8], encrypted[:8])
        params = {
            "dataset": spec.name,
            "algorithm_version": ALGORITHM_VERSION,
            "block_size": block_size,
            "key_fingerprint": key.fingerprint,
            "image_shape": list(key.image_shape),
            "images": counts,
        }
        with atomic_output(out_dir / "params.json") as tmp:
            tmp.write_text(json.dumps(params, indent=2) + "\n")
    except PipelineError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {out_dir} (EtC {ALGORITHM_VERSION}, block {block_size}, key {key.fingerprint})")


def write_preview(path: Path, plain: np.ndarray, encrypted: np.ndarray) -> None:
    """PNG: plain images on the top row, their encryptions below."""
    from pipeline.preview import save_preview

    save_preview(path, [plain, encrypted], ["plain", "EtC"])


if __name__ == "__main__":
    app()
