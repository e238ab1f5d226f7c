"""Tenable VM's exclusions (`/exclusions`) as pieces of scanguard's exclusion documents.

An exclusion holds `members` (one string: hosts, CIDRs, ranges, host names, comma-separated) and a
`schedule`: `{"enabled": false}` is in force always ("always active"); an enabled schedule is in
force from `starttime` to `endtime` (wall-clock, "YYYY-MM-DD HH:MM:SS", in `timezone`), repeated by
`rrules` {"freq": ONETIME | DAILY | WEEKLY | MONTHLY | YEARLY, "interval", "byweekday": "MO,WE",
"bymonthday"} (recorded: ../shared/fixtures/tenableio/exclusions_*.json). An exclusion has no
ports.

Read conservatively: host names block no address; a schedule that is missing or cannot be read
blocks nothing; only a daily or weekly rule repeated every week, already started, counts
(`scanguard_tenable_policy.exclusion.weekly_span`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping

from scanguard import AddressSet
from scanguard_tenable_policy.exclusion import RRULE_DAYS, Piece, Span, make_piece, rrule_days, wall_seconds, weekly_span

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
NAME_PREFIX = "scanguard "


def schedule_of(piece: Piece) -> dict[str, Any]:
    """The `schedule` object of one piece."""
    if piece.always or piece.span is None:
        return {"enabled": False}
    span: Span = piece.span
    start = span.first_start()
    rrules: dict[str, Any] = {"freq": "DAILY", "interval": 1} if span.every_day else {
        "freq": "WEEKLY", "interval": 1, "byweekday": ",".join(RRULE_DAYS[d] for d in span.days)}
    return {"enabled": True, "starttime": start.strftime(TIME_FORMAT),
            "endtime": (start + timedelta(seconds=span.seconds)).strftime(TIME_FORMAT),
            "timezone": span.tz, "rrules": rrules}


def body_of(name: str, piece: Piece) -> dict[str, Any]:
    """The body of `POST /exclusions` for one piece of the document `name`."""
    return {"name": NAME_PREFIX + name, "members": ",".join(piece.members), "description": piece.description,
            "schedule": schedule_of(piece)}


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in ("true", "1", "yes") else False if text in ("false", "0", "no") else None


def _span(schedule: Mapping[str, Any], now: datetime | None) -> Span | None:
    rrules = schedule.get("rrules")
    if not isinstance(rrules, Mapping) or any(rrules.get(k) not in (None, "") for k in ("until", "count")):
        return None
    try:
        start = datetime.strptime(str(schedule.get("starttime")), TIME_FORMAT)
        end = datetime.strptime(str(schedule.get("endtime")), TIME_FORMAT)
    except ValueError:
        return None
    days = rrule_days(rrules.get("byweekday")) if rrules.get("byweekday") else None
    if rrules.get("byweekday") and days is None:
        return None
    return weekly_span(str(schedule.get("timezone") or ""), start, wall_seconds(start, end), str(rrules.get("freq")),
                       rrules.get("interval", 1), days, now=now)


def piece_of(obj: Mapping[str, Any], *, now: datetime | None = None) -> Piece:
    """What one exclusion blocks, as a piece: its addresses, always or during one span, or
    neither (nothing the weekly schedule can count on)."""
    members = obj.get("members")
    items = members if isinstance(members, list) else str(members or "").split(",")
    addresses, _names = AddressSet.parse_known([str(i).strip() for i in items if str(i).strip()])
    schedule = obj.get("schedule")
    always, span = False, None
    if isinstance(schedule, Mapping):
        enabled = _flag(schedule.get("enabled"))
        if enabled is False:
            always = True
        elif enabled is True:
            span = _span(schedule, now)
    return make_piece(addresses.items(), always=always, span=span, description=str(obj.get("description") or ""))
