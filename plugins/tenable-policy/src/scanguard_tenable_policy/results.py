""".nessus v2 results, streamed: one HostResult per ReportHost, in bounded memory. Nessus, Tenable
Security Center and Tenable Vulnerability Management export scans in this one format.

lxml's iterparse hands over each <ReportHost> when it closes; the host is read and then cleared
together with everything before it, so memory holds one host at a time whatever the file's size.

Each host also carries the evidence that can tell what the device is (`evidence.py`): service
names, Service Detection, banners, the web server type, HTTP titles, certificate subjects, OS
Identification, Device Type and the CPE plugin; and `probed_ports`, the policy's port range when
a port scanner ran on the host (Nessus reports open ports only).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import IO, Iterator

from lxml import etree

from scanguard import HostResult, IntervalSet, PortSet

from scanguard.safexml import iterparse
from .portrange import parse_range

from .evidence import HANDLERS, PRODUCT_FAMILIES, evidence_of, host_evidence

DETAIL_LIMIT = 2000
"""Characters of plugin output kept per item (enough to read, bounded for huge exports)."""
_TIME_FORMAT = "%a %b %d %H:%M:%S %Y"
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_WANTED_TAGS = frozenset({"host-ip", "host-fqdn", "netbios-name", "mac-address", "operating-system", "cpe", "system-type"})
_WANTED_PREFIXES = ("HOST_", "cpe-")


def _time(tags: dict[str, str], name: str) -> datetime | None:
    stamp = tags.get(f"{name}_TIMESTAMP")
    if stamp and stamp.strip().isdigit():
        return datetime.fromtimestamp(int(stamp.strip()), tz=timezone.utc)
    text = tags.get(name)
    if not text:
        return None
    # "Tue Jun 25 10:32:42 2013", read by hand: strptime costs more than the rest of a host
    parts = text.split()
    try:
        _, mon, day, hms, year = parts
        h, m, s = hms.split(":")
        return datetime(int(year), _MONTHS[mon], int(day), int(h), int(m), int(s))
    except (ValueError, KeyError):
        try:
            return datetime.strptime(" ".join(parts), _TIME_FORMAT)
        except ValueError:
            return None


def _cpe(text: str) -> str:
    # tags read "cpe:/a:php:php:5.1.6 -> PHP PHP"
    return text.split(" -> ", 1)[0].strip()


def host_result(host: etree._Element, port_range: PortSet | None = None) -> HostResult:
    """One <ReportHost> element as a HostResult; `port_range`: the ports the scan's policy
    probes (None: unknown)."""
    tags: dict[str, str] = {}
    cpes: list[str] = []
    props = next(host.iterchildren("HostProperties"), None)
    for tag in props if props is not None else ():
        name = tag.get("name") or ""
        if name in _WANTED_TAGS or name.startswith(_WANTED_PREFIXES):
            text = (tag.text or "").strip()
            tags[name] = text
            if name.startswith("cpe"):
                cpes.append(_cpe(text))
    name = host.get("name") or ""
    address = tags.get("host-ip") or name
    hostname = tags.get("host-fqdn") or tags.get("netbios-name") or (name if name != address else None)
    mac = (tags.get("mac-address") or "").split()
    tcp: list[tuple[int, int]] = []
    udp: list[tuple[int, int]] = []
    items: list[dict] = []
    errors: list[str] = []
    evidence: list[dict] = []
    services: set[tuple[str, int, str]] = set()
    port_scanned = False
    # iterchildren filters by tag in C; iterfind/findtext would run ElementPath in Python per item
    for item in host.iterchildren("ReportItem"):
        a = item  # get() on the element: cheaper than building an attribute dict per item
        try:
            port = int(a.get("port", "0"))
        except ValueError:
            port = 0
        proto = (a.get("protocol") or "").lower()
        if 0 < port <= 65535:
            if proto == "tcp":
                tcp.append((port, port))
            elif proto == "udp":
                udp.append((port, port))
        # plugin_output is the last child in every export seen; look there before searching
        try:
            last = item[-1]
        except IndexError:
            last = None
        if last is not None and last.tag != "plugin_output":
            last = next(item.iterchildren("plugin_output"), None)
        output = (last.text or "") if last is not None else ""
        try:
            severity = int(a.get("severity", "0"))
        except ValueError:
            severity = 0
        plugin_id = a.get("pluginID")
        family = a.get("pluginFamily")
        svc = a.get("svc_name")
        if svc and port:
            services.add((svc, port, proto))
        if family == "Port scanners":
            port_scanned = True
        plugin_name = a.get("pluginName")
        if plugin_id in HANDLERS or (family in PRODUCT_FAMILIES and plugin_name and plugin_name.endswith(" Detection")):
            evidence.extend(evidence_of(plugin_id, plugin_name, family, output, port or None, proto or None))
        items.append({
            "port": port or None, "protocol": proto or None, "service": svc,
            "check_id": plugin_id, "check_name": plugin_name, "family": family,
            "severity": severity, "detail": output[:DETAIL_LIMIT],
        })
        if plugin_id == "21745":  # "OS Security Patch Assessment Failed" and kin: the scan was hampered
            errors.append(output[:200] or "local checks failed")
    # one validation call for the host and all its items: pydantic builds the ResultItems in its
    # core, several times faster than one ResultItem(...) per item
    return HostResult.model_validate({
        "address": address, "hostname": hostname, "mac": mac[0].upper() if mac else None,
        "os": tags.get("operating-system") or None, "cpes": tuple(dict.fromkeys(c for c in cpes if c)),
        "open_ports": PortSet(IntervalSet(tcp), IntervalSet(udp)), "start": _time(tags, "HOST_START"),
        "end": _time(tags, "HOST_END"), "items": items, "errors": tuple(errors),
        "evidence": host_evidence(tags, services, evidence),
        "probed_ports": port_range if port_scanned else None,
    })


def parse_nessus(stream: IO[bytes], source: str = "<stream>") -> Iterator[HostResult]:
    """Every host of a .nessus v2 export, one at a time. Raises scanguard.UnsafeInput (naming
    `source`) for hostile or malformed XML."""
    port_range: PortSet | None = None
    for _, el in iterparse(stream, source, tag=("ReportHost", "preference")):
        if el.tag == "preference":
            # ServerPreferences come before the hosts: the policy's port range
            if (el.findtext("name") or "").strip() == "port_range":
                try:
                    port_range = parse_range((el.findtext("value") or "").strip() or None)
                except ValueError:
                    port_range = None  # unreadable: no port counts as probed
            continue
        result = host_result(el, port_range)
        # free the host and whatever the parser kept before it
        el.clear()
        parent = el.getparent()
        if parent is not None:
            while el.getprevious() is not None:
                del parent[0]
        yield result


def parse_results(stream: IO[bytes]) -> Iterator[HostResult]:
    """Every host of a .nessus v2 export (a Tenable vendor's `parse_results`), named after the
    stream's file."""
    return parse_nessus(stream, getattr(stream, "name", "<stream>"))
