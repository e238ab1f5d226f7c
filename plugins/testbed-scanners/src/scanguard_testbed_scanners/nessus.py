"""A stateful fake Nessus (Manager) serving real HTTP or HTTPS on loopback, for tests and benchmarks.

It answers in the shapes of the recorded real responses in ../shared/fixtures/nessus/ and
../shared/fixtures/tenableio/, nothing a real answer lacks and everything it has:

- `GET /policies/{id}`: `{"settings", "uuid"}` only (policy-details.json), settings as strings;
- `GET /policies`: summaries as policy_list.json records them (`description` may be null), and
  `{"policies": null}` when there are none;
- `POST /policies` -> `{"policy_id", "policy_name"}`; `PUT` and `DELETE` answer 200 with an empty
  body (configure_policy.json);
- `GET /editor/policy/templates` and `/editor/policy/templates/{uuid}` (the recorded editor of the
  Advanced Network Scan: settings sections and `plugins.families` {name: {id, count, status}});
- `GET /editor/policy/{id}`: the same editor with this policy's family states and values;
- `GET /policies/{id}/export`: the recorded export (policy-export.nessus) with this policy's
  name, ping preferences, FamilySelection (every family, "Port scanners" included) and
  IndividualPluginSelection (the port scanners that run, listed enabled, as recorded).

Two views have no recording; their shapes follow Tenable's API documentation (and pyTenable):
`GET /editor/policy/{id}/families/{family_id}` -> `{"plugins": [{"id", "name", "status"}]}` and
`GET /plugins/plugin/{id}` -> `{"id", "name", "family_name", "attributes"}`. The plugins the fake
knows come from the ReportItems of the recorded scan exports (results/nessus) and the port
scanners; `add_plugin` and `add_family` add more (a family the feed gains later, say).

State lives across requests, behind a lock; `policies` holds each policy's raw state (settings,
family statuses, plugin states) for tests to read directly. Faults on demand: HTTP errors, 429
with Retry-After, connection resets, hangs longer than the client's timeout, per-request latency,
and the HTTP 412 of Nessus Professional.

    with FakeNessus(tls=True) as fake:
        monkeypatch.setenv("NESSUS_ACCESS_KEY", fake.access_key)
        ... fake.url, fake.ca_bundle, fake.policies, fake.requests ...
        fake.fail_next("503", count=2, method="PUT")
        fake.edit_policy(policy_id, settings={"safe_checks": "no"}, families={"Denial of Service": "enabled"})
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from scanguard_tenable_policy import PORT_SCANNER_FAMILY, PORT_SCANNERS, recorded_families

from .common import HttpFake, key_pairs, shared_fixtures

SHARED = shared_fixtures()
FIXTURES = SHARED / "nessus"

ADVANCED_UUID = "ad629e16-03b6-8c1d-cef6-ef8c9dd3c658d24bd260ef5f9e66"
BASIC_UUID = "731a8e52-3ea6-a291-ec0a-d2ff0619c19d7bd788d6be818b65"
PROFESSIONAL_ERROR = {"error": "API is not available"}
NOT_FOUND = {"error": "The requested file was not found."}
PORT_SCANNER_NAMES = {
    "11219": "Nessus SYN scanner", "10335": "Nessus TCP scanner", "34277": "Nessus UDP Scanner",
    "14274": "Nessus SNMP Scanner", "10180": "Ping the remote host", "14272": "Netstat Portscanner (SSH)",
    "34220": "Netstat Portscanner (WMI)",
}
PING_PREFS = {
    "Do an ARP ping": "arp_ping", "Do a TCP ping": "tcp_ping", "Do an ICMP ping": "icmp_ping",
    "Do an applicative UDP ping (DNS,RPC...)": "udp_ping", "TCP ping destination port(s) :": "tcp_ping_dest_ports",
}

_MINIMAL_DEFAULTS = {
    "name": "", "description": "", "portscan_range": "default", "unscanned_closed": "no", "safe_checks": "yes",
    "syn_scanner": "yes", "tcp_scanner": "no", "udp_scanner": "no", "snmp_scanner": "yes",
    "ssh_netstat_scanner": "yes", "wmi_netstat_scanner": "yes", "ping_the_remote_host": "yes",
    "icmp_ping": "yes", "tcp_ping": "yes", "tcp_ping_dest_ports": "built-in", "arp_ping": "yes", "udp_ping": "no",
    "max_checks_per_host": "5", "max_hosts_per_scan": "80", "network_receive_timeout": "5",
    "scan_network_printers": "no", "scan_netware_hosts": "no", "scan_ot_devices": "no",
}
"""Defaults used only when the recorded fixtures are not beside the checkout."""


def _inputs(node: Any):
    """Every settings input ({"id", "type", "default", ...}) of an editor document."""
    if isinstance(node, dict):
        if isinstance(node.get("id"), str) and "type" in node:
            yield node
        for v in node.values():
            yield from _inputs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _inputs(v)


def exported_plugins(families: set[str]) -> dict[str, tuple[str, str]]:
    """Plugin id -> (name, family) of the port scanners and of the plugins the recorded scan
    exports (results/nessus) ran, in the families a scanner has."""
    plugins: dict[str, tuple[str, str]] = {pid: (name, PORT_SCANNER_FAMILY) for pid, name in PORT_SCANNER_NAMES.items()}
    for export in sorted((SHARED / "results" / "nessus").glob("*.nessus")):
        for m in re.finditer(r'<ReportItem [^>]*?pluginID="(\d+)"[^>]*>', export.read_text(errors="replace")):
            tag = m.group(0)
            name = re.search(r'pluginName="([^"]*)"', tag)
            family = re.search(r'pluginFamily="([^"]*)"', tag)
            if family and family.group(1) in families:
                plugins.setdefault(m.group(1), (name.group(1) if name else m.group(1), family.group(1)))
    return plugins


@lru_cache(maxsize=1)
def _recorded() -> dict[str, Any]:
    """Editor, default settings, families, plugins and the export skeleton, from the recordings
    when present."""
    advanced_path = FIXTURES / "editor-template-advanced.json"
    details_path = FIXTURES / "policy-details.json"
    export_path = FIXTURES / "policy-export.nessus"
    if advanced_path.is_file() and details_path.is_file():
        editor = json.loads(advanced_path.read_text(encoding="utf-8"))
        details = json.loads(details_path.read_text(encoding="utf-8"))
        basic_defaults = {k: str(v) for k, v in details["settings"].items()}
        basic_defaults.update(name="", description="")
        # every key a recorded policy has, with the advanced editor's defaults where it gives one
        adv_defaults = dict(basic_defaults)
        adv_defaults.update({n["id"]: "" if n.get("default") is None else str(n["default"])
                             for n in _inputs(editor["settings"])})
        families = {name: {"id": int(e["id"]), "count": int(e.get("count") or 0)}
                    for name, e in editor["plugins"]["families"].items()}
    else:  # pragma: no cover - a checkout without ../shared
        families = {name: {"id": i, "count": 0} for i, name in enumerate(recorded_families(), 1)}
        editor = {"uuid": ADVANCED_UUID, "name": "advanced", "title": "Advanced Network Scan", "settings": {},
                  "plugins": {"families": {}}}
        adv_defaults = dict(_MINIMAL_DEFAULTS)
        basic_defaults = dict(_MINIMAL_DEFAULTS)
    plugins = exported_plugins(set(families))
    skeleton = export_path.read_bytes() if export_path.is_file() else None
    basic_editor = copy.deepcopy(editor)
    basic_editor.update(uuid=BASIC_UUID, name="basic", title="Basic Network Scan")
    return {
        "editor": {ADVANCED_UUID: editor, BASIC_UUID: basic_editor},
        "defaults": {ADVANCED_UUID: adv_defaults, BASIC_UUID: basic_defaults},
        "families": families,
        "plugins": plugins,
        "export": skeleton,
        "templates": [
            {"uuid": ADVANCED_UUID, "name": "advanced", "title": "Advanced Network Scan",
             "desc": "Configure a scan without using any recommendations.", "cloud_only": False,
             "subscription_only": False, "is_agent": None, "more_info": None, "manager_only": False,
             "unsupported": False},
            {"uuid": BASIC_UUID, "name": "basic", "title": "Basic Network Scan",
             "desc": "A full system scan suitable for any host.", "cloud_only": False,
             "subscription_only": False, "is_agent": None, "more_info": None, "manager_only": False,
             "unsupported": False},
        ],
    }


_PLUGINS_SLOT = b'"@plugins@"'


@lru_cache(maxsize=4)
def _editor_bytes(uuid: str) -> bytes:
    """The recorded editor serialised once, its plugins replaced by a slot to splice into."""
    doc = dict(_recorded()["editor"][uuid])
    doc["plugins"] = "@plugins@"
    return json.dumps(doc).encode()


@lru_cache(maxsize=1)
def _export_template() -> str:
    """The recorded policy export with a token wherever a policy's own state goes (serialised once;
    each export fills the tokens in)."""
    skeleton = _recorded()["export"]
    if skeleton is None:  # pragma: no cover - a checkout without ../shared
        skeleton = (b"<NessusClientData_v2><Policy><policyComments/><Preferences><PluginsPreferences/>"
                    b"<ServerPreferences/></Preferences><FamilySelection/><policyName/>"
                    b"<IndividualPluginSelection/></Policy></NessusClientData_v2>")
    root = etree.fromstring(skeleton, etree.XMLParser(resolve_entities=False, no_network=True))
    policy = root.find("Policy")
    policy.find("policyComments").text = "@comments@"
    policy.find("policyName").text = "@name@"
    prefs = policy.find("Preferences")
    for item in prefs.iterfind("PluginsPreferences/item"):
        pref = item.findtext("preferenceName")
        if item.findtext("pluginId") == "10180" and pref in PING_PREFS:
            item.find("preferenceValues").text = f"@ping:{PING_PREFS[pref]}@"
        elif item.findtext("pluginId") == "12288" and pref == "Thorough tests (slow)":
            item.find("preferenceValues").text = "@thorough@"
    for el in (prefs.find("ServerPreferences"), policy.find("FamilySelection"), policy.find("IndividualPluginSelection")):
        for child in list(el):
            el.remove(child)
        el.text = f"@{el.tag}@"
    return etree.tostring(root, encoding="unicode")


def _strings(settings: dict[str, Any]) -> dict[str, str]:
    """Nessus stores and returns every setting as a string."""
    out = {}
    for k, v in settings.items():
        if isinstance(v, bool):
            out[str(k)] = "yes" if v else "no"
        elif v is None:
            out[str(k)] = ""
        else:
            out[str(k)] = str(v)
    return out


class FakeNessus(HttpFake):
    """A fake Nessus on 127.0.0.1 (random free port) in a background thread.

    Attributes for tests, beyond HttpFake's: `policies` (id -> raw stored policy: "uuid",
    "settings", "families" {name: status}, "plugins" {plugin id: status} for plugins set one by
    one, "port_scanners" {plugin id: status} for port scanners set by hand), `families` (name ->
    {"id", "count"}: the feed's families), `plugins` (id -> (name, family)), `professional`
    (answer 412 on policy management, as Nessus Professional does).
    """

    name = "fake-nessus"

    def __init__(self, tls: bool = True, *, access_key: str | None = None, secret_key: str | None = None,
                 professional: bool = False, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(tls, access_key=access_key, secret_key=secret_key, host=host, port=port)
        self.professional = professional
        rec = _recorded()
        self.families: dict[str, dict[str, int]] = copy.deepcopy(rec["families"])
        self.plugins: dict[str, tuple[str, str]] = dict(rec["plugins"])
        self.policies: dict[int, dict[str, Any]] = {}
        self._next_id = 1

    # --- state helpers for tests ----------------------------------------------------------

    def add_family(self, name: str, count: int = 1) -> None:
        """A family the feed gains (it appears in every editor and export, enabled where unset)."""
        with self._lock:
            self.families.setdefault(name, {"id": max((f["id"] for f in self.families.values()), default=0) + 1,
                                            "count": count})

    def add_plugin(self, plugin_id: str, name: str, family: str) -> None:
        """A plugin the scanner knows, in `family`."""
        with self._lock:
            self.add_family(family)
            self.plugins[str(plugin_id)] = (name, family)

    def edit_policy(self, policy_id: int | str, settings: dict[str, Any] | None = None,
                    families: dict[str, str] | None = None, plugins: dict[str, str] | None = None,
                    port_scanners: dict[str, str] | None = None) -> None:
        """Change a stored policy as someone in the console would (no request is logged):
        settings, family statuses, individual plugin states, port scanner states."""
        with self._lock:
            p = self.policies[int(policy_id)]
            p["settings"].update(_strings(settings or {}))
            p["families"].update(families or {})
            p["plugins"].update({str(k): v for k, v in (plugins or {}).items()})
            p["port_scanners"].update({str(k): v for k, v in (port_scanners or {}).items()})
            p["last_modification_date"] = int(time.time())

    def add_policy(self, name: str, settings: dict[str, Any] | None = None, uuid: str = ADVANCED_UUID,
                   families: dict[str, str] | None = None) -> int:
        """Store a policy directly (one made by hand in the console); returns its id."""
        with self._lock:
            pid = self._store(uuid, {**(settings or {}), "name": name})
            self.policies[pid]["families"].update(families or {})
            return pid

    def family_status(self, policy_id: int | str, family: str) -> str:
        """The stored state of one family in one policy ("enabled" when never set)."""
        with self._lock:
            p = self.policies[int(policy_id)]
            return self._status(p, family)

    def _authorised(self, header: str) -> bool:
        parts = key_pairs(header)
        return secrets.compare_digest(parts.get("accessKey", ""), self.access_key) and secrets.compare_digest(
            parts.get("secretKey", ""), self.secret_key
        )

    def _handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        return self._route(method, path, body)

    # --- raw state -> what the product shows ----------------------------------------------

    def _status(self, p: dict[str, Any], family: str) -> str:
        return p["families"].get(family, "enabled")

    def _plugin_status(self, p: dict[str, Any], pid: str) -> str:
        family = self.plugins[pid][1]
        status = self._status(p, family)
        if status == "mixed":
            return p["plugins"].get(pid, "enabled")
        return status

    def port_scanners_running(self, policy_id: int | str) -> dict[str, str]:
        """Port scanner plugin id -> "enabled"/"disabled" as the scanner runs them: the settings
        key, unless someone set the plugin by hand."""
        with self._lock:
            p = self.policies[int(policy_id)]
            out = {}
            for pid, key in PORT_SCANNERS.items():
                state = "enabled" if p["settings"].get(key, "no") == "yes" else "disabled"
                out[pid] = p["port_scanners"].get(pid, state)
            return out

    # --- the API --------------------------------------------------------------------------

    def _store(self, uuid: str, settings: dict[str, Any]) -> int:
        rec = _recorded()
        full = dict(rec["defaults"].get(uuid) or rec["defaults"][ADVANCED_UUID])
        full.update(_strings(settings))
        now = int(time.time())
        pid = self._next_id
        self._next_id += 1
        self.policies[pid] = {
            "id": pid, "uuid": uuid, "settings": full, "families": {}, "plugins": {}, "port_scanners": {},
            "owner": "scanguard@example.org", "creation_date": now, "last_modification_date": now,
        }
        return pid

    def _apply_plugins(self, p: dict[str, Any], plugins: Any) -> None:
        if not isinstance(plugins, dict):
            return
        for family, entry in plugins.items():
            if not isinstance(entry, dict) or family not in self.families:
                continue  # a family the editor does not offer (Port scanners) is not set here
            status = str(entry.get("status", "enabled"))
            p["families"][str(family)] = status
            for pid, state in (entry.get("individual") or {}).items():
                if str(pid) in self.plugins and self.plugins[str(pid)][1] == family:
                    p["plugins"][str(pid)] = str(state)

    def _summary(self, p: dict[str, Any]) -> dict[str, Any]:
        description = p["settings"].get("description", "")
        return {
            "no_target": "false", "template_uuid": p["uuid"], "description": description or None,
            "name": p["settings"].get("name", ""), "owner": p["owner"], "visibility": "private", "shared": 0,
            "user_permissions": 128, "last_modification_date": p["last_modification_date"],
            "creation_date": p["creation_date"], "owner_id": 3, "id": p["id"],
        }

    def _editor(self, uuid: str, p: dict[str, Any] | None) -> bytes:
        """The recorded editor (about 1.7 MB) with the families' states spliced in; its inputs keep
        the template's defaults (the client reads only plugins.families from it)."""
        families = {name: {"count": f["count"], "id": f["id"], "status": self._status(p, name) if p else "enabled"}
                    for name, f in self.families.items()}
        return _editor_bytes(uuid).replace(_PLUGINS_SLOT, json.dumps({"families": families}).encode(), 1)

    def _family_plugins(self, p: dict[str, Any], family_id: str) -> tuple[int, Any]:
        name = next((n for n, f in self.families.items() if str(f["id"]) == family_id), None)
        if name is None:
            return 404, NOT_FOUND
        listed = [{"id": int(pid), "name": pname, "status": self._plugin_status(p, pid)}
                  for pid, (pname, fam) in sorted(self.plugins.items(), key=lambda kv: int(kv[0])) if fam == name]
        return 200, {"plugins": listed}

    def _plugin(self, plugin_id: str) -> tuple[int, Any]:
        if plugin_id not in self.plugins:
            return 404, {"error": "Plugin not found"}
        name, family = self.plugins[plugin_id]
        return 200, {"id": int(plugin_id), "name": name, "family_name": family, "attributes": [
            {"attribute_name": "fname", "attribute_value": re.sub(r"\W+", "_", name.lower()) + ".nasl"},
            {"attribute_name": "plugin_type", "attribute_value": "remote"}]}

    def export(self, policy_id: int | str) -> bytes:
        """GET /policies/{id}/export: the recorded export with this policy's state in it."""
        with self._lock:
            p = self.policies[int(policy_id)]
            s = p["settings"]
            scanners = self.port_scanners_running(policy_id)
            on = [pid for pid, state in scanners.items() if state == "enabled"]
            scanner_status = "enabled" if len(on) == len(scanners) else ("mixed" if on else "disabled")
            families = [(name, self._status(p, name)) for name in self.families] + [(PORT_SCANNER_FAMILY, scanner_status)]
            items = [(pid, PORT_SCANNER_NAMES[pid], PORT_SCANNER_FAMILY) for pid in on]
            for name, status in families:
                if status == "mixed" and name != PORT_SCANNER_FAMILY:
                    items += [(pid, pname, fam) for pid, (pname, fam) in self.plugins.items()
                              if fam == name and self._plugin_status(p, pid) == "enabled"]
        family_xml = "".join(f"<FamilyItem>\n<FamilyName>{escape(n)}</FamilyName>\n<Status>{st}</Status>\n</FamilyItem>\n"
                             for n, st in families)
        item_xml = "".join(f"<PluginItem>\n<PluginName>{escape(name)}</PluginName>\n<Status>enabled</Status>\n"
                           f"<Family>{escape(fam)}</Family>\n<PluginId>{pid}</PluginId>\n</PluginItem>\n"
                           for pid, name, fam in items)
        server = "".join(f"<preference>\n<name>{k}</name>\n<value>{escape(v)}</value>\n</preference>\n"
                         for k, v in (("template_policy", "yes"), ("wizard_uuid", p["uuid"]), ("name", s.get("name", ""))))
        values = {"@comments@": escape(s.get("description", "") or "\n"), "@name@": escape(s.get("name", "")),
                  "@thorough@": escape(s.get("thorough_tests", "no"))}
        values.update({f"@ping:{key}@": escape(s.get(key, "")) for key in PING_PREFS.values()})
        values.update({"@ServerPreferences@": f"\n{server}", "@FamilySelection@": f"\n{family_xml}",
                       "@IndividualPluginSelection@": f"\n{item_xml}"})
        # one pass, so that a name or description holding "@...@" is never taken for a token
        return re.sub(r"@[A-Za-z_:]+@", lambda m: values.get(m.group(0), m.group(0)), _export_template()).encode()

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = [x for x in path.split("/") if x]
        with self._lock:
            if method == "POST" and isinstance(body, (dict, list)):
                self.bodies.append((method, path, copy.deepcopy(body)))
            if method == "PUT" and body is not None:
                self.bodies.append((method, path, copy.deepcopy(body)))
            if parts[:1] == ["server"] and method == "GET":
                if parts[1:] == ["properties"]:
                    return 200, {"nessus_type": "Nessus Professional" if self.professional else "Nessus Manager",
                                 "server_version": "10.6.1", "nessus_ui_version": "10.6.1"}
                if parts[1:] == ["status"]:
                    return 200, {"status": "ready", "progress": None}
            if parts[:2] == ["plugins", "plugin"] and len(parts) == 3 and method == "GET":
                return self._plugin(parts[2])
            if parts[:3] == ["editor", "policy", "templates"] and method == "GET":
                rec = _recorded()
                if len(parts) == 3:
                    return 200, {"templates": copy.deepcopy(rec["templates"])}
                if parts[3] not in rec["editor"]:
                    return 404, {"error": "Template not found"}
                return 200, self._editor(parts[3], None)
            if self.professional and parts[:1] in (["policies"], ["editor"]):
                return 412, dict(PROFESSIONAL_ERROR)
            if parts[:2] == ["editor", "policy"] and len(parts) >= 3 and method == "GET":
                p = self.policies.get(int(parts[2])) if parts[2].isdigit() else None
                if p is None:
                    return 404, NOT_FOUND
                if len(parts) == 3:
                    return 200, self._editor(p["uuid"], p)
                if len(parts) == 5 and parts[3] == "families":
                    return self._family_plugins(p, parts[4])
                return 404, NOT_FOUND
            if parts[:1] != ["policies"]:
                return 404, NOT_FOUND
            return self._policies(method, parts[1:], body)

    def _policies(self, method: str, rest: list[str], body: Any) -> tuple[int, Any]:
        if not rest:
            if method == "GET":
                listed = [self._summary(p) for p in self.policies.values()]
                return 200, {"policies": listed or None}  # Nessus sends null, not [], when there are none
            if method == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("settings"), dict):
                    return 400, {"error": "Invalid settings"}
                uuid = body.get("uuid")
                if uuid not in _recorded()["defaults"]:
                    return 400, {"error": "Invalid template uuid"}
                if not str(body["settings"].get("name", "")).strip():
                    return 400, {"error": "Policy name is required"}
                pid = self._store(uuid, body["settings"])
                self._apply_plugins(self.policies[pid], body.get("plugins"))
                return 200, {"policy_id": pid, "policy_name": self.policies[pid]["settings"]["name"]}
            return 405, {"error": "Method not allowed"}
        try:
            pid = int(rest[0])
        except ValueError:
            return 404, NOT_FOUND
        p = self.policies.get(pid)
        if p is None:
            return 404, NOT_FOUND
        if len(rest) == 2 and rest[1] == "copy" and method == "POST":
            new = self._store(p["uuid"], {**p["settings"], "name": f"Copy of {p['settings'].get('name', '')}"})
            for key in ("families", "plugins", "port_scanners"):
                self.policies[new][key] = dict(p[key])
            return 200, {"id": new, "name": self.policies[new]["settings"]["name"]}
        if len(rest) == 2 and rest[1] == "export" and method == "GET":
            return 200, self.export(pid)
        if len(rest) != 1:
            return 404, NOT_FOUND
        if method == "GET":
            return 200, {"settings": dict(p["settings"]), "uuid": p["uuid"]}
        if method == "PUT":
            if not isinstance(body, dict):
                return 400, {"error": "Invalid settings"}
            if "uuid" in body and body["uuid"] != p["uuid"]:
                return 400, {"error": "The policy template cannot be changed"}
            p["settings"].update(_strings(body.get("settings") or {}))
            self._apply_plugins(p, body.get("plugins"))
            p["last_modification_date"] = int(time.time())
            return 200, None
        if method == "DELETE":
            del self.policies[pid]
            return 200, None
        return 405, {"error": "Method not allowed"}
