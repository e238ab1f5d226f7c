"""openvas.log as a timeline of scanner activity.

openvas writes one line when it launches an NVT against a host and one when the NVT finishes,
each behind a log prefix with a timestamp:

    libgvm misc:MESSAGE:2024-05-06 10:11:12.123 UTC: Launching Ping Host (1.3.6.1.4.1.25623.1.0.100315) against 10.0.0.5 [4242]
    libgvm misc:MESSAGE:2024-05-06 10:11:14.001 UTC: Ping Host (1.3.6.1.4.1.25623.1.0.100315) [4242] finished its job in 1.877 seconds

Older openvas versions write the time as "2021-05-06 10h11.12 utc". A finish line that does not
name the host is matched to its launch line by the process id. Lines of any other shape are
skipped: the parser reads a live log, and a log is never entirely of one shape.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import IO, Iterator

from scanguard import ActivityEvent

from .vocabulary import NMAP_WRAPPER, PING_HOST

_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<h>\d{2})[:h](?P<m>\d{2})[:.](?P<s>\d{2})(?:[.,](?P<frac>\d{1,6}))?"
)
_AFTER_TIME = re.compile(r"^\s*(?:[A-Za-z]{2,5})?(?::\d+)?:\s*")  # " UTC: " or " utc:12345: "
_LAUNCH = re.compile(r"Launching (?P<name>.+?) \((?P<oid>[0-9.]+)\) against (?P<host>\S+) \[(?P<pid>\d+)\]")
_FINISH = re.compile(
    r"^(?P<name>.+?) \((?P<oid>[0-9.]+)\)(?: against (?P<host>\S+))? \[(?P<pid>\d+)\] finished its job in "
    r"(?P<secs>\d+(?:\.\d+)?) seconds"
)
PORT_SCANNERS = frozenset({NMAP_WRAPPER, "1.3.6.1.4.1.25623.1.0.10335", "1.3.6.1.4.1.25623.1.0.11219"})
"""OIDs of GVM's port scanners: the nmap wrapper, the OpenVAS TCP scanner and the SYN scanner."""


def _phase(oid: str) -> str:
    if oid == PING_HOST:
        return "discovery"
    if oid in PORT_SCANNERS:
        return "portscan"
    return "check"


def _time(line: str) -> tuple[datetime, int] | None:
    m = _TIME.search(line)
    if not m:
        return None
    frac = (m.group("frac") or "0").ljust(6, "0")
    # openvas logs in UTC unless told otherwise; an aware time keeps timelines comparable
    t = datetime.strptime(f"{m.group('date')} {m.group('h')}:{m.group('m')}:{m.group('s')}", "%Y-%m-%d %H:%M:%S")
    return t.replace(microsecond=int(frac), tzinfo=timezone.utc), m.end()


def parse_activity(stream: IO[str]) -> Iterator[ActivityEvent]:
    """ActivityEvents from an openvas.log text stream, one line at a time (see module docstring)."""
    hosts_by_pid: dict[str, str] = {}
    for line in stream:
        stamp = _time(line)
        if stamp is None:
            continue
        when, end = stamp
        message = line[end:]
        prefix = _AFTER_TIME.match(message)
        if prefix:
            message = message[prefix.end():]
        launch = _LAUNCH.search(message)
        if launch:
            hosts_by_pid[launch.group("pid")] = launch.group("host")
            oid = launch.group("oid")
            yield ActivityEvent(time=when, host=launch.group("host"), check_id=oid, check_name=launch.group("name"),
                                phase=_phase(oid), kind="start", vendor="gvm", detail=f"pid {launch.group('pid')}")
            continue
        finish = _FINISH.search(message)
        if finish:
            pid = finish.group("pid")
            host = finish.group("host") or hosts_by_pid.get(pid)
            hosts_by_pid.pop(pid, None)
            if host is None:
                continue  # the launch is outside this log: no host to place it on
            oid = finish.group("oid")
            yield ActivityEvent(time=when, host=host, check_id=oid, check_name=finish.group("name").strip(),
                                phase=_phase(oid), kind="finish", vendor="gvm", duration_s=float(finish.group("secs")),
                                detail=f"pid {pid}")
