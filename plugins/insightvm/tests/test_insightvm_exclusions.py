"""InsightVM's scanner-side exclusions (issue 8, item 8): every static site's excluded targets
come to hold the never-scan devices' addresses, what people put there is kept, request bodies
validate against Rapid7's spec, and a site whose exclusion someone removed is drift, restored."""

from __future__ import annotations

import pytest

from scanguard import ExclusionClient, load_workspace
from scanguard.cli.diff import diff_exit_code
from scanguard.sync import StateDB, SyncEngine, SyncOptions
from scanguard_insightvm.plugin import VENDOR
from scanguard_insightvm.sites import DOCUMENT, parse_excluded, render_excluded
from tests.sync.backends import BACKENDS, running
from tests.sync.harness import run_sync, write_workspace

NEVER = """\
id: icu-monitor
name: ICU monitor
location: {cidrs: [10.20.60.0/24], ranges: [10.20.61.10-10.20.61.12]}
policy: never
risk_acceptance: {accepted_by: CMIO, accepted_on: 2026-01-01, expires: 2030-01-01, reason: restarts,
                  compensating_controls: [ACL-1]}
"""


def test_the_client_is_an_exclusion_client(client):
    assert isinstance(client, ExclusionClient)


def test_only_whole_addresses_go_to_insightvm_ports_and_windows_stay_with_templates(plan):
    kept = VENDOR.exclusions.enforceable(plan.exclusions)
    assert [e.name for e in kept] == ["never:patient-monitor-intellivue"]
    assert render_excluded(kept) == {DOCUMENT: {"addresses": ["10.20.60.0/24"]}}


def test_a_host_name_in_the_excluded_targets_excludes_no_address():
    (held,) = parse_excluded({"addresses": ["printer.lan", "10.1.1.1 - 10.1.1.3", "10.2.0.0/16"]})
    assert held.addresses.items() == ["10.1.1.1-10.1.1.3", "10.2.0.0/16"]


def test_static_sites_are_listed_and_dynamic_ones_left_out(client, fake):
    a = fake.add_site("Clinical", excluded=["10.9.9.9"])
    fake.add_site("Cloud", site_type="dynamic")
    (obj,) = client.list_exclusions()
    assert (obj.remote_id, obj.name, obj.payload) == (str(a), DOCUMENT, {"site": "Clinical", "addresses": ["10.9.9.9"]})


@pytest.mark.fixtures
def test_an_update_adds_our_addresses_keeps_theirs_and_validates_against_the_spec(client, fake, fixtures_dir):
    assert fake.validating
    site = fake.add_site("Clinical", excluded=["10.9.9.9", "printer.lan"])
    client.update_exclusion(str(site), DOCUMENT, {"addresses": ["10.20.60.0/24", "10.9.9.9"]}, "ignored")
    assert fake.excluded_targets(site) == ["10.9.9.9", "printer.lan", "10.20.60.0/24"]
    (put,) = [b for m, p, b in fake.bodies if m == "PUT"]
    assert put == ["10.9.9.9", "printer.lan", "10.20.60.0/24"]


def test_an_update_that_adds_nothing_writes_nothing(client, fake):
    site = fake.add_site("Clinical", excluded=["10.20.60.0/24"])
    client.update_exclusion(str(site), DOCUMENT, {"addresses": ["10.20.60.0/24"]}, "ignored")
    assert not fake.writes()


@pytest.fixture
def console(tmp_path):
    backend = BACKENDS["insightvm"]
    with running(backend) as (fakes, bodies, _env):
        root = write_workspace(tmp_path / "ws", bodies, extra_profiles={"icu-monitor": NEVER})
        yield fakes[0], root, backend.plugins()


@pytest.mark.fixtures
def test_sync_excludes_never_scan_devices_from_every_static_site_and_converges(console, fixtures_dir):
    fake, root, pm = console
    assert fake.validating
    clinical = fake.add_site("Clinical", excluded=["10.9.9.9"])
    radiology = fake.add_site("Radiology")
    cloud = fake.add_site("Cloud", site_type="dynamic")
    first = run_sync(root, pm)
    assert first.exit_code == 0, first.scanners[0].errors
    for site in (clinical, radiology):
        assert {"10.20.60.0/24", "10.20.61.10-10.20.61.12"} <= set(fake.excluded_targets(site))
    assert "10.9.9.9" in fake.excluded_targets(clinical)
    assert cloud not in fake.site_excluded
    xs = [o for o in first.scanners[0].objects if o.name == f"exclusion:{DOCUMENT}"]
    assert sorted(o.remote_id for o in xs) == sorted([str(clinical), str(radiology)])
    assert all(o.verified for o in xs)
    second = run_sync(root, pm)
    assert second.exit_code == 0 and second.scanners[0].writes == 0


def test_an_exclusion_removed_in_the_console_is_drift_in_diff_and_restored_by_sync(console):
    fake, root, pm = console
    site = fake.add_site("Clinical")
    run_sync(root, pm)
    fake.edit_excluded_targets(site, ["10.20.61.10-10.20.61.12"])
    ws = load_workspace(root)
    with StateDB(ws.state_path()) as db:
        (d,) = SyncEngine(ws, pm, options=SyncOptions(), state=db).diff()
    drift = [a for a in d.actions if a.kind == "drift"]
    assert diff_exit_code([d]) == 3 and drift and "10.20.60.0/24 not excluded" in drift[0].weaker[0]
    summary = run_sync(root, pm)
    assert summary.exit_code == 3 and summary.status == "drift_restored"
    assert "10.20.60.0/24" in fake.excluded_targets(site)


def test_a_site_added_later_is_a_planned_update_not_drift(console):
    fake, root, pm = console
    fake.add_site("Clinical")
    run_sync(root, pm)
    later = fake.add_site("New wing")
    summary = run_sync(root, pm)
    assert summary.exit_code == 0 and summary.scanners[0].updated == 1
    assert "10.20.60.0/24" in fake.excluded_targets(later)
