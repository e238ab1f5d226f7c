"""A compiled template as a Tenable policy document.

Tenable policies have no packet rate and no delay between probes (their throttles are concurrent
checks, hosts and TCP sessions): a template that needs either is refused (CannotEnforce) rather
than pushed looking safe. The port range is include-only: exclusions are its complement, with
`unscanned_closed` "yes" so that plugins probe only the ports the range scanned.
"""

from __future__ import annotations

from scanguard import CannotEnforce, CompiledTemplate, IntervalSet, ScanTemplate, briefly

from .document import PolicyDocument
from .portrange import render_range
from .vocabulary import CATEGORY_MAP, DISCOVERY_FAMILIES, PORT_SCANNER_FAMILY, PORT_SCANNERS

VENDOR = "nessus"
"""Tenable products share Nessus's plugin ids and family names: profiles name them `nessus:`."""
CHECK_KINDS = frozenset({"plugin", "family"})
"""The kinds of Tenable check ids a profile can exclude."""
SNMP = 161


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


def _ports_text(iv: IntervalSet) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in iv.intervals)


def _who(ct: CompiledTemplate, item: str) -> str:
    profiles = sorted({p.profile for p in ct.constraints.provenance if p.kind == "rate" and p.item == item})
    return briefly(profiles) if profiles else f"the base template {ct.base}"


def refuse_what_tenable_cannot_enforce(ct: CompiledTemplate) -> None:
    """CannotEnforce for a template that needs a packet rate or a delay between probes (its own
    settings or its profiles'): Tenable scanners have neither, and a nearby throttle (concurrent
    TCP sessions, say) would only look like one."""
    p = ct.template.performance
    if p.probe_delay_ms:
        raise CannotEnforce(
            f"Tenable scanners cannot keep {p.probe_delay_ms} ms between probes (required by "
            f"{_who(ct, 'probe_delay_ms')}); "
            "scan these devices with a scanner that can (gvm, insightvm, nmap), or leave this template off the "
            "Tenable scanner (its targets decide which group templates it gets)", items=("probe_delay_ms",))
    if p.packets_per_second is not None:
        raise CannotEnforce(
            f"Tenable scanners have no packet rate: {p.packets_per_second} packets/s (required by "
            f"{_who(ct, 'packets_per_second')}) cannot be kept; scan these devices with a scanner that can (gvm, "
            "insightvm, nmap), or leave this template off the Tenable scanner", items=("packets_per_second",))


def _exclusions(t: ScanTemplate) -> tuple[set[str], set[str], set[str]]:
    """(families off by name, plugin ids off, port scanner plugin ids off); ValueError for an
    exclusion that cannot be written."""
    families: set[str] = set()
    plugins: set[str] = set()
    scanners: set[str] = set()
    for cat in t.checks.excluded_categories:
        families.update(CATEGORY_MAP[cat].families)
    for vc in sorted(t.checks.excluded_vendor_checks, key=lambda v: v.text()):
        if vc.vendor != VENDOR:
            continue
        if vc.kind == "family":
            if vc.id == PORT_SCANNER_FAMILY:
                scanners.update(PORT_SCANNERS)
            else:
                families.add(vc.id)
        elif vc.kind == "plugin":
            pid = vc.id.strip()
            if not pid.isdigit():
                raise ValueError(f"{vc.text()}: a plugin is named by its id alone (digits), like nessus:plugin:12345; "
                                 "the scanner itself says which family it belongs to")
            (scanners if pid in PORT_SCANNERS else plugins).add(pid)
        else:
            raise ValueError(f"Tenable policies cannot exclude {vc.text()}: the check kinds are "
                             f"{', '.join(sorted(CHECK_KINDS))}")
    return families, plugins, scanners


def render_document(ct: CompiledTemplate, template: str = "advanced") -> PolicyDocument:
    """The policy document for a compiled template, on the editor template named `template`.
    Raises CannotEnforce for what a Tenable scanner cannot keep, ValueError for an exclusion that
    cannot be written."""
    refuse_what_tenable_cannot_enforce(ct)
    t = ct.template
    d, p, ch = t.discovery, t.performance, t.checks
    families, plugins, scanners_off = _exclusions(t)

    def scanner(pid: str, wanted: bool) -> str:
        return _yn(wanted and pid not in scanners_off)

    tcp_scan = bool(t.ports.tcp)
    tcp_ping = d.tcp_ping and bool(d.ping_ports.tcp)
    # the UDP ping probes built-in ports nobody can choose, so it is read back as pinging any UDP
    # port: on only when no constraint limits UDP ports or ping ports
    c = ct.constraints
    udp_ping = d.udp_ping and not c.excluded_ports.udp and c.allowed_ping_ports is None
    pinging = d.icmp or d.arp or tcp_ping or udp_ping
    unsafe_needed = any(("safe_checks", "yes") in CATEGORY_MAP[cat].settings for cat in ch.excluded_categories)
    settings = {
        "name": ct.name,
        "description": t.description,
        "portscan_range": render_range(t.ports),
        "unscanned_closed": "yes",
        "safe_checks": _yn(ch.safe_only or unsafe_needed),
        "scan_network_printers": "no",
        "scan_netware_hosts": "no",
        "scan_ot_devices": "no",
        "max_checks_per_host": str(p.parallel_checks_per_host),
        "max_hosts_per_scan": str(p.parallel_hosts),
        "network_receive_timeout": str(p.timeout_s),
        "reduce_connections_on_congestion": "yes",
        "syn_scanner": scanner("11219", tcp_scan and d.port_scan == "syn"),
        "tcp_scanner": scanner("10335", tcp_scan and d.port_scan == "connect"),
        "udp_scanner": scanner("34277", bool(t.ports.udp)),
        "snmp_scanner": scanner("14274", SNMP in t.ports.udp),
        # the netstat scanners log in and read the host's own port table: no probe, Tenable's default
        "ssh_netstat_scanner": scanner("14272", True),
        "wmi_netstat_scanner": scanner("34220", True),
        "ping_the_remote_host": scanner("10180", pinging),
        "icmp_ping": _yn(d.icmp),
        "tcp_ping": _yn(tcp_ping),
        "tcp_ping_dest_ports": _ports_text(d.ping_ports.tcp) if d.ping_ports.tcp else "built-in",
        "arp_ping": _yn(d.arp),
        "udp_ping": _yn(udp_ping),
        "thorough_tests": "no",
        "scan_webapps": "no",
        "test_default_oracle_accounts": "no",
    }
    if not ch.enabled:
        families = {f for f in families if f in DISCOVERY_FAMILIES}
    return PolicyDocument(template=template, settings=settings, disabled_families=tuple(families),
                          all_check_families_off=not ch.enabled, disabled_plugins=tuple(plugins))


def render_payload(ct: CompiledTemplate) -> dict:
    """The JSON form of `render_document(ct)`: what a Tenable vendor's `render` returns (its client
    turns it into the product's own body, with the scanner's template and family ids)."""
    return render_document(ct).payload()
