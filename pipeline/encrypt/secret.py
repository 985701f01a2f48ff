"""What every secret-keyed scheme (EtC, block scrambling, PE, LE, ELE) shares: where the secret
and the block size come from, the adversary's own keys, and the key record beside outputs.

A key of such a scheme carries ``fingerprint`` (keyed, :func:`pipeline.encrypt.keystream.fingerprint`),
``version``, ``block_size`` and ``image_shape``; the MAT-files carry ``<scheme>_fingerprint``,
``<scheme>_version`` and ``<scheme>_block_size`` so that later stages refuse files another key made.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from pipeline.data.datasets import DatasetSpec
from pipeline.encrypt.etc_key import check_block_size, read_secret
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError


def secret_of(options: KeyOptions) -> bytes:
    """The secret given in code, else the one of ``--key-file`` or ``$VORTEX_ETC_SECRET``."""
    return options.secret if options.secret is not None else read_secret(options.key_file)


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
    options: tuple[str, ...] = ("block_size", "key_file")

    def adversary_key(self, spec: DatasetSpec, options: KeyOptions, index: int) -> Any:
        return self.key(spec, dataclasses.replace(options, secret=f"adversary key {index:08d}".encode()))

    def record(self, key: Any) -> dict:
        return {"algorithm_version": key.version, "block_size": key.block_size,
                "key_fingerprint": key.fingerprint, "image_shape": list(key.image_shape)}

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

