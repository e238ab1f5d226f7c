"""Scanner-side exclusions in the sync engine (issue 8, item 8), against an in-memory scanner
whose vendor keeps one marked exclusion object per exclusion (the shape of Tenable's
exclusions): pushed, read back and verified, idempotent, and drift-checked like templates by
what they block. The HTTP vendors are tested in their plugins (InsightVM sites, Nessus rules)."""

from __future__ import annotations

from typing import Any

import pytest

from scanguard import (ExclusionSupport, RemoteObject, ScannerError, ScannerExclusion, Vendor, exclusion_gaps,
                       hookimpl, load_workspace)
from scanguard.sync import StateDB

from . import memory
from .conftest import MEM
from .harness import run_sync, write_workspace

NEVER = """\
id: icu-monitor
name: ICU monitor
location: {cidrs: [10.20.60.0/24]}
policy: never
risk_acceptance: {accepted_by: CMIO, accepted_on: 2026-01-01, expires: 2030-01-01, reason: restarts,
                  compensating_controls: [ACL-1], ticket: RISK-1}
"""


def _render(exclusions: tuple[ScannerExclusion, ...]) -> dict[str, Any]:
    return {e.name: memory._sorted(e.model_dump(mode="json", include={"name", "kind", "addresses", "ports", "schedule"}))
            for e in exclusions}


def _parse(doc: Any) -> tuple[ScannerExclusion, ...]:
    return (ScannerExclusion.model_validate(doc),)


