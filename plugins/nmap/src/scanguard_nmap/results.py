"""nmap's XML results (``-oX``) as HostResults, streamed one ``<host>`` at a time.

The XML comes from outside: it is parsed with scanguard.safexml, which refuses entity
declarations and external DTDs (scanguard.UnsafeInput); nmap's own ``<!DOCTYPE nmaprun>``
declares nothing and is accepted.

Besides ports and findings, each host carries the evidence that can tell what the device is:
service names nmap detected (not the ones it only looked up in its port table), products with
version and extra information, OS and device types and CPEs from service detection and from OS
detection (every ``osmatch``), and what the banner, http-title, http-server-header and ssl-cert
scripts saw. ``probed_ports`` are the ports of ``<scaninfo>`` that answered open or closed (a
filtered port says nothing about what listens there).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import IO, Any, Iterator

from scanguard import Evidence, HostResult, IntervalSet, PortSet, ResultItem, UnsafeInput
from scanguard.safexml import iterparse

SCRIPT_CHARS = 2000
EVIDENCE_CHARS = 300
_NO_TITLE = re.compile(r"^\s*(Site doesn't have a title|Did not follow redirect)", re.I)
_SUBJECT = re.compile(r"^\s*Subject:\s*(.+)$", re.M)


def parse_results(stream: IO[bytes], *, allow_truncated: bool = False) -> Iterator[HostResult]:
    """One HostResult per ``<host>`` of an nmap XML file, as each host closes.

    `allow_truncated`: a file that ends early (nmap stopped mid-scan) yields the hosts it
    completed instead of raising. Raises UnsafeInput for entity declarations, external
    references and malformed XML."""
    source = str(getattr(stream, "name", "<nmap xml>"))
    scanned: dict[str, list[tuple[int, int]]] = {"tcp": [], "udp": []}
    checked = False
    for event, elem in iterparse(stream, source, events=("start", "end"), allow_truncated=allow_truncated):
        if event == "start":
            if not checked:
                checked = True
                if elem.tag != "nmaprun":
                    raise UnsafeInput(source, f"not an nmap XML file (root element <{elem.tag}>)")
            continue
        if elem.tag == "scaninfo":
            proto = elem.get("protocol")
            if proto in scanned:
                scanned[proto].extend(_ranges(elem.get("services")))
        elif elem.tag == "host":
            yield _host(elem, PortSet(IntervalSet(scanned["tcp"]), IntervalSet(scanned["udp"])))
            # streaming: a scan of a /16 must not sit in memory
            elem.clear()
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]


def _ranges(text: str | None) -> list[tuple[int, int]]:
    """"1,3-4,6" -> [(1, 1), (3, 4), (6, 6)]; what does not read as ports is skipped."""
    out = []
    for item in (text or "").split(","):
        lo, _, hi = item.strip().partition("-")
        if lo.isdigit() and (not hi or hi.isdigit()):
            out.append((int(lo), int(hi or lo)))
    return out


def _epoch(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    except (ValueError, OverflowError):
        return None


def _clip(text: str | None) -> str:
    return " ".join((text or "").split())[:EVIDENCE_CHARS]


def _probed(h: Any, scanned: PortSet, open_ports: PortSet) -> PortSet:
    """The ports that answered open or closed: scaninfo's ports less every port nmap could not
    tell (filtered, open|filtered, ...). When a group of unlisted ports is not closed and nmap did
    not write which ports it holds, only the ports listed one by one count."""
    unknown: dict[str, list[tuple[int, int]]] = {"tcp": [], "udp": []}
    closed: dict[str, list[tuple[int, int]]] = {"tcp": [], "udp": []}
    groups_known = True
    for p in h.iterfind("ports/port"):
        proto = p.get("protocol") or "tcp"
        state = p.find("state")
        port = p.get("portid", "")
        if proto not in unknown or not port.isdigit():
            continue
        if state is not None and state.get("state") == "closed":
            closed[proto].append((int(port), int(port)))
        elif state is None or state.get("state") != "open":
            unknown[proto].append((int(port), int(port)))
    for extra in h.iterfind("ports/extraports"):
        if extra.get("state") == "closed":
            continue
        reasons = list(extra.iterfind("extrareasons"))
        if not reasons or any(r.get("ports") is None for r in reasons):
            groups_known = False
            continue
        for r in reasons:
            proto = r.get("proto") or "tcp"
            if proto in unknown:
                unknown[proto].extend(_ranges(r.get("ports")))
    listed = PortSet(IntervalSet(closed["tcp"]), IntervalSet(closed["udp"])) | open_ports
    if not groups_known:
        return listed
    return (scanned - PortSet(IntervalSet(unknown["tcp"]), IntervalSet(unknown["udp"]))) | listed


def _service_evidence(port: int | None, proto: str, svc: Any) -> list[Evidence]:
    out: list[Evidence] = []
    where = {"port": port, "protocol": proto}
    detected = svc.get("method") != "table"  # "table": only the port number's usual service
    if detected and svc.get("name"):
        name = svc.get("name") + ("/ssl" if svc.get("tunnel") == "ssl" else "")
        out.append(Evidence(kind="service", value=name, source="nmap service detection", **where))
    product = svc.get("product")
    if product:
        out.append(Evidence(kind="product", value=_clip(product), source="nmap service detection", **where))
    full = " ".join(x for x in (product, svc.get("version"), f"({svc.get('extrainfo')})" if svc.get("extrainfo") else None) if x)
    if full and full != product:
        out.append(Evidence(kind="banner", value=_clip(full), source="nmap service detection", **where))
    if svc.get("ostype"):
        out.append(Evidence(kind="os", value=_clip(svc.get("ostype")), source="nmap service detection", **where))
    if svc.get("devicetype"):
        out.append(Evidence(kind="device_type", value=_clip(svc.get("devicetype")), source="nmap service detection", **where))
    for c in svc.iterfind("cpe"):
        if c.text:
            out.append(Evidence(kind="cpe", value=c.text.strip(), source="nmap service detection", **where))
    return out


def _script_evidence(port: int | None, proto: str | None, s: Any) -> list[Evidence]:
    sid = s.get("id") or ""
    output = s.get("output") or ""
    where = {"port": port, "protocol": proto, "source": f"nmap script {sid}"}
    if sid == "banner" and output.strip():
        return [Evidence(kind="banner", value=_clip(output), **where)]
    if sid == "http-server-header" and output.strip():
        return [Evidence(kind="banner", value=_clip(output), **where)]
    if sid == "http-title":
        title = s.findtext("elem[@key='title']") or ("" if _NO_TITLE.match(output) else output)
        return [Evidence(kind="http_title", value=_clip(title), **where)] if title.strip() else []
    if sid == "ssl-cert":
        subject = _SUBJECT.search(output)
        if subject is None:
            table = s.find("table[@key='subject']")
            parts = [f"{e.get('key')}={e.text}" for e in table.iterfind("elem")] if table is not None else []
            text = "/".join(parts)
        else:
            text = subject.group(1)
        return [Evidence(kind="tls_subject", value=_clip(text), **where)] if text.strip() else []
    return []


def _host(h: Any, scanned: PortSet) -> HostResult:
    address = mac = None
    for a in h.iterfind("address"):
        kind = a.get("addrtype")
        if kind in ("ipv4", "ipv6") and address is None:
            address = a.get("addr")
        elif kind == "mac":
            mac = a.get("addr")
    names = {hn.get("type"): hn.get("name") for hn in h.iterfind("hostnames/hostname")}
    hostname = names.get("user") or names.get("PTR") or next(iter(names.values()), None)
    open_tcp: list[tuple[int, int]] = []
    open_udp: list[tuple[int, int]] = []
    items: list[ResultItem] = []
    cpes: list[str] = []
    evidence: list[Evidence] = []
    for p in h.iterfind("ports/port"):
        state = p.find("state")
        proto = p.get("protocol") or "tcp"
        port = int(p.get("portid", "0")) or None
        svc = p.find("service")
        if state is not None and state.get("state") == "open" and port:
            (open_udp if proto == "udp" else open_tcp).append((port, port))
        service = svc.get("name") if svc is not None else None
        if svc is not None:
            cpes += [c.text for c in svc.iterfind("cpe") if c.text]
            version = " ".join(x for x in (svc.get("product"), svc.get("version"), svc.get("extrainfo")) if x)
            evidence += _service_evidence(port, proto, svc)
        else:
            version = ""
        items.append(ResultItem(port=port, protocol=proto, service=service,
                                detail=f"{state.get('state') if state is not None else 'unknown'}"
                                       + (f" {version}" if version else "")))
        for s in p.iterfind("script"):
            items.append(ResultItem(port=port, protocol=proto, service=service, check_id=s.get("id"),
                                    check_name=s.get("id"), detail=(s.get("output") or "").strip()[:SCRIPT_CHARS]))
            evidence += _script_evidence(port, proto, s)
    for s in h.iterfind("hostscript/script"):
        items.append(ResultItem(check_id=s.get("id"), check_name=s.get("id"),
                                detail=(s.get("output") or "").strip()[:SCRIPT_CHARS]))
        evidence += _script_evidence(None, None, s)
    matches = list(h.iterfind("os/osmatch"))
    osmatch = max(matches, key=lambda m: int(m.get("accuracy", "0") or 0), default=None)
    for m in matches:
        source = f"nmap OS detection ({m.get('accuracy', '?')}%)"
        if m.get("name"):
            evidence.append(Evidence(kind="os", value=_clip(m.get("name")), source=source))
        for oc in m.iterfind("osclass"):
            family = " ".join(x for x in (oc.get("vendor"), oc.get("osfamily"), oc.get("osgen")) if x)
            if family:
                evidence.append(Evidence(kind="os", value=_clip(family), source=source))
            if oc.get("type"):
                evidence.append(Evidence(kind="device_type", value=_clip(oc.get("type")), source=source))
            for c in oc.iterfind("cpe"):
                if c.text:
                    evidence.append(Evidence(kind="cpe", value=c.text.strip(), source=source))
    if osmatch is not None:
        cpes += [c.text for c in osmatch.iterfind("osclass/cpe") if c.text]
    status = h.find("status")
    errors = () if status is None or status.get("state") == "up" else (f"host {status.get('state')}: {status.get('reason')}",)
    open_ports = PortSet(IntervalSet(open_tcp), IntervalSet(open_udp))
    return HostResult(
        address=address or "", hostname=hostname, mac=mac,
        os=osmatch.get("name") if osmatch is not None else None,
        cpes=tuple(dict.fromkeys(cpes)),
        open_ports=open_ports,
        start=_epoch(h.get("starttime")), end=_epoch(h.get("endtime")), items=tuple(items), errors=errors,
        evidence=tuple(dict.fromkeys(evidence)), probed_ports=_probed(h, scanned, open_ports),
    )
