"""The harness judges safety on what each fake stores, read from the fake's state, never through
the client under test: a client that misreads the scanner cannot vouch for itself."""

from __future__ import annotations

from scanguard import compile_plan, load_workspace, payload_hash, violations

from .backends import running
from .harness import in_sync, run_sync, snapshot, stored, write_workspace


def test_every_backend_reads_its_fakes_stored_objects(backend, tmp_path):
    b, pm = backend
    with running(b) as (fakes, bodies, _):
        ws = load_workspace(write_workspace(tmp_path / "ws", bodies))
        run_sync(ws, pm)
        held = stored(b, fakes[0])
        plan = compile_plan(ws, pm)
        vendor = pm.vendor(b.vendor)
        assert set(held) == {ct.name for ct in plan.for_scanner("scn")} == set(snapshot(ws, pm, "scn"))
        for ct in plan.for_scanner("scn"):
            (obj,) = held[ct.name]
            assert obj.managed and violations(vendor.parse(obj.payload), ct.constraints, vendor=b.vendor) == []


def test_a_client_that_reads_back_what_it_wants_to_see_is_caught(backend, tmp_path, monkeypatch):
    b, pm = backend
    with running(b) as (fakes, bodies, _):
        ws = load_workspace(write_workspace(tmp_path / "ws", bodies))
        run_sync(ws, pm)
        target = snapshot(ws, pm, "scn")["full-audit@payment-terminals"][0]
        b.drift(fakes[0], target.remote_id)  # the scanner now holds something less safe
        vendor = pm.vendor(b.vendor)
        client_type = type(vendor.client(ws.config.scanners["scn"]))
        honest_read, honest_list = client_type.read, client_type.list_managed

        def rosy(obj):  # what was pushed, not what is there
            return obj.model_copy(update={"payload": target.payload}) if obj.remote_id == target.remote_id else obj

        monkeypatch.setattr(client_type, "read", lambda self, rid: rosy(honest_read(self, rid)))
        monkeypatch.setattr(client_type, "list_managed", lambda self, *a, **k: [
            rosy(o) if o.payload is not None else o for o in honest_list(self, *a, **k)])
        assert payload_hash(snapshot(ws, pm, "scn")["full-audit@payment-terminals"][0].payload) == target.marker_hash
        assert "full-audit@payment-terminals as stored on the scanner breaks its constraints" in in_sync(
            ws, pm, "scn", stored(b, fakes[0]))
