"""ISO 8601 durations as the console writes them ("PT0S", "PT0.5S", "PT2M"), both ways."""

from __future__ import annotations

import re
from decimal import Decimal

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T?(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$", re.IGNORECASE
)


def parse_duration_ms(text: str) -> int:
    """Milliseconds of an ISO 8601 duration; tolerant of the spec's own "P30S" (no T).
    Raises ValueError for anything else."""
    m = _DURATION.match(str(text).strip())
    if not m or not any(m.groupdict().values()):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT0.5S")
    seconds = Decimal(m.group("s").replace(",", ".")) if m.group("s") else Decimal(0)
    seconds += int(m.group("m") or 0) * 60 + int(m.group("h") or 0) * 3600 + int(m.group("d") or 0) * 86400
    return int((seconds * 1000).to_integral_value())


def format_duration_ms(ms: int) -> str:
    """The canonical form: "PT0S", "PT0.25S", "PT5S" (seconds only, no trailing zeros)."""
    if ms < 0:
        raise ValueError("a duration cannot be negative")
    seconds = Decimal(ms) / 1000
    text = format(seconds.normalize(), "f")
    return f"PT{text}S"
