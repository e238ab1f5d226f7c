"""Nessus plugin families: the vendor-neutral check categories mapped to them (one table), the
families of the Advanced Network Scan template, and the families of well-known plugins."""

from __future__ import annotations

from dataclasses import dataclass

ADVANCED_SCAN_UUID = "ad629e16-03b6-8c1d-cef6-ef8c9dd3c658d24bd260ef5f9e66"
"""Editor template uuid of the Advanced Network Scan (GET /editor/policy/templates)."""
BASIC_SCAN_UUID = "731a8e52-3ea6-a291-ec0a-d2ff0619c19d7bd788d6be818b65"
"""Editor template uuid of the Basic Network Scan."""

FAMILIES: tuple[str, ...] = (
    "AIX Local Security Checks", "Amazon Linux Local Security Checks", "Backdoors", "Brute force attacks",
    "CGI abuses", "CGI abuses : XSS", "CISCO", "CentOS Local Security Checks", "DNS", "Databases",
    "Debian Local Security Checks", "Default Unix Accounts", "Denial of Service",
    "F5 Networks Local Security Checks", "FTP", "Fedora Local Security Checks", "Firewalls",
    "FreeBSD Local Security Checks", "Gain a shell remotely", "General", "Gentoo Local Security Checks",
    "HP-UX Local Security Checks", "Huawei Local Security Checks", "Junos Local Security Checks",
    "MacOS X Local Security Checks", "Mandriva Local Security Checks", "Misc.", "Mobile Devices", "Netware",
    "NewStart CGSL Local Security Checks", "Oracle Linux Local Security Checks", "OracleVM Local Security Checks",
    "Palo Alto Local Security Checks", "Peer-To-Peer File Sharing", "PhotonOS Local Security Checks",
    "Policy Compliance", "RPC", "Red Hat Local Security Checks", "SCADA", "SMTP problems", "SNMP",
    "Scientific Linux Local Security Checks", "Service detection", "Settings", "Slackware Local Security Checks",
    "Solaris Local Security Checks", "SuSE Local Security Checks", "Ubuntu Local Security Checks",
    "VMware ESX Local Security Checks", "Virtuozzo Local Security Checks", "Web Servers", "Windows",
    "Windows : Microsoft Bulletins", "Windows : User management",
)
"""The plugin families of the Advanced Network Scan template (fixtures/nessus/editor-template-advanced.json)."""

DISCOVERY_FAMILIES = frozenset({"Settings", "Service detection", "General"})
"""Families that identify hosts and services rather than test for vulnerabilities: they stay on
in a template whose vulnerability checks are off."""


@dataclass(frozen=True)
class CategoryMapping:
    """How Nessus leaves out one vendor-neutral category: families disabled, and settings that
    must hold (for example safe_checks "yes", which drops ACT_DENIAL and ACT_DESTRUCTIVE_ATTACK
    plugins from every family, not only from "Denial of Service")."""

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
"""Vendor-neutral category -> what leaves it out on Nessus. The one table; render and parse
both read it, so a category is read back as excluded exactly when its whole mapping holds."""

PLUGIN_FAMILIES: dict[str, str] = {
    "10180": "Port scanners",  # Ping the remote host
    "10335": "Port scanners",  # Nessus TCP scanner
    "11219": "Port scanners",  # Nessus SYN scanner
    "14272": "Port scanners",  # Netstat portscanner (SSH)
    "14274": "Port scanners",  # Nessus SNMP Scanner
    "34220": "Port scanners",  # Netstat portscanner (WMI)
    "34277": "Port scanners",  # Nessus UDP scanner
    "19506": "Settings",  # Nessus Scan Information
}
"""Families of plugins a profile is likely to name. Nessus files individual plugins under their
family, so an id whose family is unknown must be written "Family/12345" in the profile."""


def plugin_family(check_id: str) -> tuple[str, str]:
    """(family, plugin id) for a nessus:plugin id: "12345" (family from PLUGIN_FAMILIES) or
    "Family name/12345". Raises ValueError when the family cannot be known: an exclusion that
    cannot be written is refused, never dropped."""
    family, sep, pid = check_id.rpartition("/")
    if sep:
        family = family.strip()
        pid = pid.strip()
        if not family:
            raise ValueError(f"nessus:plugin:{check_id} names no family")
    else:
        pid = check_id.strip()
        family = PLUGIN_FAMILIES.get(pid, "")
        if not family:
            raise ValueError(
                f"nessus:plugin:{check_id}: the family of plugin {pid} is not known to scanguard; write it as "
                f"nessus:plugin:\"Family name/{pid}\" (Nessus files individual plugins under their family)"
            )
    if not pid.isdigit():
        raise ValueError(f"nessus:plugin:{check_id}: {pid!r} is not a Nessus plugin id (digits)")
    return family, pid
