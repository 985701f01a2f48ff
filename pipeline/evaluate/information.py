"""Information content of an image relative to a transformation of it, and information-loss rates.

The vortex paper's measure, defined from its description (formulas, reasons and the proof of
the swap theorem: ``docs/information.md``). An image ``x`` has S = C * P samples (C channel
planes of P = H * W pixels, in the stored-row order of :mod:`workbench.data.datasets`). Relative
to a transformation ``T``, its information content is

    I_T(x) = V_T(x) + N_T(x)
    V_T(x) = sum_a  v_a * (x_a - mean_c(a))^2                        value information
    N_T(x) = 1/2 sum_{a != b, same channel}  K_ab * (x_a - x_b)^2    neighbouring information

where ``v_a`` in [0, 1] is the share of sample a's value that survives T and ``K_ab`` the
share of the weight m(d(a, b)) of the pair's relation that survives: for the identity,
``v = 1`` and ``K_ab = m(d(a, b))`` with the distance weight m(d) = exp(-(d / scale) ** shape)
(:class:`DistanceWeight`). A transformation that moves samples (output sample p reads source
sample src[p]) keeps ``K_ab = max over copies (p, q) of min(m(d(a, b)), m(d(p, q))) * kappa_pq``;
sources it never reads lose their value and all their relations. A value step (EtC's
negative-positive) enters through the per-sample value fidelity f (+1 unchanged, -1 negated,
a correlation otherwise), measured from image pairs (:func:`value_fidelity`):
``v_a = max f_p^2``, ``kappa_pq = max(f_p * f_q, 0)``.

Every term is at most its identity value, so no transformation (in particular no swap of
two pixels) increases the information of an image (``docs/information.md``, theorem 1).
Everything is a few matrix products over the whole dataset.

Images above 64 x 64 pixels (``MAX_PIXELS``) are measured with the weight truncated at a radius
(:mod:`pipeline.evaluate.information_near`), with the bound on what that changes in the result.

CLI: ``python -m pipeline.information --dataset mnist --scheme vor`` writes
``results/information/mnist_vor.json``.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from workbench.data.datasets import (
    DatasetSpec,
    ImageShape,
    dataset_spec,
    load_split,
    picture_sources_to_rows_map,
    pictures_from_rows,
    rows_from_pictures,
)
from workbench.data.stored import split_rows
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError
from pipeline.evaluate.information_near import (
    NearKept,
    batches,
    centred,
    check_radius,
    expected_permutation_near,
    identity_near,
    map_near,
    near_information,
    near_permutation_information,
    truncation,
)
from pipeline.evaluate.value_fidelity import batched_fidelity, value_fidelity


@dataclass(frozen=True)
class DistanceWeight:
    """The weight m(d) = exp(-(d / scale) ** shape) of the relation of two pixels d apart.

    m(0) = 1, decreasing and nonlinear for every shape > 0: shape 1 is exponential decay,
    shape 2 Gaussian; ``scale`` is the distance at which the weight falls to 1/e.
    """

    scale: float = 1.5
    shape: float = 2.0

    def __post_init__(self) -> None:
        if not (self.scale > 0 and self.shape > 0 and np.isfinite(self.scale) and np.isfinite(self.shape)):
            raise PipelineError(f"distance weight needs scale > 0 and shape > 0, got scale={self.scale}, shape={self.shape}")

    def __call__(self, distance) -> np.ndarray:
        return np.exp(-((np.asarray(distance, dtype=np.float64) / self.scale) ** self.shape))


@functools.lru_cache(maxsize=8)
def _pair_weights(height: int, width: int, weight: DistanceWeight) -> np.ndarray:
    rows, cols = np.divmod(np.arange(height * width), width)
    distance = np.hypot(rows[:, None] - rows[None, :], cols[:, None] - cols[None, :])
    m = weight(distance)
    np.fill_diagonal(m, 0.0)  # a pixel has no relation with itself (its value is the value term)
    m.setflags(write=False)
    return m


def pair_weights(layout: ImageShape, weight: DistanceWeight) -> np.ndarray:
    """(P, P) read-only matrix of m(d(p, q)) over the pixels of one plane, zero on the diagonal."""
    return _pair_weights(layout.height, layout.width, weight)


@dataclass(frozen=True)
class Kept:
    """What a transformation keeps: ``value`` (S,) share of each source sample's value information,
    ``pairs`` (C, P, P) surviving weight K of each source pair within channel plane c."""

    value: np.ndarray
    pairs: np.ndarray


def identity_kept(layout: ImageShape, weight: DistanceWeight) -> Kept:
    """The identity keeps everything: the reference information of an image."""
    m = pair_weights(layout, weight)
    return Kept(np.ones(layout.row_length), np.broadcast_to(m, (layout.channels, *m.shape)))


def _check_sources(sources: np.ndarray, layout: ImageShape) -> np.ndarray:
    sources = np.asarray(sources)
    if sources.shape != (layout.row_length,) or sources.dtype.kind not in "iu":
        raise PipelineError(f"a position map must be {layout.row_length} integer sample indices, got {sources.dtype} {sources.shape}")
    if sources.size and (sources.min() < 0 or sources.max() >= layout.row_length):
        raise PipelineError(f"position map indices must lie in 0..{layout.row_length - 1}")
    return sources.astype(np.int64)


def map_kept(sources: np.ndarray, layout: ImageShape, weight: DistanceWeight, fidelity: Optional[np.ndarray] = None) -> Kept:
    """What the gather ``out[p] = value_step_p(x[sources[p]])`` keeps (one map for every image).

    ``sources`` (S,) may repeat and omit samples (the vortex is a gather, not a permutation);
    ``fidelity`` (S,) in [-1, 1] per OUTPUT sample describes a value step (None: values are
    carried unchanged, f = 1). Exact: every output pair is visited once.
    """
    sources = _check_sources(sources, layout)
    f = np.ones(layout.row_length) if fidelity is None else np.asarray(fidelity, dtype=np.float64)
    if f.shape != (layout.row_length,) or np.any(np.abs(f) > 1):
        raise PipelineError(f"value fidelity must be {layout.row_length} values in [-1, 1]")
    p_count = layout.pixels
    m = pair_weights(layout, weight)
    value = np.zeros(layout.row_length)
    np.maximum.at(value, sources, f**2)
    pairs = np.zeros(layout.channels * p_count * p_count)
    for c_out in range(layout.channels):
        src = sources[c_out * p_count : (c_out + 1) * p_count]
        fo = f[c_out * p_count : (c_out + 1) * p_count]
        plane, pos = np.divmod(src, p_count)
        # the pair (src[p], src[q]) keeps min(original weight, weight where its copies now lie)
        kept = np.minimum(m[pos[:, None], pos[None, :]], m) * np.maximum(fo[:, None] * fo[None, :], 0.0)
        usable = (plane[:, None] == plane[None, :]) & (src[:, None] != src[None, :]) & (kept > 0)
        target = (plane[:, None] * p_count + pos[:, None]) * p_count + pos[None, :]
        np.maximum.at(pairs, target[usable], kept[usable])
    return Kept(value, pairs.reshape(layout.channels, p_count, p_count))


@dataclass(frozen=True)
class Information:
    """Per image: value information V and neighbouring information N (I = V + N)."""

    value: np.ndarray
    neighbour: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.value + self.neighbour


def information(rows: np.ndarray, layout: ImageShape, kept: Kept, batch: int = 8192) -> Information:
    """Information of each image (N x S rows) that ``kept`` retains; ``identity_kept`` gives the full content.

    N = sum_a x_a^2 k_a - x^T K x per plane (k = K 1), i.e. one matrix product per batch.
    """
    n = len(rows)
    value, neighbour = np.empty(n), np.zeros(n)
    row_sums = kept.pairs.sum(axis=2)
    for start in range(0, n, batch):
        x = centred(rows[start : start + batch], layout)
        value[start : start + len(x)] = (x**2).reshape(len(x), -1) @ kept.value
        for c in range(layout.channels):
            xc = x[:, c]
            neighbour[start : start + len(x)] += (xc**2) @ row_sums[c] - np.einsum("np,np->n", xc, xc @ kept.pairs[c])
    return Information(value, neighbour)


def permutation_information(rows: np.ndarray, layout: ImageShape, weight: DistanceWeight, perms: np.ndarray, batch: int = 16) -> Information:
    """Information kept by a fresh pixel permutation per image (the random baseline), exactly.

    ``perms`` (N, P): output pixel p of image n reads source pixel perms[n, p], every channel
    alike. Values all survive; source pair (a, b) keeps min(m(d(a, b)), m(d(a', b'))) where
    a', b' are the pixels it was moved to. P x P work per image (about 40 ms for 28 x 28 on
    one core): use it on samples, :func:`expected_permutation_kept` for whole datasets.
    """
    perms = np.asarray(perms)
    n, p_count = len(rows), layout.pixels
    if perms.shape != (n, p_count) or not np.array_equal(np.sort(perms, axis=1), np.broadcast_to(np.arange(p_count), perms.shape)):
        raise PipelineError(f"per-image permutations must be {n} x {p_count}, each a permutation of 0..{p_count - 1}")
    m = pair_weights(layout, weight)
    value, neighbour = np.empty(n), np.empty(n)
    for start in range(0, n, batch):
        x = centred(rows[start : start + batch], layout)
        where = np.argsort(perms[start : start + batch], axis=1)  # source a now lies at pixel where[a]
        k = np.minimum(m, m[where[:, :, None], where[:, None, :]])
        value[start : start + len(x)] = (x**2).sum(axis=(1, 2))
        quad = np.einsum("ncp,ncp->n", x, np.matmul(x, k))
        neighbour[start : start + len(x)] = np.einsum("ncp,np->n", x**2, k.sum(axis=2)) - quad
    return Information(value, neighbour)


def expected_permutation_kept(layout: ImageShape, weight: DistanceWeight) -> Kept:
    """What a uniformly random pixel permutation keeps on average: exact expectation, one matrix.

    A uniform permutation sends a pair of distinct pixels to a uniform pair of distinct pixels,
    so E[K_ab] = mean over all ordered pairs (p, q), p != q, of min(m(d(a, b)), m(d(p, q))).
    The information is linear in K, so this gives each image's expected kept information exactly.
    """
    rows, cols = np.divmod(np.arange(layout.pixels), layout.width)
    squared = (rows[:, None] - rows[None, :]) ** 2 + (cols[:, None] - cols[None, :]) ** 2
    off = ~np.eye(layout.pixels, dtype=bool)
    levels, inverse, counts = np.unique(squared[off], return_inverse=True, return_counts=True)
    m_levels = weight(np.sqrt(levels))
    share = counts / counts.sum()
    expected = (np.minimum(m_levels[:, None], m_levels[None, :]) * share[None, :]).sum(axis=1)
    pairs = np.zeros((layout.pixels, layout.pixels))
    pairs[off] = expected[inverse]
    return Kept(np.ones(layout.row_length), np.broadcast_to(pairs, (layout.channels, *pairs.shape)))


def loss_rates(full: Information, kept: Information) -> dict[str, float]:
    """Information-loss rates: mean over images of 1 - kept / full (images with nothing to lose are skipped)
    for the total, the value and the neighbouring part, and the pooled rate 1 - sum kept / sum full."""
    out: dict[str, float] = {}
    for part in ("total", "value", "neighbour"):
        f, k = getattr(full, part), getattr(kept, part)
        has = f > 0
        out[f"{part}_loss_rate"] = float(np.mean(1.0 - k[has] / f[has])) if has.any() else 0.0
        out[f"{part}_loss_rate_pooled"] = float(1.0 - k.sum() / f.sum()) if f.sum() > 0 else 0.0
    out["images_without_information"] = int(np.sum(full.total <= 0))
    return out


# --- encryptions as the measure sees them ---------------------------------------------------


def default_label(scheme: Scheme, spec: DatasetSpec, options: KeyOptions, record: dict) -> str:
    """The name results of a scheme's key carry: ``vor-<parameter file tag>``, ``<scheme>-b<block>``, or the scheme's name."""
    if "params" in scheme.options and "params" in record:
        stem = Path(record["params"]).stem
        return f"{scheme.name}-{stem.removeprefix(f'vor_params_{spec.prefix}_').removeprefix('vor_params_')}"
    block = scheme.public_block_size(spec, options)
    return scheme.name if block is None else f"{scheme.name}-b{block}"


def encrypt_rows(scheme: Scheme, key, spec: DatasetSpec, splits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Encrypted stored rows of each split (in the given order: per-image draws follow it)."""
    pictures = {split: pictures_from_rows(rows, spec) for split, rows in splits.items()}
    return {split: rows_from_pictures(p, spec) for split, p in scheme.encrypt_splits(key, pictures).items()}


