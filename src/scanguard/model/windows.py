"""Scan windows: weekdays and a time range in an IANA time zone."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator

from ..suggest import hint
from .base import Model, describe

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {name: day for day, full in zip(WEEKDAYS, ("monday", "tuesday", "wednesday", "thursday", "friday",
                                                        "saturday", "sunday")) for name in (day, full)}
_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?")


def parse_clock(value: object) -> time:
    """A time of day written "22:00" or "06:30:15" (24-hour clock). A number is refused: YAML 1.1
    reads an unquoted 22:00 as 79200 (base 60), and seconds since midnight are nobody's clock."""
    if isinstance(value, time):
        return value
    m = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"{describe(value)} is not a time of day: write it like 22:00 or 06:30 (24-hour clock)")
    return time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


class ScanWindow(Model):
    """When scanning is allowed: on these weekdays, from start to end (may wrap past midnight),
    in the time zone tz. A window that wraps belongs to the weekday on which it starts."""

    days: tuple[str, ...] = WEEKDAYS
    start: time = time(0, 0)
    end: time = time(23, 59, 59)
    tz: str = "UTC"

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, v: object) -> tuple[str, ...]:
        if not isinstance(v, (str, list, tuple)):
            raise ValueError("expected weekdays, like [mon, tue] or sat")
        out = []
        for d in [v] if isinstance(v, str) else v:
            key = _DAY_NAMES.get(d.strip().lower()) if isinstance(d, str) else None
            if key is None:
                raise ValueError(f"unknown weekday {d!r}{hint(str(d).strip().lower(), _DAY_NAMES)} (use mon, tue, "
                                 "... sun)")
            out.append(key)
        return tuple(sorted(set(out), key=WEEKDAYS.index))

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, v: object) -> time:
        return parse_clock(v)

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin)") from None
        return v

    def contains(self, when: datetime) -> bool:
        """True when the instant `when` (timezone-aware) falls in this window."""
        local = when.astimezone(ZoneInfo(self.tz))
        t = local.timetz().replace(tzinfo=None)
        day = WEEKDAYS[local.weekday()]
        prev = WEEKDAYS[(local.weekday() - 1) % 7]
        if self.start <= self.end:
            return day in self.days and self.start <= t <= self.end
        # wraps past midnight: the late part belongs to today, the early part to yesterday
        return (day in self.days and t >= self.start) or (prev in self.days and t <= self.end)

    def text(self) -> str:
        """"mon,tue 22:00-05:00 Europe/Berlin"."""
        return f"{','.join(self.days)} {self.start:%H:%M}-{self.end:%H:%M} {self.tz}"


WindowSet = frozenset[ScanWindow]
"""Alternatives: scanning is allowed when any window in the set contains the instant."""


def allowed_at(window_sets: frozenset[WindowSet], when: datetime) -> bool:
    """Every set must allow the instant (sets intersect; windows within a set are alternatives)."""
    return all(any(w.contains(when) for w in ws) for ws in window_sets if ws)
