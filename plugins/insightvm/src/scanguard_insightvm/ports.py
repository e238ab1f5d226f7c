"""Port lists as the console writes them, both ways.

The console's `additionalPorts` / `excludedPorts` hold single ports as numbers or strings and
ranges as strings ("7892-7898"); some consoles return the whole list as one CSV string
("7100,8000-8080"). We read either, write a canonical array (numbers for single ports, strings
for ranges), and when we write back an object we read, we keep the form it came in.
"""

from __future__ import annotations

from typing import Any, Literal

from scanguard import IntervalSet

PortListForm = Literal["array", "csv"]
FULL_RANGE = IntervalSet([(1, 65535)])


def _item(text: str) -> tuple[int, int]:
    lo_s, sep, hi_s = text.partition("-")
    try:
        lo, hi = int(lo_s), int(hi_s) if sep else int(lo_s)
    except ValueError:
        raise ValueError(f"{text!r} is not a port or a port range") from None
    if not (1 <= lo <= hi <= 65535):
        raise ValueError(f"{text!r} is not a port range within 1-65535")
    return lo, hi


def parse_port_list(value: Any) -> IntervalSet:
    """The ports of a console port list (array of numbers/strings, or a CSV string; None: empty)."""
    if value is None or value == "":
        return IntervalSet()
    items: list[Any] = [value] if isinstance(value, (str, int)) else list(value)
    out: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"{item!r} is not a port")
        if isinstance(item, int):
            out.append(_item(str(item)))
            continue
        for part in str(item).split(","):
            part = part.strip().replace(" ", "")
            if part:
                out.append(_item(part))
    return IntervalSet(out)


def port_list_form(value: Any) -> PortListForm:
    """Which form a console port list came in."""
    return "csv" if isinstance(value, str) else "array"


def format_port_list(ports: IntervalSet, form: PortListForm = "array") -> list[int | str] | str:
    """The canonical console form of a set of ports: [22, "7100-7200"] or "22,7100-7200"."""
    items: list[int | str] = [lo if lo == hi else f"{lo}-{hi}" for lo, hi in ports.intervals]
    if form == "csv":
        return ",".join(str(i) for i in items)
    return items


def canonical_port_list(value: Any) -> list[int | str]:
    """Any console port list in the canonical array form (for comparing documents)."""
    result = format_port_list(parse_port_list(value))
    assert isinstance(result, list)
    return result


def expand_ports(ports: IntervalSet) -> list[int]:
    """Every port, one by one: discovery `tcpPorts`/`udpPorts` take only integers."""
    return list(ports)

