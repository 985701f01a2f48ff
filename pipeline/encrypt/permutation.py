"""Port of ``random_permutation.m``: every image's pixels shuffled by its own random permutation.

For each image the script draws ``R = rand(H*W, 1)`` and reorders each channel, flattened
column-major in MATLAB's orientation, by sorting the rows of ``[R, values]`` on R; all
channels of an image share the permutation (spec section 7). The draws come from MATLAB's
random stream (:mod:`matlab_compat.rng`) seeded once, train images first, then test images,
one ``rand(H*W, 1)`` per image in file order -- one MATLAB session running the script.

MATLAB orientation -> stored rows: for MNIST / Fashion the script's image is the picture, so
its column-major flattening walks the picture column by column; for CIFAR-10 the script's
image is the transposed picture, whose column-major flattening is the stored channel block.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from matlab_compat.rng import MatlabStream, rng
from workbench.cli import progress_bar, progress_bars
from workbench.data.datasets import DatasetSpec
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.encrypt.vortex import matlab_transposed
from pipeline.errors import PipelineError

_CHUNK = 8192  # images per block of draws: bounds memory, keeps the stream order


def column_major_order(spec: DatasetSpec) -> np.ndarray:
    """Stored-row index (within one channel) of the q-th element of the script's ``image(:)``."""
    stored = np.arange(spec.pixels, dtype=np.int64).reshape(spec.height, spec.width)
    # script image == picture (MNIST): image(:) walks picture columns; == picture' (CIFAR): picture rows
    return stored.ravel() if matlab_transposed(spec) else stored.T.ravel()


def random_permutations(num_images: int, pixels: int, stream: MatlabStream, order: np.ndarray | None = None,
                        *, progress: bool = False) -> np.ndarray:
    """(num_images, pixels) int64: row n is image n's 0-based source index for each output pixel.

    Draws ``rand(pixels, 1)`` per image from ``stream`` and sorts on it (stable, as ``sortrows``).
    ``order`` (from :func:`column_major_order`) maps the script's column-major position to the
    stored-row position; without it the indices are in the script's own order. Apply the
    result with :func:`permute_pictures`, the same permutation to every channel.
    """
    out = np.empty((num_images, pixels), dtype=np.int64)
    with progress_bar(total=num_images, desc="permutations", unit="image", disable=not progress) as bar:
        for start in range(0, num_images, _CHUNK):
            count = min(_CHUNK, num_images - start)
            draws = stream.draws(count * pixels).reshape(count, pixels)
            perm = np.argsort(draws, axis=1, kind="stable")
            if order is None:
                out[start:start + count] = perm
            else:
                out[start:start + count][:, order] = order[perm]
            bar.update(count)
    return out


@dataclass(frozen=True)
class PermutationKey:
    """The MATLAB seed of the per-image permutations and the stored-row order of the script's ``image(:)``."""

    seed: int
    order: np.ndarray  # stored-row pixel index of the q-th element of the script's image(:)
    channels: int


class RandomPermutationScheme(Scheme):
    """``random_permutation.m``: every image's pixels shuffled by its own permutation drawn from MATLAB's stream."""

    name = "random"
    title = "random"
    key_kind = "a fresh pixel permutation per image, drawn from one seed"
    key_source = "seed"
    invertible = False  # the published script keeps no permutation; with the seed it could be undone
    options = ("key_seed",)
    moves_whole_pixels = True
    per_image = True

    def key(self, spec: DatasetSpec, options: KeyOptions) -> PermutationKey:
        seed = 0 if options.key_seed is None else options.key_seed
        try:
            rng(seed)
        except ValueError as err:
            raise PipelineError(f"--key-seed: {err}") from None
        return PermutationKey(seed, column_major_order(spec), spec.channels)

    def adversary_key(self, spec: DatasetSpec, options: KeyOptions, index: int) -> PermutationKey:
        return PermutationKey(ADVERSARY_SEEDS + index, column_major_order(spec), spec.channels)

    def record(self, key: PermutationKey) -> dict:
        return {"key_seed": key.seed, "stream": "MATLAB rng (Mersenne Twister), train then test"}

    def key_space_log2(self, spec: DatasetSpec, options: KeyOptions) -> float:
        return 32.0  # every permutation follows from one MATLAB seed, 0 .. 2^32 - 1

    def _pixel_sources(self, key: PermutationKey, counts: Mapping[str, int]) -> dict[str, np.ndarray]:
        stream = rng(key.seed)
        return {split: random_permutations(n, key.order.size, stream, key.order) for split, n in counts.items()}

    def encrypt_splits(self, key: PermutationKey, splits: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        encrypt = self._encryptor(key, progress=progress_bars())
        return {split: encrypt(split, p) for split, p in splits.items()}

    def split_encryptor(self, key: PermutationKey):
        return self._encryptor(key)

    def _encryptor(self, key: PermutationKey, progress: bool = False):
        """One MATLAB stream for every block of every split, in the order they come (train, then test)."""
        stream = rng(key.seed)

        def encrypt(split: str, pictures: np.ndarray) -> np.ndarray:
            sources = random_permutations(len(pictures), key.order.size, stream, key.order, progress=progress)
            return permute_pictures(np.asarray(pictures), sources)
        return encrypt

    def encrypt(self, key: PermutationKey, pictures: np.ndarray) -> np.ndarray:
        return self.encrypt_splits(key, {"images": pictures})["images"]

    def per_image_maps(self, key: PermutationKey, counts: Mapping[str, int]) -> dict[str, np.ndarray]:
        c = key.channels
        return {split: (pixels[:, :, None] * c + np.arange(c)).reshape(len(pixels), -1)
                for split, pixels in self._pixel_sources(key, counts).items()}

    def stored_images(self, spec: DatasetSpec, rows: np.ndarray) -> np.ndarray:
        return rows.astype(np.float64)  # random_permutation.m saves what it computed on doubles

    def stored_labels(self, spec: DatasetSpec, labels: np.ndarray) -> np.ndarray:
        return labels.astype(np.float64)


#: Seeds of the keys an adversary draws for itself: far from the small seeds users pick.
ADVERSARY_SEEDS = 1_000_000


def permute_pictures(pictures: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """``out[n, p, c] = pictures[n, sources[n, p], c]`` over the H*W pixels of each (H, W, C) picture."""
    n, h, w, c = pictures.shape
    flat = np.ascontiguousarray(pictures).reshape(n, h * w, c)
    return np.take_along_axis(flat, sources[:, :, None], axis=1).reshape(pictures.shape)
