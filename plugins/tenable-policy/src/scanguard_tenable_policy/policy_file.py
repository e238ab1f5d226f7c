"""The .nessus Policy section both ways.

Read: the Policy of any .nessus file (a scan export, a policy export `GET /policies/{id}/export`,
a Security Center policy export, an importable policy file) as a policy document. The file names
settings differently from the API (SERVER_PREFS, PING_PREFS translate); FamilySelection lists every
family the scanner had, so vulnerability checks can be read as off from it; the Port scanners
family and its IndividualPluginSelection items say which port scanners run (the recorded exports
list the enabled ones). Everything goes through scanguard.safexml.

Write: an importable policy file, for Nessus Professional (whose API answers 412). No scanner can
be asked for its families or for the family of a plugin there: the families are those a recorded
editor listed (vocabulary.recorded_families), and a template that excludes individual plugins is
not written as a file (`PolicyFileUnavailable`).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Iterable
from xml.sax.saxutils import escape

from lxml import etree
from pydantic import BaseModel, ConfigDict

from scanguard.safexml import iterparse

from .document import PolicyDocument, live_document, running_port_scanners
from .vocabulary import DISCOVERY_FAMILIES, PORT_SCANNER_FAMILY, PORT_SCANNERS, recorded_families

SERVER_PREFS: dict[str, str] = {
    "port_range": "portscan_range",
    "unscanned_closed": "unscanned_closed",
    "safe_checks": "safe_checks",
    "max_checks": "max_checks_per_host",
    "max_hosts": "max_hosts_per_scan",
    "checks_read_timeout": "network_receive_timeout",
    "reduce_connections_on_congestion": "reduce_connections_on_congestion",
    "network_scanners.syn": "syn_scanner",
    "network_scanners.tcp": "tcp_scanner",
    "network_scanners.udp": "udp_scanner",
    "local_portscan.snmp": "snmp_scanner",
    "local_portscan.netstat_ssh": "ssh_netstat_scanner",
    "local_portscan.netstat_wmi": "wmi_netstat_scanner",
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
TEMPLATE_UUIDS: dict[str, str] = {
    "ad629e16-03b6-8c1d-cef6-ef8c9dd3c658d24bd260ef5f9e66": "advanced",
    "731a8e52-3ea6-a291-ec0a-d2ff0619c19d7bd788d6be818b65": "basic",
}
"""Editor template uuids a file may carry as wizard_uuid (only to name the template in what is read)."""


class PolicyFileUnavailable(ValueError):
    """The template cannot be written as an importable file without a scanner to ask."""


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


class PluginSelection(BaseModel):
    """The plugin selection a .nessus Policy shows: every family's status, and the individual
    plugins listed (id, family as written, status)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    families: dict[str, str] = {}
    plugins: tuple[tuple[str, str, str], ...] = ()

    def port_scanners(self) -> frozenset[str]:
        """The port-scanner plugin ids that run (see document.running_port_scanners); every one
        when the selection lists no family at all."""
        if not self.families:
            return frozenset(PORT_SCANNERS)
        # port scanners are known by id: some exports write the plugin's name where its family belongs
        items = {pid: state for pid, _, state in self.plugins if pid in PORT_SCANNERS}
        return running_port_scanners(self.families.get(PORT_SCANNER_FAMILY), items)

    def disabled_in_families(self) -> dict[str, list[str]]:
        """family -> plugin ids listed as disabled (port scanners left out)."""
        out: dict[str, list[str]] = {}
        for pid, family, state in self.plugins:
            if state == "disabled" and pid not in PORT_SCANNERS:
                out.setdefault(family, []).append(pid)
        return out


def plugin_selection(policy: etree._Element) -> PluginSelection:
    """FamilySelection and IndividualPluginSelection of a <Policy> element."""
    families = {_text(f.find("FamilyName")): _text(f.find("Status")).lower() or "enabled"
                for f in policy.iterfind("FamilySelection/FamilyItem")}
    plugins = tuple((_text(i.find("PluginId")), _text(i.find("Family")), _text(i.find("Status")).lower())
                    for i in policy.iterfind("IndividualPluginSelection/PluginItem"))
    return PluginSelection(families=families, plugins=plugins)