def check_measurable(scheme: Scheme, key) -> None:
    """Refuse a scheme and key the measure does not model, before any image is read: per-image keys
    that do more than permute whole pixels, or a fixed key that is no position map."""
    if scheme.key_per_image(key):
        if not scheme.moves_whole_pixels or scheme.per_image_negations(key, {"images": 1}) is not None:
            raise PipelineError(f"the information measure models per-image keys only as pixel permutations; {scheme.name}'s "
                                "per-image keys also change values (see docs/information.md)")
    elif scheme.sample_map(key) is None:
        raise PipelineError(f"the information measure needs the key as a position map; {scheme.name} is not one "
                            "(see docs/information.md)")


def measure(scheme: Scheme, key, spec: DatasetSpec, splits: dict[str, np.ndarray], weight: DistanceWeight,
            exact_sample: int = 500) -> dict:
    """Information-loss rates of ``scheme`` with ``key`` over the plain rows of ``splits`` (JSON-ready).

    A fixed sample map is exact for every image; a value step (negation) enters through the
    fidelity measured from the image pairs. Per-image pixel permutations (the random
    baseline): the exact expectation over the permutation draw for every image, and the exact
    value for the actual draws of the first ``exact_sample`` images of the first split.
    Above ``MAX_PIXELS`` the weight is truncated at a radius and ``truncation`` records the bound.
    """
    check_measurable(scheme, key)
    check_size(spec, weight)
    layout = spec
    rows = np.concatenate([np.asarray(splits[s]) for s in splits])
    started = time.perf_counter()
    near = truncation(layout, weight) if layout.pixels > MAX_PIXELS else None

    def kept_information(kept) -> Information:
        if isinstance(kept, NearKept):
            return Information(*near_information(rows, layout, kept))
        return information(rows, layout, kept)

    full = kept_information(identity_kept(layout, weight) if near is None else identity_near(layout, weight, near))
    out: dict = {}
    copies = 1
    if scheme.key_per_image(key):
        kept = kept_information(expected_permutation_kept(layout, weight) if near is None
                                else expected_permutation_near(layout, weight, near))
        first = next(iter(splits))
        count = min(exact_sample, len(splits[first]))
        if count:
            samples = scheme.per_image_maps(key, {first: count})[first]
            perms = samples[:, ::spec.channels] // spec.channels  # whole pixels move: a pixel permutation per image
            sample = slice(0, count)
            drawn = (permutation_information(rows[sample], layout, weight, perms) if near is None
                     else Information(*near_permutation_information(rows[sample], layout, weight, perms, near)))
            out["drawn_sample"] = {"images": count, "split": first,
                                   **loss_rates(Information(full.value[sample], full.neighbour[sample]), drawn)}
    else:
        positions = scheme.sample_map(key)
        sources = picture_sources_to_rows_map(positions.source, spec)
        fidelity = None
        if scheme.negates and near is not None:  # a batch of images encrypted at a time (the key is fixed)
            fidelity = batched_fidelity(lambda: ((part[:, sources], encrypt_rows(scheme, key, spec, {s: part})[s])
                                                 for s in splits for part in batches(splits[s], spec)))
        elif scheme.negates:
            encrypted = np.concatenate(list(encrypt_rows(scheme, key, spec, splits).values()))
            fidelity = value_fidelity(rows[:, sources], encrypted)
        if scheme.negates:
            out["fidelity"] = {"unchanged": int(np.sum(fidelity == 1)), "negated": int(np.sum(fidelity == -1)), "other": int(np.sum(np.abs(fidelity) != 1))}
        if near is None:
            k = map_kept(sources, layout, weight, fidelity)
        else:
            k = map_near(_check_sources(sources, layout), layout, weight, near, fidelity)
            copies = int(np.bincount(k.sources).max())
        out["lost_samples"] = int(np.sum(k.value == 0))
        kept = kept_information(k)
    rates = loss_rates(full, kept)
    if near is not None:
        out["truncation"] = truncation_record(near, copies, full)
    return {
        **rates,
        "mean_information": float(full.total.mean()),
        "mean_value_information": float(full.value.mean()),
        "mean_neighbour_information": float(full.neighbour.mean()),
        "images": int(len(rows)),
        **out,
        "seconds": round(time.perf_counter() - started, 3),
    }


