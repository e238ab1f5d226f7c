"""The Tenable policy vocabulary shared by Nessus, Tenable Security Center and Tenable Vulnerability
Management: the settings keys scanguard writes and what the product assumes when one is missing,
the port-scanner plugins and the settings keys that switch them, and the one table from neutral
check categories to plugin families."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

DEFAULTS: dict[str, str] = {
    "portscan_range": "default",
    "unscanned_closed": "no",
    "safe_checks": "yes",
    "syn_scanner": "yes",
    "tcp_scanner": "no",
    "udp_scanner": "no",
    "snmp_scanner": "yes",
    "ssh_netstat_scanner": "yes",
    "wmi_netstat_scanner": "yes",
    "ping_the_remote_host": "yes",
    "icmp_ping": "yes",
    "tcp_ping": "yes",
    "tcp_ping_dest_ports": "built-in",
    "arp_ping": "yes",
    "udp_ping": "no",
    "max_checks_per_host": "5",
    "max_hosts_per_scan": "80",
    "network_receive_timeout": "5",
    "reduce_connections_on_congestion": "no",
    "thorough_tests": "no",
    "scan_webapps": "no",
    "test_default_oracle_accounts": "no",
    "scan_network_printers": "no",
    "scan_netware_hosts": "no",
    "scan_ot_devices": "no",
}
"""What the product assumes for a key a policy leaves out (the Advanced Network Scan defaults of
fixtures/nessus/editor-template-advanced.json; a recorded GET /policies/{id} after create leaves
the ping keys out until they are written)."""

MANAGED_SETTINGS: tuple[str, ...] = (
    "name", "description", "portscan_range", "unscanned_closed", "safe_checks", "scan_network_printers",
    "scan_netware_hosts", "scan_ot_devices", "max_checks_per_host", "max_hosts_per_scan",
    "network_receive_timeout", "reduce_connections_on_congestion", "syn_scanner", "tcp_scanner", "udp_scanner",
    "snmp_scanner", "ssh_netstat_scanner", "wmi_netstat_scanner", "ping_the_remote_host", "icmp_ping", "tcp_ping",
    "tcp_ping_dest_ports", "arp_ping", "udp_ping", "thorough_tests", "scan_webapps", "test_default_oracle_accounts",
)
"""Every settings key render writes (always all of them): what a read-back is compared on."""

PORT_SCANNER_FAMILY = "Port scanners"
"""A real plugin family (every recorded export lists it) that the policy editor does not show:
its plugins are switched by settings keys, and the export (FamilySelection and
IndividualPluginSelection) shows what the scanner made of them."""

PORT_SCANNERS: dict[str, str] = {
    "11219": "syn_scanner",  # Nessus SYN scanner
    "10335": "tcp_scanner",  # Nessus TCP scanner
    "34277": "udp_scanner",  # Nessus UDP Scanner
    "14274": "snmp_scanner",  # Nessus SNMP Scanner
    "10180": "ping_the_remote_host",  # Ping the remote host
    "14272": "ssh_netstat_scanner",  # Netstat Portscanner (SSH)
    "34220": "wmi_netstat_scanner",  # Netstat Portscanner (WMI)
}
"""Port-scanner plugin id -> the settings key that switches it (ids and names as the recorded
exports list them in the Port scanners family)."""

DISCOVERY_FAMILIES = frozenset({"Settings", "Service detection", "General"})
"""Families that identify hosts and services rather than test for vulnerabilities: they stay on in a
template whose vulnerability checks are off."""


@dataclass(frozen=True)
class CategoryMapping:
    """How a Tenable policy leaves out one neutral category: families disabled, and settings that
    must hold (safe_checks "yes" drops ACT_DENIAL and ACT_DESTRUCTIVE_ATTACK plugins from every
    family, not only from "Denial of Service")."""

    families: tuple[str, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()


CATEGORY_MAP: dict[str, CategoryMapping] = {
    "dos": CategoryMapping(("Denial of Service",), (("safe_checks", "yes"),)),
    "brute-force": CategoryMapping(("Brute force attacks",)),
    "exploit": CategoryMapping(("Gain a shell remotely", "Backdoors"), (("safe_checks", "yes"),)),
    "intrusive": CategoryMapping((), (("safe_checks", "yes"), ("thorough_tests", "no"))),
    "unsafe": CategoryMapping((), (("safe_checks", "yes"),)),
    "web-crawl": CategoryMapping(("CGI abuses", "CGI abuses : XSS"), (("scan_webapps", "no"),)),
    "fuzzing": CategoryMapping(("CGI abuses : XSS",), (("scan_webapps", "no"), ("safe_checks", "yes"))),
    "default-credentials": CategoryMapping(("Default Unix Accounts",), (("test_default_oracle_accounts", "no"),)),
}
"""Neutral category -> what leaves it out. The one table; render and parse both read it, so a
category is read back as excluded exactly when its whole mapping holds."""


@lru_cache(maxsize=1)
def recorded_families() -> tuple[str, ...]:
    """The families a recorded Nessus editor listed (data/families.txt): only for files written
    without a scanner to ask; a live scanner's own list always wins."""
    text = resources.files("scanguard_tenable_policy").joinpath("data/families.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
