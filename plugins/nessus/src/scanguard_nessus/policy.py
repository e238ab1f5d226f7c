"""A neutral safe template as a Nessus policy document, and a policy document back as a template.

The document is what `POST /policies` takes and `GET /policies/{id}` returns: the editor template
`uuid`, flat `settings` whose values are strings ("yes"/"no", "5"), and `plugins` families with
`status` "disabled" or "mixed" plus `individual` plugin states.

Parsing is conservative: whatever Nessus would do that the document does not pin down is read
as the less safe reading (a missing key takes Nessus's default; "built-in" ping ports may be any
port; with `unscanned_closed` "no" plugins may probe any port), so that `violations` never passes
a policy that could hurt a device.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from scanguard import CATEGORIES, CannotEnforce, CompiledTemplate, IntervalSet, PortSet, ScanTemplate, VendorCheck

from .families import (
    ADVANCED_SCAN_UUID,
    CATEGORY_MAP,
    DISCOVERY_FAMILIES,
    FAMILIES,
    PLUGIN_FAMILIES,
    plugin_family,
)
from .portrange import parse_range, render_range

VENDOR = "nessus"
CHECK_KINDS = frozenset({"plugin", "family"})
"""The kinds of Nessus-specific check ids a profile can exclude."""

NESSUS_DEFAULTS: dict[str, str] = {
    "portscan_range": "default",
    "unscanned_closed": "no",
    "safe_checks": "yes",
    "syn_scanner": "yes",
    "tcp_scanner": "no",
    "udp_scanner": "no",
    "snmp_scanner": "yes",
    "ping_the_remote_host": "yes",
    "icmp_ping": "yes",
    "tcp_ping": "yes",
    "tcp_ping_dest_ports": "built-in",
    "arp_ping": "yes",
    "udp_ping": "no",
    "max_checks_per_host": "5",
    "max_hosts_per_scan": "80",
    "network_receive_timeout": "5",
    "max_simult_tcp_sessions_per_host": "",
    "max_simult_tcp_sessions_per_scan": "",
    "thorough_tests": "no",
    "scan_webapps": "no",
    "test_default_oracle_accounts": "no",
}
"""What Nessus assumes for a key a document leaves out (the Advanced Network Scan defaults in
fixtures/nessus/editor-template-advanced.json)."""

MANAGED_SETTINGS: tuple[str, ...] = (
    "name", "description", "portscan_range", "unscanned_closed", "safe_checks", "scan_network_printers",
    "scan_netware_hosts", "scan_ot_devices", "max_checks_per_host", "max_hosts_per_scan",
    "network_receive_timeout", "max_simult_tcp_sessions_per_host", "max_simult_tcp_sessions_per_scan",
    "reduce_connections_on_congestion", "syn_scanner", "tcp_scanner", "udp_scanner", "snmp_scanner",
    "ping_the_remote_host", "icmp_ping", "tcp_ping", "tcp_ping_dest_ports", "arp_ping", "udp_ping",
    "thorough_tests", "scan_webapps", "test_default_oracle_accounts",
)
"""Every settings key render writes (always all of them): the keys a read-back is compared on."""

ALL_PORTS = IntervalSet([(1, 65535)])
SNMP = 161


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


def _ports_text(iv: IntervalSet) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in iv.intervals)


def refuse_what_nessus_cannot_enforce(ct: CompiledTemplate) -> None:
    """Nessus has no setting for a delay between probes: a template whose devices need one is
    refused (CannotEnforce) rather than pushed looking safe; scan them with GVM, InsightVM or nmap."""
    delay = ct.constraints.min_probe_delay_ms
    if delay:
        who = sorted({p.profile for p in ct.constraints.provenance if p.kind == "rate" and p.item == "probe_delay_ms"})
        raise CannotEnforce(
            f"Nessus cannot keep {delay} ms between probes (required by {', '.join(who) or 'a profile'}); "
            "scan these devices with a scanner that can (gvm, insightvm, nmap), or leave this template off "
            "the Nessus scanner (its targets decide which group templates it gets)", items=("probe_delay_ms",)
        )


def render_plugins(t: ScanTemplate) -> dict[str, dict[str, Any]]:
    """The `plugins` section: families disabled for excluded categories and family ids, families
    "mixed" with the individually disabled plugins. Raises ValueError for a Nessus exclusion that
    cannot be written (fail closed)."""
    ch = t.checks
    disabled: set[str] = set()
    if not ch.enabled:
        disabled.update(f for f in FAMILIES if f not in DISCOVERY_FAMILIES)
    for cat in ch.excluded_categories:
        disabled.update(CATEGORY_MAP[cat].families)
    individual: dict[str, set[str]] = {}
    for vc in sorted(ch.excluded_vendor_checks, key=lambda v: v.text()):
        if vc.vendor != VENDOR:
            continue
        if vc.kind == "family":
            disabled.add(vc.id)
        elif vc.kind == "plugin":
            family, pid = plugin_family(vc.id)
            individual.setdefault(family, set()).add(pid)
        else:
            raise ValueError(f"Nessus cannot exclude {vc.text()}: Nessus check kinds are {', '.join(sorted(CHECK_KINDS))}")
    out: dict[str, dict[str, Any]] = {f: {"status": "disabled"} for f in sorted(disabled)}
    for family, pids in sorted(individual.items()):
        if family in disabled:
            continue  # the whole family is off already
        out[family] = {"status": "mixed", "individual": {p: "disabled" for p in sorted(pids, key=int)}}
    return out


def render_settings(ct: CompiledTemplate) -> dict[str, str]:
    """The `settings` section (every value a string, as Nessus returns them)."""
    refuse_what_nessus_cannot_enforce(ct)
    t = ct.template
    d, p, ch = t.discovery, t.performance, t.checks
    tcp_scan = bool(t.ports.tcp)
    tcp_ping = d.tcp_ping and bool(d.ping_ports.tcp)
    # Nessus's UDP ping probes built-in ports nobody can choose, so it is read back as pinging any
    # UDP port: turned on only when no constraint limits UDP ports or ping ports.
    c = ct.constraints
    udp_ping = d.udp_ping and not c.excluded_ports.udp and c.allowed_ping_ports is None
    pings = (d.icmp, d.arp, tcp_ping, udp_ping)
    unsafe_needed = any(("safe_checks", "yes") in CATEGORY_MAP[cat].settings for cat in ch.excluded_categories)
    description = t.description
    pps = "" if p.packets_per_second is None else str(p.packets_per_second)
    return {
        "name": ct.name,
        "description": description,
        "portscan_range": render_range(t.ports),
        "unscanned_closed": "yes",
        "safe_checks": _yn(ch.safe_only or unsafe_needed),
        "scan_network_printers": "no",
        "scan_netware_hosts": "no",
        "scan_ot_devices": "no",
        "max_checks_per_host": str(p.parallel_checks_per_host),
        "max_hosts_per_scan": str(p.parallel_hosts),
        "network_receive_timeout": str(p.timeout_s),
        # Nessus has no packet-rate setting; the cap on concurrent TCP sessions is its nearest throttle
        "max_simult_tcp_sessions_per_host": pps,
        "max_simult_tcp_sessions_per_scan": pps,
        "reduce_connections_on_congestion": _yn(p.packets_per_second is not None),
        "syn_scanner": _yn(tcp_scan and d.port_scan == "syn"),
        "tcp_scanner": _yn(tcp_scan and d.port_scan == "connect"),
        "udp_scanner": _yn(bool(t.ports.udp)),
        "snmp_scanner": _yn(SNMP in t.ports.udp),
        "ping_the_remote_host": _yn(any(pings)),
        "icmp_ping": _yn(d.icmp),
        "tcp_ping": _yn(tcp_ping),
        "tcp_ping_dest_ports": _ports_text(d.ping_ports.tcp) if d.ping_ports.tcp else "built-in",
        "arp_ping": _yn(d.arp),
        "udp_ping": _yn(udp_ping),
        "thorough_tests": "no",
        "scan_webapps": "no",
        "test_default_oracle_accounts": "no",
    }


def render_policy(ct: CompiledTemplate, template_uuid: str = ADVANCED_SCAN_UUID) -> dict[str, Any]:
    """The whole policy document for a compiled template (CannotEnforce when Nessus cannot keep
    the template's constraints)."""
    return {"uuid": template_uuid, "settings": render_settings(ct), "plugins": render_plugins(ct.template)}


# --- parse -----------------------------------------------------------------------------------


def _flag(settings: Mapping[str, Any], key: str) -> bool:
    value = settings.get(key)
    if value is None or value == "":
        value = NESSUS_DEFAULTS.get(key, "no")
    return str(value).strip().lower() in ("yes", "true", "1", "on")


def _number(settings: Mapping[str, Any], key: str, *, floor: int = 1) -> int | None:
    """An integer setting; None for "" / "unlimited"; Nessus's default when missing."""
    value = settings.get(key)
    if value is None:
        value = NESSUS_DEFAULTS.get(key, "")
    text = str(value).strip().lower()
    if text in ("", "unlimited", "none"):
        return None
    try:
        return max(floor, int(float(text)))
    except ValueError:
        raise ValueError(f"setting {key} = {value!r} is not a number") from None


def _ping_ports(text: Any) -> IntervalSet:
    value = str(text if text is not None else "built-in").strip()
    if not value or value.lower() == "built-in" or "built-in" in value.lower():
        return ALL_PORTS  # Nessus chooses the ports: any port may be pinged
    return PortSet.parse(re.sub(r"[;\s]+", ",", value)).tcp


def safe_name(text: str, fallback: str = "nessus-policy") -> str:
    """A template name from a policy name ("Basic Network Scan" -> "Basic-Network-Scan")."""
    name = re.sub(r"[^A-Za-z0-9_.@-]+", "-", str(text or "")).strip("-._@")
    return name or fallback


def _families(plugins: Mapping[str, Any] | None) -> tuple[set[str], dict[str, set[str]]]:
    """(families fully disabled, family -> individually disabled plugin ids)."""
    disabled: set[str] = set()
    individual: dict[str, set[str]] = {}
    for family, entry in (plugins or {}).items():
        if not isinstance(entry, Mapping):
            continue
        status = str(entry.get("status", "enabled")).lower()
        if status == "disabled":
            disabled.add(str(family))
            continue
        for pid, state in (entry.get("individual") or {}).items():
            if str(state).lower() == "disabled":
                individual.setdefault(str(family), set()).add(str(pid))
    return disabled, individual


def parse_policy(doc: Mapping[str, Any], name: str | None = None) -> ScanTemplate:
    """The neutral template a Nessus policy document amounts to (see the module docstring for
    how conservative the reading is). Raises ValueError on a malformed document."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("settings", {}), Mapping):
        raise ValueError("a Nessus policy document is an object with a settings object")
    s: Mapping[str, Any] = doc.get("settings") or {}
    disabled, individual = _families(doc.get("plugins"))

    scanned = parse_range(s.get("portscan_range", NESSUS_DEFAULTS["portscan_range"]))
    syn, connect, udp_scan = _flag(s, "syn_scanner"), _flag(s, "tcp_scanner"), _flag(s, "udp_scanner")
    if _flag(s, "unscanned_closed"):
        tcp = scanned.tcp if (syn or connect) else IntervalSet()
        udp = scanned.udp if udp_scan else IntervalSet()
        if _flag(s, "snmp_scanner"):
            udp = udp | IntervalSet([(SNMP, SNMP)])
    else:
        # unscanned ports count as open: any plugin may probe any port
        tcp, udp = ALL_PORTS, ALL_PORTS
    ports = PortSet(tcp, udp)

    ping = _flag(s, "ping_the_remote_host")
    tcp_ping = ping and _flag(s, "tcp_ping")
    udp_ping = ping and _flag(s, "udp_ping")
    discovery = {
        "icmp": ping and _flag(s, "icmp_ping"),
        "arp": ping and _flag(s, "arp_ping"),
        "tcp_ping": tcp_ping,
        "udp_ping": udp_ping,
        "ping_ports": PortSet(
            _ping_ports(s.get("tcp_ping_dest_ports", NESSUS_DEFAULTS["tcp_ping_dest_ports"])) if tcp_ping else None,
            ALL_PORTS if udp_ping else None,
        ),
        "port_scan": "syn" if syn or not connect else "connect",
    }

    vuln_families = [f for f in FAMILIES if f not in DISCOVERY_FAMILIES]
    enabled = not all(f in disabled for f in vuln_families)
    categories = set()
    for cat in CATEGORIES:
        m = CATEGORY_MAP.get(cat)
        if m is None:
            continue
        if all(f in disabled for f in m.families) and all(
            str(s.get(k, NESSUS_DEFAULTS.get(k, ""))).strip().lower() == v for k, v in m.settings
        ):
            categories.add(cat)
    vendor: set[VendorCheck] = {VendorCheck(vendor=VENDOR, kind="family", id=f) for f in disabled}
    for family, pids in individual.items():
        for pid in pids:
            vendor.add(VendorCheck(vendor=VENDOR, kind="plugin", id=pid))
            vendor.add(VendorCheck(vendor=VENDOR, kind="plugin", id=f"{family}/{pid}"))
    for pid, family in PLUGIN_FAMILIES.items():
        if family in disabled:
            vendor.add(VendorCheck(vendor=VENDOR, kind="plugin", id=pid))

    sessions = [v for v in (_number(s, "max_simult_tcp_sessions_per_host"), _number(s, "max_simult_tcp_sessions_per_scan"))
                if v is not None]
    performance = {
        "packets_per_second": min(sessions) if sessions else None,
        "parallel_hosts": _number(s, "max_hosts_per_scan") or int(NESSUS_DEFAULTS["max_hosts_per_scan"]),
        "parallel_checks_per_host": _number(s, "max_checks_per_host") or int(NESSUS_DEFAULTS["max_checks_per_host"]),
        "timeout_s": _number(s, "network_receive_timeout") or int(NESSUS_DEFAULTS["network_receive_timeout"]),
        "probe_delay_ms": 0,  # Nessus has no delay between probes (render refuses templates that need one)
    }
    description = "\n".join(
        line for line in str(s.get("description") or "").splitlines()
        if not line.startswith("scanguard:managed")
    )
    return ScanTemplate(
        name=safe_name(name or s.get("name") or ""),
        description=description,
        ports=ports,
        discovery=discovery,
        checks={
            "enabled": enabled,
            "safe_only": _flag(s, "safe_checks"),
            "excluded_categories": frozenset(categories),
            "excluded_vendor_checks": frozenset(vendor),
        },
        performance=performance,
    )
