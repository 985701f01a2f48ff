"""PE: pixel-based encryption (Sirichotedumrong, Kinoshita & Kiya 2019, "Pixel-based image
encryption without key management for privacy-preserving deep neural networks").

Per image, with a key of two tables over its H*W pixels:

1. negative-positive transformation: every sample (pixel p, colour c) with key bit r[p, c] = 1
   becomes ``x XOR 255`` (= 255 - x);
2. colour component shuffling: the three components of pixel p are reordered by the p-th key
   permutation, ``out[p, c] = x'[p, order[p][c]]`` (one of the 6 orders of (R, G, B)).

Grey images have one component: step 2 does nothing, PE is negation alone.

Key modes (``--key-mode``): ``dataset`` (default) draws one key for every image, a fixed sample
map with negation; ``image`` is the paper's "without key management": every image gets a fresh
key, train and test alike. Here the fresh keys come from the secret, the split name and the
image's place in its split (one stream per split), so a run can be repeated and decrypted with
the secret; the user never stores or hands over a key table. Derivation (``keystream``, version
``pe-1``, context ``<H>x<W>x<C>|block=1|mode=<mode>``): bits r from stream ``NP`` (dataset mode)
or ``NP|<split>`` (image mode: image after image, H*W*C bits each, pixel-major), orders
``below(6)`` per pixel from ``CS`` / ``CS|<split>`` (RGB only).

``--key-draw reference`` (context ``...|draw=reference``) negates exactly half of each key's
S = H*W*C samples, at fresh positions for every key, as the reference code's random PE does:
sample s is negated where a Fisher-Yates permutation of S from the ``NP`` stream holds a value
< S // 2 (one permutation per image in ``image`` mode). A published PE key (a key-table file,
``python -m pipeline.keys``) gives its tables directly (``dataset`` mode).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from workbench.data.datasets import DatasetSpec
from pipeline.encrypt.etc_key import PERMUTATIONS_3
from pipeline.encrypt.key_tables import check_table, read_tables
from pipeline.encrypt.keystream import Stream, draw_context, fingerprint, key_seed, log2_choose, shape_context
from pipeline.encrypt.sample_map import SampleMap, probe_sample_map
from pipeline.encrypt.scheme import KeyOptions, check_pictures, inverse_map
from pipeline.encrypt.secret import IMPORTED, SecretScheme, draw_of, imported_file, secret_of
from pipeline.errors import PipelineError

VERSION = "pe-1"
KEY_MODES = ("dataset", "image")
_CHUNK = 4096  # images whose per-image tables are held at once


@dataclass(frozen=True, eq=False)
class PeKey:
    """A PE key: the secret-derived seed its tables are drawn from, one set for every image (``dataset``
    mode) or one per image of each split (``image`` mode)."""

    image_shape: tuple[int, int, int]
    mode: str
    seed: bytes  # secret-derived; never recorded
    fingerprint: str
    version: str = VERSION
    block_size: int = 1  # pixel-based: the block is one pixel
    draw: str = "project"  # "project", "reference" or "imported"
    fixed: tuple[np.ndarray, np.ndarray] | None = None  # imported: (negate (1, H*W, C), order (1, H*W))

    def tables(self, stream_tag: str, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(negate (count, H*W, C) bool, order (count, H*W) index into PERMUTATIONS_3) of ``count`` images."""
        h, w, c = self.image_shape
        chunks = list(self.table_chunks(stream_tag, count)) or [(0, np.zeros((0, h * w, c), bool), np.zeros((0, h * w), np.int64))]
        return np.concatenate([bits for _, bits, _ in chunks]), np.concatenate([orders for _, _, orders in chunks])

    def table_chunks(self, stream_tag: str, count: int, chunk: int = _CHUNK):
        """(images, negate, order) of ``count`` images drawn in order, ``chunk`` images at a time."""
        if self.fixed is not None:
            yield count, *(np.broadcast_to(table, (count, *table.shape[1:])) for table in self.fixed)
            return
        yield from drawn_chunks(self.table_drawer(stream_tag), count, chunk)

    def table_drawer(self, stream_tag: str):
        """``draw(n)``: (negate, order) of the next ``n`` images of the streams ``NP<tag>`` and ``CS<tag>``.

        Drawing n1 then n2 images gives the tables of drawing n1 + n2 at once, provided n1 * H*W*C
        is a multiple of 8 (the bits are whole bytes): a further draw after one that is not is refused.
        """
        h, w, c = self.image_shape
        np_stream, cs_stream = Stream(self.seed, f"NP{stream_tag}".encode()), Stream(self.seed, f"CS{stream_tag}".encode())
        samples = h * w * c
        partial = [False]

        def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
            if partial[0]:
                raise PipelineError(f"PE keys drawn after a block whose {samples}-sample images end inside a byte")
            if self.draw == "reference":
                bits = (np_stream.permutations(samples, n) < samples // 2).reshape(n, h * w, c)
            else:
                bits = np_stream.bits(n * samples).reshape(n, h * w, c)
                partial[0] = (n * samples) % 8 != 0
            orders = cs_stream.below(6, n * h * w).reshape(n, h * w) if c == 3 else np.zeros((n, h * w), np.int64)
            return bits, orders
        return draw


def drawn_chunks(draw, count: int, chunk: int = _CHUNK):
    """(images, negate, order) of ``count`` images from ``draw``, ``chunk`` images at a time."""
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        yield n, *draw(n)


def derive_key(secret: bytes, image_shape: tuple[int, int, int], mode: str = "dataset", draw: str = "project") -> PeKey:
    """The PE key of ``secret`` for (H, W, C) images in key mode ``dataset`` or ``image``."""
    check_shape_and_mode(image_shape, mode)
    context = draw_context(f"{shape_context(image_shape, 1)}|mode={mode}", draw)
    return PeKey(tuple(image_shape), mode, key_seed(secret, VERSION, context), fingerprint(secret, "pe", VERSION, context),
                 draw=draw)


def check_shape_and_mode(image_shape: tuple[int, int, int], mode: str) -> None:
    """Refuse a key mode PE does not have and images that are neither grey nor RGB."""
    if mode not in KEY_MODES:
        raise PipelineError(f"--key-mode: PE takes {' or '.join(KEY_MODES)}, got {mode!r}")
    if image_shape[2] not in (1, 3):
        raise PipelineError(f"PE encrypts grey (1) or RGB (3) images, got {image_shape[2]} channels")


def imported_key(path, image_shape: tuple[int, int, int], mode: str) -> PeKey:
    """The PE key of a key-table file: ``negate`` (H*W, C) bools and ``order`` (H*W,) indices into PERMUTATIONS_3."""
    check_shape_and_mode(image_shape, mode)
    if mode != "dataset":
        raise PipelineError(f"--key-mode {mode}: the key file {path} holds one key for every image (key mode dataset)")
    h, w, c = image_shape
    tables = read_tables(path, "pe", image_shape, ("negate", "order"))
    negate = check_table(tables, "negate", (h * w, c), "b")
    order = check_table(tables, "order", (h * w,), "iu", 6 if c == 3 else 1).astype(np.int64)
    return PeKey(tuple(image_shape), mode, b"", tables.fingerprint, draw=IMPORTED, fixed=(negate[None], order[None]))


def sample_maps(image_shape: tuple[int, int, int], negate: np.ndarray, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sources, negate), each (k, H*W*C), of k keys' tables: ``y[s] = x[sources[s]] ^ 255 * negate[s]``.

    Output sample (p, c) reads plain sample (p, order_p[c]), negated by that sample's key bit.
    """
    h, w, c = image_shape
    channel = PERMUTATIONS_3[orders] if c == 3 else np.zeros((*orders.shape, 1), np.int64)
    sources = np.arange(h * w, dtype=np.int64)[:, None] * c + channel
    return sources.reshape(len(orders), -1), np.take_along_axis(negate, channel, axis=2).reshape(len(orders), -1)


def _apply_maps(flat: np.ndarray, sources: np.ndarray, negate: np.ndarray, inverse: bool) -> np.ndarray:
    """(n, S) samples through one map (k = 1: the same for every image) or one map per image (k = n)."""
    mask = negate.astype(np.uint8) * np.uint8(255)
    if not inverse:
        out = np.take(flat, sources[0], axis=1) if len(sources) == 1 else np.take_along_axis(flat, sources, axis=1)
        return np.bitwise_xor(out, mask, out=out)
    plain = flat ^ mask
    if len(sources) == 1:
        return np.take(plain, inverse_map(sources[0]), axis=1)
    out = np.empty_like(plain)
    np.put_along_axis(out, sources, plain, axis=1)
    return out


def apply(key: PeKey, pictures: np.ndarray, split: str = "images", inverse: bool = False) -> np.ndarray:
    """Encrypt (or decrypt) a batch; in ``image`` mode ``split`` names the stream of per-image keys."""
    pictures = check_pictures(pictures, key.image_shape, "PE")
    flat = pictures.reshape(len(pictures), -1)
    if key.mode == "dataset":
        return _apply_maps(flat, *sample_maps(key.image_shape, *key.tables("", 1)), inverse).reshape(pictures.shape)
    return apply_chunks(key, pictures, key.table_chunks(f"|{split}", len(pictures)), inverse)


def apply_chunks(key: PeKey, pictures: np.ndarray, chunks, inverse: bool = False) -> np.ndarray:
    """Pictures through per-image keys: ``chunks`` yields (n, negate, order) of the next n images."""
    flat = pictures.reshape(len(pictures), -1)
    out = np.empty_like(flat)
    done = 0
    for n, bits, orders in chunks:
        out[done:done + n] = _apply_maps(flat[done:done + n], *sample_maps(key.image_shape, bits, orders), inverse)
        done += n
    return out.reshape(pictures.shape)


class PeScheme(SecretScheme):
    """Pixel-based encryption: per-sample negative-positive transform and per-pixel colour shuffling."""

    name = "pe"
    title = "PE"
    key_kind = "per-pixel negation bits and colour orders (one key, or one per image)"
    options = ("key_mode", "key_draw", "key_seed", "key_file")
    negates = True

    def key(self, spec: DatasetSpec, options: KeyOptions) -> PeKey:
        shape, mode = (spec.height, spec.width, spec.channels), options.key_mode or "dataset"
        path = imported_file(options)
        if path is not None:
            return imported_key(path, shape, mode)
        draw = draw_of(options)  # before the secret, as LE's
        return derive_key(secret_of(options), shape, mode, draw)

    def record(self, key: PeKey) -> dict:
        return {**super().record(key), "key_mode": key.mode}

    def key_space_log2(self, spec: DatasetSpec, options: KeyOptions) -> float:
        """Of one key (in ``image`` mode: of each image's key): 2^(H*W*C) * 6^(H*W) for RGB, 2^(H*W) grey;
        the reference draw has C(S, S // 2) negation patterns (S = H*W*C) for 2^S."""
        pixels = spec.height * spec.width
        samples = pixels * spec.channels
        negations = samples if draw_of(options) == "project" else log2_choose(samples, samples // 2)
        return negations + (pixels * math.log2(6) if spec.channels == 3 else 0.0)

    def key_per_image(self, key: PeKey) -> bool:
        return key.mode == "image"

    def encrypt(self, key: PeKey, pictures: np.ndarray) -> np.ndarray:
        return apply(key, pictures)

    def decrypt(self, key: PeKey, pictures: np.ndarray) -> np.ndarray:
        return apply(key, pictures, inverse=True)

    def encrypt_splits(self, key: PeKey, splits: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {split: apply(key, pictures, split) for split, pictures in splits.items()}

    def decrypt_splits(self, key: PeKey, splits: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {split: apply(key, pictures, split, inverse=True) for split, pictures in splits.items()}

    def split_encryptor(self, key: PeKey):
        """In ``image`` mode one pair of streams per split, drawn on as that split's blocks arrive."""
        if key.mode != "image":
            return super().split_encryptor(key)
        drawers: dict[str, object] = {}

        def encrypt(split: str, pictures: np.ndarray) -> np.ndarray:
            pictures = check_pictures(pictures, key.image_shape, "PE")
            if split not in drawers:
                drawers[split] = key.table_drawer(f"|{split}")
            draw = drawers[split]
            return apply_chunks(key, pictures, drawn_chunks(draw, len(pictures)))
        return encrypt

    def sample_map(self, key: PeKey) -> SampleMap | None:
        return probe_sample_map(lambda p: apply(key, p), key.image_shape) if key.mode == "dataset" else None

    def per_image_maps(self, key: PeKey, counts: Mapping[str, int]) -> dict[str, np.ndarray]:
        return {split: sources for split, (sources, _) in self._maps(key, counts).items()}

    def per_image_negations(self, key: PeKey, counts: Mapping[str, int]) -> dict[str, np.ndarray]:
        return {split: negate for split, (_, negate) in self._maps(key, counts).items()}

    def _maps(self, key: PeKey, counts: Mapping[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(sources, negate), each (N, H*W*C), of every image's key: ``y[s] = x[sources[s]] ^ 255 * negate[s]``."""
        if key.mode != "image":
            raise PipelineError("PE has one key for every image in key mode 'dataset'; per-image maps need --key-mode image")
        return {split: sample_maps(key.image_shape, *key.tables(f"|{split}", count)) for split, count in counts.items()}
