"""Helpers for trial tests: a scratch workspace with one unprofiled device, quick trial options,
and the nmap vendor record."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scanguard import PortSet
from scanguard.plugin.manager import load_plugins
from scanguard.trial import TrialOptions

NMAP = shutil.which("nmap")
MACHINE_LISTENERS = "machine-listeners"
"""The xdist group of the tests that open a listener on 0.0.0.0 (it reaches every loopback
address) and of those that survey every port of a device and count them: one worker runs them
one after the other (`make test` distributes with --dist loadgroup)."""
needs_nmap = [pytest.mark.nmap, pytest.mark.skipif(NMAP is None, reason="nmap is not installed (needs /usr/bin/nmap)")]

CONFIG = """[workspace]
name = "Trial lab"
state = ".scanguard/state.db"
templates = ["fragile-safe"]

[scanners.nmap-lab]
type = "nmap"
templates = ["fragile-safe"]
"""


def profile_yaml(pid: str, host: str, extra: str = "") -> str:
    """A lab device's profile: where it is, nothing known about its fragility yet."""
    return (f"id: {pid}\nname: Lab device {pid} <b>&amp;</b>\ncategory: lab\npolicy: restricted\n"
            f"group: {pid}-group\nlocation:\n  hosts: [{host}]\n{extra}")


@pytest.fixture
def lab(tmp_path: Path):
    """lab(pid, host, extra_yaml) -> workspace root with that profile."""

    def make(pid: str, host: str, extra: str = "") -> Path:
        root = tmp_path / "ws"
        (root / "profiles").mkdir(parents=True, exist_ok=True)
        (root / "scanguard.toml").write_text(CONFIG)
        (root / "profiles" / f"{pid}.yaml").write_text(profile_yaml(pid, host, extra))
        return root

    return make


@pytest.fixture(scope="session")
def nmap_vendor():
    """The nmap vendor record, loaded the way a third party's would be."""
    return load_plugins().vendor("nmap")


def quick(heartbeat: int, **kw) -> TrialOptions:
    """Short waits and a small survey, for tests."""
    base = dict(heartbeat_port=heartbeat, survey_ports=PortSet.parse("1-600,2400-2500,7090-7110"), interval_s=0.1,
                settle_s=0.4, recovery_timeout_s=15, reset_after_s=2, vulnerability_timeout_s=8)
    base.update(kw)
    return TrialOptions(**base)