class ExclusionMemoryClient(memory.MemoryClient):
    def _x(self, rid: str, o: dict) -> RemoteObject:
        return self._obj(rid, o, True)

    def list_exclusions(self) -> list[RemoteObject]:
        return self.server.request("GET", "/exclusions", lambda: [
            self._x(rid, o) for rid, o in sorted(self.server.exclusions.items())])

    def read_exclusion(self, remote_id: str) -> RemoteObject:
        def go():
            if remote_id not in self.server.exclusions:
                raise ScannerError(self.scanner, f"no exclusion {remote_id}", status=404)
            return self._x(remote_id, self.server.exclusions[remote_id])
        return self.server.request("GET", f"/exclusions/{remote_id}", go)

    def create_exclusion(self, name: str, payload: Any, marker: str) -> str:
        def go():
            rid = f"x{next(self.server._ids)}"
            self.server.exclusions[rid] = {"name": name, "payload": payload, "description": marker}
            return rid
        return self.server.request("POST", "/exclusions", go)

    def update_exclusion(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        def go():
            self.server.exclusions[remote_id] = {"name": name, "payload": payload, "description": marker}
            return remote_id
        return self.server.request("PUT", f"/exclusions/{remote_id}", self.server.write_exclusion or go)

    def delete_exclusion(self, remote_id: str) -> None:
        self.server.request("DELETE", f"/exclusions/{remote_id}", lambda: self.server.exclusions.pop(remote_id))


def _client(cfg):
    server = memory.SERVERS.get(cfg.name)
    if server is None:
        raise ScannerError(cfg.name, "connection refused", transient=True)
    if not hasattr(server, "exclusions"):
        server.exclusions, server.write_exclusion = {}, None
    return ExclusionMemoryClient(server)


SUPPORT = ExclusionSupport(render=_render, parse=_parse, ports=True, schedule=True, creates=True)


class Plugin:
    @hookimpl
    def scanguard_vendors(self):
        return [Vendor(name="memory", render=memory.render, parse=memory.parse, client=_client, exclusions=SUPPORT,
                       capabilities=frozenset({"render", "parse", "client", "exclusions"}))]


@pytest.fixture
def plugins():
    from scanguard.plugin.manager import load_plugins

    pm = load_plugins(entry_points=False)
    pm.register(Plugin(), "memory-exclusions")
    return pm


def _root(tmp_path):
    return write_workspace(tmp_path / "ws", {"mem-a": MEM}, extra_profiles={"icu-monitor": NEVER})


def _held(s) -> dict[str, ScannerExclusion]:
    return {o["name"]: ScannerExclusion.model_validate(o["payload"]) for o in s.exclusions.values()}


def test_every_exclusion_is_pushed_verified_and_a_second_sync_writes_nothing(tmp_path, plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _root(tmp_path)
    first = run_sync(root, plugins)
    assert first.exit_code == 0, first.scanners[0].errors
    held = _held(s)
    assert set(held) == {"never:icu-monitor", "ports:pos-terminal", "window:pos-terminal"}
    assert held["never:icu-monitor"].ports is None and held["never:icu-monitor"].addresses.items() == ["10.20.60.0/24"]
    assert str(held["ports:pos-terminal"].ports) == "7100/tcp"
    assert held["window:pos-terminal"].schedule  # in force outside the terminals' window
    xs = [o for o in first.scanners[0].objects if o.name.startswith("exclusion:")]
    assert len(xs) == 3 and all(o.action == "create" and o.verified for o in xs)
    second = run_sync(root, plugins)
    assert second.exit_code == 0 and second.scanners[0].writes == 0


def test_an_exclusion_narrowed_on_the_scanner_is_drift_restored_and_recorded(tmp_path, plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _root(tmp_path)
    run_sync(root, plugins)
    rid = next(r for r, o in s.exclusions.items() if o["name"] == "never:icu-monitor")
    s.exclusions[rid]["payload"] = {**s.exclusions[rid]["payload"], "addresses": ["10.20.60.0/25"]}
    summary = run_sync(root, plugins)
    assert summary.exit_code == 3 and summary.status == "drift_restored"
    drift = next(o for o in summary.scanners[0].objects if o.action == "drift")
    assert drift.name == "exclusion:never:icu-monitor" and drift.verified
    assert any("10.20.60.128/25 not excluded" in w for w in drift.weaker)
    assert _held(s)["never:icu-monitor"].addresses.items() == ["10.20.60.0/24"]
    with StateDB(load_workspace(root).state_path()) as db:
        (d,) = db.drifts()
        assert d.restored and d.object_name == "exclusion:never:icu-monitor"


def test_a_write_the_scanner_does_not_keep_is_an_error_never_a_pass(tmp_path, plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _root(tmp_path)
    run_sync(root, plugins)
    rid = next(r for r, o in s.exclusions.items() if o["name"] == "never:icu-monitor")
    s.exclusions[rid]["payload"] = {**s.exclusions[rid]["payload"], "addresses": []}
    s.write_exclusion = lambda: rid  # the scanner answers the update and keeps nothing
    summary = run_sync(root, plugins)
    assert summary.exit_code == 1
    bad = next(o for o in summary.scanners[0].objects if o.name == "exclusion:never:icu-monitor")
    assert bad.error and "verification after restore failed" in bad.error and "10.20.60.0/24" in bad.error


def test_an_exclusion_that_cannot_be_read_counts_as_blocking_nothing(tmp_path, plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _root(tmp_path)
    run_sync(root, plugins)
    rid = next(r for r, o in s.exclusions.items() if o["name"] == "never:icu-monitor")
    s.exclusions[rid]["payload"] = {"garbage": True}
    summary = run_sync(root, plugins, dry_run=True)
    d = next(o for o in summary.scanners[0].objects if o.name == "exclusion:never:icu-monitor")
    assert d.action == "drift" and "cannot be read" in d.weaker[0]


def test_coverage_counts_wider_exclusions_and_never_a_narrower_schedule():
    from scanguard import AddressSet, PortSet, ScanWindow

    need = ScannerExclusion(name="ports:x", kind="ports", addresses=AddressSet.parse(["10.0.0.0/30"]),
                            ports=PortSet.parse("7100/tcp"))
    wide = ScannerExclusion(name="a", kind="never", addresses=AddressSet.parse(["10.0.0.0/24"]))
    half = ScannerExclusion(name="b", kind="ports", addresses=AddressSet.parse(["10.0.0.0/31"]),
                            ports=PortSet.parse("7000-7200/tcp"))
    timed = wide.model_copy(update={"schedule": frozenset({frozenset({ScanWindow(days=("sat",))})})})
    assert exclusion_gaps([need], [wide]) == []
    assert exclusion_gaps([need], [half]) == ["ports:x: ports 7100/tcp on 10.0.0.2/31 not excluded"]
    assert exclusion_gaps([need], [timed]) != []
