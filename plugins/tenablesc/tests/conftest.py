"""Fixtures for the Security Center plugin's tests: a fake Security Center over HTTPS, a client
configured for it through environment variables, and the example workspace's plan."""

from __future__ import annotations

import pytest

from scanguard import ScannerConfig, compile_plan, load_workspace
from scanguard_tenablesc.client import SecurityCenterClient
from scanguard_testbed_scanners.tenablesc import FakeTenableSC

ACCESS_ENV, SECRET_ENV = "SG_TEST_SC_ACCESS", "SG_TEST_SC_SECRET"


@pytest.fixture
def fake():
    """A fresh fake Security Center (HTTPS, random port, random keys)."""
    with FakeTenableSC(tls=True) as f:
        yield f


def config_for(url: str, ca_bundle: str | None = None) -> ScannerConfig:
    """A scanner entry as scanguard.toml would hold it: credentials named by env var."""
    return ScannerConfig(name="tenable-sc", type="tenablesc", url=url, timeout_s=5,
                         credentials={"access_key": ACCESS_ENV, "secret_key": SECRET_ENV},
                         tls={"ca_bundle": ca_bundle} if ca_bundle else {})


@pytest.fixture
def scanner_config():
    """Builds scanner entries: scanner_config(url, ca_bundle)."""
    return config_for


@pytest.fixture
def client(fake, monkeypatch) -> SecurityCenterClient:
    """A client for the fake, trusting its CA."""
    monkeypatch.setenv(ACCESS_ENV, fake.access_key)
    monkeypatch.setenv(SECRET_ENV, fake.secret_key)
    return SecurityCenterClient(config_for(fake.url, fake.ca_bundle))


@pytest.fixture(scope="session")
def plan(example_workspace):
    """The example hospital workspace, compiled."""
    return compile_plan(load_workspace(example_workspace))
