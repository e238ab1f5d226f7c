"""Nessus port range text ("portscan_range", "port_range") both ways.

Nessus scans only the ports its range includes, for TCP and UDP alike, unless items carry a
"T:" or "U:" prefix (a prefix holds for the items after it, until the next one). "default" is
Nessus's own list of about 4,800 ports and "all" is 1-65535.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from scanguard import IntervalSet, PortSet

ALL = "1-65535"


@lru_cache(maxsize=1)
def default_ports() -> PortSet:
    """The ports behind "default" (tcp and udp alike), from the list a Tenable export spells out."""
    text = resources.files("scanguard_tenable_policy").joinpath("data/default_ports.txt").read_text(encoding="ascii")
    body = ",".join(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    tcp = PortSet.parse(body).tcp
    return PortSet(tcp, tcp)


def _items(iv) -> list[str]:
    return [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in iv.intervals]


def render_range(ports: PortSet) -> str:
    """The range text for exactly these ports: plain when only TCP is scanned, every item
    prefixed ("T:1-7099,T:7101-65535,U:53") when UDP ports are scanned too."""
    if not ports.udp:
        return ",".join(_items(ports.tcp))
    return ",".join([f"T:{i}" for i in _items(ports.tcp)] + [f"U:{i}" for i in _items(ports.udp)])


def parse_range(text: str | None) -> PortSet:
    """The ports a range text covers, per protocol. Raises ValueError naming a bad item."""
    if text is None:
        return default_ports()
    value = str(text).strip()
    if not value:
        return PortSet()
    tcp: list[tuple[int, int]] = []
    udp: list[tuple[int, int]] = []
    proto = "both"
    for raw in re.split(r"[,\s;]+", value):
        item = raw.strip()
        if not item:
            continue
        if item[:2].upper() in ("T:", "U:"):
            proto = "tcp" if item[0].upper() == "T" else "udp"
            item = item[2:].strip()
            if not item:
                continue
        if item.lower() == "default":
            got = default_ports()
        elif item.lower() == "all":
            got = PortSet.parse(f"{ALL},{ALL}/udp")
        else:
            try:
                one = PortSet.parse(item).tcp
            except ValueError as e:
                raise ValueError(f"port range {value[:80]!r}: {e}") from None
            got = PortSet(one, one)
        if proto in ("both", "tcp"):
            tcp.extend(got.tcp.intervals)
        if proto in ("both", "udp"):
            udp.extend(got.udp.intervals)
    return PortSet(IntervalSet(tcp), IntervalSet(udp))
