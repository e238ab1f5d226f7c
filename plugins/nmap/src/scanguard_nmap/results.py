"""nmap's XML results (``-oX``) as HostResults, streamed one ``<host>`` at a time.

The XML comes from outside: it is parsed with defusedxml, which refuses entity declarations and
external references (scanguard.UnsafeInput); nmap's own ``<!DOCTYPE nmaprun>`` declares
nothing and is accepted.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import IO, Iterator
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from scanguard import HostResult, PortSet, ResultItem, UnsafeInput


def parse_results(stream: IO[bytes], *, allow_truncated: bool = False) -> Iterator[HostResult]:
    """One HostResult per ``<host>`` of an nmap XML file, as each host closes.

    `allow_truncated`: a file that ends early (nmap stopped mid-scan) yields the hosts it
    completed instead of raising. Raises UnsafeInput for entity declarations, external
    references and malformed XML."""
    source = getattr(stream, "name", "<nmap xml>")
    root: Element | None = None
    try:
        for event, elem in iterparse(stream, events=("start", "end"), forbid_dtd=False,
                                     forbid_entities=True, forbid_external=True):
            if event == "start":
                if root is None:
                    root = elem
                    if elem.tag != "nmaprun":
                        raise UnsafeInput(source, f"not an nmap XML file (root element <{elem.tag}>)")
                continue
            if elem.tag == "host":
                yield _host(elem)
                elem.clear()  # streaming: a scan of a /16 must not sit in memory
                if root is not None:
                    try:
                        root.remove(elem)
                    except ValueError:  # a host nested deeper than <nmaprun>: cleared is enough
                        pass
    except DefusedXmlException as e:
        raise UnsafeInput(source, f"refused: {type(e).__name__} ({e}); nmap XML never declares entities") from None
    except ParseError as e:
        # expat's words for input that ends early (a file cut by an early stop), not for garbage
        if allow_truncated and any(w in str(e) for w in ("no element found", "unclosed token", "unclosed CDATA")):
            return
        raise UnsafeInput(source, f"malformed XML: {e}") from None


def _epoch(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    except (ValueError, OverflowError):
        return None


def _host(h: Element) -> HostResult:
    address = mac = None
    for a in h.findall("address"):
        kind = a.get("addrtype")
        if kind in ("ipv4", "ipv6") and address is None:
            address = a.get("addr")
        elif kind == "mac":
            mac = a.get("addr")
    names = {hn.get("type"): hn.get("name") for hn in h.findall("hostnames/hostname")}
    hostname = names.get("user") or names.get("PTR") or next(iter(names.values()), None)
    open_tcp: list[str] = []
    open_udp: list[str] = []
    items: list[ResultItem] = []
    cpes: list[str] = []
    for p in h.findall("ports/port"):
        state = p.find("state")
        proto = p.get("protocol") or "tcp"
        port = int(p.get("portid", "0")) or None
        svc = p.find("service")
        if state is not None and state.get("state") == "open" and port:
            (open_udp if proto == "udp" else open_tcp).append(str(port))
        service = svc.get("name") if svc is not None else None
        if svc is not None:
            cpes += [c.text for c in svc.findall("cpe") if c.text]
            version = " ".join(x for x in (svc.get("product"), svc.get("version"), svc.get("extrainfo")) if x)
        else:
            version = ""
        items.append(ResultItem(port=port, protocol=proto, service=service,
                                detail=f"{state.get('state') if state is not None else 'unknown'}"
                                       + (f" {version}" if version else "")))
        for s in p.findall("script"):
            items.append(ResultItem(port=port, protocol=proto, service=service, check_id=s.get("id"),
                                    check_name=s.get("id"), detail=(s.get("output") or "").strip()[:2000]))
    for s in h.findall("hostscript/script"):
        items.append(ResultItem(check_id=s.get("id"), check_name=s.get("id"), detail=(s.get("output") or "").strip()[:2000]))
    osmatch = max(h.findall("os/osmatch"), key=lambda m: int(m.get("accuracy", "0") or 0), default=None)
    if osmatch is not None:
        cpes += [c.text for c in osmatch.findall("osclass/cpe") if c.text]
    status = h.find("status")
    errors = () if status is None or status.get("state") == "up" else (f"host {status.get('state')}: {status.get('reason')}",)
    return HostResult(
        address=address or "", hostname=hostname, mac=mac,
        os=osmatch.get("name") if osmatch is not None else None,
        cpes=tuple(dict.fromkeys(cpes)),
        open_ports=PortSet.parse([*(f"{p}/tcp" for p in open_tcp), *(f"{p}/udp" for p in open_udp)]),
        start=_epoch(h.get("starttime")), end=_epoch(h.get("endtime")), items=tuple(items), errors=errors,
    )
