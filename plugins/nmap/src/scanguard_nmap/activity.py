"""nmap's activity, as scanguard saves it, parsed into a normalised timeline.

The saved log format (written by :mod:`scanguard_nmap.run`, version 1)::

    # scanguard-nmap activity v1
    # start 2026-11-26T12:52:00.123456+00:00
    # argv nmap -n -sT -Pn -p T:7000-7200 --packet-trace -d -oX scan.xml 127.0.0.23
    2026-11-26T12:52:00.171234+00:00 Starting Nmap 7.93 ( https://nmap.org ) at 2026-11-26 12:52 UTC
    2026-11-26T12:52:00.230001+00:00 CONN (0.0520s) TCP localhost > 127.0.0.23:7100 => Operation now in progress

Header lines start with ``# ``; every other line is the ISO-8601 time the line arrived (UTC,
microseconds), one space, and nmap's line exactly as printed (``--packet-trace`` and ``-d``).

Times: nmap stamps its packet-trace lines with seconds since it started (``SENT (0.0512s)``,
``NSOCK INFO [41.1380s]``). An event's time is ``start + relative`` when its line carries one;
lines without a relative time (``NSE: Starting x against h:p.``, ``Service scan sending
probe``) take the arrival time. Arrival times are exact only because the runner reads nmap
through a pseudo-terminal (nmap line-buffers there; through a pipe it buffers whole blocks).

Version detection: each ``Service scan sending probe <name> to <host>:<port>`` is a probe event
naming the probe (``probe``). nmap's own signal that a service stopped answering while it was
being probed (``Got nsock CONNECT response with status ERROR - aborting this service``: the
next probe's connection was refused) is a ``lost`` event on the port of the service probed last,
naming the probe that was in flight there. nmap prints that line without an address, so the
port is exact when one service is probed at a time (a trial's checks run port by port).

Phases: ``discovery`` for host-discovery probes (ICMP echo, ``-PS``/``-PU`` pings, before the
port scan), ``portscan`` for SYN/connect/UDP probes to ports, ``service`` for ``-sV`` probes,
``check`` for NSE scripts (``NSE: Starting <script> against <host>[:<port>].`` and
``NSE: Finished ...``). The phase comes from nmap's ``Initiating <X> at HH:MM`` lines.

The parser streams (one line at a time) and skips every line it does not know (hex dumps, the
bodies of responses NSE traces, nmap's report), so a log cut short by an early stop parses.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import IO, Iterable, Iterator

from scanguard import ActivityEvent

VENDOR = "nmap"
FORMAT_HEADER = "# scanguard-nmap activity v1"

_ADDR = r"(?:\d{1,3}(?:\.\d{1,3}){3}|\[?[0-9A-Fa-f:]+\]?)"
_SENT = re.compile(
    rf"^SENT \((?P<rel>\d+(?:\.\d+)?)s\) (?P<proto>TCP|UDP|SCTP) (?:\S+) > (?P<host>{_ADDR}):(?P<port>\d+)\s*(?P<rest>.*)$"
)
_SENT_ICMP = re.compile(
    rf"^SENT \((?P<rel>\d+(?:\.\d+)?)s\) ICMP \[?\s*(?:\S+) > (?P<host>{_ADDR}) (?P<rest>.*)$"
)
_SENT_ARP = re.compile(rf"^SENT \((?P<rel>\d+(?:\.\d+)?)s\) ARP who-has (?P<host>{_ADDR})(?P<rest>.*)$")
_CONN = re.compile(
    rf"^CONN \((?P<rel>\d+(?:\.\d+)?)s\) (?P<proto>TCP|UDP|SCTP) (?:\S+) > (?P<host>{_ADDR}):(?P<port>\d+) => (?P<result>.*)$"
)
_NSOCK_CONNECT = re.compile(
    rf"^NSOCK INFO \[(?P<rel>\d+(?:\.\d+)?)s\] nsock_connect_(?:tcp|udp|sctp|ssl)\(\): "
    rf"(?P<proto>TCP|UDP|SCTP|SSL) connection requested to (?P<host>{_ADDR}):(?P<port>\d+)"
)
_REL_ANY = re.compile(r"^(?:NSOCK \w+ \[|SENT \(|RCVD \(|CONN \()(?P<rel>\d+(?:\.\d+)?)s[\])]")
_SERVICE_PROBE = re.compile(
    rf"^Service scan sending probe (?P<probe>\S+) to (?P<host>{_ADDR}):(?P<port>\d+) \((?P<proto>tcp|udp)\)"
)
_NSE = re.compile(
    rf"^NSE: (?P<what>Starting|Finished) (?P<script>[A-Za-z0-9_.-]+) against (?P<host>{_ADDR})(?::(?P<port>\d+))?\.?$"
)
_NSE_ERROR = re.compile(
    rf"^NSE: (?P<script>[A-Za-z0-9_.-]+) against (?P<host>{_ADDR})(?::(?P<port>\d+))? threw an error"
)
_ABORTED = re.compile(r"^Got nsock (?P<op>CONNECT|WRITE|READ) response with status (?P<status>\S+) - aborting this service")
_INITIATING = re.compile(r"^Initiating (?P<what>.+?) at \d")
_LINE = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (?P<text>.*)$")


def phase_of(initiating: str) -> str:
    """The phase an ``Initiating <what>`` line starts."""
    w = initiating.lower()
    if "ping" in w:
        return "discovery"
    if w.startswith("service"):
        return "service"
    if w.startswith("nse") or "script" in w:
        return "check"
    if "scan" in w and not any(x in w for x in ("dns", "os ", "traceroute")):
        return "portscan"
    return "other"


def format_line(arrived: datetime, text: str) -> str:
    """One line of the saved log (without the newline)."""
    return f"{arrived.astimezone(timezone.utc).isoformat(timespec='microseconds')} {text}"


def format_header(start: datetime, argv: Iterable[str]) -> list[str]:
    """The header lines of a saved log."""
    import shlex

    return [FORMAT_HEADER, f"# start {start.astimezone(timezone.utc).isoformat(timespec='microseconds')}",
            f"# argv {shlex.join(list(argv))}"]


def _host(text: str) -> str:
    return text.strip("[]")


def parse_activity(stream: IO[str]) -> Iterator[ActivityEvent]:
    """nmap activity events from a saved log (see the module docstring for the format), oldest
    first as nmap printed them. Unknown lines are skipped."""
    start: datetime | None = None
    phase = "discovery"  # nmap discovers hosts before anything else
    pending: set[tuple[str, int]] = set()  # connects seen "in progress", so a result is not a second probe
    last_service: tuple[str, int, str, str] | None = None  # host, port, protocol, probe: the last probe sent
    for raw in stream:
        line = raw.rstrip("\r\n")
        if line.startswith("# "):
            if line.startswith("# start "):
                start = _parse_time(line[len("# start "):].strip())
            continue
        m = _LINE.match(line)
        if not m:
            continue
        arrived = _parse_time(m.group("ts"))
        if arrived is None:
            continue
        text = m.group("text")

        rel_m = _REL_ANY.match(text)
        when = start + timedelta(seconds=float(rel_m.group("rel"))) if (rel_m and start) else arrived

        def ev(**kw) -> ActivityEvent:
            return ActivityEvent(time=when, vendor=VENDOR, detail=text[:300], **kw)

        if (mi := _INITIATING.match(text)) is not None:
            phase = phase_of(mi.group("what"))
            continue
        if (ms := _SENT.match(text)) is not None:
            proto = ms.group("proto").lower()
            yield ev(host=_host(ms.group("host")), port=int(ms.group("port")),
                     protocol=proto if proto in ("tcp", "udp") else None, phase=_probe_phase(phase), kind="probe")
            continue
        if (ms := _SENT_ICMP.match(text)) is not None:
            yield ev(host=_host(ms.group("host")), protocol="icmp",
                     phase="discovery" if phase in ("discovery", "other") else phase, kind="probe")
            continue
        if (ms := _SENT_ARP.match(text)) is not None:
            yield ev(host=_host(ms.group("host")), protocol="arp", phase="discovery", kind="probe")
            continue
        if (mc := _CONN.match(text)) is not None:
            key = (_host(mc.group("host")), int(mc.group("port")))
            proto = mc.group("proto").lower()
            in_progress = "in progress" in mc.group("result").lower()
            if in_progress:
                pending.add(key)
                kind = "probe"
            elif key in pending:
                pending.discard(key)
                kind = "info"  # the outcome of a connect already counted
            else:
                kind = "probe"  # connected (or refused) at once: still one probe
            yield ev(host=key[0], port=key[1], protocol=proto if proto in ("tcp", "udp") else None,
                     phase=_probe_phase(phase), kind=kind)
            continue
        if (mn := _NSOCK_CONNECT.match(text)) is not None:
            proto = mn.group("proto").lower()
            yield ev(host=_host(mn.group("host")), port=int(mn.group("port")),
                     protocol="udp" if proto == "udp" else "tcp",
                     phase=phase if phase in ("service", "check") else "service", kind="probe")
            continue
        if (mp := _SERVICE_PROBE.match(text)) is not None:
            last_service = (_host(mp.group("host")), int(mp.group("port")), mp.group("proto"), mp.group("probe"))
            yield ev(host=last_service[0], port=last_service[1], protocol=last_service[2],  # type: ignore[arg-type]
                     check_name=f"service probe {last_service[3]}", probe=last_service[3], phase="service",
                     kind="probe")
            continue
        if _ABORTED.match(text) is not None:
            if last_service is not None:
                yield ev(host=last_service[0], port=last_service[1], protocol=last_service[2],  # type: ignore[arg-type]
                         check_name=f"service probe {last_service[3]}", probe=last_service[3], phase="service",
                         kind="lost")
            continue
        if (me := _NSE.match(text)) is not None:
            port = me.group("port")
            yield ev(host=_host(me.group("host")), port=int(port) if port else None, protocol="tcp" if port else None,
                     check_id=me.group("script"), check_name=me.group("script"), phase="check",
                     kind="start" if me.group("what") == "Starting" else "finish")
            continue
        if (mx := _NSE_ERROR.match(text)) is not None:
            port = mx.group("port")
            yield ev(host=_host(mx.group("host")), port=int(port) if port else None, protocol="tcp" if port else None,
                     check_id=mx.group("script"), check_name=mx.group("script"), phase="check", kind="error")
            continue


def _probe_phase(phase: str) -> str:
    # a packet belongs to the phase nmap announced last: pings are discovery, the port scan's
    # probes portscan; NSE and OS detection send raw packets too, and those stay in their phase
    return phase


def _parse_time(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
