"""The policy an nmap XML export (``-oX``) was made with: its recorded command line.

nmap writes the command line it ran as ``<nmaprun args="...">`` (quoted the way a shell reads it)
and, for each protocol it port-scanned, the ports themselves as ``<scaninfo services="...">``.
The command line is read with the same reader as any nmap command (scanguard_nmap.argv), and the
recorded ports replace what that reader would work out from nmap-services: they are what this
nmap actually scanned. The file is read through scanguard.safexml and only up to the first host.
"""

from __future__ import annotations

from pathlib import Path

from scanguard import IntervalSet, PortSet, ScanTemplate, UnsafeInput
from scanguard.safexml import iterparse

from .command import parse_argv

_STOP = frozenset({"host", "hosthint", "taskbegin", "prescript", "runstats"})


def _services(text: str, source: str) -> IntervalSet:
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        lo, _, hi = item.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"{source}: <scaninfo services> has {item!r}, not a port or a range") from None
        if not (0 <= a <= b <= 65535):
            raise ValueError(f"{source}: <scaninfo services> has the bad range {item!r}")
        if b >= 1:
            out.append((max(a, 1), b))  # port 0 cannot be named in a profile
    return IntervalSet(out)


def read_recorded_command(path: Path) -> ScanTemplate:
    """The neutral template of the command an nmap XML export records. ValueError when it records
    none (or one that cannot be judged); UnsafeInput for hostile or malformed XML."""
    source = str(path)
    args: str | None = None
    seen_root = False
    ports: dict[str, IntervalSet] = {}
    tcp_scan: str | None = None
    with path.open("rb") as f:
        for event, el in iterparse(f, source, events=("start", "end")):
            tag = el.tag if isinstance(el.tag, str) else ""
            if event == "start":
                if not seen_root:
                    seen_root = True
                    if tag != "nmaprun":
                        raise UnsafeInput(source, f"not an nmap XML file (root element <{tag}>)")
                    args = el.get("args")
                elif tag in _STOP:
                    break
                continue
            if tag == "scaninfo":
                proto = el.get("protocol", "")
                if proto == "tcp":
                    tcp_scan = el.get("type")
                if proto in ("tcp", "udp"):
                    ports[proto] = ports.get(proto, IntervalSet()) | _services(el.get("services", ""), source)
                elif proto:
                    raise ValueError(f"{source}: the scan probed {proto} ports, which scanguard cannot judge")
    if not args:
        raise ValueError(f"{source}: the export records no command line (<nmaprun args>), so the scan cannot be judged")
    recorded = PortSet(ports.get("tcp"), ports.get("udp")) if ports else None
    try:
        return parse_argv(args, "nmap-export", recorded_ports=recorded, recorded_tcp_scan=tcp_scan)
    except ValueError as e:
        raise ValueError(f"{source}: the recorded command {args[:200]!r}: {e}") from None
