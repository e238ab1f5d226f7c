"""The .nessus Policy section both ways.

Nessus Professional refuses policy management over its API (HTTP 412), so scanguard also writes
an importable policy file (Policies > Import). The same reader takes the Policy section of any
.nessus export, so that an audit can tell what the scan that actually ran was allowed to do.

The file names settings differently from the API; SERVER_PREFS and PING_PREFS translate.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

from lxml import etree

from scanguard import CompiledTemplate

from .families import FAMILIES, PLUGIN_FAMILIES
from .policy import render_plugins, render_settings
from scanguard.safexml import iterparse

SERVER_PREFS: dict[str, str] = {
    "port_range": "portscan_range",
    "unscanned_closed": "unscanned_closed",
    "safe_checks": "safe_checks",
    "max_checks": "max_checks_per_host",
    "max_hosts": "max_hosts_per_scan",
    "checks_read_timeout": "network_receive_timeout",
    "host.max_simult_tcp_sessions": "max_simult_tcp_sessions_per_host",
    "max_simult_tcp_sessions": "max_simult_tcp_sessions_per_scan",
    "reduce_connections_on_congestion": "reduce_connections_on_congestion",
    "network_scanners.syn": "syn_scanner",
    "network_scanners.tcp": "tcp_scanner",
    "network_scanners.udp": "udp_scanner",
    "local_portscan.snmp": "snmp_scanner",
    "portscan.ping": "ping_the_remote_host",
    "scan_network_printers": "scan_network_printers",
    "scan_netware_hosts": "scan_netware_hosts",
    "scan_ot_devices": "scan_ot_devices",
    "scan_webapps": "scan_webapps",
    "test_default_oracle_accounts": "test_default_oracle_accounts",
}
""".nessus ServerPreferences name -> API settings key."""

PING_PLUGIN = ("10180", "Ping the remote host")
PING_PREFS: dict[str, tuple[str, str]] = {
    "Do an ARP ping": ("checkbox", "arp_ping"),
    "Do a TCP ping": ("checkbox", "tcp_ping"),
    "Do an ICMP ping": ("checkbox", "icmp_ping"),
    "Do an applicative UDP ping (DNS,RPC...)": ("checkbox", "udp_ping"),
    "TCP ping destination port(s) :": ("entry", "tcp_ping_dest_ports"),
}
"""Preferences of plugin 10180 ("Ping the remote host") -> API settings key."""
THOROUGH = ("12288", "Global variable settings", "Thorough tests (slow)")
SCANNER_PLUGINS = {"11219": "syn_scanner", "10335": "tcp_scanner", "34277": "udp_scanner"}
"""Port scanner plugins whose individual selection says which scanner runs (older exports)."""


def _pref(name: str, value: str) -> str:
    return f"<preference><name>{escape(name)}</name><value>{escape(value)}</value></preference>"


def _plugin_pref(pid: str, plugin: str, kind: str, pref: str, value: str) -> str:
    return (
        "<item>"
        f"<pluginName>{escape(plugin)}</pluginName><pluginId>{pid}</pluginId>"
        f"<fullName>{escape(f'{plugin}[{kind}]:{pref}')}</fullName><preferenceName>{escape(pref)}</preferenceName>"
        f"<preferenceType>{kind}</preferenceType><preferenceValues>{escape(value)}</preferenceValues>"
        f"<selectedValue>{escape(value)}</selectedValue>"
        "</item>"
    )


def render_policy_xml(ct: CompiledTemplate) -> str:
    """An importable .nessus v2 file holding only the Policy section for `ct`."""
    s = render_settings(ct)
    plugins = render_plugins(ct.template)
    server = [_pref("name", s["name"]), _pref("scan_description", s["description"])]
    for xml_name, key in SERVER_PREFS.items():
        value = s.get(key, "")
        if key.startswith("max_simult_tcp_sessions") and value == "":
            value = "unlimited"
        server.append(_pref(xml_name, value))
    ping = [
        _plugin_pref(PING_PLUGIN[0], PING_PLUGIN[1], kind, pref, s[key]) for pref, (kind, key) in PING_PREFS.items()
    ]
    ping.append(_plugin_pref(THOROUGH[0], THOROUGH[1], "checkbox", THOROUGH[2], s["thorough_tests"]))
    families = []
    for family in sorted(set(FAMILIES) | set(plugins)):
        status = plugins.get(family, {}).get("status", "enabled")
        families.append(f"<FamilyItem><FamilyName>{escape(family)}</FamilyName><Status>{status}</Status></FamilyItem>")
    individual = []
    for family, entry in sorted(plugins.items()):
        for pid, state in (entry.get("individual") or {}).items():
            individual.append(
                f"<PluginItem><PluginId>{pid}</PluginId><PluginName>{pid}</PluginName>"
                f"<Family>{escape(family)}</Family><Status>{state}</Status></PluginItem>"
            )
    return (
        '<?xml version="1.0" ?>\n<NessusClientData_v2>\n<Policy>\n'
        f"<policyName>{escape(s['name'])}</policyName>\n"
        f"<policyComments>{escape(s['description'])}</policyComments>\n"
        "<Preferences>\n<ServerPreferences>\n" + "\n".join(server) + "\n</ServerPreferences>\n"
        "<PluginsPreferences>\n" + "\n".join(ping) + "\n</PluginsPreferences>\n</Preferences>\n"
        "<FamilySelection>\n" + "\n".join(families) + "\n</FamilySelection>\n"
        "<IndividualPluginSelection>\n" + "\n".join(individual) + "\n</IndividualPluginSelection>\n"
        "</Policy>\n</NessusClientData_v2>\n"
    )


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def policy_document(policy: etree._Element) -> dict[str, Any]:
    """The API-shaped document ({"settings", "plugins"}) a .nessus <Policy> element amounts to."""
    settings: dict[str, str] = {}
    raw: dict[str, str] = {}
    for pref in policy.iterfind("Preferences/ServerPreferences/preference"):
        raw[_text(pref.find("name"))] = _text(pref.find("value"))
    for xml_name, key in SERVER_PREFS.items():
        if xml_name in raw:
            value = raw[xml_name]
            if key.startswith("max_simult_tcp_sessions") and value.lower() == "unlimited":
                value = ""
            settings[key] = value
    settings["name"] = _text(policy.find("policyName")) or raw.get("name", "")
    settings["description"] = raw.get("scan_description") or raw.get("policy_description") or _text(policy.find("policyComments"))
    for item in policy.iterfind("Preferences/PluginsPreferences/item"):
        pid = _text(item.find("pluginId"))
        pref = _text(item.find("preferenceName"))
        value = _text(item.find("selectedValue"))
        if pid == PING_PLUGIN[0] and pref in PING_PREFS:
            settings[PING_PREFS[pref][1]] = value
        elif pid == THOROUGH[0] and pref == THOROUGH[2]:
            settings["thorough_tests"] = value
    plugins: dict[str, dict[str, Any]] = {}
    for fam in policy.iterfind("FamilySelection/FamilyItem"):
        status = _text(fam.find("Status")).lower() or "enabled"
        plugins[_text(fam.find("FamilyName"))] = {"status": status}
    for item in policy.iterfind("IndividualPluginSelection/PluginItem"):
        pid = _text(item.find("PluginId"))
        family = _text(item.find("Family")) or PLUGIN_FAMILIES.get(pid, "")
        state = _text(item.find("Status")).lower()
        if pid in SCANNER_PLUGINS and SCANNER_PLUGINS[pid] not in settings:
            settings[SCANNER_PLUGINS[pid]] = "yes" if state == "enabled" else "no"
        if state == "disabled" and family:
            entry = plugins.setdefault(family, {"status": "mixed"})
            if entry.get("status") != "disabled":
                entry["status"] = "mixed"
                entry.setdefault("individual", {})[pid] = "disabled"
    return {"settings": settings, "plugins": plugins}


def read_policy(stream: IO[bytes], source: str) -> dict[str, Any]:
    """The Policy section of a .nessus file (or a policy file) as an API-shaped document.
    Streams: stops reading after </Policy>. Raises ValueError when the file has no Policy."""
    for _, el in iterparse(stream, source, tag="Policy"):
        return policy_document(el)
    raise ValueError(f"{source}: no <Policy> section (is this a .nessus v2 file?)")


def read_policy_file(path: str | Path) -> dict[str, Any]:
    """`read_policy` on a file."""
    with open(path, "rb") as f:
        return read_policy(f, str(path))
