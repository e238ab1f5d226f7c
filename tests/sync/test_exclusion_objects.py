"""Scanner-side exclusions kept as objects the vendor's client makes (Tenable VM's exclusions,
Security Center's freeze windows), against every such fake (scanguard_testbed_scanners): created,
read back and verified, no write on the next run, an object deleted or narrowed in the console restored as
drift, and the fault matrix at every call position: nothing blocked before is unblocked by a run
that fails, and the next clean run converges. What the scanner blocks is judged on what the fake
stores, read from its stored objects (backends.Backend.exclusions), never through the client.

The workspace: a device allowed only in two scan windows a week (several objects on the scanner)
and, in the second workspace, a device that must never be scanned. The scanner gets no template
(`templates = []`): the exclusions are all it holds."""

from __future__ import annotations

import pytest

from scanguard import compile_plan, exclusion_gaps, load_workspace, payload_hash
from scanguard.render import render_exclusions
from scanguard.sync import RetryPolicy

from scanguard_tenable_policy.exclusion import blocks_less

from .backends import BACKENDS, Backend, available, ready, running
from .harness import run_sync, write_workspace

WINDOWED = """\
id: lab-analyser
name: Lab analysers
location: {cidrs: [10.20.80.0/28]}
policy: scan
constraints:
  windows:
    allowed:
      - {days: [sat], start: "06:00", end: "10:00", tz: Europe/Berlin}
      - {days: [tue], start: "22:00", end: "02:00", tz: Europe/Berlin}
    reason: Only while the lab is closed.
"""
NEVER = """\
id: icu-monitor
name: ICU monitors
location: {cidrs: [10.20.60.0/24]}
policy: never
risk_acceptance: {accepted_by: CMIO, accepted_on: 2026-01-01, expires: 2030-01-01, reason: a restart stops the alarms,
                  compensating_controls: [ACL CLIN-ACL-12]}
"""
RETRY = RetryPolicy(attempts=3, initial_wait_s=0.0, max_wait_s=0.0, deadline_s=30)
VENDORS = [v for v in available() if BACKENDS[v].exclusions is not None]


def _workspaces(tmp_path, bodies):
    only_exclusions = {n: body + "\ntemplates = []" for n, body in bodies.items()}
    # one state database: what was verified on the scanner is known whichever workspace ran
    w1 = load_workspace(write_workspace(tmp_path / "w1", only_exclusions, profiles=(), state="../state.db",
                                        extra_profiles={"lab-analyser": WINDOWED}))
    w2 = load_workspace(write_workspace(tmp_path / "w2", only_exclusions, profiles=(), state="../state.db",
                                        extra_profiles={"lab-analyser": WINDOWED, "icu-monitor": NEVER}))
    return w1, w2


def _held(b: Backend, fake) -> list:
    """What the objects the fake stores block, document by document."""
    from scanguard_tenable_policy.exclusion import parse_exclusion

    return [e for obj in b.exclusions(fake).values() for e in parse_exclusion(obj.payload)]


def _problems(ws, pm, b: Backend, fake) -> list[str]:
    """How the stored exclusions differ from the workspace's plan (empty: converged)."""
    vendor = pm.vendor(b.vendor)
    wanted = {r.name: r for r in render_exclusions(compile_plan(ws, pm).exclusions_for("scn"), vendor)}
    held = b.exclusions(fake)
    out = [f"missing {n}" for n in wanted if n not in held]
    out += [f"{n} differs from the plan" for n, r in wanted.items()
            if n in held and (payload_hash(held[n].payload) != payload_hash(r.payload)
                              or held[n].marker_hash != payload_hash(r.payload))]
    required = vendor.exclusions.enforceable(compile_plan(ws, pm).exclusions_for("scn"))
    out += exclusion_gaps(required, _held(b, fake))
    return out


@pytest.mark.parametrize("vendor", VENDORS)
def test_never_scan_and_window_devices_are_created_verified_and_left_alone_next_time(vendor, tmp_path):
    b, pm = ready(vendor)
    with running(b) as (fakes, bodies, _):
        _, w2 = _workspaces(tmp_path, bodies)
        first = run_sync(w2, pm)
        r = first.scanners[0]
        assert first.exit_code == 0, r.errors
        made = {o.name: o for o in r.objects}
        assert set(made) == {"exclusion:never:icu-monitor", "exclusion:window:lab-analyser"}
        assert all(o.action == "create" and o.verified for o in made.values())
        assert _problems(w2, pm, b, fakes[0]) == []
        held = {e.name: e for e in _held(b, fakes[0])}
        assert not held["never:icu-monitor"].schedule  # always in force
        assert held["window:lab-analyser"].schedule  # in force outside the windows
        writes = len(fakes[0].writes())
        second = run_sync(w2, pm)
        assert second.exit_code == 0 and second.scanners[0].writes == 0 and len(fakes[0].writes()) == writes


@pytest.mark.parametrize("vendor", VENDORS)
def test_an_object_deleted_in_the_console_is_restored_and_reported_as_drift(vendor, tmp_path):
    b, pm = ready(vendor)
    with running(b) as (fakes, bodies, _):
        _, w2 = _workspaces(tmp_path, bodies)
        run_sync(w2, pm)
        b.drop_piece(fakes[0], "window:lab-analyser")
        assert exclusion_gaps([e for e in compile_plan(w2, pm).exclusions if e.name == "window:lab-analyser"],
                              _held(b, fakes[0]))
        summary = run_sync(w2, pm)
        assert summary.exit_code == 3 and summary.status == "drift_restored"
        (drift,) = [o for o in summary.scanners[0].objects if o.action == "drift"]
        assert drift.name == "exclusion:window:lab-analyser" and drift.weaker and drift.verified
        assert _problems(w2, pm, b, fakes[0]) == []
        assert run_sync(w2, pm).exit_code == 0


