"""The real gvmd of the test run, when there is one.

`make test` runs the suite through .ci/with-gvmd, which builds and starts a real gvmd (with the
stand-in OSP scanner's NVTs and the stand-in feed objects) and names its Unix socket in
SCANGUARD_TEST_GVMD_SOCKET; where it cannot, SCANGUARD_TEST_GVMD_SKIP says why and the tests
that need it skip with that reason. The gvmd is the test run's own: every test starts from a
scanner holding nothing but the feed's objects, and tests using it run one at a time (a lock
file beside the socket), whichever pytest-xdist worker they land on."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from gvm.connections import UnixSocketConnection
from gvm.errors import GvmError
from gvm.protocols.gmp import Gmp
from gvm.transforms import EtreeCheckCommandTransform
from scanguard import ScannerConfig

FEED_CONFIGS = {"daba56c8-73ec-11df-a475-002264764cea", "085569ce-73ed-11df-83c3-002264764cea"}
FEED_PORT_LISTS = {"33d0cd82-57c6-11e1-8ed1-406186ea4fc5"}


@dataclass(frozen=True)
class RealGvmd:
    """The test run's gvmd: where it listens and who administers it."""

    socket: Path
    username: str
    password: str

    @contextmanager
    def gmp(self) -> Iterator[Any]:
        """An admin's GMP session (what a person at GSA, or a script, would do by hand)."""
        with Gmp(UnixSocketConnection(path=str(self.socket), timeout=60), transform=EtreeCheckCommandTransform()) as g:
            g.authenticate(self.username, self.password)
            yield g

    def scanner(self, monkeypatch: pytest.MonkeyPatch, name: str = "gvm-real", **extra: Any) -> ScannerConfig:
        """A scanguard.toml entry for it, its credentials in the environment."""
        monkeypatch.setenv("SGTEST_GVMD_USERNAME", self.username)
        monkeypatch.setenv("SGTEST_GVMD_PASSWORD", self.password)
        return ScannerConfig(name=name, type="gvm", socket=self.socket, timeout_s=60,
                             credentials={"username": "SGTEST_GVMD_USERNAME", "password": "SGTEST_GVMD_PASSWORD"},
                             **extra)

    def wipe(self) -> None:
        """Delete every object but the feed's, for good. Tasks go in a session of their own, and a
        session gvmd drops is started again: gvmd 26 has been seen to abort the process serving a
        client that lists targets right after deleting many tasks."""
        for attempt in range(3):
            try:
                with self.gmp() as g:
                    for t in g.get_tasks(filter_string="rows=-1").findall("task"):
                        g.delete_task(t.get("id"), ultimate=True)
                with self.gmp() as g:
                    for t in g.get_targets(filter_string="rows=-1").findall("target"):
                        g.delete_target(t.get("id"), ultimate=True)
                    for c in g.get_scan_configs(filter_string="rows=-1").findall("config"):
                        if c.get("id") not in FEED_CONFIGS:
                            g.delete_scan_config(c.get("id"), ultimate=True)
                    for p in g.get_port_lists(filter_string="rows=-1").findall("port_list"):
                        if p.get("id") not in FEED_PORT_LISTS:
                            g.delete_port_list(p.get("id"), ultimate=True)
                    g.empty_trashcan()
                return
            except GvmError:
                if attempt == 2:
                    raise


@pytest.fixture
def real_gvmd() -> Iterator[RealGvmd]:
    """The test run's real gvmd, holding only the feed's objects, for this test alone."""
    socket = os.environ.get("SCANGUARD_TEST_GVMD_SOCKET")
    if not socket:
        why = os.environ.get("SCANGUARD_TEST_GVMD_SKIP") or (
            "no real gvmd in this run: `make test` (as root, with apt-get) builds and starts one through .ci/with-gvmd")
        pytest.skip(why)
    gvmd = RealGvmd(Path(socket), os.environ.get("SCANGUARD_TEST_GVMD_USERNAME", "admin"),
                    os.environ.get("SCANGUARD_TEST_GVMD_PASSWORD", ""))
    with open(Path(socket).parent / ".scanguard-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        gvmd.wipe()
        yield gvmd
