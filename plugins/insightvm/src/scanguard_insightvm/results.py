"""InsightVM / Nexpose XML exports (NexposeReport 1.0 and 2.0) as HostResults, streamed.

Memory stays bounded: each <node> is turned into a HostResult, yielded and cleared before the
next is read. Titles and severities live in <VulnerabilityDefinitions>, after the nodes; when the
stream can seek, a first pass collects just those (id, title, severity) and a second streams the
nodes; when it cannot, results carry check ids without titles or severities.

The file comes from outside: it is parsed with scanguard.safexml (entity declarations and external
DTDs refused with UnsafeInput naming the file before any of its content is read; entity
resolution, network access and DTD loading off).

What identifies the device becomes evidence: the node's OS fingerprints (vendor, family,
product, version, device class, CPE), its software fingerprints, each service's name and
fingerprints, and a service's configuration values whose names speak of a certificate subject,
a banner or a page title (`ssl.cert.subject.dn`, `http.banner`, ...: read by name, defensively,
as the export's documentation does not list them). The export does not say which ports were
probed: `probed_ports` stays None.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import IO, Any, Iterator

from scanguard import Evidence, HostResult, IntervalSet, PortSet, ResultItem, UnsafeInput
from scanguard.safexml import iterparse

VERSIONS = ("1.0", "2.0")
FINDING_STATUSES = ("vulnerable-exploited", "vulnerable-version", "vulnerable-potential", "potential")
"""Test statuses that are findings (others, like not-vulnerable, are not reported)."""
DETAIL_CHARS = 500
EVIDENCE_CHARS = 300


def _source(stream: IO[bytes]) -> str:
    return str(getattr(stream, "name", "<stream>"))


def _events(stream: IO[bytes], events: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """Safe iterparse events (scanguard.safexml); refuses a root that is not a NexposeReport."""
    source = _source(stream)
    checked = False
    for event, elem in iterparse(stream, source, events=("start",) + tuple(e for e in events if e != "start")):
        if not checked:
            checked = True
            if elem.tag == "NeXposeSimpleXML":
                raise UnsafeInput(source, "is an InsightVM simple XML export (NeXposeSimpleXML), which scanguard "
                                          "does not read: export the scan as XML Export 2.0 (NexposeReport)")
            if elem.tag != "NexposeReport":
                raise UnsafeInput(source, f"is not an InsightVM XML export (root <{elem.tag}>, "
                                          "expected <NexposeReport>)")
            version = elem.get("version", "")
            if version not in VERSIONS:
                raise UnsafeInput(source, f"NexposeReport version {version!r} is not supported "
                                          f"({' or '.join(VERSIONS)})")
        if event in events:
            yield event, elem


def _clear(elem: Any) -> None:
    """Free an element and the siblings before it (what keeps memory bounded)."""
    elem.clear()
    parent = elem.getparent()
    while parent is not None and elem.getprevious() is not None:
        del parent[0]


def _definitions(stream: IO[bytes]) -> dict[str, tuple[str | None, int]]:
    """id -> (title, severity) from <VulnerabilityDefinitions> (first pass)."""
    out: dict[str, tuple[str | None, int]] = {}
    for _, elem in _events(stream, ("end",)):
        if elem.tag == "vulnerability" and elem.get("id"):
            try:
                severity = int(float(elem.get("severity", "0")))
            except ValueError:
                severity = 0
            out[elem.get("id")] = (elem.get("title"), severity)
            _clear(elem)
        elif elem.tag == "node":
            _clear(elem)
    return out


def parse_time(text: str | None) -> datetime | None:
    """An export timestamp ("20210228T225351463": console local time, then milliseconds) or None."""
    m = re.fullmatch(r"(\d{8}T\d{6})(\d{0,6})", (text or "").strip())
    if not m:
        return None
    fraction = m.group(2)
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(microsecond=int(fraction.ljust(6, "0") or 0))


def _text(elem: Any) -> str:
    return " ".join(" ".join(elem.itertext()).split())[:DETAIL_CHARS]


def _mac(raw: str | None) -> str | None:
    if not raw:
        return None
    hexdigits = "".join(c for c in raw if c.isalnum()).lower()
    if len(hexdigits) != 12:
        return raw
    return ":".join(hexdigits[i:i + 2] for i in range(0, 12, 2))


def _os(node: Any) -> tuple[str | None, tuple[str, ...]]:
    best, certainty, cpes = None, -1.0, []
    for os_el in node.iterfind("fingerprints/os"):
        try:
            c = float(os_el.get("certainty", "0"))
        except ValueError:
            c = 0.0
        if os_el.get("cpe"):
            cpes.append(os_el.get("cpe"))
        if c > certainty:
            parts = [os_el.get(k) for k in ("vendor", "product", "version")]
            best, certainty = " ".join(p for p in parts if p) or None, c
    return best, tuple(cpes)


def _fingerprint_text(fp: Any) -> str:
    return " ".join(x for x in (fp.get("vendor"), fp.get("product") or fp.get("family"), fp.get("version")) if x)


def _clip(text: str) -> str:
    return " ".join(text.split())[:EVIDENCE_CHARS]


def _config_kind(name: str) -> str | None:
    """What a service configuration value is, by its name."""
    lowered = name.lower()
    if "subject" in lowered and ("cert" in lowered or "ssl" in lowered or "tls" in lowered):
        return "tls_subject"
    if "title" in lowered:
        return "http_title"
    if "banner" in lowered or lowered.endswith(".server") or lowered.endswith("server.header"):
        return "banner"
    return None


def _evidence(node: Any) -> list[Evidence]:
    out: list[Evidence] = []
    for os_el in node.iterfind("fingerprints/os"):
        src = f"InsightVM OS fingerprint (certainty {os_el.get('certainty', '?')})"
        text = _fingerprint_text(os_el)
        if text:
            out.append(Evidence(kind="os", value=_clip(text), source=src))
        if os_el.get("device-class"):
            out.append(Evidence(kind="device_type", value=_clip(os_el.get("device-class")), source=src))
        if os_el.get("cpe"):
            out.append(Evidence(kind="cpe", value=os_el.get("cpe").strip(), source=src))
    for fp in node.iterfind("software/fingerprint"):
        text = _fingerprint_text(fp)
        if text:
            out.append(Evidence(kind="product", value=_clip(text), source="InsightVM software fingerprint"))
    for endpoint in node.iterfind("endpoints/endpoint"):
        proto = (endpoint.get("protocol") or "").lower() or None
        try:
            port = int(endpoint.get("port", ""))
        except ValueError:
            continue
        for service in endpoint.iterfind("services/service"):
            where = {"port": port, "protocol": proto}
            if service.get("name"):
                out.append(Evidence(kind="service", value=_clip(service.get("name")), source="InsightVM service", **where))
            for fp in service.iterfind("fingerprints/fingerprint"):
                text = _fingerprint_text(fp)
                if text:
                    out.append(Evidence(kind="product", value=_clip(text), source="InsightVM service fingerprint",
                                        **where))
            for config in service.iterfind("configuration/config"):
                kind = _config_kind(config.get("name") or "")
                if kind and (config.text or "").strip():
                    out.append(Evidence(kind=kind, value=_clip(config.text),  # type: ignore[arg-type]
                                        source=f"InsightVM service configuration {config.get('name')}", **where))
    return list(dict.fromkeys(out))


def _findings(tests: Any, defs: dict[str, tuple[str | None, int]], **where: Any) -> list[ResultItem]:
    out = []
    if tests is None:
        return out
    for test in tests.iterfind("test"):
        status = test.get("status", "")
        if status not in FINDING_STATUSES:
            continue
        check_id = test.get("id")
        title, severity = defs.get(check_id or "", (None, 0))
        detail = _text(test)
        out.append(ResultItem(check_id=check_id, check_name=title, severity=severity,
                              detail=f"{status}: {detail}" if detail else status, **where))
    return out


Definitions = dict[str, tuple[str | None, int]]
Span = tuple[datetime | None, datetime | None]


def _host(node: Any, defs: Definitions, span: Span) -> HostResult:
    items: list[ResultItem] = _findings(node.find("tests"), defs)
    tcp: list[tuple[int, int]] = []
    udp: list[tuple[int, int]] = []
    for endpoint in node.iterfind("endpoints/endpoint"):
        proto = (endpoint.get("protocol") or "").lower()
        try:
            port = int(endpoint.get("port", ""))
        except ValueError:
            continue
        if endpoint.get("status", "open") == "open" and proto in ("tcp", "udp") and 1 <= port <= 65535:
            (tcp if proto == "tcp" else udp).append((port, port))
        for service in endpoint.iterfind("services/service"):
            name = service.get("name")
            items.append(ResultItem(port=port, protocol=proto or None, service=name))
            items.extend(_findings(service.find("tests"), defs, port=port, protocol=proto or None, service=name))
    os_name, cpes = _os(node)
    name = node.find("names/name")
    hostname = (name.text or "").strip() if name is not None else ""
    return HostResult(
        address=node.get("address", ""),
        hostname=hostname or None,
        mac=_mac(node.get("hardware-address")),
        os=os_name,
        cpes=cpes,
        open_ports=PortSet(IntervalSet(tcp), IntervalSet(udp)),
        start=span[0],
        end=span[1],
        items=tuple(items),
        evidence=tuple(_evidence(node)),
    )


def parse_results(stream: IO[bytes]) -> Iterator[HostResult]:
    """Every host of an InsightVM XML export, one at a time (see the module docstring)."""
    defs: dict[str, tuple[str | None, int]] = {}
    seekable = getattr(stream, "seekable", lambda: False)()
    if seekable:
        start = stream.tell()
        defs = _definitions(stream)
        stream.seek(start)
    span: tuple[datetime | None, datetime | None] = (None, None)
    for _, elem in _events(stream, ("end",)):
        if elem.tag == "scan":
            # one scan: its times are every host's; several: the widest span
            s, e = parse_time(elem.get("startTime")), parse_time(elem.get("endTime"))
            span = (min(filter(None, (span[0], s)), default=None), max(filter(None, (span[1], e)), default=None))
        elif elem.tag == "node":
            if elem.get("address"):
                yield _host(elem, defs, span)
            _clear(elem)
        elif elem.tag == "vulnerability":
            _clear(elem)
