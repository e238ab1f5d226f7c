"""A template that can no longer be rendered safely never stays live and untouched (issue 8,
item 9): dropped from the plan, or refused by its vendor with the live copy breaking the
profiles, it is retired (made unusable on the scanner), recorded and reported as a safety
finding (exit 3), in diff too. Nothing is retired from a scanner that could not be read."""

from __future__ import annotations

from scanguard import CannotEnforce, Vendor, hookimpl, load_workspace
from scanguard.sync import StateDB, SyncEngine, SyncOptions

from . import memory
from .conftest import MEM
from .harness import run_sync, write_workspace

DELAYED = """\
id: slow-plc
name: Slow PLC
location: {hosts: [10.40.1.5]}
policy: restricted
constraints:
  excluded_ports:
    - {ports: 502/tcp, reason: modbus stalls}
"""


def _strict_render(ct):
    # like Nessus: no delay between probes can be kept
    if ct.template.performance.probe_delay_ms:
        raise CannotEnforce(f"cannot keep {ct.template.performance.probe_delay_ms} ms between probes")
    return memory.render(ct)


class StrictPlugin:
    @hookimpl
    def scanguard_vendors(self):
        return [Vendor(name="memory", render=_strict_render, parse=memory.parse, client=memory.client,
                       capabilities=frozenset({"render", "parse", "client"}))]


def _plugins():
    from scanguard.plugin.manager import load_plugins

    pm = load_plugins(entry_points=False)
    pm.register(StrictPlugin(), "strict-memory")
    return pm


def _ws(tmp_path, templates=("discovery", "full-audit"), extra=None):
    return write_workspace(tmp_path / "ws", {"mem-a": MEM}, templates=templates,
                           extra_profiles={"slow-plc": extra or DELAYED})


def _names(s):
    return sorted(o["name"] for o in s.objects.values())


def _synced_then_shrunk(tmp_path, plugins, s):
    """A synced workspace whose plan then drops full-audit: (root, the scanner's objects before)."""
    root = _ws(tmp_path)
    run_sync(root, plugins)
    _ws(tmp_path, templates=("discovery",))
    return root, {k: dict(v) for k, v in s.objects.items()}


