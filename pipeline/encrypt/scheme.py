"""What an encryption scheme is, stated once: its key, encryption, decryption, record and evaluation views.

Every stage (encrypting, training, attacks, the information measure, compression, the report)
takes schemes from :mod:`pipeline.encrypt.registry` and uses only this interface, so a new
scheme is one module with one :class:`Scheme` subclass and one line in the registry
(``docs/architecture.md`` walks through one).

Images are pictures: uint8 arrays (N, H, W, C) as a person sees them (C = 1 grey, 3 RGB; see
:func:`workbench.data.datasets.pictures_from_rows`). A key is whatever object the scheme
needs; outside the scheme only :meth:`Scheme.record` (what may be written beside outputs,
never a secret) and the views below are looked at.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from workbench.data.datasets import DatasetSpec
from pipeline.encrypt.sample_map import SampleMap
from pipeline.errors import PipelineError


@dataclass(frozen=True)
class KeyOptions:
    """Where keys come from; each scheme reads the fields named in its ``options``.

    The CLI options of the same names (``--params``, ``--vortices``, ``--key-seed``,
    ``--block-size``, ``--key-file``, ``--key-mode``, ``--key-draw``) fill these in every command.
    """

    data_dir: Path = Path("data")
    params: Path | None = None  # vortex parameter file (vor_par)
    vortices: int | None = None  # use the first N vortices
    key_seed: int | None = None  # the key's public seed: random's MATLAB rng seed; a secret-keyed scheme's benchmark key
    block_size: int | None = None  # block edge in pixels
    key_file: Path | None = None  # file holding a private secret (else $VORTEX_SECRET)
    secret: bytes | None = None  # a secret given in code: studies and an adversary's own keys
    key_mode: str | None = None  # pe: "dataset" (one key) or "image" (a fresh key per image)
    key_draw: str | None = None  # le, ele, etc, pe: "project" (default) or "reference" (the references' distribution)

    def merged(self, recorded: Mapping[str, Any]) -> "KeyOptions":
        """These options, with the public values a scheme recorded beside its outputs filling the unset ones."""
        names = {f.name for f in fields(self)} - {"data_dir", "secret", "key_file", "params"}
        given = {k: v for k, v in recorded.items() if k in names and getattr(self, k) is None}
        return replace(self, **given)


def spelled(field: str) -> str:
    """How params files, study entries and ``--run`` spell a key option (a :class:`KeyOptions` field):
    ``block_size`` -> ``block-size``; the command line adds ``--``."""
    return field.replace("_", "-")


def field_of(spelling: str) -> str | None:
    """The :class:`KeyOptions` field spelled ``spelling`` (``block-size`` -> ``block_size``), or None."""
    names = {spelled(f.name): f.name for f in fields(KeyOptions) if f.name not in ("data_dir", "secret")}
    return names.get(spelling)


class Scheme(ABC):
    """One encryption scheme. Subclasses set the class attributes and implement :meth:`key` and :meth:`encrypt`."""

    name: ClassVar[str]  # registry name, variant folder data/<dataset>/<name>/
    title: ClassVar[str]  # shown in previews and tables
    key_kind: ClassVar[str]  # what the key is, in words
    key_source: ClassVar[str]  # "parameter file", "seed" or "secret"
    invertible: ClassVar[bool]
    options: ClassVar[tuple[str, ...]] = ()  # the KeyOptions fields the key reads
    #: The attacks' view: whether samples may be XORed with 255, and whether a pixel's channels always move together.
    negates: ClassVar[bool] = False
    moves_whole_pixels: ClassVar[bool] = False
    #: True when every image gets its own key (the per-image random permutation): no fixed map to recover.
    per_image: ClassVar[bool] = False

    # --- the key -------------------------------------------------------------------------
    @abstractmethod
    def key(self, spec: DatasetSpec, options: KeyOptions) -> Any:
        """The user's key for images of ``spec`` (from a parameter file, a seed or a secret)."""

    def adversary_key(self, spec: DatasetSpec, options: KeyOptions, index: int) -> Any:
        """Key number ``index`` that an adversary who knows the algorithm (not the user's key) draws itself."""
        raise PipelineError(f"{self.name}: an adversary cannot draw keys of its own for this scheme")

    def record(self, key: Any) -> dict:
        """What is written beside the outputs: public values only (never a secret)."""
        return {}

    def key_space_log2(self, spec: DatasetSpec, options: KeyOptions) -> float | None:
        """log2 of the number of keys (None where the key is not secret, e.g. a published parameter file)."""
        return None

    # --- encryption ------------------------------------------------------------------------
    @abstractmethod
    def encrypt(self, key: Any, pictures: np.ndarray) -> np.ndarray:
        """Encrypted copy of a uint8 (N, H, W, C) batch."""

    def encrypt_splits(self, key: Any, splits: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each split encrypted, in the given order (train before test: per-image draws follow it)."""
        return {split: self.encrypt(key, pictures) for split, pictures in splits.items()}

    def split_encryptor(self, key: Any) -> Callable[[str, np.ndarray], np.ndarray]:
        """``encrypt(split, block)`` for a dataset read block by block: called on the blocks of each split in
        order, train before test, its outputs concatenated are :meth:`encrypt_splits`' (per-image keys are
        drawn from the encryptor's streams as the blocks arrive). Default: every block alike."""
        return lambda split, pictures: self.encrypt(key, pictures)

    def decrypt(self, key: Any, pictures: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`encrypt` (only where ``invertible``)."""
        raise PipelineError(f"{self.name} is not invertible: it has no decryption")

    def decrypt_splits(self, key: Any, splits: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Inverse of :meth:`encrypt_splits` (the same split names: per-image keys follow them)."""
        return {split: self.decrypt(key, pictures) for split, pictures in splits.items()}

    # --- views for the evaluation ----------------------------------------------------------
    def sample_map(self, key: Any) -> SampleMap | None:
        """The key as one fixed sample map over flattened pictures (None where it is not one)."""
        return None

    def public_block_size(self, spec: DatasetSpec, options: KeyOptions) -> int | None:
        """The block edge of a block-wise key (public: a setting of the algorithm); None for other schemes."""
        return None

    def block_tables(self, key: Any) -> Any:
        """The key as EtC block tables (:class:`pipeline.encrypt.etc_key.EtcKey`) where it is one, else None."""
        return None

    def key_per_image(self, key: Any) -> bool:
        """Whether ``key`` gives every image its own map (default: the class's ``per_image``; a scheme with key modes asks its key)."""
        return self.per_image

    def per_image_maps(self, key: Any, counts: Mapping[str, int]) -> dict[str, np.ndarray]:
        """Per-image keys as (N, S) sample sources of each split (``per_image`` schemes), in the given order."""
        raise PipelineError(f"{self.name} has one key for every image, not one per image")

    def per_image_negations(self, key: Any, counts: Mapping[str, int]) -> dict[str, np.ndarray] | None:
        """(N, S) bools: which samples each per-image key XORs with 255 (None: no sample is negated)."""
        return None

    # --- how outputs are stored ---------------------------------------------------------------
    def stored_images(self, spec: DatasetSpec, rows: np.ndarray) -> np.ndarray:
        """The MATLAB class the encrypted rows are stored in (default: uint8 as they are)."""
        return rows

    def stored_labels(self, spec: DatasetSpec, labels: np.ndarray) -> np.ndarray:
        """The labels as stored beside the encrypted rows (given: as the plain file stores them)."""
        return labels

    def file_variables(self, key: Any) -> dict[str, Any]:
        """Extra variables written into every encrypted MAT-file (e.g. a key fingerprint)."""
        return {}

    def check_files(self, key: Any, variables: Mapping[str, Any], where: str) -> None:
        """Refuse encrypted files that ``key`` did not make, where the files can tell (default: they cannot)."""

    def describe(self, spec: DatasetSpec, options: KeyOptions) -> dict:
        """One line of ``python -m pipeline.schemes``."""
        return {"name": self.name, "key": self.key_kind, "key from": self.key_source,
                "invertible": self.invertible, "options": list(self.options),
                "key space (log2)": self.key_space_log2(spec, options)}


def inverse_map(source: np.ndarray) -> np.ndarray:
    """The inverse of a permutation given as gather sources (``out = x[source]`` -> ``x = out[inverse]``)."""
    inverse = np.empty_like(source)
    inverse[source] = np.arange(source.size, dtype=source.dtype)
    return inverse


def check_pictures(pictures: np.ndarray, shape: tuple[int, int, int], scheme: str) -> np.ndarray:
    """uint8 (N, H, W, C) pictures of the key's shape, or a clear error."""
    pictures = np.asarray(pictures)
    if pictures.dtype != np.uint8 or pictures.ndim != 4 or pictures.shape[1:] != tuple(shape):
        raise PipelineError(f"{scheme} needs uint8 (N, {', '.join(map(str, shape))}) pictures, got {pictures.dtype} {pictures.shape}")
    return pictures
