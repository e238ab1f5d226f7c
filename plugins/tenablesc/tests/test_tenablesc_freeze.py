"""Security Center freeze windows hold scanguard's scanner-side exclusions: a never-scan device in a
window of 24 hours every day (Security Center has no "always"), a device with scan windows in
windows that repeat every week outside them, in their time zone; read back conservatively."""

from __future__ import annotations

from scanguard import AddressSet, ExclusionClient, exclusion_gaps, managed_marker, payload_hash
from scanguard.render import render_exclusions
from scanguard_tenable_policy.exclusion import parse_exclusion
from scanguard_tenablesc.freeze import piece_of
from scanguard_tenablesc.plugin import TENABLESC


def _push(client, plan, name: str) -> str:
    (r,) = [r for r in render_exclusions(plan.exclusions, TENABLESC) if r.name == name]
    return client.create_exclusion(r.name, r.payload, managed_marker("exclusion:" + r.name, payload_hash(r.payload)))


def _wanted(plan, name: str):
    return [e for e in plan.exclusions if e.name == name]


def test_the_client_keeps_exclusions(client):
    assert isinstance(client, ExclusionClient)


def test_a_never_scan_device_is_frozen_every_day_all_day_in_utc(client, fake, plan):
    rid = _push(client, plan, "never:patient-monitor-intellivue")
    (w,) = fake.freezes.values()
    assert (w["ipList"], w["allIPs"], w["enabled"], w["repeatRule"], w["start"], w["end"], w["duration"]) == (
        "10.20.60.0/24", "false", "true", "FREQ=DAILY;INTERVAL=1", "TZID=UTC:20240101T000000",
        "TZID=UTC:20240102T000000", "86400")
    back = client.read_exclusion(rid)
    assert back.payload["always"] and back.marker_hash == payload_hash(back.payload)
    assert exclusion_gaps(_wanted(plan, "never:patient-monitor-intellivue"), parse_exclusion(back.payload)) == []


def test_a_saturday_window_is_two_weekly_freeze_windows_in_berlin_time(client, fake, plan):
    rid = _push(client, plan, "window:plc-energy-center")
    rules = sorted((w["repeatRule"], w["start"], w["duration"]) for w in fake.freezes.values())
    assert rules == [("FREQ=WEEKLY;INTERVAL=1;BYDAY=FR", "TZID=Europe/Berlin:20240105T100000", "72000"),
                     ("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,SA,SU", "TZID=Europe/Berlin:20240101T100000", "86400")]
    (held,) = parse_exclusion(client.read_exclusion(rid).payload)
    assert held.schedule == _wanted(plan, "window:plc-energy-center")[0].schedule


def test_a_window_disabled_in_the_console_blocks_nothing(client, fake, plan):
    rid = _push(client, plan, "never:patient-monitor-intellivue")
    (fid,) = fake.freezes
    fake.edit_freeze(fid, enabled="false")
    back = client.read_exclusion(rid)
    assert parse_exclusion(back.payload) == () and payload_hash(back.payload) != back.marker_hash


def test_a_window_shortened_in_the_console_reads_as_blocking_less(client, fake, plan):
    rid = _push(client, plan, "window:pos-terminal")
    (fid,) = fake.freezes
    fake.edit_freeze(fid, end="TZID=Europe/Berlin:20240101T180000")  # open from 18:00 to 01:00
    assert exclusion_gaps(_wanted(plan, "window:pos-terminal"), parse_exclusion(client.read_exclusion(rid).payload))


def test_of_end_and_duration_the_shorter_counts():
    window = {"ipList": "10.0.0.1", "enabled": "true", "allIPs": "false", "repeatRule": "FREQ=DAILY;INTERVAL=1",
              "start": "TZID=UTC:20240101T000000", "end": "TZID=UTC:20240102T000000", "duration": "3600",
              "description": ""}
    assert piece_of(window).span.seconds == 3600
    assert piece_of({**window, "duration": "x"}).always  # end alone: every day, all day
    # an end before its start reads as the time of day it ends, the next day
    assert piece_of({**window, "end": "TZID=UTC:20240101T000200", "start": "TZID=UTC:20240101T235800",
                     "duration": "-86160"}).span.seconds == 240


def test_a_window_for_every_address_blocks_every_address(client, fake, plan):
    rid = _push(client, plan, "never:patient-monitor-intellivue")
    (fid,) = fake.freezes
    fake.edit_freeze(fid, allIPs="true")
    (held,) = parse_exclusion(client.read_exclusion(rid).payload)
    assert held.addresses == AddressSet.everything()


def test_rules_that_are_not_weekly_every_week_block_nothing_weekly():
    base = {"ipList": "10.0.0.1", "enabled": "true", "start": "TZID=UTC:20240101T000000",
            "end": "TZID=UTC:20240101T010000", "description": ""}
    for rule in ("FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=1", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
                 "FREQ=DAILY;INTERVAL=1;UNTIL=20240301T000000Z", "FREQ=WEEKLY;INTERVAL=1;BYDAY=1MO", ""):
        assert piece_of({**base, "repeatRule": rule}).span is None, rule


def test_writing_the_same_document_again_writes_nothing(client, fake, plan):
    _push(client, plan, "window:plc-energy-center")
    before = len(fake.writes())
    _push(client, plan, "window:plc-energy-center")
    assert len(fake.writes()) == before and len(fake.freezes) == 2
