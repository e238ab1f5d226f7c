"""A stateful fake Tenable Security Center serving real HTTP or HTTPS on loopback, for tests and
benchmarks.

Every JSON answer is Security Center's envelope `{"type": "regular", "response", "error_code",
"error_msg", "warnings", "timestamp"}`, every id and boolean a string, in the recorded shapes of
../shared/fixtures/tenablesc/:

- `GET /rest/policy/{id}` -> the recorded policy (sc_policy_details.json: id, name, description,
  preferences with every key the recording has, families, policyTemplate, owner, ...) with this
  policy's state;
- `POST /rest/policy` takes the recorded create request's shape (policyTemplate {id},
  preferences, name) plus description, families and auditFiles, and answers the new policy;
  `PATCH /rest/policy/{id}` edits the fields passed (preferences not passed are reset to the
  template's defaults, as Tenable's reference says); `DELETE` answers an empty response;
- `POST /rest/policy/{id}/export` -> the recorded export (sc_policy_export.nessus, no envelope)
  with this policy's name, description, server preferences, ping preferences, FamilySelection
  (every family, "Port scanners" included) and IndividualPluginSelection.

Not recorded; shapes from Tenable's API reference, read defensively by the client: `GET
/rest/policy` -> {"usable", "manageable"}; `GET /rest/policyTemplate`; `GET /rest/pluginFamily`
(id, name, type) and `/rest/pluginFamily/{id}?fields=plugins`; `GET /rest/plugin?filterField=id&
op=eq&value=..` (a list: empty for an unknown plugin); the families of a policy as
`[{"id", "name", "type", "state", "plugins": [{"id", "name"}]}]`; and freeze windows (`GET/POST
/rest/freeze`, `GET/PATCH/DELETE /rest/freeze/{id}`: name, description, ipList, allIPs, assets,
repository, start and end as "TZID=<zone>:YYYYMMDDTHHMMSS", duration in seconds (end - start),
repeatRule, enabled, status, active, functional, ...).

The families and plugins the fake knows come from the recorded export's FamilySelection and from
the ReportItems of the recorded scan exports (results/nessus), as the fake Nessus does.

Refusals answer HTTP 403 with error_code 146 ("Invalid parameters"): a preference or boolean that
is not a string, a family id the scanner does not have, a listed family without a state (6.x
wants one), a mixed family without plugins, a plugin outside its family, a freeze window without
targets or with a time, zone or rule that cannot be read. A wrong key answers 403 with error_code
74 (not recorded). Faults as every HTTP fake injects them (common.py).

    with FakeTenableSC(tls=True) as sc:
        ... sc.url, sc.access_key, sc.policies, sc.freezes, sc.requests ...
        sc.edit_policy(policy_id, preferences={"safe_checks": "no"}, families={"Denial of Service": "enabled"})
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
from datetime import datetime
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from scanguard_tenable_policy import PORT_SCANNER_FAMILY, PORT_SCANNERS

from .common import HttpFake, key_pairs
from .insightvm_sites import _address_ok
from .nessus import PING_PREFS, PORT_SCANNER_NAMES, SHARED, exported_plugins

FIXTURES = SHARED / "tenablesc"
INVALID = 146
BAD_LOGIN = 74
TEMPLATES = [
    {"id": "1", "name": "Advanced Scan", "description": "Configure a scan without using any recommendations."},
    {"id": "3", "name": "Basic Network Scan", "description": "A full system scan suitable for any host."},
]
SERVER_PREFS = {
    "port_range": "portscan_range", "safe_checks": "safe_checks", "unscanned_closed": "unscanned_closed",
    "max_checks": "max_checks_per_host", "max_hosts": "max_hosts_per_scan",
    "checks_read_timeout": "network_receive_timeout",
    "reduce_connections_on_congestion": "reduce_connections_on_congestion",
}
"""The server preferences the recorded export carries, and the preference each one shows."""
_STAMP = re.compile(r"^TZID=([^:]+):(\d{8}T\d{6})$")


@lru_cache(maxsize=1)
def _recorded() -> dict[str, Any]:
    """The recorded policy, its export, the families and the plugins."""
    details = json.loads((FIXTURES / "sc_policy_details.json").read_text(encoding="utf-8"))
    export = (FIXTURES / "sc_policy_export.nessus").read_bytes()
    names = re.findall(rb"<FamilyName>(.*?)</FamilyName>", export)
    families = {str(i): n.decode() for i, n in enumerate(dict.fromkeys(names), 1)}
    plugins = exported_plugins(set(families.values()))
    default_range = re.search(rb"<name>port_range</name>\s*<value>(.*?)</value>", export)
    return {"details": details, "export": export, "families": families, "plugins": plugins,
            "default_range": default_range.group(1).decode() if default_range else "default"}


@lru_cache(maxsize=1)
def _export_template() -> str:
    """The recorded export with a token wherever a policy's own state goes (made once)."""
    root = etree.fromstring(_recorded()["export"], etree.XMLParser(resolve_entities=False, no_network=True))
    policy = root.find("Policy")
    policy.find("policyName").text = "@name@"
    policy.find("policyComments").text = "@comments@"
    for pref in policy.iterfind("Preferences/ServerPreferences/preference"):
        name = pref.findtext("name")
        if name in SERVER_PREFS or name in ("policy_name", "policy_description"):
            pref.find("value").text = f"@server:{name}@"
    for item in policy.iterfind("Preferences/PluginsPreferences/item"):
        pref = item.findtext("preferenceName")
        token = None
        if item.findtext("pluginId") == "10180" and pref in PING_PREFS:
            token = f"@pref:{PING_PREFS[pref]}@"
        elif item.findtext("pluginId") == "12288" and pref == "Thorough tests (slow)":
            token = "@pref:thorough_tests@"
        if token:
            for tag in ("preferenceValues", "selectedValue"):
                if item.find(tag) is not None:
                    item.find(tag).text = token
    for el in (policy.find("FamilySelection"), policy.find("IndividualPluginSelection")):
        for child in list(el):
            el.remove(child)
        el.text = f"@{el.tag}@"
    return etree.tostring(root, encoding="unicode")


