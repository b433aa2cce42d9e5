"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    env = os.environ.get("SYNTHOMICS_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets folder (``../shared/data`` beside the repository).

    Tests that use it are skipped, with the reason, when it is absent. Set
    ``SYNTHOMICS_SHARED_DATA`` to point elsewhere.
    """
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real datasets not found at {path} (set SYNTHOMICS_SHARED_DATA)")
    return path
