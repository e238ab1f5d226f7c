"""What a .nessus export says about what a device is, as scanguard Evidence.

Read from the plugin outputs that identify services and systems, by plugin id:

- 22964 Service Detection (the sentence naming the service) and every item's `svc_name`
  (a name ending in "?" is Nessus guessing from the port number: skipped);
- banners: 11154 Unknown Service Detection: Banner Retrieval (a hex dump: its text column),
  10092 FTP, 10263 SMTP, 10281 Telnet, 10267 SSH, 10800 SNMP sysDescr;
- 10107 HTTP Server Type and Version (a product), 24260 HTTP Information (the page title and
  the Server header);
- 10863 SSL Certificate Information (the subject);
- 11936 OS Identification, 54615 Device Type, 45590 Common Platform Enumeration;
- plugins named "... Detection" in the Service detection, Web Servers and SCADA families (the
  product they detected);
- host tags: operating-system, system-type and the cpe tags.

Plugin outputs are free text whose exact layout Tenable does not publish: each is read
defensively (a line that does not read as expected yields nothing, never a guess).
"""

from __future__ import annotations

import re
from typing import Callable

EVIDENCE_CHARS = 300
OUTPUT_CHARS = 4000
"""How much of a plugin output is searched."""
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_CPE = re.compile(r"cpe:(?:/[aho]|2\.3:[aho]):\S+")
_OS_LINE = re.compile(r"^\s*Remote operating system\s*:\s*(.+)$", re.M | re.I)
_DEVICE = re.compile(r"^\s*Remote device type\s*:\s*(.+)$", re.M | re.I)
_HEX = re.compile(r"^\s*0x[0-9a-f]+:\s+(?:[0-9a-f]{2}\s?)+\s{2,}(.*)$", re.I)
_SUBJECT_BLOCK = re.compile(r"Subject Name\s*:\s*\n(.*?)(?:\n\s*\n\s*\S[^\n:]*Name\s*:|\Z)", re.S | re.I)
_SUBJECT_LINE = re.compile(r"^\s*Subject\s*:\s*(.+)$", re.M | re.I)
_AFTER_COLON = re.compile(r"^[^:\n]*(?:banner|version|sysDescr)[^:\n]*:\s*(.*)$", re.M | re.I)
PRODUCT_FAMILIES = frozenset({"Service detection", "Web Servers", "SCADA"})


def _clip(text: str) -> str:
    return " ".join(text.split())[:EVIDENCE_CHARS]


def _ev(kind: str, value: str, port: int | None, proto: str | None, source: str) -> dict:
    return {"kind": kind, "value": _clip(value), "port": port, "protocol": proto, "source": source}


def _banner_text(output: str) -> str:
    """The banner in an output: after "banner ...:" (next lines when the colon ends its line),
    with a hex dump read from its text column."""
    lines = output.strip("\n").splitlines()
    for i, line in enumerate(lines):
        m = _AFTER_COLON.match(line)
        if not m:
            continue
        rest = m.group(1).strip()
        if rest:
            return rest
        tail = [x for x in lines[i + 1:] if x.strip()][:8]
        dumped = [h.group(1) for h in (_HEX.match(x) for x in tail) if h]
        return "".join(dumped) if dumped else " ".join(x.strip() for x in tail)
    return ""


def _subject(output: str) -> str:
    block = _SUBJECT_BLOCK.search(output)
    if block:
        parts = [" ".join(x.split()) for x in block.group(1).splitlines() if ":" in x]
        if parts:
            return ", ".join(parts)
    line = _SUBJECT_LINE.search(output)
    return line.group(1) if line else ""


def _service_detection(out: str, port, proto, src) -> list[dict]:
    return [_ev("service", out, port, proto, src)] if out.strip() else []


def _banner(out: str, port, proto, src) -> list[dict]:
    text = _banner_text(out)
    return [_ev("banner", text, port, proto, src)] if text.strip() else []


