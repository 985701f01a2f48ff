"""The ``dataset source`` registry: every source a ``datasets:`` declaration may name, one line each
(:mod:`workbench.data.source_part` says what a source declares and does). A new source is one module
and one line here; a test or a script may ``SOURCES.added(part)`` one for a while."""
from __future__ import annotations

from workbench.data.source_archive import IMAGENETTE
from workbench.data.source_builtin import CIFAR10, FASHION, MNIST
from workbench.data.source_csv import CSV
from workbench.data.source_folder import FOLDER
from workbench.data.source_part import DatasetSource
from workbench.errors import WorkbenchError
from workbench.registry import Registry

SOURCES: Registry[DatasetSource] = Registry("dataset source", (
    MNIST,
    FASHION,
    CIFAR10,
    FOLDER,
    CSV,
    IMAGENETTE,
), error=WorkbenchError)
