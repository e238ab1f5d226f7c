"""nessusd.messages, written with `log_whole_attack`, into the normalised activity timeline.

With that setting Nessus logs each plugin it runs against each target:

    [Wed Jun 14 10:12:01 2023][1234.5][user=admin][name=Weekly][target=10.20.50.7][plugin=ping_host.nasl][plugin_id=10180] : Launching
    [Wed Jun 14 10:12:02 2023][1234.5][user=admin][name=Weekly][target=10.20.50.7][plugin=ping_host.nasl][plugin_id=10180] : Finished (took 0.87 seconds)

The reader streams line by line, accepts the bracketed fields in any order (and dates as Nessus
writes them or ISO 8601), and skips every line it does not understand: the file also holds scanner
start-up, feed and licence messages.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import IO, Iterator

from scanguard import ActivityEvent

_LINE = re.compile(r"^(?P<fields>(?:\[[^\]]*\])+)\s*:?\s*(?P<message>.*)$")
_FIELD = re.compile(r"\[([^\]]*)\]")
_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|msecs?|s|secs?|seconds?)\b", re.IGNORECASE)
_DATE_FORMATS = ("%a %b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%b/%Y:%H:%M:%S")
_PORTSCANNERS = ("nessus_syn_scanner", "nessus_tcp_scanner", "nessus_udp_scanner", "snmpwalk_portscan",
                 "netstat_portscan", "wmi_netstat", "portscan")


def _time(text: str) -> datetime | None:
    text = " ".join(text.split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def phase_of(plugin_file: str) -> str:
    """The scan phase a plugin file belongs to (ping -> discovery, port scanners -> portscan,
    service detection -> service, everything else -> check)."""
    f = plugin_file.lower()
    if f.startswith("ping_host"):
        return "discovery"
    if any(f.startswith(p) for p in _PORTSCANNERS):
        return "portscan"
    if f.startswith(("find_service", "service_detection", "ssl_supported", "nessus_tns")):
        return "service"
    return "check"


def _duration(message: str) -> float | None:
    m = _DURATION.search(message)
    if not m:
        return None
    n = float(m.group("n"))
    return n / 1000 if m.group("unit").lower().startswith("ms") else n


def parse_line(line: str, tz: tzinfo | None = None) -> ActivityEvent | None:
    """One log line as an event, or None when it is not a Launching/Finished plugin line."""
    m = _LINE.match(line.strip())
    if not m:
        return None
    message = m.group("message").strip()
    verb = message.split(None, 1)[0].lower() if message else ""
    if verb not in ("launching", "finished"):
        return None
    when: datetime | None = None
    kv: dict[str, str] = {}
    for field in _FIELD.findall(m.group("fields")):
        key, sep, value = field.partition("=")
        if sep:
            kv[key.strip().lower()] = value.strip()
        elif when is None:
            when = _time(field)
    target = kv.get("target") or kv.get("host")
    plugin = kv.get("plugin", "")
    if when is None or not target:
        return None
    if tz is not None and when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    port = kv.get("port")
    return ActivityEvent(
        time=when, host=target, port=int(port) if port and port.isdigit() and 0 < int(port) <= 65535 else None,
        protocol="tcp" if port and port.isdigit() else None,
        check_id=kv.get("plugin_id") or None, check_name=plugin or None, phase=phase_of(plugin),
        kind="start" if verb == "launching" else "finish", vendor="nessus",
        duration_s=_duration(message) if verb == "finished" else None, detail=kv.get("name", ""),
    )


def parse_messages(stream: IO[str], tz: tzinfo | None = None) -> Iterator[ActivityEvent]:
    """Every Launching/Finished event of a nessusd.messages stream, in file order."""
    for line in stream:
        if "aunching" not in line and "inished" not in line:  # cheap skip of the many other lines
            continue
        event = parse_line(line, tz)
        if event is not None:
            yield event
