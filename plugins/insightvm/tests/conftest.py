"""Fixtures for the InsightVM plugin's tests: a fake console over HTTPS, a client configured for
it through environment variables, the spec validator, and the example workspace's plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanguard import ScannerConfig, compile_plan, load_workspace
from scanguard_insightvm.client import InsightVMClient
from scanguard_insightvm.spec import SpecValidator, load_validator
from scanguard_testbed_scanners.insightvm import FakeInsightVM

USER_ENV, PASS_ENV = "SG_TEST_IVM_USER", "SG_TEST_IVM_PASSWORD"


@pytest.fixture
def fake():
    """A fresh fake console (HTTPS, random port, random credentials)."""
    with FakeInsightVM(tls=True) as console:
        yield console


def _scanner_config(url: str, ca_bundle: str | None, *, timeout_s: float = 5.0, **options) -> ScannerConfig:
    """A scanner entry as scanguard.toml would hold it: credentials named by env var."""
    return ScannerConfig(name="ivm-test", type="insightvm", url=url,
                         credentials={"username": USER_ENV, "password": PASS_ENV},
                         tls={"ca_bundle": ca_bundle} if ca_bundle else {}, timeout_s=timeout_s, options=options)


@pytest.fixture
def scanner_config():
    """Builds scanner entries: scanner_config(url, ca_bundle, timeout_s=..., **options)."""
    return _scanner_config


@pytest.fixture
def credentials(fake, monkeypatch):
    """The fake's credentials in the environment, where the workspace says they are."""
    monkeypatch.setenv(USER_ENV, fake.username)
    monkeypatch.setenv(PASS_ENV, fake.password)


@pytest.fixture
def client(fake, credentials) -> InsightVMClient:
    """A client for the fake console, trusting its CA."""
    return InsightVMClient(_scanner_config(fake.url, fake.ca_bundle))


@pytest.fixture(scope="session")
def validator(fixtures_dir: Path) -> SpecValidator:
    """The validator over Rapid7's spec in the shared fixtures."""
    v = load_validator(str(fixtures_dir / "insightvm" / "console-swagger.json"))
    assert v is not None
    return v


@pytest.fixture(scope="session")
def plan(example_workspace):
    """The example hospital workspace, compiled."""
    return compile_plan(load_workspace(example_workspace))