def _reset(w1, w2, pm, b: Backend, fake) -> None:
    """The scanner holds W1's exclusions (none of W2's), one of its objects deleted by hand."""
    s = run_sync(w1, pm, retry=RETRY)
    assert s.exit_code in (0, 3), s.scanners[0].errors
    client = pm.vendor(b.vendor).client(w1.config.scanners["scn"])
    for o in client.list_exclusions():
        if o.name != "window:lab-analyser":
            client.delete_exclusion(o.remote_id)
    b.drop_piece(fake, "window:lab-analyser")


CASES = [pytest.param(v, k, id=f"{v}-{k}") for v in VENDORS for k in BACKENDS[v].faults]


@pytest.mark.parametrize("vendor,kind", CASES)
def test_every_call_position_of_an_exclusion_sync_fails_safe_and_converges(vendor, kind, tmp_path):
    b, pm = ready(vendor)
    with running(b, tls=False) as (fakes, bodies, _):
        fake = fakes[0]
        w1, w2 = _workspaces(tmp_path, bodies)
        _reset(w1, w2, pm, b, fake)
        start = len(fake.requests)
        ref = run_sync(w2, pm, retry=RETRY)
        positions = len(fake.requests) - start
        assert ref.exit_code == 3 and {o.action for o in ref.scanners[0].objects} == {"create", "drift"}, ref
        failures = []
        for n in range(1, positions + 1):
            _reset(w1, w2, pm, b, fake)
            before = _held(b, fake)
            b.inject(fake, n, kind)
            faulty = run_sync(w2, pm, retry=RETRY).scanners[0]
            where = f"position {n}/{positions} ({kind})"
            if not (faulty.errors or faulty.retries):
                failures.append(f"{where}: the failure was not reported")
            lost = blocks_less(before, _held(b, fake))
            if lost:
                failures.append(f"{where}: blocks less than before: {lost}")
            clean = run_sync(w2, pm, retry=RETRY)
            if clean.exit_code not in (0, 3):
                failures.append(f"{where}: the clean run after failed: {clean.scanners[0].errors}")
            problems = _problems(w2, pm, b, fake)
            if problems:
                failures.append(f"{where}: not converged: {problems}")
            again = run_sync(w2, pm, retry=RETRY).scanners[0]
            if again.writes:
                failures.append(f"{where}: the run after converging still wrote {again.writes} time(s)")
        assert not failures, "\n".join(failures)


EXAMPLE_SCANNERS = {"tenableio": ("tenable-vm", "TENABLE_VM"), "tenablesc": ("tenable-sc", "TENABLE_SC")}


@pytest.mark.parametrize("vendor", [v for v in VENDORS if v in EXAMPLE_SCANNERS])
def test_the_example_hospitals_never_scan_and_window_devices_are_kept_on_its_tenable_scanner(
        vendor, tmp_path, example_workspace, monkeypatch):
    import re
    import shutil

    b, pm = ready(vendor)
    scanner, env = EXAMPLE_SCANNERS[vendor]
    root = tmp_path / "hospital"
    shutil.copytree(example_workspace, root)
    with running(b) as (fakes, _bodies, _env):
        fake = fakes[0]
        monkeypatch.setenv(f"{env}_ACCESS_KEY", fake.access_key)
        monkeypatch.setenv(f"{env}_SECRET_KEY", fake.secret_key)
        toml = (root / "scanguard.toml").read_text(encoding="utf-8")
        toml = re.sub(rf'(\[scanners\.{scanner}\][^\[]*?)url = "[^"]*"',
                      lambda m: f'{m.group(1)}url = "{fake.url}"\ntls = {{ ca_bundle = "{fake.ca_bundle}" }}', toml)
        (root / "scanguard.toml").write_text(toml.replace('state = ".scanguard/state.db"', 'state = "state.db"'))
        ws = load_workspace(root)
        summary = run_sync(ws, pm, scanners=(scanner,))
        r = summary.scanners[0]
        assert summary.exit_code == 0 and r.scanner == scanner, r.errors
        pushed = {o.name: o for o in r.objects if o.name.startswith("exclusion:")}
        assert set(pushed) == {"exclusion:never:patient-monitor-intellivue", "exclusion:window:plc-energy-center",
                               "exclusion:window:pos-terminal"}
        assert all(o.verified for o in pushed.values())
        # what the scanner stores, read from its objects
        held = {e.name: e for e in _held(b, fake)}
        plan = {e.name: e for e in compile_plan(ws, pm).exclusions}
        never, plc = held["never:patient-monitor-intellivue"], held["window:plc-energy-center"]
        assert not never.schedule and never.addresses == plan["never:patient-monitor-intellivue"].addresses
        assert plc.schedule == plan["window:plc-energy-center"].schedule  # sat 06:00-10:00 Europe/Berlin
        assert exclusion_gaps([plan[n] for n in held], list(held.values())) == []
        raw = fake.exclusions.values() if vendor == "tenableio" else fake.freezes.values()
        for obj in raw:
            if obj["name"] == "scanguard never:patient-monitor-intellivue":
                always = obj["schedule"] == {"enabled": False} if vendor == "tenableio" else (
                    obj["repeatRule"], obj["duration"], obj["start"]) == ("FREQ=DAILY;INTERVAL=1", "86400",
                                                                          "TZID=UTC:20240101T000000")
                assert always, obj
            if obj["name"] == "scanguard window:plc-energy-center":
                zone = obj["schedule"]["timezone"] if vendor == "tenableio" else obj["start"].split(":")[0]
                assert zone in ("Europe/Berlin", "TZID=Europe/Berlin")
        assert run_sync(ws, pm, scanners=(scanner,)).scanners[0].writes == 0