class _Invalid(ValueError):
    pass


def _fields(query: dict[str, list[str]]) -> set[str] | None:
    text = ",".join(query.get("fields", []))
    return {f.strip() for f in text.split(",") if f.strip()} or None


def _only(doc: dict[str, Any], fields: set[str] | None, always: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    if fields is None:
        return doc
    return {k: v for k, v in doc.items() if k in fields or k in always}


class FakeTenableSC(HttpFake):
    """A fake Security Center on 127.0.0.1.

    Attributes for tests, beyond HttpFake's: `policies` (id -> the policy as stored: "name",
    "description", "preferences", "families" {family id: {"state", "plugins": [ids] or None}},
    "template", "port_scanners" {plugin id: status} set by hand), `freezes` (id -> the freeze
    window as stored), `families` (id -> name), `plugins` (id -> (name, family name))."""

    auth_header = "x-apikey"
    unauthorised_status = 403
    name = "fake-tenablesc"

    def __init__(self, tls: bool = True, **kw: Any) -> None:
        super().__init__(tls, **kw)
        rec = _recorded()
        self.families: dict[str, str] = dict(rec["families"])
        self.plugins: dict[str, tuple[str, str]] = dict(rec["plugins"])
        self.policies: dict[str, dict[str, Any]] = {}
        self.freezes: dict[str, dict[str, Any]] = {}
        self._next_policy = 1000001  # the recorded policy's id is 1000009
        self._next_freeze = 1

    # --- the envelope -------------------------------------------------------------------------

    def _envelope(self, response: Any, error_code: int = 0, error_msg: str = "") -> dict[str, Any]:
        return {"type": "regular", "response": response, "error_code": error_code, "error_msg": error_msg,
                "warnings": [], "timestamp": int(time.time())}

    def _error_doc(self, status: int, message: str) -> Any:
        code = BAD_LOGIN if status == 403 and message == "Invalid Credentials" else INVALID if status in (400, 403) \
            else status
        return self._envelope([], code, message if code != BAD_LOGIN else "Invalid login credentials")

    def _authorised(self, header: str) -> bool:
        parts = key_pairs(header)
        return secrets.compare_digest(parts.get("accesskey", ""), self.access_key) and secrets.compare_digest(
            parts.get("secretkey", ""), self.secret_key)

    # --- state helpers for tests ----------------------------------------------------------------

    def writes(self) -> list[tuple[str, str, int]]:
        """The logged requests that change state (an export is a POST that changes nothing)."""
        return [r for r in super().writes() if not (r[0] == "POST" and r[1].endswith("/export"))]

    def family_id(self, name: str) -> str:
        """The id of a family by name."""
        return next(fid for fid, n in self.families.items() if n == name)

    def family_status(self, policy_id: str, family: str) -> str:
        """The stored state of one family in one policy ("disabled" when not listed)."""
        with self._lock:
            entry = self.policies[str(policy_id)]["families"].get(self.family_id(family))
            return "disabled" if entry is None else entry["state"]

    def edit_policy(self, policy_id: str, preferences: dict[str, str] | None = None,
                    families: dict[str, str] | None = None, port_scanners: dict[str, str] | None = None,
                    description: str | None = None) -> None:
        """Change a stored policy as someone in the console would (no request is logged):
        preferences, family states by name ("disabled" unlists the family), port scanners."""
        with self._lock:
            p = self.policies[str(policy_id)]
            p["preferences"].update({k: str(v) for k, v in (preferences or {}).items()})
            for name, state in (families or {}).items():
                fid = self.family_id(name)
                if state == "disabled":
                    p["families"].pop(fid, None)
                else:
                    p["families"][fid] = {"state": state, "plugins": None}
            p["port_scanners"].update(port_scanners or {})
            if description is not None:
                p["description"] = description
            p["modifiedTime"] = str(int(time.time()))

    def edit_freeze(self, freeze_id: str, **fields: Any) -> None:
        """Change a stored freeze window as someone in the console would."""
        with self._lock:
            self.freezes[str(freeze_id)].update({k: v if isinstance(v, (list, dict)) else str(v) for k, v in fields.items()})
            self._derive(self.freezes[str(freeze_id)])

    def port_scanners_running(self, policy_id: str) -> dict[str, str]:
        """Port scanner id -> "enabled"/"disabled" as the scanner runs them: its preference, unless
        someone set the plugin by hand."""
        with self._lock:
            p = self.policies[str(policy_id)]
            return {pid: p["port_scanners"].get(pid, "enabled" if p["preferences"].get(key) == "yes" else "disabled")
                    for pid, key in PORT_SCANNERS.items()}

    def plugin_status(self, policy_id: str, plugin_id: str) -> str:
        """A plugin's state in a policy: its family's, the plugins listed in a mixed family on."""
        with self._lock:
            family = self.plugins[plugin_id][1]
            entry = self.policies[str(policy_id)]["families"].get(self.family_id(family))
            if entry is None:
                return "disabled"
            if entry["state"] == "mixed":
                return "enabled" if plugin_id in (entry["plugins"] or []) else "disabled"
            return entry["state"]

    # --- routing --------------------------------------------------------------------------------

    def _handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        parts = [x for x in path.split("/") if x]
        if parts[:1] != ["rest"]:
            return 404, self._envelope([], INVALID, "Invalid resource")
        with self._lock:
            if method in ("POST", "PATCH") and body is not None:
                self.bodies.append((method, path, copy.deepcopy(body)))
            try:
                status, response = self._route(method, parts[1:], query, body)
            except _Invalid as e:
                return 403, self._envelope([], INVALID, f"Invalid parameters: {e}")
        if isinstance(response, bytes):
            return status, response
        return status, self._envelope(response)

    def _route(self, method: str, parts: list[str], query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        fields = _fields(query)
        if parts == ["policyTemplate"] and method == "GET":
            return 200, [_only(dict(t), fields) for t in TEMPLATES]
        if parts[:1] == ["pluginFamily"] and method == "GET":
            if len(parts) == 1:
                return 200, [_only({"id": fid, "name": n, "type": "active"}, fields) for fid, n in self.families.items()]
            if len(parts) == 2 and parts[1] in self.families:
                name = self.families[parts[1]]
                listed = [{"id": pid, "name": pn} for pid, (pn, fam) in sorted(self.plugins.items(), key=lambda kv: int(kv[0]))
                          if fam == name]
                return 200, _only({"id": parts[1], "name": name, "type": "active", "count": str(len(listed)),
                                   "plugins": listed}, fields)
            raise _Invalid(f"plugin family {parts[1:]} not found")
        if parts == ["plugin"] and method == "GET":
            return 200, self._plugins(query, fields)
        if parts[:1] == ["policy"]:
            return self._policy(method, parts[1:], fields, body)
        if parts[:1] == ["freeze"]:
            return self._freeze(method, parts[1:], fields, body)
        raise _Invalid(f"{method} /rest/{'/'.join(parts)} is not a resource")

    def _plugins(self, query: dict[str, list[str]], fields: set[str] | None) -> list[dict[str, Any]]:
        field = (query.get("filterField") or [""])[0]
        value = (query.get("value") or [""])[0]
        if field != "id" or (query.get("op") or ["eq"])[0] != "eq":
            raise _Invalid("only filterField=id&op=eq is served by this fake")
        if value not in self.plugins:
            return []
        name, family = self.plugins[value]
        return [_only({"id": value, "name": name, "family": {"id": self.family_id(family), "name": family,
                                                               "type": "active"}}, fields)]

    # --- policies -------------------------------------------------------------------------------

    def _shown(self, p: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(_recorded()["details"]["response"])
        families = []
        for fid, entry in sorted(p["families"].items(), key=lambda kv: int(kv[0])):
            shown = {"id": fid, "name": self.families[fid], "type": "active", "state": entry["state"],
                     "plugins": [{"id": pid, "name": self.plugins[pid][0]} for pid in entry["plugins"] or []]}
            families.append(shown)
        template = next(t for t in TEMPLATES if t["id"] == p["template"])
        doc.update(id=p["id"], name=p["name"], description=p["description"], preferences=dict(p["preferences"]),
                   families=families, createdTime=p["createdTime"], modifiedTime=p["modifiedTime"],
                   policyTemplate=dict(template))
        return doc

    def _families(self, given: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(given, list):
            raise _Invalid("families must be a list")
        out: dict[str, dict[str, Any]] = {}
        for entry in given:
            fid = str(entry.get("id")) if isinstance(entry, dict) else ""
            if fid not in self.families:
                raise _Invalid(f"plugin family {fid!r} not found")
            state = entry.get("state")
            if state not in ("enabled", "mixed"):
                raise _Invalid(f"family {fid}: state must be enabled or mixed")
            plugins = entry.get("plugins")
            if state == "mixed":
                ids = [str(p.get("id")) for p in plugins or [] if isinstance(p, dict)]
                if not ids:
                    raise _Invalid(f"family {fid}: a mixed family lists its plugins")
                outside = [pid for pid in ids if self.plugins.get(pid, (None, None))[1] != self.families[fid]]
                if outside:
                    raise _Invalid(f"plugins {', '.join(outside)} are not in family {self.families[fid]}")
                out[fid] = {"state": "mixed", "plugins": sorted(set(ids), key=int)}
            else:
                out[fid] = {"state": "enabled", "plugins": None}
        return out

    def _preferences(self, given: Any) -> dict[str, str]:
        if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
            raise _Invalid("preferences must be an object of strings")
        return {**_recorded()["details"]["response"]["preferences"], **given}

    def _policy(self, method: str, rest: list[str], fields: set[str] | None, body: Any) -> tuple[int, Any]:
        if not rest:
            if method == "GET":
                listed = [_only({"id": p["id"], "name": p["name"], "description": p["description"], "status": "0"}, fields)
                          for p in self.policies.values()]
                return 200, {"usable": listed, "manageable": copy.deepcopy(listed)}
            if method == "POST":
                if not isinstance(body, dict) or not str(body.get("name") or "").strip():
                    raise _Invalid("name is required")
                template = str((body.get("policyTemplate") or {}).get("id", "1"))
                if template not in {t["id"] for t in TEMPLATES}:
                    raise _Invalid(f"policy template {template!r} not found")
                now = str(int(time.time()))
                pid = str(self._next_policy)
                self._next_policy += 1
                self.policies[pid] = {
                    "id": pid, "name": str(body["name"]), "description": str(body.get("description") or ""),
                    "preferences": self._preferences(body.get("preferences", {})),
                    "families": self._families(body.get("families", [])), "template": template,
                    "port_scanners": {}, "createdTime": now, "modifiedTime": now}
                return 200, self._shown(self.policies[pid])
            raise _Invalid("method not allowed")
        p = self.policies.get(rest[0])
        if p is None:
            raise _Invalid(f"policy #{rest[0]} not found")
        if rest[1:] == ["export"] and method == "POST":
            return 200, self.export(p["id"])
        if len(rest) != 1:
            raise _Invalid("not a resource")
        if method == "GET":
            return 200, _only(self._shown(p), fields)
        if method == "PATCH":
            if not isinstance(body, dict):
                raise _Invalid("a policy edit is an object")
            changes = {}
            if "preferences" in body:
                changes["preferences"] = self._preferences(body["preferences"])
            if "families" in body:
                changes["families"] = self._families(body["families"])
            for key in ("name", "description"):
                if key in body:
                    if not isinstance(body[key], str):
                        raise _Invalid(f"{key} must be a string")
                    changes[key] = body[key]
            p.update(changes, modifiedTime=str(int(time.time())))
            return 200, self._shown(p)
        if method == "DELETE":
            del self.policies[p["id"]]
            return 200, ""
        raise _Invalid("method not allowed")

    def export(self, policy_id: str) -> bytes:
        """POST /rest/policy/{id}/export: the recorded export with this policy's state."""
        with self._lock:
            p = self.policies[str(policy_id)]
            prefs = p["preferences"]
            scanners = self.port_scanners_running(policy_id)
            on = [pid for pid, state in scanners.items() if state == "enabled"]
            rows, items = [], [(pid, PORT_SCANNER_NAMES[pid], PORT_SCANNER_FAMILY) for pid in on]
            for fid, name in self.families.items():
                if name == PORT_SCANNER_FAMILY:
                    status = "enabled" if len(on) == len(scanners) else ("mixed" if on else "disabled")
                else:
                    entry = p["families"].get(fid)
                    status = "disabled" if entry is None else entry["state"]
                    if status == "mixed":
                        items += [(pid, self.plugins[pid][0], name) for pid in entry["plugins"] or []]
                rows.append((name, status))
        values = {"@name@": escape(p["name"]), "@comments@": escape(p["description"] or "\n"),
                  "@server:policy_name@": escape(p["name"]), "@server:policy_description@": escape(p["description"])}
        for xml, key in SERVER_PREFS.items():
            value = prefs.get(key, "")
            if key == "portscan_range" and value == "default":
                value = _recorded()["default_range"]  # Security Center spells the default list out
            values[f"@server:{xml}@"] = escape(value)
        values.update({f"@pref:{key}@": escape(prefs.get(key, "")) for key in (*PING_PREFS.values(), "thorough_tests")})
        values["@FamilySelection@"] = "\n" + "".join(
            f"<FamilyItem>\n<FamilyName>{escape(n)}</FamilyName>\n<Status>{st}</Status>\n</FamilyItem>\n" for n, st in rows)
        values["@IndividualPluginSelection@"] = "\n" + "".join(
            f"<PluginItem>\n<PluginId>{pid}</PluginId>\n<PluginName>{escape(name)}</PluginName>\n<Family>{escape(fam)}</Family>\n"
            f"<Status>enabled</Status>\n</PluginItem>\n" for pid, name, fam in items)
        # one pass, so that a name or description holding "@...@" is never taken for a token
        return re.sub(r"@[A-Za-z_:.]+@", lambda m: values.get(m.group(0), m.group(0)), _export_template()).encode()

    # --- freeze windows -------------------------------------------------------------------------

    def _stamp(self, text: Any, what: str) -> tuple[str, datetime]:
        m = _STAMP.match(str(text or ""))
        if not m:
            raise _Invalid(f"{what} must be TZID=<zone>:YYYYMMDDTHHMMSS")
        try:
            ZoneInfo(m.group(1))
            return m.group(1), datetime.strptime(m.group(2), "%Y%m%dT%H%M%S")
        except (ZoneInfoNotFoundError, ValueError):
            raise _Invalid(f"{what}: {text!r} cannot be read") from None

    def _derive(self, w: dict[str, Any]) -> None:
        (_, start), (_, end) = self._stamp(w["start"], "start"), self._stamp(w["end"], "end")
        w["duration"] = str(int((end - start).total_seconds()))  # Security Center shows end - start

    def _freeze_fields(self, body: Any, current: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Invalid("a freeze window is an object")
        merged = {**(current or {}), **body}
        for key in ("allIPs", "enabled"):
            if merged.get(key, "false") not in ("true", "false"):
                raise _Invalid(f"{key} must be \"true\" or \"false\"")
        if not str(merged.get("name") or "").strip():
            raise _Invalid("name is required")
        ips = [i.strip() for i in str(merged.get("ipList") or "").split(",") if i.strip()]
        if merged.get("allIPs", "false") == "false" and not ips and not merged.get("assets"):
            raise _Invalid("allIPs is false: an ipList or assets are required")
        if not all(_address_ok(i) for i in ips):
            raise _Invalid(f"ipList {merged.get('ipList')!r} holds something that is not an address")
        (tz, start), (tz_end, end) = self._stamp(merged.get("start"), "start"), self._stamp(merged.get("end"), "end")
        if tz != tz_end or end <= start:
            raise _Invalid("end must follow start, in the same zone")
        rule = str(merged.get("repeatRule") or "")
        if not re.fullmatch(r"FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY|ONETIME)(;[A-Z]+=[A-Z0-9,+-]+)*", rule):
            raise _Invalid(f"repeatRule {rule!r} cannot be read")
        out = {k: merged.get(k) for k in ("name", "description", "ipList", "allIPs", "start", "end", "repeatRule",
                                          "enabled")}
        out.update(description=str(out["description"] or ""), ipList=",".join(ips),
                   allIPs=merged.get("allIPs", "false"), enabled=merged.get("enabled", "true"),
                   assets=list(merged.get("assets") or []))
        if out["allIPs"] == "true":  # the back end clears the targets
            out.update(ipList="", assets=[])
        return out

    def _freeze_shown(self, w: dict[str, Any]) -> dict[str, Any]:
        owner = copy.deepcopy(_recorded()["details"]["response"]["owner"])
        return {**w, "status": "0", "active": "false", "functional": "true", "repository": {}, "canManage": "true",
                "creator": owner, "owner": owner,
                "ownerGroup": copy.deepcopy(_recorded()["details"]["response"]["ownerGroup"])}

    def _freeze(self, method: str, rest: list[str], fields: set[str] | None, body: Any) -> tuple[int, Any]:
        if not rest:
            if method == "GET":
                return 200, [_only(self._freeze_shown(w), fields or {"name", "description", "status"})
                             for w in self.freezes.values()]
            if method == "POST":
                w = self._freeze_fields(body, None)
                now = str(int(time.time()))
                fid = str(self._next_freeze)
                self._next_freeze += 1
                w.update(id=fid, createdTime=now, modifiedTime=now)
                self._derive(w)
                self.freezes[fid] = w
                return 200, self._freeze_shown(w)
            raise _Invalid("method not allowed")
        w = self.freezes.get(rest[0])
        if w is None or len(rest) != 1:
            raise _Invalid(f"freeze window #{rest[0]} not found")
        if method == "GET":
            return 200, _only(self._freeze_shown(w), fields)
        if method == "PATCH":
            w.update(self._freeze_fields(body, w), modifiedTime=str(int(time.time())))
            self._derive(w)
            return 200, self._freeze_shown(w)
        if method == "DELETE":
            del self.freezes[w["id"]]
            return 200, ""
        raise _Invalid("method not allowed")
