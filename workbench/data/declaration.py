"""One checked ``datasets:`` entry (parsed by :mod:`workbench.data.declared`), with the source part that reads it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COLOURS = {"grey": 1, "rgb": 3}


@dataclass(frozen=True)
class Declaration:
    """One checked ``datasets:`` entry."""

    name: str
    source: str  # the name of a registered dataset source
    path: Path | None = None
    size: int | None = None
    colour: str = "rgb"
    train_folder: str = "train"
    test_folder: str = "test"
    test_fraction: float | None = None  # a seeded split when set
    seed: int = 0
    classes: tuple[str, ...] | int | None = None  # csv: names or a count
    block_size: int | None = None
    storage: str = "v7"
    key_seed: int = 0  # MATLAB rng seed of the vortex parameters drawn for the dataset (vor's key)
    #: the registered source part (a workbench.data.source_part.DatasetSource); not part of the record
    part: Any = field(default=None, compare=False, repr=False, kw_only=True)

    @property
    def builtin(self) -> bool:
        return self.part.builtin

    @property
    def channels(self) -> int:
        return COLOURS[self.colour]
