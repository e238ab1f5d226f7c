"""GVM report XML (report/results/result, report/host, report/errors/error) as HostResults.

The export is read as a stream: each result, host and error element is summarised and then
cleared, so memory grows with the number of findings, never with the size of the file. The XML
comes from outside: it is parsed with scanguard.safexml (entities are never expanded, nothing is
fetched, and a document that declares entities or an external DTD is refused with UnsafeInput).

GVM puts results, host details and errors in separate lists; they are joined per host at the
end. Errors carry the OID of the NVT that failed on the host (typically "NVT timed out"), a
crash signal for correlation: they are surfaced as HostResult.errors. The report's port list
(`report/ports`) adds open ports that no result names. What identifies the device (host
details, product detections, banners, certificate subjects) is read by `evidence.py`. A GVM
report does not say which ports were probed: `probed_ports` stays None.
"""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any, Iterator

from scanguard import Evidence, HostResult, IntervalSet, PortSet, ResultItem
from scanguard.safexml import iterparse

from .evidence import certificate_evidence, detail_evidence, result_evidence

MAX_DETAIL = 500
"""How much of a result's description is kept."""


def severity_level(score: str | None) -> int:
    """A CVSS score (GVM's severity) on the 0-4 scale other vendors report: 0 log, 1 low,
    2 medium, 3 high, 4 critical."""
    try:
        value = float(score or 0)
    except ValueError:
        return 0
    if value <= 0:
        return 0
    if value < 4:
        return 1
    if value < 7:
        return 2
    if value < 9:
        return 3
    return 4


def _port(text: str | None) -> tuple[int | None, str | None]:
    """"80/tcp" -> (80, "tcp"); "general/tcp" -> (None, "tcp")."""
    if not text:
        return None, None
    number, _, proto = text.strip().partition("/")
    return (int(number) if number.isdigit() else None), (proto or None)


def _time(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _host_text(el: Any) -> str:
    # <host>10.0.0.5<asset asset_id=".."/><hostname>x</hostname></host>: the address is the text
    return (el.text or "").strip() if el is not None else ""


class _Host:
    __slots__ = ("address", "hostname", "start", "end", "items", "errors", "tcp", "udp", "evidence", "mac")

    def __init__(self, address: str) -> None:
        self.address = address
        self.hostname: str | None = None
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.items: list[ResultItem] = []
        self.errors: list[str] = []
        self.tcp: list[tuple[int, int]] = []
        self.udp: list[tuple[int, int]] = []
        self.evidence: list[Evidence] = []
        self.mac: str | None = None

    def result(self) -> HostResult:
        evidence = tuple(dict.fromkeys(self.evidence))
        os_names = [e.value for e in evidence if e.kind == "os" and e.source.startswith("GVM host detail best_os")]
        cpes = tuple(dict.fromkeys(e.value for e in evidence if e.kind == "cpe"))
        return HostResult(address=self.address, hostname=self.hostname, mac=self.mac, start=self.start, end=self.end,
                          os=os_names[0] if os_names else None, cpes=cpes,
                          open_ports=PortSet(IntervalSet(self.tcp), IntervalSet(self.udp)),
                          items=tuple(self.items), errors=tuple(dict.fromkeys(self.errors)), evidence=evidence)


def parse_results(stream: IO[bytes]) -> Iterator[HostResult]:
    """HostResults from a GVM report XML byte stream (see module docstring), in the order hosts
    first appear. Raises UnsafeInput for a DTD with entities or malformed XML."""
    source = getattr(stream, "name", "<stream>")
    hosts: dict[str, _Host] = {}

    def host(address: str) -> _Host:
        if address not in hosts:
            hosts[address] = _Host(address)
        return hosts[address]

    for _, el in iterparse(stream, source):
        parent = el.getparent()
        parent_tag = parent.tag if parent is not None else None
        if el.tag == "result" and parent_tag == "results":
            h_el = el.find("host")
            address = _host_text(h_el)
            if address:
                h = host(address)
                if h_el is not None and h_el.findtext("hostname"):
                    h.hostname = h.hostname or h_el.findtext("hostname").strip()
                port, proto = _port(el.findtext("port"))
                nvt = el.find("nvt")
                h.items.append(ResultItem(
                    port=port, protocol=proto, check_id=nvt.get("oid") if nvt is not None else None,
                    check_name=(nvt.findtext("name") or "").strip() or None if nvt is not None else None,
                    family=(nvt.findtext("family") or "").strip() or None if nvt is not None else None,
                    severity=severity_level(el.findtext("severity")),
                    detail=" ".join((el.findtext("description") or "").split())[:MAX_DETAIL],
                ))
                if port is not None and proto in ("tcp", "udp"):
                    (h.tcp if proto == "tcp" else h.udp).append((port, port))
                h.evidence.extend(result_evidence(el, port, proto))
            el.clear()
        elif el.tag == "error" and parent_tag == "errors":
            address = _host_text(el.find("host"))
            if address:
                nvt = el.find("nvt")
                oid = nvt.get("oid") if nvt is not None else None
                host(address).errors.append(oid or " ".join((el.findtext("description") or "").split()))
            el.clear()
        elif el.tag == "host" and parent_tag == "report":
            address = (el.findtext("ip") or "").strip()
            if address:
                h = host(address)
                h.start = _time(el.findtext("start")) or h.start
                h.end = _time(el.findtext("end")) or h.end
                for d in el.iterfind("detail"):
                    name = (d.findtext("name") or "").strip()
                    value = d.findtext("value") or ""
                    if name == "MAC" and value.strip():
                        h.mac = h.mac or value.strip()
                    h.evidence.extend(detail_evidence(name, value, (d.findtext("source/name") or "").strip()))
            el.clear()
        elif el.tag == "tls_certificate" and parent_tag == "tls_certificates":
            address, found = certificate_evidence(el)
            if address and found:
                host(address).evidence.extend(found)
            el.clear()
        elif el.tag == "ports" and parent_tag == "report":
            # the report's port summary: "443/tcp" with its host, open ports no result may name
            for p in el.iterfind("port"):
                address = _host_text(p.find("host"))
                port, proto = _port(p.text)
                if address and port is not None and proto in ("tcp", "udp"):
                    h = host(address)
                    (h.tcp if proto == "tcp" else h.udp).append((port, port))
            el.clear()
        elif el.tag in ("result_count", "severity_class", "filters") and parent_tag == "report":
            el.clear()  # summaries scanguard does not need
        else:
            continue
        # drop what was read so far: memory stays bounded however long the list
        while el.getprevious() is not None:
            del parent[0]
    for h in hosts.values():
        yield h.result()
