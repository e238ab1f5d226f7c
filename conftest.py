"""Shared test configuration: where the real fixtures are, and skipping (with the reason) when
they are absent (a clone without ../shared beside it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """../shared/fixtures; tests that use it carry @pytest.mark.fixtures."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"real fixtures not found at {SHARED_FIXTURES} (clone with ../shared beside it)")
    return SHARED_FIXTURES


@pytest.fixture(scope="session")
def example_workspace() -> Path:
    """The example hospital workspace shipped in examples/."""
    return REPO / "examples" / "hospital"


@pytest.fixture(scope="session", autouse=True)
def _private_state_home(tmp_path_factory):
    """The user state folder (where the state database and the load cache go when a workspace
    names no state path) is a temporary one: tests never write into the real home."""
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state-home"))
    yield
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old
