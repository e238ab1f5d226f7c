"""Security Center's freeze windows (`/rest/freeze`; `/blackout` is deprecated since 5.18) as
pieces of scanguard's exclusion documents.

A freeze window blocks `ipList` (hosts, CIDRs, ranges, comma-separated; `allIPs` "true" would
block everything) from `start` ("TZID=<zone>:YYYYMMDDTHHMMSS", wall-clock in that zone) for its
length, repeated by `repeatRule` (iCalendar: "FREQ=DAILY;INTERVAL=1",
"FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE"); `end` is written beside it and `duration` (seconds) as
well. Every value is a string, "true"/"false" included. Security Center has no "always": a
never-scan device gets a window of 24 hours every day, in UTC (no clock changes).

No freeze window is recorded in ../shared/fixtures: the shapes follow Tenable's API reference
(fields, the TZID form of start and end, the repeat rule) and are read conservatively: a
window that is disabled, names its targets by asset list or repository only (their addresses are
not in the window), has a rule that is
not daily or weekly every week, ends its repetition (UNTIL, COUNT) or starts in the future blocks
nothing here; of its length as `end` and as `duration` say it, the shorter counts. A window for
all addresses (`allIPs` "true") blocks every address.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Mapping

from scanguard import AddressSet
from scanguard_tenable_policy.exclusion import (
    ALWAYS_SPAN,
    DAY,
    RRULE_DAYS,
    Piece,
    Span,
    make_piece,
    rrule_days,
    wall_seconds,
    weekly_span,
)

NAME_PREFIX = "scanguard "
_STAMP = re.compile(r"^\s*TZID=([^:]+):(\d{8}T\d{6})\s*$")


def _stamp(tz: str, at: datetime) -> str:
    return f"TZID={tz}:{at:%Y%m%dT%H%M%S}"


def body_of(name: str, piece: Piece) -> dict[str, Any]:
    """The body of `POST /rest/freeze` for one piece of the document `name`."""
    span: Span = ALWAYS_SPAN if piece.always or piece.span is None else piece.span
    start = span.first_start()
    rule = "FREQ=DAILY;INTERVAL=1" if span.every_day else (
        "FREQ=WEEKLY;INTERVAL=1;BYDAY=" + ",".join(RRULE_DAYS[d] for d in span.days))
    return {"name": NAME_PREFIX + name, "description": piece.description, "ipList": ",".join(piece.members),
            "allIPs": "false", "assets": [], "start": _stamp(span.tz, start),
            "end": _stamp(span.tz, start + timedelta(seconds=span.seconds)), "duration": str(span.seconds),
            "repeatRule": rule, "enabled": "true"}


def _true(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def _rule(text: Any) -> dict[str, str]:
    out = {}
    for part in str(text or "").split(";"):
        key, _, value = part.partition("=")
        if key.strip():
            out[key.strip().upper()] = value.strip()
    return out


def _span(obj: Mapping[str, Any], now: datetime | None) -> Span | None:
    start_m, end_m = _STAMP.match(str(obj.get("start") or "")), _STAMP.match(str(obj.get("end") or ""))
    if start_m is None:
        return None
    tz = start_m.group(1)
    try:
        start = datetime.strptime(start_m.group(2), "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    lengths = []
    if end_m is not None and end_m.group(1) == tz:
        try:
            length = wall_seconds(start, datetime.strptime(end_m.group(2), "%Y%m%dT%H%M%S"))
        except ValueError:
            length = 0
        if length <= 0:  # an end before its start reads as the time of day it ends, the next day
            length %= DAY
        lengths.append(length)
    try:
        lengths.append(float(str(obj.get("duration")).strip()))
    except ValueError:
        pass
    positive = [n for n in lengths if n > 0]
    if not positive:
        return None
    rule = _rule(obj.get("repeatRule"))
    if "UNTIL" in rule or "COUNT" in rule:
        return None
    days = rrule_days(rule["BYDAY"]) if rule.get("BYDAY") else None
    if rule.get("BYDAY") and days is None:
        return None
    return weekly_span(tz, start, min(positive), rule.get("FREQ", ""), rule.get("INTERVAL", "1"), days, now=now)


def piece_of(obj: Mapping[str, Any], *, now: datetime | None = None) -> Piece:
    """What one freeze window blocks, as a piece (see the module docstring)."""
    items = [i.strip() for i in str(obj.get("ipList") or "").replace("\n", ",").split(",") if i.strip()]
    addresses = AddressSet.everything() if _true(obj.get("allIPs")) else AddressSet.parse_known(items)[0]
    span = _span(obj, now) if _true(obj.get("enabled")) else None
    return make_piece(addresses.items(), span=span, description=str(obj.get("description") or ""))
