"""Scan windows: weekdays and a time range in an IANA time zone."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator

from ..suggest import hint
from .base import Model

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
        items = [v] if isinstance(v, str) else list(v)  # type: ignore[arg-type]
        out = []
        for d in items:
            key = str(d).strip().lower()[:3]
            if key not in WEEKDAYS:
                raise ValueError(f"unknown weekday {d!r}{hint(str(d).strip().lower(), WEEKDAYS)} (use mon, tue, ... sun)")
            out.append(key)
        return tuple(sorted(set(out), key=WEEKDAYS.index))

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