def _web_server(out: str, port, proto, src) -> list[dict]:
    lines = [x.strip() for x in out.splitlines() if x.strip() and not x.strip().endswith(":")]
    return [_ev("product", lines[-1], port, proto, src)] if lines else []


def _http_info(out: str, port, proto, src) -> list[dict]:
    found = []
    title = _TITLE.search(out)
    if title and title.group(1).strip():
        found.append(_ev("http_title", title.group(1), port, proto, src))
    server = _header(out, "server")
    if server:
        found.append(_ev("banner", server, port, proto, src))
    return found


def _header(out: str, name: str) -> str:
    """The value of a header line ("  Server: nginx") in an output; str.find is several times
    cheaper than a multi-line regex over a whole page."""
    lowered = out.lower()
    key = name.lower() + ":"
    at = lowered.find(key)
    while at >= 0:
        line_start = out.rfind("\n", 0, at) + 1
        if not out[line_start:at].strip():
            end = out.find("\n", at)
            return out[at + len(key): end if end >= 0 else len(out)].strip()
        at = lowered.find(key, at + 1)
    return ""


def _certificate(out: str, port, proto, src) -> list[dict]:
    subject = _subject(out)
    return [_ev("tls_subject", subject, port, proto, src)] if subject.strip() else []


def _os(out: str, port, proto, src) -> list[dict]:
    found = []
    m = _OS_LINE.search(out)
    if m:
        # several guesses come one per line after the first
        first = m.group(1).strip()
        found.append(_ev("os", first, None, None, src))
        for line in out[m.end():].splitlines():
            if not line.strip() or ":" in line:
                break
            found.append(_ev("os", line, None, None, src))
    return found


def _device(out: str, port, proto, src) -> list[dict]:
    m = _DEVICE.search(out)
    return [_ev("device_type", m.group(1), None, None, src)] if m else []


def _cpes(out: str, port, proto, src) -> list[dict]:
    return [_ev("cpe", c, None, None, src) for c in dict.fromkeys(_CPE.findall(out))]


HANDLERS: dict[str, Callable[..., list[dict]]] = {
    "22964": _service_detection,
    "11154": _banner, "10092": _banner, "10263": _banner, "10281": _banner, "10267": _banner, "10800": _banner,
    "10107": _web_server,
    "24260": _http_info,
    "10863": _certificate,
    "11936": _os,
    "54615": _device,
    "45590": _cpes,
}
"""Plugin id -> what its output says (only these outputs are read)."""


def evidence_of(plugin_id: str | None, name: str | None, family: str | None, output: str,
                port: int | None, proto: str | None) -> list[dict]:
    """The evidence one ReportItem carries (as Evidence fields; the caller validates them in
    one go with the host)."""
    handler = HANDLERS.get(plugin_id or "")
    if handler is not None:
        # what identifies a device is at the head of an output (a page's title, not its body)
        return handler(output[:OUTPUT_CHARS], port, proto, f"Nessus {plugin_id} {name or ''}".strip())
    if name and family in PRODUCT_FAMILIES and name.endswith(" Detection") and port:
        return [_ev("product", name[: -len(" Detection")], port, proto, f"Nessus {plugin_id} {name}")]
    return []


def host_evidence(tags: dict[str, str], services: set[tuple[str, int, str]], found: list[dict]) -> list[dict]:
    """A host's evidence: its tags, the service names its items carry, what plugin outputs said."""
    out: list[dict] = []
    if tags.get("operating-system"):
        for line in tags["operating-system"].splitlines():
            if line.strip():
                out.append(_ev("os", line, None, None, "Nessus host tag operating-system"))
    if tags.get("system-type"):
        out.append(_ev("device_type", tags["system-type"], None, None, "Nessus host tag system-type"))
    for svc, port, proto in sorted(services):
        if svc != "general" and not svc.endswith("?"):
            out.append(_ev("service", svc, port, proto or None, "Nessus service name"))
    out.extend(found)
    unique: dict[tuple, dict] = {}
    for e in out:
        unique.setdefault((e["kind"], e["value"], e["port"], e["protocol"]), e)
    return list(unique.values())
