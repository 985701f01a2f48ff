"""What every secret-keyed scheme (EtC, block scrambling, PE, LE, ELE) shares: where the secret,
the block size and the key draw come from, the adversary's own keys, and the key record beside outputs.

A key of such a scheme carries ``fingerprint`` (keyed, :func:`pipeline.encrypt.keystream.fingerprint`),
``version``, ``block_size`` and ``image_shape``; the MAT-files carry ``<scheme>_fingerprint``,
``<scheme>_version`` and ``<scheme>_block_size`` so that later stages refuse files another key made.

Where the secret comes from, first that applies: a secret given in code (studies, an adversary's own
keys); ``--key-seed N``, a public benchmark key (:func:`benchmark_secret`: every clone derives the same
secret, so ``dvc repro`` regenerates the same bytes); ``--key-file``; ``$VORTEX_SECRET`` (a private key).
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
from typing import Any, Mapping

import numpy as np

from workbench.data.datasets import DatasetSpec
from pipeline.encrypt.etc_key import check_block_size, read_secret
from pipeline.encrypt.key_tables import TABLE_SUFFIX, is_table_file
from pipeline.encrypt.keystream import fingerprint as keyed_fingerprint
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError

#: ``--key-draw``: this project's distribution of the tables (the default: every output so far used it)
#: or the reference code's (docs/schemes.md says what differs, per scheme).
KEY_DRAWS = ("project", "reference")
#: The draw recorded beside outputs whose key came from an imported key-table file (``python -m pipeline.keys``).
IMPORTED = "imported"
#: The fixed label of the benchmark keys' derivation (public; changing it changes every benchmark key).
BENCHMARK_LABEL = b"vortex workbench benchmark key|v1"


def with_key_seed(record: dict, key_seed: int | None) -> dict:
    """A scheme's key record with the benchmark key seed it came from (later stages derive the key again from it)."""
    return record if key_seed is None else {**record, "key_seed": key_seed}


def benchmark_secret(key_seed: int) -> bytes:
    """The public secret of benchmark key ``key_seed``: the 64 hex digits of
    HMAC-SHA256(key = :data:`BENCHMARK_LABEL`, message = the seed in decimal), as ASCII bytes.

    Anyone can derive it: a benchmark key makes results reproducible, not private."""
    if not isinstance(key_seed, int) or isinstance(key_seed, bool) or key_seed < 0:
        raise PipelineError(f"--key-seed: a whole number >= 0, got {key_seed!r}")
    return hmac.new(BENCHMARK_LABEL, str(key_seed).encode(), hashlib.sha256).hexdigest().encode()


def secret_fingerprint(secret: bytes) -> str:
    """The keyed fingerprint of a private secret (16 hex digits of an HMAC keyed by it): names the secret beside
    results and makes it a DVC dependency without revealing it."""
    return keyed_fingerprint(secret, "secret", "v1", "private")


def secret_of(options: KeyOptions) -> bytes:
    """The secret given in code, else the benchmark key of ``--key-seed``, else that of ``--key-file`` or ``$VORTEX_SECRET``."""
    if options.secret is not None:
        return options.secret
    if options.key_seed is not None:
        if options.key_file is not None:
            raise PipelineError(f"--key-seed {options.key_seed} and --key-file {options.key_file}: give one key, "
                                "a public benchmark key or a private secret")
        return benchmark_secret(options.key_seed)
    if is_table_file(options.key_file):
        raise PipelineError(f"--key-file {options.key_file}: a {TABLE_SUFFIX} file holds imported key tables, not a secret; "
                            "only le, ele and pe read key tables")
    return read_secret(options.key_file)


def imported_file(options: KeyOptions):
    """The ``--key-file`` when it holds imported key tables (and no secret or key seed is given), else None."""
    if options.secret is None and options.key_seed is None and is_table_file(options.key_file):
        if options.key_draw not in (None, IMPORTED):
            raise PipelineError(f"--key-draw {options.key_draw}: the key file {options.key_file} holds its tables; no draw applies")
        return options.key_file
    return None


def draw_of(options: KeyOptions) -> str:
    """The key draw of ``--key-draw`` (default ``project``), checked."""
    draw = options.key_draw or "project"
    if draw == IMPORTED:
        raise PipelineError("these outputs were encrypted with imported key tables: pass the same --key-file")
    if draw not in KEY_DRAWS:
        raise PipelineError(f"--key-draw: choose {' or '.join(KEY_DRAWS)}, got {draw!r}")
    return draw


def block_size_of(spec: DatasetSpec, options: KeyOptions) -> int:
    """The options' block size, checked to tile the images (default: the dataset's, 16 for CIFAR-10, 7 for 28 x 28)."""
    block = spec.block_size if options.block_size is None else options.block_size
    try:
        check_block_size(spec.height, spec.width, block)
    except PipelineError as err:
        raise PipelineError(f"--block-size: {err}") from None
    return block


def block_count(spec: DatasetSpec, options: KeyOptions) -> tuple[int, int]:
    """(block size, number of blocks) of the options on images of ``spec``."""
    block = block_size_of(spec, options)
    return block, (spec.height // block) * (spec.width // block)


class SecretScheme(Scheme):
    """A scheme whose key tables are derived from a secret; subclasses implement :meth:`key` from the options."""

    key_source = "secret"
    invertible = True
    options: tuple[str, ...] = ("block_size", "key_seed", "key_file")

    def adversary_key(self, spec: DatasetSpec, options: KeyOptions, index: int) -> Any:
        """The adversary draws as the user did; against imported (published) keys, as the reference code does."""
        draw = "reference" if options.key_draw == IMPORTED else options.key_draw
        return self.key(spec, dataclasses.replace(options, secret=f"adversary key {index:08d}".encode(), key_draw=draw))

    def record(self, key: Any) -> dict:
        """The public key values; ``key_draw`` only where it is not the default (the records of the project's draw stay as they were)."""
        drawn = {} if key.draw == "project" else {"key_draw": key.draw}
        return {"algorithm_version": key.version, "block_size": key.block_size,
                "key_fingerprint": key.fingerprint, "image_shape": list(key.image_shape), **drawn}

    def file_variables(self, key: Any) -> dict[str, Any]:
        return {f"{self.name}_fingerprint": key.fingerprint, f"{self.name}_version": key.version,
                f"{self.name}_block_size": float(key.block_size)}

    def check_files(self, key: Any, variables: Mapping[str, Any], where: str) -> None:
        name_fp, name_block = f"{self.name}_fingerprint", f"{self.name}_block_size"
        fingerprint, block = variables.get(name_fp), variables.get(name_block)
        if not isinstance(fingerprint, str) or block is None or np.size(block) != 1:
            raise PipelineError(f"{where}: no {self.title} key record ({name_fp} text and scalar {name_block}); "
                                f"not a {self.name} file")
        block = int(np.asarray(block).reshape(-1)[0])
        if fingerprint != key.fingerprint or block != key.block_size:
            raise PipelineError(f"{where} was encrypted with {self.title} key {fingerprint} (block {block}), not with the "
                                f"given key {key.fingerprint} (block {key.block_size})")

