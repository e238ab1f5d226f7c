"""A Tenable policy document back as a neutral template, read conservatively: whatever the product
would do that the document does not pin down is read as the less safe possibility (a missing key
takes the product's default; "built-in" ping ports may be any port; with `unscanned_closed` "no"
plugins may probe any port; a family whose state is unknown is enabled), so that `violations`
never passes a policy that could hurt a device."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, Mapping

from scanguard import CATEGORIES, IntervalSet, PortSet, ScanTemplate, VendorCheck

from .document import PolicyDocument, description_lines
from .policy_file import read_policy
from .portrange import parse_range
from .render import SNMP, VENDOR
from .vocabulary import (
    CATEGORY_MAP,
    DEFAULTS,
    DISCOVERY_FAMILIES,
    PORT_SCANNER_FAMILY,
    PORT_SCANNERS,
    recorded_defaults,
)

ALL_PORTS = IntervalSet([(1, 65535)])


JUDGED_KEYS: tuple[str, ...] = (
    "portscan_range", "unscanned_closed", "safe_checks", *PORT_SCANNERS.values(),
    "max_checks_per_host", "max_hosts_per_scan", "network_receive_timeout",
)
"""Settings keys whose value decides what parse reads, so that a policy leaving one out is read with
its editor template's default, or not judged where that default is not recorded. Left out on
purpose: the ping methods while pinging is off, "built-in" ping ports (read as any port whatever the
default), and the keys that only credit a category exclusion (missing: no exclusion is credited)."""
PING_KEYS = ("icmp_ping", "tcp_ping", "arp_ping", "udp_ping")


def _missing(settings: Mapping[str, Any], key: str) -> bool:
    value = settings.get(key)
    # an empty port range is a value (no port); an empty flag or number reads as its default
    return value is None or (key != "portscan_range" and str(value).strip() == "")


def unknown_defaults(doc: PolicyDocument) -> list[str]:
    """The keys parse needs that `doc` leaves out while the defaults of its editor template are not
    recorded (empty: the document can be judged)."""
    s, defaults = doc.settings, recorded_defaults(doc.template)
    keys = list(JUDGED_KEYS)
    ping = s.get("ping_the_remote_host") if not _missing(s, "ping_the_remote_host") else defaults.get("ping_the_remote_host")
    if ping is None or str(ping).strip().lower() in ("yes", "true", "1", "on"):
        keys += PING_KEYS
    return [k for k in keys if _missing(s, k) and k not in defaults]


def _flag(settings: Mapping[str, Any], key: str, defaults: Mapping[str, str] = DEFAULTS) -> bool:
    value = settings.get(key)
    if value is None or value == "":
        value = defaults.get(key, "no")
    return str(value).strip().lower() in ("yes", "true", "1", "on")


UNLIMITED = 65535
"""How a limit left empty or "unlimited" reads: above any limit a profile can ask for (fail closed)."""


def _number(settings: Mapping[str, Any], key: str, defaults: Mapping[str, str] = DEFAULTS) -> int | None:
    """An integer setting; None for "" / "unlimited"; the product's default when missing."""
    value = settings.get(key)
    if value is None:
        value = defaults.get(key, "")
    text = str(value).strip().lower()
    if text in ("", "unlimited", "none"):
        return None
    try:
        return max(1, int(float(text)))
    except ValueError:
        raise ValueError(f"setting {key} = {value!r} is not a number") from None


def _ping_ports(text: Any) -> IntervalSet:
    value = str(text if text is not None else "built-in").strip()
    if not value or "built-in" in value.lower():
        return ALL_PORTS  # the product chooses the ports: any port may be pinged
    return PortSet.parse(re.sub(r"[;\s]+", ",", value)).tcp


def template_name(text: Any, fallback: str = "tenable-policy") -> str:
    """A template name from a policy name ("Basic Network Scan" -> "Basic-Network-Scan")."""
    name = re.sub(r"[^A-Za-z0-9_.@-]+", "-", str(text or "")).strip("-._@")
    return name or fallback


