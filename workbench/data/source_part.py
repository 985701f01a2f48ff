"""What a dataset source is: the part of the ``dataset source`` registry (:mod:`workbench.data.dataset_sources`).

A declaration's ``source:`` names a part; the part declares what a declaration with it takes
(``path``, ``classes``, a split given as folders, values it fixes by default) and whether it is a
built-in with fixed geometry and published parameters, and it does the source's work: a built-in
:meth:`~DatasetSource.prepare`-s its verified origin files, an image source :meth:`~DatasetSource.plan`-s
the images to decode (listing them with :meth:`~DatasetSource.listed`). The parsing
(:mod:`workbench.data.declared`), the listing (:mod:`workbench.data.images`) and the fetch
(:mod:`workbench.data.fetch`) choose through these, never through a source's name.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.data.declaration import Declaration
from workbench.data.fetch_inputs import Pending
from workbench.data.images import ImagePlan, Item, plan_images
from workbench.data.sources import Sources
from workbench.errors import WorkbenchError


@dataclass(frozen=True)
class FetchRequest:
    """Where a fetch reads and writes: the data folder, the mirror folders, whether unverified inputs
    are allowed and the table of URLs and checksums of the built-ins."""

    data_dir: Path
    mirrors: list[Path]
    allow_unverified: bool
    sources: Sources


@dataclass(frozen=True)
class DatasetSource:
    """One dataset source and what a declaration with it takes.

    ``builtin``: a set with fixed geometry and its own files (declared ``NAME: {source: NAME}`` alone);
    ``path``: what a declared ``path`` names (``"folder"``, ``"CSV file"``), None when the source is
    fetched and takes no path; ``classes``: the declaration names the classes (the files do not);
    ``given_split``: a split may be given as folders, else a seeded split is required;
    ``defaults``: declaration values the source fixes unless declared otherwise.
    """

    name: str
    builtin: bool = False
    path: str | None = None
    classes: bool = False
    given_split: bool = True
    defaults: tuple[tuple[str, object], ...] = ()

    def prepare(self, request: FetchRequest) -> Pending:
        """A built-in's origin files, read and verified; the pending write stores them."""
        raise WorkbenchError(f"{self.name}: not a built-in dataset source")

    def plan(self, decl: Declaration, request: FetchRequest) -> tuple[ImagePlan, dict | None]:
        """The images of ``decl`` to decode, checked, and the record of the archive they came from (if any)."""
        return plan_images(decl), None

    def listed(self, decl: Declaration, path: Path) -> tuple[Path, tuple[str, ...], dict[str, list[Item]]]:
        """(root of the recorded paths, class names, the items of each split) of ``decl``'s files under ``path``."""
        raise WorkbenchError(f"datasets.{decl.name}.source: the {self.name} source lists no image files")
