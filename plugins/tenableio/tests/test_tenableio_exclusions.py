"""Tenable VM exclusions hold scanguard's scanner-side exclusions: a never-scan device always
active, a device with scan windows in exclusions that repeat every week outside them, in the
windows' time zone; what the client reads back is what the exclusions block, nothing more."""

from __future__ import annotations

import pytest

from scanguard import ExclusionClient, ScannerError, exclusion_gaps, managed_marker, payload_hash
from scanguard.render import render_exclusions
from scanguard_tenable_policy.exclusion import parse_exclusion
from scanguard_tenableio.plugin import TENABLEIO


def _push(client, plan, name: str) -> str:
    (r,) = [r for r in render_exclusions(plan.exclusions, TENABLEIO) if r.name == name]
    return client.create_exclusion(r.name, r.payload, managed_marker("exclusion:" + r.name, payload_hash(r.payload)))


def _wanted(plan, name: str):
    return [e for e in plan.exclusions if e.name == name]


def test_the_client_keeps_exclusions(client):
    assert isinstance(client, ExclusionClient) and TENABLEIO.exclusions.creates and not TENABLEIO.exclusions.ports


def test_ports_are_left_to_the_templates_and_windows_and_never_scan_devices_are_kept(plan):
    kept = {e.name for e in TENABLEIO.exclusions.enforceable(plan.exclusions)}
    assert kept == {"never:patient-monitor-intellivue", "window:plc-energy-center", "window:pos-terminal"}


def test_a_never_scan_device_is_one_always_active_exclusion(client, fake, plan):
    rid = _push(client, plan, "never:patient-monitor-intellivue")
    (stored,) = fake.exclusions.values()
    assert stored["members"] == "10.20.60.0/24" and stored["schedule"] == {"enabled": False}
    back = client.read_exclusion(rid)
    assert exclusion_gaps(_wanted(plan, "never:patient-monitor-intellivue"), parse_exclusion(back.payload)) == []


def test_a_saturday_window_is_two_weekly_exclusions_in_berlin_time(client, fake, plan):
    rid = _push(client, plan, "window:plc-energy-center")
    schedules = sorted((e["schedule"]["rrules"]["byweekday"], e["schedule"]["starttime"], e["schedule"]["endtime"])
                       for e in fake.exclusions.values())
    assert schedules == [("FR", "2024-01-05 10:00:00", "2024-01-06 06:00:00"),
                         ("MO,TU,WE,TH,SA,SU", "2024-01-01 10:00:00", "2024-01-02 10:00:00")]
    assert {e["schedule"]["timezone"] for e in fake.exclusions.values()} == {"Europe/Berlin"}
    back = client.read_exclusion(rid)
    (held,) = parse_exclusion(back.payload)
    assert held.schedule == _wanted(plan, "window:plc-energy-center")[0].schedule


def test_writing_the_same_document_again_writes_nothing(client, fake, plan):
    _push(client, plan, "window:plc-energy-center")
    before = len(fake.writes())
    _push(client, plan, "window:plc-energy-center")  # a retry after a failure lands here too
    assert len(fake.writes()) == before and len(fake.exclusions) == 2


def test_an_exclusion_shortened_in_the_console_reads_as_blocking_less(client, fake, plan):
    rid = _push(client, plan, "window:plc-energy-center")
    friday = next(i for i, e in fake.exclusions.items() if e["schedule"]["rrules"]["byweekday"] == "FR")
    fake.edit_exclusion(friday, schedule={"endtime": "2024-01-05 18:00:00"})  # Friday night opened up
    back = client.read_exclusion(rid)
    assert back.marker_hash and payload_hash(back.payload) != back.marker_hash
    assert exclusion_gaps(_wanted(plan, "window:plc-energy-center"), parse_exclusion(back.payload))


def test_a_reworded_document_is_rewritten_in_place(client, fake, plan):
    (r,) = [r for r in render_exclusions(plan.exclusions, TENABLEIO) if r.name == "window:pos-terminal"]
    _push(client, plan, "window:pos-terminal")
    ids = set(fake.exclusions)
    reworded = {**r.payload, "description": "the terminals crash under scans"}
    client.update_exclusion(r.name, r.name, reworded, managed_marker("exclusion:" + r.name, payload_hash(reworded)))
    assert set(fake.exclusions) == ids and [m for m, _, _ in fake.writes()][-1] == "PUT"
    assert "the terminals crash under scans" in next(iter(fake.exclusions.values()))["description"]


def test_a_host_name_among_the_members_blocks_no_address(client, fake, plan):
    rid = _push(client, plan, "never:patient-monitor-intellivue")
    (eid,) = fake.exclusions
    fake.edit_exclusion(eid, members="monitor.icu.example,10.20.60.0/25")
    (held,) = parse_exclusion(client.read_exclusion(rid).payload)
    assert held.addresses.items() == ["10.20.60.0/25"]


def test_a_time_zone_the_scanner_does_not_offer_is_refused_before_anything_is_written(client, fake, plan, monkeypatch):
    monkeypatch.setattr(type(client), "timezones", lambda self: frozenset({"UTC"}))
    with pytest.raises(ScannerError, match="no time zone Europe/Berlin"):
        _push(client, plan, "window:plc-energy-center")
    assert not fake.writes()


def test_an_exclusion_someone_else_made_is_left_alone(client, fake):
    made = client.post_exclusion({"name": "maintenance", "members": "10.9.9.9", "schedule": {"enabled": False}})
    assert client.list_exclusions() == [] and int(made["id"]) in fake.exclusions