def truncation_record(t, copies: int, full: Information) -> dict:
    """What the truncated weight may have changed (docs/information.md section 8.1): every total loss rate by at
    most ``total_loss_rate_bound``, no value rate, the mean neighbouring rate by at most its bound."""
    bound = t.bound(copies)
    has = full.neighbour > 0
    return {"radius": float(np.sqrt(t.radius_squared)), "pair_offsets": 2 * len(t.offsets), "weight_beyond_radius": t.tail,
            "max_copies": copies, "total_loss_rate_bound": bound, "value_loss_rate_bound": 0.0,
            "neighbour_loss_rate_bound": float(np.mean(bound * full.value[has] / full.neighbour[has])) if has.any() else 0.0}


def load_splits(data_dir: Path, dataset: str, split: str, max_images: int | None = None) -> dict[str, np.ndarray]:
    """The plain rows of ``split`` (train, test or all), the first ``max_images`` of each: only those
    read where the split is stored v7.3 (others are read whole, then cut)."""
    if split not in ("train", "test", "all"):
        raise PipelineError(f"unknown split {split!r}; choose train, test or all")
    names = ("train", "test") if split == "all" else (split,)
    spec = dataset_spec(dataset, data_dir)
    out = {}
    for name in names:
        stored = split_rows(Path(data_dir), spec, "origin", name)
        if stored is None:
            out[name] = load_split(data_dir, spec, "origin", name)[0][:max_images]
        else:
            with stored[0] as reader:
                out[name] = reader.rows(0, min(reader.shape[0], max_images or reader.shape[0]))
    return out


#: Most pixels an image may have for the dense measure: it holds (C, P, P) pixel-pair matrices and a
#: few P x P temporaries while building one (about 10 x 8 P^2 bytes: 1.3 GiB at 64 x 64). Larger
#: images are measured with the truncated weight.
MAX_PIXELS = 64 * 64


def check_size(spec: DatasetSpec, weight: DistanceWeight) -> None:
    """Refuse, before any image is read, images whose truncated weight would need too much pair storage."""
    if spec.height * spec.width > MAX_PIXELS:
        check_radius(spec, weight, spec.name)
