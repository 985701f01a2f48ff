"""The built-in dataset sources: MNIST and Fashion-MNIST (four IDX files each) and CIFAR-10 (the MATLAB
batch release), each with fixed geometry, pinned checksums (:mod:`workbench.data.sources`) and
published vortex parameters; declared ``NAME: {source: NAME}`` alone."""
from __future__ import annotations

from dataclasses import dataclass

from workbench.data.fetch_cifar import prepare_cifar
from workbench.data.fetch_idx import prepare_idx_dataset
from workbench.data.fetch_inputs import Pending
from workbench.data.source_part import DatasetSource, FetchRequest


@dataclass(frozen=True)
class IdxSource(DatasetSource):
    """An IDX set (its table: the field of :class:`~workbench.data.sources.Sources` of its name)."""

    builtin: bool = True

    def prepare(self, request: FetchRequest) -> Pending:
        return prepare_idx_dataset(self.name, getattr(request.sources, self.name), request.mirrors,
                                   request.data_dir, request.allow_unverified)


@dataclass(frozen=True)
class CifarSource(DatasetSource):
    """CIFAR-10's MATLAB release, stored as published (the batch folder)."""

    builtin: bool = True

    def prepare(self, request: FetchRequest) -> Pending:
        return prepare_cifar(getattr(request.sources, self.name), request.mirrors, request.data_dir,
                             request.allow_unverified)


MNIST = IdxSource("mnist")
FASHION = IdxSource("fashion")
CIFAR10 = CifarSource("cifar10")
