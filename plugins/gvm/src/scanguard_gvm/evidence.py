"""What a GVM report says about what a device is, as scanguard Evidence.

Where gvmd writes it (the shapes printed by gvmd 26's report export):

- host details (`report/host/detail`: name, value, source): `best_os_txt` and `OS` text (an OS),
  `best_os_cpe`, `OS` and `App` CPEs;
- product detections attached to results (`result/detection/result/details/detail`: `product`
  is a CPE, `location` its port, `source_name` the detecting NVT);
- log results of the Product detection and Service detection families ("Detected <product>",
  "Version:", "Location:", "CPE:", "Concluded from ...:" and the banner after it), results whose
  NVT name speaks of a banner, and the certificate details NVT ("subject | CN=...");
- the report's TLS certificates (`report/tls_certificates/tls_certificate`: subject_dn, host,
  ports).

Log results appear only when the report was exported with the "log" level; host details and
certificates do not depend on it. Descriptions are free text: read defensively, a line that
does not read as expected yields nothing.
"""

from __future__ import annotations

import re
from typing import Any

from scanguard import Evidence

EVIDENCE_CHARS = 300
_DETECTED = re.compile(r"^\s*Detected\s+(.+?)\s*$", re.M)
_VERSION = re.compile(r"^\s*Version:\s*(\S.*?)\s*$", re.M)
_LOCATION = re.compile(r"^\s*Location:\s*(\d+)/(tcp|udp)\s*$", re.M)
_CPE = re.compile(r"\b(cpe:/[aho]:\S+|cpe:2\.3:[aho]:\S+)")
_CONCLUDED = re.compile(r"Concluded from[^:\n]*:\s*\n?(.+?)(?:\n\s*\n|\Z)", re.S)
_ROW = re.compile(r"^\s*([^|\n]+?)\s*\|\s*(.*?)\s*$")
_DETECTION_FAMILIES = frozenset({"Product detection", "Service detection"})
CERT_DETAILS_NVT = "1.3.6.1.4.1.25623.1.0.103692"
"""SSL/TLS: Collect and Report Certificate Details."""


def _clip(text: str) -> str:
    return " ".join(text.split())[:EVIDENCE_CHARS]


def _port(text: str | None) -> tuple[int | None, str | None]:
    number, _, proto = (text or "").strip().partition("/")
    return (int(number) if number.isdigit() else None), (proto or None)


def detail_evidence(name: str, value: str, source: str) -> list[Evidence]:
    """A host detail as evidence (only the details that say what the device is)."""
    value = (value or "").strip()
    if not value:
        return []
    src = f"GVM host detail {name}" + (f" ({source})" if source else "")
    if name == "best_os_txt":
        return [Evidence(kind="os", value=_clip(value), source=src)]
    if name in ("best_os_cpe", "App", "OS"):
        if value.startswith("cpe:"):
            return [Evidence(kind="cpe", value=value.split()[0], source=src)]
        return [Evidence(kind="os", value=_clip(value), source=src)] if name == "OS" else []
    return []


def certificate_subject(text: str) -> str:
    """The subject row of a certificate details table ("key | value" rows, a long value wrapped
    onto the lines after its key), or ""."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        row = _ROW.match(line)
        if row:
            rows.append([row.group(1).lower(), row.group(2)])
        elif rows and line.strip():
            rows[-1][1] = f"{rows[-1][1]} {line.strip()}".strip()
    return next((v for k, v in rows if k == "subject"), "")


def result_evidence(el: Any, port: int | None, proto: str | None) -> list[Evidence]:
    """The evidence one <result> carries: its product detection, what a detection log says,
    banners and certificate subjects."""
    out: list[Evidence] = []
    for d in el.iterfind("detection/result/details"):
        fields = {x.findtext("name"): (x.findtext("value") or "").strip() for x in d.iterfind("detail")}
        dport, dproto = _port(fields.get("location"))
        where = {"port": dport if dport is not None else port, "protocol": dproto or proto}
        src = f"GVM product detection {fields.get('source_name') or fields.get('source_oid') or ''}".strip()
        if fields.get("product", "").startswith("cpe:"):
            out.append(Evidence(kind="cpe", value=fields["product"], source=src, **where))
        if fields.get("source_name"):
            out.append(Evidence(kind="product", value=_clip(fields["source_name"]), source=src, **where))
    nvt = el.find("nvt")
    if nvt is None:
        return out
    name = (nvt.findtext("name") or "").strip()
    family = (nvt.findtext("family") or "").strip()
    oid = nvt.get("oid") or ""
    text = el.findtext("description") or ""
    src = f"GVM {name or oid}"
    where = {"port": port, "protocol": proto}
    if "banner" in name.lower() and text.strip():
        out.append(Evidence(kind="banner", value=_clip(text), source=src, **where))
    elif family in _DETECTION_FAMILIES:
        loc = _LOCATION.search(text)
        if loc:
            where = {"port": int(loc.group(1)), "protocol": loc.group(2)}
        detected = _DETECTED.search(text)
        if detected:
            version = _VERSION.search(text)
            product = detected.group(1) + (f" {version.group(1)}" if version and version.group(1) != "unknown" else "")
            out.append(Evidence(kind="product", value=_clip(product), source=src, **where))
        elif family == "Service detection" and text.strip():
            out.append(Evidence(kind="service", value=_clip(text), source=src, **where))
        for cpe in dict.fromkeys(_CPE.findall(text)):
            out.append(Evidence(kind="cpe", value=cpe, source=src, **where))
        concluded = _CONCLUDED.search(text)
        if concluded and concluded.group(1).strip():
            out.append(Evidence(kind="banner", value=_clip(concluded.group(1)), source=src, **where))
    if oid == CERT_DETAILS_NVT or "certificate" in name.lower():
        subject = certificate_subject(text)
        if subject:
            out.append(Evidence(kind="tls_subject", value=_clip(subject), source=src, **where))
    return out


def certificate_evidence(el: Any) -> tuple[str, list[Evidence]]:
    """(host address, evidence) of a report's <tls_certificate>: its subject on each port."""
    address = (el.findtext("host/ip") or "").strip()
    subject = (el.findtext("subject_dn") or "").strip()
    if not address or not subject:
        return address, []
    ports = [_port(p.text) for p in el.iterfind("ports/port")] or [(None, None)]
    return address, [Evidence(kind="tls_subject", value=_clip(subject), port=port, protocol=proto or "tcp",
                              source="GVM TLS certificate") for port, proto in ports]
