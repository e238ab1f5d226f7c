"""Recorded timelines for the correlator tests, written in each vendor's own log format.

nmap: the saved activity format of scanguard_nmap (parsed by the nmap plugin).
Nessus: nessusd.messages lines with log_whole_attack on; GVM: openvas.log; InsightVM: the scan
log. Each is parsed by its vendor plugin's own activity parser, as `scanguard correlate --vendor`
does.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from typing import Iterable

from scanguard import ActivityEvent, HealthEvent
from scanguard.health import csv_text, iter_csv

T0 = datetime(2026, 11, 26, 2, 0, 0, tzinfo=timezone.utc)
HOST = "127.0.0.23"


def at(seconds: float) -> datetime:
    """T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


# -- health ----------------------------------------------------------------------------------------
def health(states: Iterable[tuple[float, str]], host: str = HOST) -> tuple[HealthEvent, ...]:
    """A health timeline, through its CSV form (what `--health` reads)."""
    events = [HealthEvent(time=at(s), host=host, state=st, source="tcp") for s, st in states]  # type: ignore[arg-type]
    return tuple(iter_csv(io.StringIO(csv_text(events)), "health.csv"))


def dies_at(seconds: float, host: str = HOST) -> tuple[HealthEvent, ...]:
    """Up every second until just before `seconds`, down from then on."""
    ups = [(s, "up") for s in range(0, int(seconds))]
    return health([*ups, (seconds, "down"), (seconds + 1, "down")], host)


# -- nmap (saved activity format) ---------------------------------------------------------------------
def nmap_log(lines: Iterable[tuple[float, str]], start: datetime = T0) -> str:
    """A saved nmap activity log: (relative seconds, nmap line) pairs. Lines that carry nmap's
    own relative time should agree with their offset."""
    out = ["# scanguard-nmap activity v1", f"# start {start.isoformat(timespec='microseconds')}",
           "# argv nmap -n -sT -Pn -p T:7000-7200 --packet-trace -d -oX scan.xml 127.0.0.23"]
    for rel, text in lines:
        out.append(f"{(start + timedelta(seconds=rel)).isoformat(timespec='microseconds')} {text}")
    return "\n".join(out) + "\n"


def nmap_connects(ports: Iterable[int], start_s: float, step_s: float, host: str = HOST) -> list[tuple[float, str]]:
    """A connect scan's packet-trace lines, one port every `step_s` seconds."""
    out = [(start_s - 0.001, "Initiating Connect Scan at 02:00")]
    t = start_s
    for p in ports:
        out.append((t, f"CONN ({t:.4f}s) TCP localhost > {host}:{p} => Operation now in progress"))
        out.append((t, f"CONN ({t:.4f}s) TCP localhost > {host}:{p} => Connection refused"))
        t += step_s
    return out


# -- Nessus nessusd.messages ---------------------------------------------------------------------------
def nessus_line(seconds: float, plugin: str, plugin_id: int, what: str, host: str = HOST) -> str:
    """One nessusd.messages line with log_whole_attack on."""
    stamp = at(seconds).strftime("%a %b %d %H:%M:%S %Y")
    return f"[{stamp}][4711.1][user=vm-team][name=pharmacy weekly][target={host}][plugin={plugin}][plugin_id={plugin_id}] : {what}"


def nessus_events(text: str) -> list[ActivityEvent]:
    """nessusd.messages lines as events, through the Nessus plugin's parser (times are UTC here)."""
    from scanguard_nessus.activity import parse_messages

    return list(parse_messages(io.StringIO(text), tz=timezone.utc))


# -- GVM openvas.log --------------------------------------------------------------------------------------
def gvm_launch(seconds: float, nvt: str, oid: str, host: str = HOST) -> str:
    """An openvas.log "Launching" line."""
    return f"libgvm misc:MESSAGE:{at(seconds):%Y-%m-%d %H:%M:%S}.000 UTC: Launching {nvt} ({oid}) against {host} [3141]"


def gvm_finish(seconds: float, nvt: str, oid: str, host: str = HOST, took: float = 1.0) -> str:
    """An openvas.log "finished its job" line."""
    return (f"libgvm misc:MESSAGE:{at(seconds):%Y-%m-%d %H:%M:%S}.000 UTC: {nvt} ({oid}) against {host} [3141] "
            f"finished its job in {took:.2f} seconds")


def gvm_events(text: str) -> list[ActivityEvent]:
    """openvas.log lines as events, through the GVM plugin's parser."""
    from scanguard_gvm.activity import parse_activity

    return list(parse_activity(io.StringIO(text)))


# -- InsightVM scan log ------------------------------------------------------------------------------------
def insightvm_line(seconds: float, port: int, message: str, host: str = HOST, level: str = "INFO") -> str:
    """One InsightVM scan-log line about host:port."""
    return (f"{at(seconds):%Y-%m-%dT%H:%M:%S} [{level}] [Thread: Scan default:12-1] [Site: Pharmacy] "
            f"[{host}:{port}/TCP] {message}")


def insightvm_events(text: str) -> list[ActivityEvent]:
    """InsightVM scan-log lines as events, through the InsightVM plugin's parser (times are UTC here)."""
    from scanguard_insightvm.activity import parse_activity

    return [e if e.time.tzinfo else e.model_copy(update={"time": e.time.replace(tzinfo=timezone.utc)})
            for e in parse_activity(io.StringIO(text))]


def nmap_version_scan(port: int, probes: list[str], start_s: float, step_s: float, *, aborted: bool = False,
                      scripts_after: int = 0, scripts_port: int | None = None, host: str = HOST) -> list[tuple[float, str]]:
    """nmap's version detection on one port, probe after probe (`-d` lines), the last probe being
    the one the device dies on; with `aborted`, nmap's own "aborting this service" right after
    it; then `scripts_after` NSE scripts starting within milliseconds (the aftermath a health
    probe is too slow to tell apart), on `scripts_port` (default: the same port)."""
    out = [(start_s - 0.001, "Initiating Service scan at 02:00")]
    t = start_s
    for probe in probes:
        out.append((t, f"Service scan sending probe {probe} to {host}:{port} (tcp)"))
        t += step_s
    t -= step_s
    if aborted:
        out.append((t + 0.0005, "Got nsock CONNECT response with status ERROR - aborting this service"))
    if scripts_after:
        out.append((t + 0.001, "Initiating NSE at 02:00"))
        for i in range(scripts_after):
            out.append((t + 0.002 + i * 0.002, f"NSE: Starting script-{i} against {host}:{scripts_port or port}."))
    return out
