"""Built-in health sources: a timeline CSV file, and live TCP-connect heartbeats."""

from __future__ import annotations

import time
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

from ..errors import UsageError
from ..health import probe_tcp, read_csv
from ..hookspecs import hookimpl
from ..model.events import HealthEvent
from ..plugin.records import HealthSource


def read_tcp(spec: str) -> Iterator[HealthEvent]:
    """Heartbeats from a spec "HOST:PORT[?count=N&interval=S&timeout=S]": `count` probes
    (default 1) `interval` seconds apart (default 1), each a TCP connect."""
    parts = urlsplit("//" + spec)
    query = parse_qs(parts.query)
    try:
        host, port = parts.hostname, parts.port
        count = int(query.get("count", ["1"])[0])
        interval = float(query.get("interval", ["1"])[0])
        timeout = float(query.get("timeout", ["1"])[0])
    except ValueError as e:
        raise UsageError(f"tcp health source {spec!r}: {e}; expected HOST:PORT[?count=N&interval=S&timeout=S]") from None
    if not host or port is None or count < 1 or interval < 0 or timeout <= 0:
        raise UsageError(f"tcp health source {spec!r}: expected HOST:PORT[?count=N&interval=S&timeout=S]")
    for i in range(count):
        if i:
            time.sleep(interval)
        yield probe_tcp(host, port, timeout_s=timeout)


@hookimpl
def scanguard_health_sources() -> list[HealthSource]:
    """A CSV timeline file ("csv") and live TCP heartbeats ("tcp")."""
    return [
        HealthSource(name="csv", read=read_csv,
                     description="a timeline CSV file: time,host,state,source,detail (ISO-8601 times with zone)"),
        HealthSource(name="tcp", read=read_tcp,
                     description="TCP-connect heartbeats: HOST:PORT[?count=N&interval=S&timeout=S]"),
    ]
