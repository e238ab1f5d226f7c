"""InsightVM scan logs as ActivityEvents, streamed line by line.

A scan log line reads

    2024-03-05T02:14:07 [INFO] [Thread: VulnerabilityCheckContext-3] [Site: Payments] [10.1.2.3:7100/TCP] message

with the bracketed fields optional after the level. Lines with no host (scan-wide messages),
continuation lines (stack traces) and lines of any other shape are skipped, never fatal: a log
is evidence, and one odd line must not hide the rest. The message says the phase (discovery,
port scan, service fingerprinting, vulnerability check) and whether a step starts or ends; the
words looked for are in PHASE_WORDS and KIND_WORDS.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import IO, Iterator

from scanguard import ActivityEvent

LINE = re.compile(
    r"^(?P<time>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,6})?(?:Z|[+-]\d{2}:?\d{2})?)\s+"
    r"\[(?P<level>[A-Z]+)\]\s*(?P<rest>.*)$"
)
BRACKET = re.compile(r"^\[(?P<body>[^\[\]]*)\]\s*")
ENDPOINT = re.compile(r"^(?P<host>[0-9A-Fa-f.:]+?|[A-Za-z0-9._-]+):(?P<port>\d{1,5})(?:/(?P<proto>[A-Za-z]+))?$")
IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
CHECK_ID = re.compile(
    r"\b(?:vulnerability\s+)?check\s+(?:id\s+)?[\"'(]?(?P<id>[A-Za-z0-9][A-Za-z0-9._:-]*-[A-Za-z0-9._:-]+)", re.IGNORECASE
)

PHASE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("check", ("vulnerability check", "vuln check", "check ", "exploit", "vulnerable")),
    ("service", ("service", "fingerprint", "banner")),
    ("portscan", ("port scan", "tcp port", "udp port", "open port", "ports open", "syn scan", "portscan")),
    ("discovery", ("discover", "alive", "ping", "arp", "icmp", "host is up", "host is down", "dead")),
)
"""Phase -> words that mark it in a message, tried in this order."""
KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("error", ("error", "failed", "failure", "exception", "timed out", "timeout", "unreachable", "refused")),
    ("finish", ("finished", "completed", "complete", "done", "ended", "stopped")),
    ("start", ("starting", "started", "start ", "launching", "executing", "running", "beginning", "sending")),
)
"""Kind -> words that mark it, tried in this order (an error is an error even when it finishes)."""


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace(",", ".").replace("Z", "+00:00"))
    except ValueError:
        return None


def _classify(message: str, level: str) -> tuple[str, str]:
    low = message.lower() + " "
    phase = next((p for p, words in PHASE_WORDS if any(w in low for w in words)), "other")
    if level in ("ERROR", "FATAL", "SEVERE"):
        kind = "error"
    else:
        default = "probe" if phase != "other" else "info"
        kind = next((k for k, words in KIND_WORDS if any(w in low for w in words)), default)
    return phase, kind


def parse_line(line: str) -> ActivityEvent | None:
    """One log line as an event, or None when it is not an event about a host."""
    m = LINE.match(line.strip())
    if not m:
        return None
    when = _time(m.group("time"))
    if when is None:
        return None
    level, rest = m.group("level"), m.group("rest")
    fields: dict[str, str] = {}
    host = port = proto = None
    while True:
        b = BRACKET.match(rest)
        if not b:
            break
        body = b.group("body").strip()
        rest = rest[b.end():]
        key, sep, value = body.partition(":")
        ep = ENDPOINT.match(body)
        if ep:  # "10.1.2.3:7100/TCP"; "Thread: x" and "Site: y" have a space after the colon
            host, port, proto = ep.group("host"), int(ep.group("port")), (ep.group("proto") or "").lower() or None
        elif sep and key.strip().isalpha():
            fields[key.strip().lower()] = value.strip()
        elif IPV4.fullmatch(body):
            host = body
    message = rest.strip()
    if host is None:
        host = fields.get("target") or fields.get("ip") or fields.get("host")
    if host is None:
        found = IPV4.search(message)
        host = found.group(0) if found else None
    if not host:
        return None
    if port is not None and not 1 <= port <= 65535:
        port = None
    phase, kind = _classify(message, level)
    if phase == "other" and port is not None:
        phase = "service"
    if proto is None and phase == "discovery":
        proto = next((p for p in ("icmp", "arp") if p in message.lower()), None)
    check = CHECK_ID.search(message) if phase == "check" else None
    return ActivityEvent(
        time=when,
        host=host,
        port=port,
        protocol=proto if proto in ("tcp", "udp", "icmp", "arp") else None,
        check_id=check.group("id") if check else None,
        phase=phase,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        vendor="insightvm",
        detail=message[:500],
    )


def parse_activity(stream: IO[str]) -> Iterator[ActivityEvent]:
    """Every host event of an InsightVM scan log, in file order (see the module docstring)."""
    for line in stream:
        event = parse_line(line)
        if event is not None:
            yield event
