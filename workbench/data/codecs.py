"""Image codecs over uint8 (N, H, W, C) batches: JPEG round trips and lossless file sizes.

Every image is one file of its own, written with Pillow, no metadata (EXIF/ICC):

* ``jpeg``: baseline JPEG, ``quality`` as given, chroma ``subsampling`` 4:4:4 (default) or 4:2:0
  (RGB only; grey images have no chroma), ``optimize=False`` (the standard Huffman tables,
  Pillow's default). 4:4:4 is the default because it reproduces the EtC paper's Table IV
  (``docs/schemes.md``). :func:`jpeg_roundtrip` is also the data path of training on
  JPEG-compressed images.
* ``jpeg2000``: lossless JPEG 2000 (reversible 5/3 wavelet, one quality layer, the reversible
  colour transform for RGB) through Pillow's OpenJPEG, as a bare codestream (``.j2k``).
* ``jpeg-ls``: lossless JPEG-LS (CharLS through the ``pillow-jpls`` plugin), when installed.
* ``png``: lossless PNG, zlib level 6 (Pillow's default), no filter search.

File sizes are the bytes of each file. PSNR is over a whole batch at once: 10 log10(255^2 / MSE)
with the MSE over every sample of every image.
"""
from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image, features

from workbench.errors import WorkbenchError

#: Chroma subsampling -> Pillow's code.
SUBSAMPLINGS = {"4:4:4": 0, "4:2:0": 2}

try:  # registers the "JPEG-LS" format with Pillow
    import pillow_jpls  # noqa: F401

    _JPEG_LS = True
except ImportError:  # pragma: no cover - the project depends on it; a bare environment may lack it
    _JPEG_LS = False


def _image(picture: np.ndarray) -> Image.Image:
    return Image.fromarray(picture[:, :, 0] if picture.shape[2] == 1 else picture)


def _save(picture: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    _image(picture).save(buffer, **options)
    return buffer.getvalue()


def check_subsampling(subsampling: str) -> int:
    """Pillow's code of a chroma subsampling named as in :data:`SUBSAMPLINGS`, else an error naming the option."""
    if subsampling not in SUBSAMPLINGS:
        raise WorkbenchError(f"--subsampling: choose {' or '.join(SUBSAMPLINGS)}, got {subsampling!r}")
    return SUBSAMPLINGS[subsampling]


def jpeg_bytes(picture: np.ndarray, quality: int, subsampling: str = "4:4:4") -> bytes:
    """One (H, W, C) uint8 picture as a baseline JPEG file."""
    return _save(picture, format="JPEG", quality=quality, subsampling=check_subsampling(subsampling), optimize=False)


def check_quality(quality: int, option: str = "--jpeg-quality") -> int:
    """``quality`` if Pillow's JPEG encoder uses it as given (1..95), else an error naming ``option``."""
    if not 1 <= quality <= 95:
        raise WorkbenchError(f"{option}: JPEG quality must be 1..95 (Pillow's useful range), got {quality}")
    return quality


def jpeg_roundtrip(pictures: np.ndarray, quality: int, subsampling: str = "4:4:4") -> tuple[np.ndarray, np.ndarray]:
    """(decoded pictures, JPEG file size of each) of a uint8 (N, H, W, C) batch."""
    check_quality(quality)
    decoded = np.empty_like(pictures)
    sizes = np.empty(len(pictures), dtype=np.int64)
    for i in range(len(pictures)):
        data = jpeg_bytes(pictures[i], quality, subsampling)
        sizes[i] = len(data)
        decoded[i] = decode(data, pictures.shape[1:])
    return decoded, sizes


def _jpeg2000(picture: np.ndarray) -> bytes:
    return _save(picture, format="JPEG2000", irreversible=False, no_jp2=True, mct=1 if picture.shape[2] == 3 else 0)


def _jpeg_ls(picture: np.ndarray) -> bytes:
    return _save(picture, format="JPEG-LS")


def _png(picture: np.ndarray) -> bytes:
    return _save(picture, format="PNG", optimize=False, compress_level=6)


#: Lossless codecs: name -> (encoder of one picture, whether this environment provides it).
LOSSLESS: dict[str, tuple[Callable[[np.ndarray], bytes], bool]] = {
    "jpeg2000": (_jpeg2000, bool(features.check("jpg_2000"))),
    "jpeg-ls": (_jpeg_ls, _JPEG_LS),
    "png": (_png, True),
}


def available_lossless() -> list[str]:
    """The lossless codecs this environment provides, in :data:`LOSSLESS` order."""
    return [name for name, (_, present) in LOSSLESS.items() if present]


def lossless_bytes(picture: np.ndarray, codec: str) -> bytes:
    """One picture as a file of lossless ``codec``."""
    encode, present = LOSSLESS.get(codec, (None, False))
    if not present:
        raise WorkbenchError(f"lossless codec {codec!r} is not available here; available: {', '.join(available_lossless())}")
    return encode(picture)


def lossless_sizes(pictures: np.ndarray, codec: str) -> np.ndarray:
    """The file size of every picture of a uint8 (N, H, W, C) batch in lossless ``codec``."""
    return np.array([len(lossless_bytes(p, codec)) for p in pictures], dtype=np.int64)


def decode(data: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    """A file of any of these codecs back to an (H, W, C) uint8 picture."""
    return np.asarray(Image.open(io.BytesIO(data))).reshape(shape)


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of ``test`` against ``reference`` (uint8), over all samples together."""
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))
