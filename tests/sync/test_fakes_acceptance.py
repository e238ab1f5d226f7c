"""Acceptance: sync against every vendor fake (scanguard_testbed_scanners), over real HTTPS (or GMP
over TLS)."""

from __future__ import annotations

from scanguard import load_workspace

from .backends import running
from .harness import in_sync, run_sync, snapshot, stored, write_workspace

def _writes(fake) -> int:
    if callable(getattr(fake, "writes", None)):  # the HTTP fakes say which requests change state
        return len(fake.writes())
    return sum(1 for r in fake.requests if not str(r[0]).startswith("get_") and r[0] not in ("authenticate",))


def _exclusion_objects(ws, pm, vendor: str) -> int:
    """How many exclusion documents a vendor whose exclusions are objects it makes keeps on the scanner."""
    from scanguard import compile_plan
    from scanguard.render import render_exclusions

    v = pm.vendor(vendor)
    if v.exclusions is None or v.exclusions.artifact or not v.exclusions.creates:
        return 0
    return len(render_exclusions(compile_plan(ws, pm).exclusions_for("scn"), v))


def test_first_sync_creates_every_object_and_second_writes_nothing(backend, tmp_path):
    b, pm = backend
    with running(b) as (fakes, bodies, _):
        ws = load_workspace(write_workspace(tmp_path / "ws", bodies))
        first = run_sync(ws, pm)
        assert first.exit_code == 0, first.scanners[0].errors
        planned = len([ct for ct in __import__("scanguard").compile_plan(ws, pm).for_scanner("scn")])
        exclusions = _exclusion_objects(ws, pm, b.vendor)  # pos-terminal's scan window, where the vendor keeps it
        assert planned == 4 and first.scanners[0].created == planned + exclusions
        assert in_sync(ws, pm, "scn", stored(b, fakes[0])) == []
        writes = _writes(fakes[0])
        second = run_sync(ws, pm)
        assert second.exit_code == 0 and second.scanners[0].writes == 0
        assert second.scanners[0].unchanged == planned + exclusions
        assert _writes(fakes[0]) == writes  # the scanner saw no write at all


def test_an_object_edited_in_the_console_is_restored_and_reported_as_drift(backend, tmp_path):
    b, pm = backend
    with running(b) as (fakes, bodies, _):
        ws = load_workspace(write_workspace(tmp_path / "ws", bodies))
        run_sync(ws, pm)
        target = snapshot(ws, pm, "scn")["full-audit@payment-terminals"][0]
        b.drift(fakes[0], target.remote_id)
        summary = run_sync(ws, pm)
        assert summary.exit_code == 3 and summary.status == "drift_restored"
        r = summary.scanners[0]
        assert r.drift_restored == 1
        drift = next(o for o in r.objects if o.action == "drift")
        assert drift.name == "full-audit@payment-terminals" and drift.weaker  # says how it was less safe
        assert in_sync(ws, pm, "scn", stored(b, fakes[0])) == []
        assert run_sync(ws, pm).exit_code == 0


def test_an_unmanaged_object_with_a_managed_name_is_reported_and_left_alone(backend, tmp_path):
    b, pm = backend
    with running(b) as (fakes, bodies, _):
        ws = load_workspace(write_workspace(tmp_path / "ws", bodies))
        run_sync(ws, pm)
        cfg = ws.config.scanners["scn"]
        vendor = pm.vendor(cfg.type)
        client = vendor.client(cfg)
        from scanguard.render import render_one

        # someone makes their own "discovery" by hand, beside scanguard's
        ct = __import__("scanguard").compile_plan(ws, pm).get("discovery")
        rid = client.create("discovery", render_one(ct, vendor).payload, "made by hand in the console")
        mine = client.read(rid)
        assert not mine.managed
        if not any(o.remote_id == rid for o in client.list_managed()):
            # a client whose managed objects carry versioned names (GVM) never meets the namesake:
            # the promise that holds is that the hand-made object is never touched
            summary = run_sync(ws, pm)
            assert summary.exit_code == 0, summary.scanners[0].errors
            after = client.read(rid)
            assert after.payload == mine.payload and not after.managed
            return
        summary = run_sync(ws, pm)
        r = summary.scanners[0]
        assert summary.exit_code == 1 and r.conflicts == 1 and r.writes == 0
        assert any(e.object == "discovery" and "does not manage" in e.message for e in r.errors)
        after = client.read(rid)
        assert after.payload == mine.payload and not after.managed
