"""Fixtures for the Tenable VM plugin's tests: a fake Tenable VM over HTTPS, a client configured for
it through environment variables, and the example workspace's plan."""

from __future__ import annotations

import pytest

from scanguard import ScannerConfig, compile_plan, load_workspace
from scanguard_tenableio.client import TenableIOClient
from scanguard_testbed_scanners.tenableio import FakeTenableIO

ACCESS_ENV, SECRET_ENV = "SG_TEST_TIO_ACCESS", "SG_TEST_TIO_SECRET"


@pytest.fixture
def fake():
    """A fresh fake Tenable VM (HTTPS, random port, random keys)."""
    with FakeTenableIO(tls=True) as f:
        yield f


def config_for(url: str, ca_bundle: str | None = None) -> ScannerConfig:
    """A scanner entry as scanguard.toml would hold it: credentials named by env var."""
    return ScannerConfig(name="tenable-vm", type="tenableio", url=url, timeout_s=5,
                         credentials={"access_key": ACCESS_ENV, "secret_key": SECRET_ENV},
                         tls={"ca_bundle": ca_bundle} if ca_bundle else {})


@pytest.fixture
def client(fake, monkeypatch) -> TenableIOClient:
    """A client for the fake, trusting its CA."""
    monkeypatch.setenv(ACCESS_ENV, fake.access_key)
    monkeypatch.setenv(SECRET_ENV, fake.secret_key)
    return TenableIOClient(config_for(fake.url, fake.ca_bundle))


@pytest.fixture(scope="session")
def plan(example_workspace):
    """The example hospital workspace, compiled."""
    return compile_plan(load_workspace(example_workspace))
