"""The sync engine against in-memory scanners: idempotence, drift, conflicts, faults."""

from __future__ import annotations

from scanguard import load_workspace
from scanguard.sync import StateDB

from .conftest import MEM
from .harness import in_sync, less_safe_than_before, run_sync, snapshot, write_workspace


def _ws(tmp_path, names=("mem-a",), **kw):
    return write_workspace(tmp_path / "ws", {n: MEM for n in names}, **kw)


def test_first_sync_creates_every_object_and_second_writes_nothing(tmp_path, mem_plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _ws(tmp_path)
    first = run_sync(root, mem_plugins)
    assert first.exit_code == 0
    r = first.scanners[0]
    assert r.created == 4 and r.writes == 4 and r.errors == ()
    assert in_sync(load_workspace(root), mem_plugins, "mem-a") == []
    before = len(s.requests)
    second = run_sync(root, mem_plugins)
    assert second.exit_code == 0 and second.scanners[0].writes == 0 and second.scanners[0].unchanged == 4
    assert all(m == "GET" for m, _, _ in s.requests[before:])


def test_console_edit_is_drift_restored_and_recorded(tmp_path, mem_plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _ws(tmp_path)
    run_sync(root, mem_plugins)
    rid = next(r for r, o in s.objects.items() if o["name"] == "full-audit@payment-terminals")
    checks = dict(s.objects[rid]["payload"]["checks"], safe_only=False)
    s.edit(rid, checks=checks, ports="1-65535/tcp")
    summary = run_sync(root, mem_plugins)
    assert summary.exit_code == 3 and summary.status == "drift_restored"
    r = summary.scanners[0]
    assert r.drift_restored == 1 and r.updated == 0
    drift = next(o for o in r.objects if o.action == "drift")
    assert any("7100" in w for w in drift.weaker) and any("safe checks" in w for w in drift.weaker)
    assert in_sync(load_workspace(root), mem_plugins, "mem-a") == []
    with StateDB(load_workspace(root).state_path()) as db:
        seen = db.drifts()
        assert len(seen) == 1 and seen[0].restored and seen[0].object_name == "full-audit@payment-terminals"
        assert db.pushes()[0].action == "restore"


def test_workspace_change_is_a_planned_update_not_drift(tmp_path, mem_plugins, mem_scanners):
    mem_scanners("mem-a")
    root = _ws(tmp_path)
    run_sync(root, mem_plugins)
    write_workspace(root, {"mem-a": MEM}, profiles=("pos-terminal", "video-nvr", "infusion-rack"))
    summary = run_sync(root, mem_plugins)
    r = summary.scanners[0]
    assert summary.exit_code == 0 and r.drift_found == 0
    assert r.updated == 2 and r.created == 2
    assert in_sync(load_workspace(root), mem_plugins, "mem-a") == []


def test_unmanaged_object_with_a_managed_name_is_never_overwritten(tmp_path, mem_plugins, mem_scanners):
    s = mem_scanners("mem-a")
    s.objects["99"] = {"name": "discovery", "payload": {"mine": True}, "description": "made by hand"}
    root = _ws(tmp_path)
    summary = run_sync(root, mem_plugins)
    assert summary.exit_code == 1
    r = summary.scanners[0]
    assert r.conflicts == 1 and r.created == 3
    assert any(e.object == "discovery" and "does not manage" in e.message for e in r.errors)
    assert s.objects["99"]["payload"] == {"mine": True}
    adopted = run_sync(root, mem_plugins, adopt=True)
    assert adopted.exit_code == 0 and adopted.scanners[0].updated == 1
    assert in_sync(load_workspace(root), mem_plugins, "mem-a") == []


def test_create_whose_reply_was_lost_yields_no_duplicate(tmp_path, mem_plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _ws(tmp_path)
    s.fail_next("timeout", method="POST")  # the server creates, the reply never arrives
    summary = run_sync(root, mem_plugins)
    assert summary.exit_code == 0
    assert len(s.objects) == 4
    assert summary.scanners[0].retries and "timeout" in summary.scanners[0].retries[0].message


def test_a_failing_scanner_never_stops_the_others(tmp_path, mem_plugins, mem_scanners):
    bad = mem_scanners("mem-a")
    mem_scanners("mem-b")
    root = _ws(tmp_path, names=("mem-a", "mem-b"))
    bad.fail_next("500", count=100)
    summary = run_sync(root, mem_plugins)
    assert summary.exit_code == 1
    by = {r.scanner: r for r in summary.scanners}
    assert by["mem-a"].status == "failed" and by["mem-b"].status == "ok" and by["mem-b"].created == 4


def test_a_scanner_that_cannot_be_reached_fails_alone(tmp_path, mem_plugins, mem_scanners):
    mem_scanners("mem-b")
    root = _ws(tmp_path, names=("mem-a", "mem-b"))  # mem-a has no server: connection refused
    summary = run_sync(root, mem_plugins)
    by = {r.scanner: r for r in summary.scanners}
    assert by["mem-a"].status == "failed" and "connection refused" in by["mem-a"].errors[0].message
    assert by["mem-b"].created == 4


def test_transient_failures_exhausting_retries_fail_the_scanner(tmp_path, mem_plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _ws(tmp_path)
    s.fail_next("503", count=1000)
    summary = run_sync(root, mem_plugins)
    assert summary.exit_code == 1 and len(summary.scanners[0].retries) == 3  # 4 attempts
    assert s.objects == {}


def test_duplicates_are_removed_after_the_kept_copy_is_verified(tmp_path, mem_plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _ws(tmp_path)
    run_sync(root, mem_plugins)
    rid = next(r for r, o in s.objects.items() if o["name"] == "discovery")
    s.objects["500"] = dict(s.objects[rid])
    summary = run_sync(root, mem_plugins)
    assert summary.exit_code == 0 and summary.scanners[0].duplicates_removed == 1
    assert in_sync(load_workspace(root), mem_plugins, "mem-a") == []


def test_dry_run_writes_nothing_and_reports_drift(tmp_path, mem_plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _ws(tmp_path)
    run_sync(root, mem_plugins)
    rid = next(r for r, o in s.objects.items() if o["name"] == "discovery")
    s.edit(rid, ports="1-65535/tcp")
    before = {k: dict(v) for k, v in s.objects.items()}
    summary = run_sync(root, mem_plugins, dry_run=True)
    assert summary.exit_code == 3 and summary.scanners[0].drift_found == 1 and summary.scanners[0].writes == 0
    assert s.objects == before


def test_a_write_read_back_less_safe_is_undone(tmp_path, mem_plugins, mem_scanners, monkeypatch):
    s = mem_scanners("mem-a")
    root = _ws(tmp_path)
    run_sync(root, mem_plugins)
    ws = load_workspace(root)
    before = snapshot(ws, mem_plugins, "mem-a")
    write_workspace(root, {"mem-a": MEM}, profiles=("pos-terminal", "video-nvr", "infusion-rack"))
    from . import memory

    real_update = memory.MemoryClient.update

    broken_once: set[str] = set()

    def broken_update(self, remote_id, name, payload, marker):  # a scanner that silently re-opens every port once
        if remote_id not in broken_once:
            broken_once.add(remote_id)
            payload = {**payload, "ports": "1-65535/tcp"}
        return real_update(self, remote_id, name, payload, marker)

    monkeypatch.setattr(memory.MemoryClient, "update", broken_update)
    summary = run_sync(root, mem_plugins)
    assert summary.exit_code == 1
    assert any("verification" in e.message for e in summary.scanners[0].errors)
    monkeypatch.undo()
    after = snapshot(load_workspace(root), mem_plugins, "mem-a")
    assert less_safe_than_before(load_workspace(root), mem_plugins, "mem-a", before, after) == []


def test_runs_are_recorded_with_user_and_outcome(tmp_path, mem_plugins, mem_scanners):
    mem_scanners("mem-a")
    root = _ws(tmp_path)
    summary = run_sync(root, mem_plugins)
    with StateDB(load_workspace(root).state_path()) as db:
        runs = db.runs()
        assert runs[0].id == summary.run_id and runs[0].status == "ok" and runs[0].exit_code == 0
        pushes = db.pushes(run_id=summary.run_id)
        assert len(pushes) == 4 and all(p.verified and p.action == "create" and p.user == summary.user for p in pushes)
        assert all(p.after_hash == p.rendered_hash and p.remote_id for p in pushes)


def test_a_scanner_that_keeps_storing_unsafe_documents_loses_the_object(tmp_path, mem_plugins, mem_scanners,
                                                                        monkeypatch):
    s = mem_scanners("mem-a")
    root = _ws(tmp_path)
    run_sync(root, mem_plugins)
    write_workspace(root, {"mem-a": MEM}, profiles=("pos-terminal", "video-nvr"))
    from . import memory

    real_update = memory.MemoryClient.update
    monkeypatch.setattr(memory.MemoryClient, "update", lambda self, rid, name, payload, marker: real_update(
        self, rid, name, {**payload, "ports": "1-65535/tcp"}, marker))
    summary = run_sync(root, mem_plugins)
    assert summary.exit_code == 1
    assert all(o["payload"]["ports"] != "1-65535/tcp" for o in s.objects.values())