def test_a_template_dropped_from_the_plan_is_retired_recorded_and_reported(tmp_path, mem_plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root = _ws(tmp_path)
    run_sync(root, mem_plugins)
    assert "full-audit@slow-plc" in _names(s)
    _ws(tmp_path, templates=("discovery",))
    summary = run_sync(root, mem_plugins)
    assert summary.exit_code == 3 and summary.status == "retired"
    r = summary.scanners[0]
    assert r.retired == 3 and r.status == "retired"
    assert not any(n.startswith("full-audit") for n in _names(s))
    gone = next(o for o in r.objects if o.name == "full-audit@slow-plc")
    assert gone.action == "retire" and gone.verified and "no profile vouches" in gone.weaker[0]
    with StateDB(load_workspace(root).state_path()) as db:
        assert {p.object_name for p in db.pushes() if p.action == "retire"} == {
            "full-audit", "full-audit@payment-terminals", "full-audit@slow-plc"}
    assert run_sync(root, mem_plugins).exit_code == 0  # converged


def test_a_template_its_vendor_now_refuses_is_retired_when_the_live_copy_breaks_the_profile(tmp_path, mem_scanners):
    s = mem_scanners("mem-a")
    pm = _plugins()
    root = _ws(tmp_path)
    assert run_sync(root, pm).exit_code == 0
    tightened = DELAYED + "  rate:\n    probe_delay_ms: 250\n    reason: the stack drops bursts\n"
    _ws(tmp_path, extra=tightened)
    summary = run_sync(root, pm)
    assert summary.exit_code == 3 and summary.status == "retired"  # a safety finding, not a scanner failure
    r = summary.scanners[0]
    assert {e.object for e in r.errors} == {"discovery@slow-plc", "full-audit@slow-plc"} and all(e.safety for e in r.errors)
    retired = sorted(o.name for o in r.objects if o.action == "retire")
    assert retired == ["discovery@slow-plc", "full-audit@slow-plc"]
    assert all(o.verified for o in r.objects if o.action == "retire")  # and the live copies are gone
    assert not any(n.endswith("@slow-plc") for n in _names(s))
    assert any("probe_delay_ms" in w for o in r.objects if o.action == "retire" for w in o.weaker)


def test_a_live_copy_that_still_keeps_its_profiles_is_left_when_rendering_fails(tmp_path, mem_scanners, monkeypatch):
    s = mem_scanners("mem-a")
    pm = _plugins()
    root = _ws(tmp_path)
    run_sync(root, pm)
    before = {k: dict(v) for k, v in s.objects.items()}

    def broken(ct):
        raise CannotEnforce("the vendor is having a bad day")
    monkeypatch.setattr(StrictPlugin, "scanguard_vendors", hookimpl(lambda self: [
        Vendor(name="memory", render=broken, parse=memory.parse, client=memory.client)]))
    summary = run_sync(root, _plugins())
    r = summary.scanners[0]
    assert {o.action for o in r.objects} == {"orphan"} and r.retired == 0
    assert summary.exit_code == 3 and r.status == "refused"  # nothing was pushed that could not be vouched for
    assert s.objects == before


def test_diff_reports_what_sync_would_retire_as_a_safety_finding(tmp_path, mem_plugins, mem_scanners):
    from scanguard.cli.diff import diff_exit_code

    s = mem_scanners("mem-a")
    root, before = _synced_then_shrunk(tmp_path, mem_plugins, s)
    (d,) = SyncEngine(load_workspace(root), mem_plugins, options=SyncOptions()).diff()
    assert d.count("retire") == 3 and diff_exit_code([d]) == 3
    dry = run_sync(root, mem_plugins, dry_run=True)
    assert dry.exit_code == 3 and dry.scanners[0].writes == 0 and s.objects == before


def test_nothing_is_retired_from_a_scanner_that_could_not_be_read(tmp_path, mem_plugins, mem_scanners):
    s = mem_scanners("mem-a")
    root, before = _synced_then_shrunk(tmp_path, mem_plugins, s)
    s.fail_next("500", count=1000, method="GET")
    summary = run_sync(root, mem_plugins)
    assert summary.exit_code == 1 and summary.scanners[0].retired == 0
    assert s.objects == before


def test_a_nessus_policy_its_profile_now_forbids_is_deleted_from_the_scanner(tmp_path):
    from .backends import BACKENDS, running

    backend = BACKENDS["nessus"]
    with running(backend) as (fakes, bodies, _env):
        fake, pm = fakes[0], backend.plugins()
        root = write_workspace(tmp_path / "ws", bodies, extra_profiles={"slow-plc": DELAYED})
        assert run_sync(root, pm).exit_code == 0
        named = {p["settings"]["name"] for p in fake.policies.values()}
        assert "full-audit@slow-plc" in named
        # the PLC now needs a delay between probes, which Nessus cannot keep
        write_workspace(root, bodies, extra_profiles={
            "slow-plc": DELAYED + "  rate:\n    probe_delay_ms: 250\n    reason: the stack drops bursts\n"})
        summary = run_sync(root, pm)
        r = summary.scanners[0]
        assert sorted(o.name for o in r.objects if o.action == "retire" and o.verified) == [
            "discovery@slow-plc", "full-audit@slow-plc"]
        assert not any(n.endswith("@slow-plc") for n in (p["settings"]["name"] for p in fake.policies.values()))
        assert summary.exit_code == 3 and summary.status == "retired"  # a safety finding, and nothing unsafe stays live


def test_diff_counts_a_refused_template_as_a_safety_finding(tmp_path, mem_scanners):
    from scanguard.cli.diff import diff_exit_code

    mem_scanners("mem-a")
    pm = _plugins()
    root = _ws(tmp_path, extra=DELAYED + "  rate:\n    probe_delay_ms: 250\n    reason: slow\n")
    (d,) = SyncEngine(load_workspace(root), pm, options=SyncOptions()).diff()
    assert d.error is None and {i.object for i in d.refused} == {"discovery@slow-plc", "full-audit@slow-plc"}
    assert diff_exit_code([d]) == 3