def policy_document(policy: etree._Element) -> PolicyDocument:
    """The document a .nessus <Policy> element amounts to (see the module docstring)."""
    raw: dict[str, str] = {}
    for pref in policy.iterfind("Preferences/ServerPreferences/preference"):
        raw[_text(pref.find("name"))] = _text(pref.find("value"))
    settings: dict[str, str] = {key: raw[xml] for xml, key in SERVER_PREFS.items() if xml in raw}
    settings["name"] = _text(policy.find("policyName")) or raw.get("name", "")
    settings["description"] = (raw.get("scan_description") or raw.get("policy_description")
                               or _text(policy.find("policyComments")))
    for item in policy.iterfind("Preferences/PluginsPreferences/item"):
        pid, pref = _text(item.find("pluginId")), _text(item.find("preferenceName"))
        # scan exports carry selectedValue; policy exports only preferenceValues (the value itself)
        chosen = item.find("selectedValue")
        value = _text(chosen if chosen is not None else item.find("preferenceValues"))
        if pid == PING_PLUGIN[0] and pref in PING_PREFS:
            settings[PING_PREFS[pref][1]] = value
        elif pid == THOROUGH[0] and pref == THOROUGH[2]:
            settings["thorough_tests"] = value
    sel = plugin_selection(policy)
    return live_document(template=TEMPLATE_UUIDS.get(raw.get("wizard_uuid", ""), raw.get("wizard_uuid", "")),
                         settings=settings, families=sel.families or None, mixed_disabled=sel.disabled_in_families(),
                         port_scanners=sel.port_scanners())


def _policy(stream: IO[bytes], source: str) -> etree._Element:
    for _, el in iterparse(stream, source, tag="Policy"):
        return el
    raise ValueError(f"{source}: no <Policy> section (is this a .nessus v2 file?)")


def read_selection(stream: IO[bytes], source: str) -> PluginSelection:
    """The plugin selection of a .nessus file's Policy (a policy export, say)."""
    return plugin_selection(_policy(stream, source))


def read_policy(stream: IO[bytes], source: str) -> PolicyDocument:
    """The Policy section of a .nessus file as a document; streams and stops after </Policy>.
    Raises ValueError when the file has no Policy (UnsafeInput for a hostile file)."""
    return policy_document(_policy(stream, source))


def read_policy_file(path: str | Path) -> PolicyDocument:
    """`read_policy` on a file."""
    with open(path, "rb") as f:
        return read_policy(f, str(path))


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


def render_policy_file(doc: PolicyDocument, families: Iterable[str] | None = None) -> str:
    """An importable .nessus v2 file holding only the Policy section of `doc`, with an explicit
    state for each of `families` (default: the recorded editor's list) and the Port scanners
    family. Raises PolicyFileUnavailable when `doc` excludes individual plugins (their families
    cannot be known without a scanner)."""
    if doc.disabled_plugins:
        raise PolicyFileUnavailable(
            f"plugins {', '.join(doc.disabled_plugins)} are excluded one by one: only a scanner knows their families, "
            "so no importable file is written; push the policy through the API, or exclude their families")
    s = doc.settings
    server = [_pref("name", s["name"]), _pref("scan_description", s["description"])]
    server += [_pref(xml, s.get(key, "")) for xml, key in SERVER_PREFS.items()]
    prefs = [_plugin_pref(PING_PLUGIN[0], PING_PLUGIN[1], kind, pref, s[key]) for pref, (kind, key) in PING_PREFS.items()]
    prefs.append(_plugin_pref(THOROUGH[0], THOROUGH[1], "checkbox", THOROUGH[2], s["thorough_tests"]))
    listed = [f for f in dict.fromkeys(families if families is not None else recorded_families())
              if f != PORT_SCANNER_FAMILY]
    off = set(doc.disabled_families)
    if doc.all_check_families_off:
        off |= {f for f in listed if f not in DISCOVERY_FAMILIES}
    running = [pid for pid, key in PORT_SCANNERS.items() if s.get(key) == "yes"]
    scanner_status = "enabled" if len(running) == len(PORT_SCANNERS) else "mixed" if running else "disabled"
    rows = [(f, "disabled" if f in off else "enabled") for f in sorted(set(listed) | off)]
    rows.append((PORT_SCANNER_FAMILY, scanner_status))
    family_xml = [f"<FamilyItem><FamilyName>{escape(f)}</FamilyName><Status>{st}</Status></FamilyItem>"
                  for f, st in rows]
    plugin_xml = [f"<PluginItem><PluginId>{pid}</PluginId><PluginName>{pid}</PluginName>"
                  f"<Family>{escape(PORT_SCANNER_FAMILY)}</Family><Status>enabled</Status></PluginItem>"
                  for pid in running]
    return (
        '<?xml version="1.0" ?>\n<NessusClientData_v2>\n<Policy>\n'
        f"<policyName>{escape(s['name'])}</policyName>\n"
        f"<policyComments>{escape(s['description'])}</policyComments>\n"
        "<Preferences>\n<ServerPreferences>\n" + "\n".join(server) + "\n</ServerPreferences>\n"
        "<PluginsPreferences>\n" + "\n".join(prefs) + "\n</PluginsPreferences>\n</Preferences>\n"
        "<FamilySelection>\n" + "\n".join(family_xml) + "\n</FamilySelection>\n"
        "<IndividualPluginSelection>\n" + "\n".join(plugin_xml) + "\n</IndividualPluginSelection>\n"
        "</Policy>\n</NessusClientData_v2>\n"
    )
