"""The one way tests find ``../shared`` (reference material that is not part of the project).

Set ``VORTEX_SHARED`` to point elsewhere. Tests that need it call :func:`shared_path`, which
skips the test with a clear reason when the folder (or the file) is absent, so a fresh clone
without it still passes.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VORTEX_SHARED", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path of a file or folder under the shared folder; skip the calling test if it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material {path} is absent (set VORTEX_SHARED to the shared folder)")
    return path
