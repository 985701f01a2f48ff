"""Fixtures every test package shares (helpers that build data live in tests/generated.py and
tests/dvc_project.py; the path of the reference material in tests/shared.py)."""
from __future__ import annotations

import pytest

#: The private secret tests give the secret-keyed schemes through ``$VORTEX_SECRET`` (never a benchmark key).
PRIVATE_SECRET = "a secret of this test"


@pytest.fixture
def private_secret(monkeypatch) -> str:
    """``$VORTEX_SECRET`` set to :data:`PRIVATE_SECRET` for one test (the way a user keys a private run)."""
    monkeypatch.setenv("VORTEX_SECRET", PRIVATE_SECRET)
    return PRIVATE_SECRET