def parse_document(doc: PolicyDocument, name: str | None = None) -> ScanTemplate:
    """The neutral template a policy document amounts to (see the module docstring). Raises
    ValueError on a malformed setting, and on a key the document leaves out whose default is not
    recorded (only the Advanced Network Scan's defaults are): what cannot be judged is never
    read as a guess."""
    unknown = unknown_defaults(doc)
    if unknown:
        raise ValueError(
            f"the policy leaves {', '.join(unknown)} out, and the defaults of its editor template "
            f"{doc.template or '(not named)'} are not recorded (only the Advanced Network Scan's are): "
            "write every one of them in the policy")
    s, defaults = doc.settings, recorded_defaults(doc.template)

    def flag(key: str) -> bool:
        return _flag(s, key, defaults)

    def number(key: str) -> int | None:
        return _number(s, key, defaults)

    scanned = parse_range(s.get("portscan_range", defaults.get("portscan_range")))
    syn, connect, udp_scan = flag("syn_scanner"), flag("tcp_scanner"), flag("udp_scanner")
    if flag("unscanned_closed"):
        tcp = scanned.tcp if (syn or connect) else IntervalSet()
        udp = scanned.udp if udp_scan else IntervalSet()
        if flag("snmp_scanner"):
            udp = udp | IntervalSet([(SNMP, SNMP)])
    else:
        # unscanned ports count as open: any plugin may probe any port
        tcp, udp = ALL_PORTS, ALL_PORTS
    ping = flag("ping_the_remote_host")
    tcp_ping = ping and flag("tcp_ping")
    udp_ping = ping and flag("udp_ping")
    tcp_ping_ports = _ping_ports(s.get("tcp_ping_dest_ports") or defaults.get("tcp_ping_dest_ports")) if tcp_ping else None
    if tcp_ping and not tcp:
        tcp = tcp_ping_ports  # a SYN ping is a SYN probe of its port, even with no port scanned
    discovery = {
        "icmp": ping and flag("icmp_ping"),
        "arp": ping and flag("arp_ping"),
        "tcp_ping": tcp_ping,
        "udp_ping": udp_ping,
        "ping_ports": PortSet(tcp_ping_ports, ALL_PORTS if udp_ping else None),
        # the TCP ping sends SYN (plugin 10180), whatever port scanner runs
        "port_scan": "syn" if syn or not connect or tcp_ping else "connect",
    }

    def off(family: str) -> bool:
        if family in doc.disabled_families:
            return True
        return doc.all_check_families_off and family not in DISCOVERY_FAMILIES and family != PORT_SCANNER_FAMILY

    categories = {
        cat for cat in CATEGORIES
        if cat in CATEGORY_MAP
        and all(off(f) for f in CATEGORY_MAP[cat].families)
        and all(str(s.get(k) or defaults.get(k, "")).strip().lower() == v for k, v in CATEGORY_MAP[cat].settings)
    }
    vendor = {VendorCheck(vendor=VENDOR, kind="family", id=f) for f in doc.disabled_families}
    vendor |= {VendorCheck(vendor=VENDOR, kind="plugin", id=pid) for pid in doc.disabled_plugins}
    scanners_off = {pid for pid, key in PORT_SCANNERS.items() if not flag(key)}
    vendor |= {VendorCheck(vendor=VENDOR, kind="plugin", id=pid) for pid in scanners_off}
    if scanners_off == set(PORT_SCANNERS):
        vendor.add(VendorCheck(vendor=VENDOR, kind="family", id=PORT_SCANNER_FAMILY))
    def limit(key: str) -> int:
        # an empty or "unlimited" limit is no limit, whatever the editor would show by default
        value = number(key)
        return UNLIMITED if value is None else value

    performance = {
        # no packet rate and no delay between probes: render refuses templates that need either
        "packets_per_second": None,
        "probe_delay_ms": 0,
        "parallel_hosts": limit("max_hosts_per_scan"),
        "parallel_checks_per_host": limit("max_checks_per_host"),
        "timeout_s": limit("network_receive_timeout"),
    }
    return ScanTemplate(
        name=template_name(name or s.get("name") or ""),
        description="\n".join(description_lines(s.get("description") or "")),
        ports=PortSet(tcp, udp),
        discovery=discovery,
        checks={
            "enabled": not doc.all_check_families_off,
            "safe_only": flag("safe_checks"),
            "excluded_categories": frozenset(categories),
            "excluded_vendor_checks": frozenset(vendor),
        },
        performance=performance,
    )


def api_document(doc: Mapping[str, Any], template: str = "") -> PolicyDocument:
    """A policy as the REST API shows it (`GET /policies/{id}`: "uuid" and flat "settings";
    a create or update body may add "plugins" {family: {"status", "individual"}}) as a document.

    Such a body never lists every family the scanner has, so vulnerability checks are never read as
    off from it, without "plugins" every family counts as enabled, and every port scanner counts as
    running (fail closed)."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("settings", {}), Mapping):
        raise ValueError("a Tenable policy is an object with a settings object")
    settings = {str(k): "" if v is None else str(v) for k, v in (doc.get("settings") or {}).items()}
    # which port scanners run is seen in the policy export, not here: every one counts as running
    settings.update({key: "yes" for key in PORT_SCANNERS.values()})
    off, plugins = set(), set()
    for family, entry in (doc.get("plugins") or {}).items():
        if not isinstance(entry, Mapping):
            continue
        status = str(entry.get("status", "enabled")).lower()
        if status == "disabled":
            off.add(str(family))
        elif status == "mixed":
            plugins |= {str(p) for p, state in (entry.get("individual") or {}).items()
                        if str(state).lower() == "disabled"}
    return PolicyDocument(template=template or str(doc.get("uuid") or ""), settings=settings,
                          disabled_families=tuple(off), disabled_plugins=tuple(plugins))


def read_document(payload: Any) -> PolicyDocument:
    """A policy document from whatever a Tenable vendor's `parse` accepts: a rendered or read-back
    document, a REST API policy (`{"uuid", "settings", "plugins"?}`), JSON text, or a .nessus file
    (a Path, or XML bytes/text: a scan export, a policy export, an importable policy file) whose
    Policy section is read."""
    if isinstance(payload, Path):
        with payload.open("rb") as f:
            return read_policy(f, str(payload))
    if isinstance(payload, (bytes, str)):
        data = payload.encode() if isinstance(payload, str) else payload
        if data.lstrip().startswith(b"<"):
            return read_policy(io.BytesIO(data), "policy XML")
        return read_document(json.loads(data))
    if PolicyDocument.is_payload(payload):
        return PolicyDocument.model_validate(payload)
    return api_document(payload)
