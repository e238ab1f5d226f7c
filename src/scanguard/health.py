"""Device health: a TCP-connect heartbeat monitor that builds a timeline of HealthEvents, the
timeline's CSV form (for devices monitored elsewhere), and outages derived from a timeline.

ICMP probing is not offered: it needs raw sockets (root or CAP_NET_RAW), and a TCP connect to a
port the device is known to answer on is what scanners' own liveness checks do anyway.

On loopback the monitor connects from its own source address, :data:`LOOPBACK_OBSERVER`
(scanners connect from 127.0.0.1), so that whoever listens can tell the observer from the scan:
the test bed does not count the observer's connections to a device's heartbeat port toward its
rate and probe rules, and counts everything else (see docs/testbed.md).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Iterable, Iterator, Literal, Sequence

from pydantic import ValidationError

from .errors import ScanguardError
from .model.events import HealthEvent, Outage

CSV_COLUMNS = ("time", "host", "state", "source", "detail")
REQUIRED_COLUMNS = frozenset({"time", "host", "state"})
HealthState = Literal["up", "down", "degraded"]
LOOPBACK_OBSERVER = "127.0.0.254"
"""The source address of health probes to a 127.0.0.0/8 target (see the module docstring)."""


class HealthFileError(ScanguardError):
    """A health timeline file is unreadable or has a bad row; the message names file and line."""

    exit_code = 2


# -- probing ------------------------------------------------------------------------------------
def observer_source(host: str) -> str | None:
    """The source address health probes to `host` use: :data:`LOOPBACK_OBSERVER` for an IPv4
    loopback target, else None (the system's choice)."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    return LOOPBACK_OBSERVER if addr.version == 4 and addr.is_loopback else None


def probe_tcp(host: str, port: int, *, timeout_s: float = 1.0, source: str = "tcp",
              source_address: str | None = None) -> HealthEvent:
    """One heartbeat: up when a TCP connection to host:port completes within `timeout_s`
    (from `source_address` when given).

    The event's time is when the answer came (connected, refused, timed out): the state is
    true at that instant, so an outage never starts before the failure that caused it."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s,
                                      source_address=(source_address, 0) if source_address else None):
            when = datetime.now(timezone.utc)
    except OSError as e:
        when = datetime.now(timezone.utc)
        reason = "timed out" if isinstance(e, (socket.timeout, TimeoutError)) else (e.strerror or str(e))
        return HealthEvent(time=when, host=host, state="down", source=source, detail=f"tcp/{port}: {reason}")
    return HealthEvent(time=when, host=host, state="up", source=source, detail=f"tcp/{port}: connected")


class HealthMonitor:
    """Probes one host's heartbeat port every `interval_s` seconds in a background thread and
    keeps the timeline. With `changes_only`, only the first observation and each change of state
    are kept (a long watch then stays small; outages lose their `last_up` precision).
    `source_address` "auto" connects from :func:`observer_source` (None: the system's choice).

        with HealthMonitor("127.0.0.23", 443, interval_s=0.1) as mon:
            ...
            mon.wait_for("down", timeout_s=5)
        outages(mon.timeline())
    """

    def __init__(self, host: str, port: int, *, interval_s: float = 1.0, timeout_s: float | None = None,
                 changes_only: bool = False, source: str = "tcp", source_address: str | None = "auto") -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.host = host
        self.port = port
        self.source_address = observer_source(host) if source_address == "auto" else source_address
        self.interval_s = interval_s
        self.timeout_s = timeout_s if timeout_s is not None else min(interval_s, 1.0)
        self.changes_only = changes_only
        self.source = source
        self._events: list[HealthEvent] = []
        self._last: HealthEvent | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def probe_once(self) -> HealthEvent:
        """Probe now, record the observation (unless changes_only hides it) and return it."""
        event = probe_tcp(self.host, self.port, timeout_s=self.timeout_s, source=self.source,
                          source_address=self.source_address)
        with self._cond:
            if not (self.changes_only and self._events and self._events[-1].state == event.state):
                self._events.append(event)
            self._last = event
            self._cond.notify_all()
        return event

    def start(self) -> "HealthMonitor":
        """Start probing in a background thread (the first probe is immediate)."""
        if self._thread is not None:
            raise RuntimeError("the monitor is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"health-{self.host}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> tuple[HealthEvent, ...]:
        """Stop probing; returns the timeline."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout_s + self.interval_s + 5)
            self._thread = None
        return self.timeline()

    def timeline(self) -> tuple[HealthEvent, ...]:
        """The observations so far, oldest first."""
        with self._cond:
            return tuple(self._events)

    def current(self) -> HealthState | None:
        """The state last observed (None before the first probe)."""
        with self._cond:
            return self._last.state if self._last is not None else None

    def wait_for(self, state: HealthState, timeout_s: float = 5.0) -> bool:
        """Wait until a probe observes `state`; False when `timeout_s` passed first."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._last is None or self._last.state != state:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def __enter__(self) -> "HealthMonitor":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.probe_once()
            # a fixed cadence, not interval-after-probe: a slow (timing out) probe does not stretch it
            next_at += self.interval_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))


# -- outages ------------------------------------------------------------------------------------
def outages(events: Iterable[HealthEvent]) -> list[Outage]:
    """The spans in which each host was down: from the first down observation to the next up one
    (end None when it was not seen up again), with the last up observation before. Degraded
    observations neither start nor end an outage. Sorted by start, then host."""
    by_host: dict[str, list[HealthEvent]] = {}
    for e in events:
        by_host.setdefault(e.host, []).append(e)
    found: list[Outage] = []
    for host, evs in by_host.items():
        last_up: datetime | None = None
        down_since: datetime | None = None
        for e in sorted(evs, key=lambda e: e.time):
            if e.state == "down" and down_since is None:
                down_since = e.time
            elif e.state == "up":
                if down_since is not None:
                    found.append(Outage(host=host, start=down_since, end=e.time, last_up=last_up))
                    down_since = None
                last_up = e.time
        if down_since is not None:
            found.append(Outage(host=host, start=down_since, end=None, last_up=last_up))
    return sorted(found, key=lambda o: (o.start, o.host))


# -- CSV ----------------------------------------------------------------------------------------
def write_csv(events: Iterable[HealthEvent], target: str | Path | IO[str]) -> None:
    """Write a timeline as CSV (columns time,host,state,source,detail; ISO-8601 times with
    their time zone) to a path or a text stream."""
    if isinstance(target, (str, Path)):
        with open(target, "w", newline="", encoding="utf-8") as f:
            write_csv(events, f)
        return
    w = csv.writer(target, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in events:
        w.writerow([e.time.isoformat(), e.host, e.state, e.source, e.detail])


def iter_csv(stream: IO[str], name: str = "<stream>") -> Iterator[HealthEvent]:
    """Read a timeline from CSV text, one event per row; HealthFileError naming `name` and the
    line of the first bad row. Columns time, host and state are required, source and detail
    optional; times must carry a time zone."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise HealthFileError(f"{name}:1: empty file; expected a header {','.join(CSV_COLUMNS)}") from None
    except csv.Error as e:
        raise HealthFileError(f"{name}:1: {e}") from None
    columns = [c.strip().lower() for c in header]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    missing = sorted(REQUIRED_COLUMNS - set(columns))
    if unknown or missing:
        what = (f"unknown column(s) {unknown}" if unknown else "") + ("; " if unknown and missing else "") + (
            f"missing column(s) {missing}" if missing else "")
        raise HealthFileError(f"{name}:1: {what}; expected {','.join(CSV_COLUMNS)}")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise HealthFileError(f"{name}:{reader.line_num}: {e}") from None
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise HealthFileError(f"{name}:{line}: {len(row)} values, expected {len(columns)} ({','.join(columns)})")
        yield _row_event(dict(zip(columns, (c.strip() for c in row))), name, line)


def _row_event(values: dict[str, str], name: str, line: int) -> HealthEvent:
    try:
        when = datetime.fromisoformat(values["time"])
    except ValueError:
        raise HealthFileError(f"{name}:{line}: time {values['time']!r} is not an ISO-8601 time") from None
    if when.tzinfo is None:
        raise HealthFileError(f"{name}:{line}: time {values['time']!r} has no time zone (add Z or +01:00)")
    try:
        return HealthEvent(time=when, host=values["host"], state=values["state"],  # type: ignore[arg-type]
                           source=values.get("source", ""), detail=values.get("detail", ""))
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"])
        raise HealthFileError(f"{name}:{line}: {field}: {err['msg']} (got {values.get(field, '')!r})") from None


def read_csv(path: str | Path) -> list[HealthEvent]:
    """Read a timeline CSV file; HealthFileError naming the file and line of a bad row."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(iter_csv(f, str(path)))
    except (OSError, UnicodeDecodeError) as e:
        raise HealthFileError(f"{path}: cannot read: {e}") from None


def csv_text(events: Sequence[HealthEvent]) -> str:
    """The CSV form of a timeline as a string."""
    buf = io.StringIO()
    write_csv(events, buf)
    return buf.getvalue()
