"""Tenable's scheduled exclusions: never-scan devices blocked always, devices with scan windows
blocked outside them, by spans that repeat every week in the windows' own time zone; pieces
written and read back; what a document blocks, never more than its spans do."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanguard import AddressSet, ScannerExclusion, ScanWindow, compile_plan, exclusion_gaps, load_workspace
from scanguard_tenable_policy.exclusion import (
    DAY,
    WEEK,
    WEEKDAYS,
    ExclusionDocument,
    Piece,
    Span,
    allowed_slots,
    assemble,
    blocked_by,
    blocks_less,
    converge,
    covers,
    exclusion_document,
    group,
    keeps,
    parse_exclusion,
    pieces_of,
    remote_object,
    render_exclusions,
    schedule_of,
    spans_outside,
    weekly_span,
)

MARKER = "scanguard:managed name=exclusion:window:x sha256=" + "a" * 64
ZONES = ("Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe")


def _window(days=("sat",), start="06:00", end="10:00", tz="Europe/Berlin") -> ScanWindow:
    return ScanWindow(days=days, start=time.fromisoformat(start), end=time.fromisoformat(end), tz=tz)


def _exclusion(*windows: ScanWindow, addresses=("10.40.10.0/24",)) -> ScannerExclusion:
    return ScannerExclusion(name="window:x", kind="window", addresses=AddressSet.parse(addresses),
                            schedule=frozenset({frozenset(windows)}) if windows else frozenset())


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def test_a_never_scan_device_is_blocked_always_on_exactly_its_addresses(plan):
    never = next(e for e in plan.exclusions if e.name == "never:patient-monitor-intellivue")
    doc = exclusion_document(never)
    assert doc.always and not doc.spans and doc.members == ("10.20.60.0/24",)
    (back,) = parse_exclusion(doc.payload())
    assert back.ports is None and not back.schedule and back.addresses == never.addresses
    assert exclusion_gaps([never], [back]) == []


def test_the_saturday_window_is_blocked_from_saturday_10_00_to_the_next_saturday_06_00(plan):
    plc = next(e for e in plan.exclusions if e.name == "window:plc-energy-center")
    doc = exclusion_document(plc)
    assert not doc.always and doc.allowed == (("sat 06:00:00-10:00:00 Europe/Berlin",),)
    assert [(s.days, s.start, s.seconds) for s in doc.spans] == [
        (("fri",), "10:00:00", 20 * 3600),  # Friday 10:00 to Saturday 06:00
        (("mon", "tue", "wed", "thu", "sat", "sun"), "10:00:00", DAY)]
    (back,) = parse_exclusion(doc.payload())
    assert back.schedule == plc.schedule and exclusion_gaps([plc], [back]) == []


def test_a_daily_window_becomes_one_daily_span_across_midnight(plan):
    pos = next(e for e in plan.exclusions if e.name == "window:pos-terminal")
    (span,) = exclusion_document(pos).spans
    assert span.every_day and span.start == "05:00:00" and span.seconds == 20 * 3600  # 05:00 to 01:00


def test_spans_block_exactly_what_the_windows_leave_open_to_the_second():
    w = _window(days=("mon", "fri"), start="22:00", end="05:30")  # wraps past midnight
    spans = spans_outside([frozenset({w})])
    assert blocked_by(spans, "Europe/Berlin") == (allowed_slots([w]).complement(0, WEEK - 1))
    assert all(s.seconds <= DAY for s in spans)


def test_only_whole_addresses_in_one_time_zone_per_set_are_kept_by_tenable():
    assert keeps(_exclusion(_window()))
    ports = _exclusion(_window()).model_copy(update={"ports": __import__("scanguard").PortSet.parse("7100")})
    assert not keeps(ports)  # a port is left to the templates and `scanguard check`
    assert not keeps(_exclusion(_window(tz="Europe/Berlin"), _window(days=("sun",), tz="UTC")))


def _instant_blocked(spans, when: datetime) -> bool:
    for tz in {s.tz for s in spans}:
        local = when.astimezone(ZoneInfo(tz))
        pos = local.weekday() * DAY + local.hour * 3600 + local.minute * 60 + local.second
        if pos in blocked_by(spans, tz):
            return True
    return False


windows = st.builds(
    _window,
    days=st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True).map(tuple),
    start=st.times().map(lambda t: t.replace(microsecond=0).isoformat()),
    end=st.times().map(lambda t: t.replace(microsecond=0).isoformat()),
    tz=st.sampled_from(ZONES),
)


@settings(max_examples=150, deadline=None)
@given(zone=st.sampled_from(ZONES), picked=st.lists(windows, min_size=1, max_size=3),
       instants=st.lists(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31)),
                         min_size=1, max_size=30))
def test_every_instant_outside_the_windows_is_blocked_daylight_saving_included(zone, picked, instants):
    ws = frozenset(w.model_copy(update={"tz": zone}) for w in picked)
    spans = spans_outside([ws])
    for naive in instants:
        when = naive.replace(tzinfo=timezone.utc)
        if not any(w.contains(when) for w in ws):
            assert _instant_blocked(spans, when), when
        elif _instant_blocked(spans, when):
            # blocked while allowed: only in the last second of a window (its end instant)
            local = when.astimezone(ZoneInfo(zone))
            assert any(w.contains(local - timedelta(seconds=1)) and not w.contains(local + timedelta(seconds=1))
                       or local.time().replace(microsecond=0) == w.end for w in ws), when
    e = _exclusion(*ws)
    if not spans:  # the windows leave nothing to block: no object is made
        assert not keeps(e)
        return
    assert exclusion_gaps([e], parse_exclusion(exclusion_document(e).payload())) == []


@settings(max_examples=100, deadline=None)
@given(spans=st.lists(st.builds(
    Span, tz=st.sampled_from(ZONES[:2]), days=st.lists(st.sampled_from(WEEKDAYS), min_size=1, unique=True).map(tuple),
    start=st.times().map(lambda t: t.strftime("%H:%M:%S")), seconds=st.integers(1, DAY)), min_size=1, max_size=4))
def test_windows_read_from_spans_alone_never_claim_more_than_the_spans_block(spans):
    schedule = schedule_of(spans)
    if not schedule:  # always in force: then the spans of one zone cover the week
        assert any(blocked_by(spans, tz) == blocked_by([], tz).complement(0, WEEK - 1) for tz in {s.tz for s in spans})
    for ws in schedule:
        assert covers(ws, spans)


def test_a_document_that_lost_a_span_no_longer_claims_its_windows(plan):
    plc = next(e for e in plan.exclusions if e.name == "window:plc-energy-center")
    doc = exclusion_document(plc)
    cut = doc.model_copy(update={"spans": doc.spans[1:]})  # Friday 10:00 to Saturday 06:00 gone
    (back,) = parse_exclusion(cut.payload())
    assert back.schedule != plc.schedule
    assert exclusion_gaps([plc], [back])
    assert back.schedule and all(w.contains(datetime(2025, 6, 6, 12, tzinfo=ZoneInfo("Europe/Berlin")))
                                 for ws in back.schedule for w in ws if "fri" in w.days and w.start <= time(12) < w.end)


def test_windows_named_in_a_document_count_only_when_its_spans_block_outside_them():
    doc = exclusion_document(_exclusion(_window()))
    wider = doc.model_copy(update={"allowed": (("sat 00:00:00-23:00:00 Europe/Berlin",),)})
    narrower = doc.model_copy(update={"allowed": (("sat 07:00:00-08:00:00 Europe/Berlin",),)})
    # wider windows claim less than the spans block: true, and kept as written
    assert parse_exclusion(wider.payload())[0].schedule == frozenset({frozenset({_window(start="00:00", end="23:00")})})
    # narrower windows would claim 06:00-07:00 and 08:00-10:00 blocked too: refused, read from the spans
    assert parse_exclusion(narrower.payload())[0].schedule == parse_exclusion(doc.payload())[0].schedule


def test_pieces_read_back_assemble_into_the_document_and_carry_its_marker():
    doc = exclusion_document(_exclusion(_window()))
    pieces = pieces_of(doc, MARKER)
    assert len(pieces) == 2 and all(p.description.endswith(MARKER) for p in pieces)
    held = [(str(i), p) for i, p in enumerate(reversed(pieces), 10)]
    (name, objs), = group(held).items()
    obj = remote_object(name, objs)
    assert name == "window:x" and obj.payload == doc.payload() and obj.marker_hash == "a" * 64


def test_a_missing_piece_drops_the_marker_so_the_objects_are_judged_by_what_they_block():
    doc = exclusion_document(_exclusion(_window()))
    pieces = pieces_of(doc, MARKER)
    obj = remote_object("window:x", [("1", pieces[0])])
    assert obj.marker_hash is None
    (held,) = parse_exclusion(obj.payload)
    assert exclusion_gaps(parse_exclusion(doc.payload()), [held])


def test_pieces_that_disagree_on_addresses_block_only_those_they_share():
    doc = exclusion_document(_exclusion(_window(), addresses=("10.0.0.0/24",)))
    a, b = pieces_of(doc, MARKER)
    b = b.model_copy(update={"members": ("10.0.0.0/25",)})
    assert assemble("window:x", [a, b]).members == ("10.0.0.0/25",)


def test_a_piece_always_in_force_makes_the_whole_document_always():
    doc = exclusion_document(_exclusion(_window()))
    a, b = pieces_of(doc, MARKER)
    merged = assemble("window:x", [a, b.model_copy(update={"span": None, "always": True})])
    assert merged.always and not merged.spans and not merged.allowed


def test_converge_keeps_what_is_already_there_and_creates_before_it_deletes():
    old = pieces_of(exclusion_document(_exclusion(_window())), MARKER)
    new = pieces_of(exclusion_document(_exclusion(_window(end="11:00"))), MARKER)
    held = [("1", old[0]), ("2", old[1])]
    changes = converge(held, new)
    assert not converge(held, old)
    assert not changes.replace  # a shorter span does not block what the old one did: no rewrite in place
    assert list(changes.create) == [p for p in new if p not in old]
    assert list(changes.delete) == [oid for oid, p in held if p not in new]


def test_an_object_is_rewritten_in_place_only_into_one_that_blocks_at_least_as_much():
    old = pieces_of(exclusion_document(_exclusion(_window())), MARKER)
    reworded = [p.model_copy(update={"description": "new reason\n" + p.description}) for p in old]
    wider = [p.model_copy(update={"members": ("10.40.10.0/23",)}) for p in old]
    narrower = [p.model_copy(update={"members": ("10.40.10.0/25",)}) for p in old]
    held = [("1", old[0]), ("2", old[1])]
    assert converge(held, reworded).replace == (("1", reworded[0]), ("2", reworded[1]))
    assert converge(held, wider).replace == (("1", wider[0]), ("2", wider[1]))
    c = converge(held, narrower)
    assert not c.replace and c.create == tuple(narrower) and c.delete == ("1", "2")


def test_objects_without_scanguards_marker_are_not_scanguards():
    foreign = Piece(members=("10.0.0.1",), always=True, description="made by hand")
    assert group([("1", foreign)]) == {}


@pytest.mark.parametrize("freq,interval,days,start,expected", [
    ("WEEKLY", 1, ("mon", "wed"), datetime(2024, 1, 1, 5), ("mon", "wed")),
    ("DAILY", "1", None, datetime(2024, 1, 1, 5), WEEKDAYS),
    ("WEEKLY", 1, None, datetime(2024, 1, 6, 5), ("sat",)),
    ("WEEKLY", 2, ("mon",), datetime(2024, 1, 1, 5), None),  # every other week blocks nothing weekly
    ("MONTHLY", 1, None, datetime(2024, 1, 1, 5), None),
    ("ONETIME", 1, None, datetime(2024, 1, 1, 5), None),
    ("WEEKLY", 1, ("mon",), datetime(2999, 1, 1, 5), None),  # not in force yet
])
def test_repeat_rules_are_read_as_weekly_spans_conservatively(freq, interval, days, start, expected):
    span = weekly_span("Europe/Berlin", start, 3600, freq, interval, days)
    assert (span.days if span else None) == expected


def test_render_gives_only_what_tenable_keeps(plan):
    kept = render_exclusions(plan.exclusions)
    assert set(kept) == {"never:patient-monitor-intellivue", "window:plc-energy-center", "window:pos-terminal"}
    assert all(ExclusionDocument.model_validate(d) for d in kept.values())


def test_blocking_less_is_judged_by_time_not_by_how_the_windows_are_written():
    before = _exclusion(_window())
    same_time_other_words = _exclusion(_window(start="06:00", end="08:00"), _window(start="08:00", end="10:00"))
    more = _exclusion(_window(start="07:00", end="09:00"))
    less = _exclusion(_window(start="05:00", end="10:00"))
    assert blocks_less([before], [same_time_other_words]) == [] and blocks_less([before], [more]) == []
    assert blocks_less([before], [less]) and blocks_less([before], [])
    always = _exclusion()
    assert blocks_less([always], [before]) and blocks_less([before], [always]) == []
