"""Shared test configuration: where the real fixtures are, and skipping (with the reason) when
they are absent (a clone without ../shared beside it)."""

from __future__ import annotations

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
