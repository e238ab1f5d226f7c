"""The Tenable Security Center client: scan policies (`/rest/policy`) and freeze windows
(`/rest/freeze`), over scanguard.http, every answer inside Security Center's envelope
`{type, response, error_code, error_msg, warnings, timestamp}` (error_code 0: done; 146: the request
was refused as invalid). Authentication: `x-apikey: accesskey=...; secretkey=...;`.

Where each part of a policy lives (recorded: ../shared/fixtures/tenablesc):

- `GET /rest/policy/{id}`: name, description, `preferences` (the settings keys of the Tenable
  model, every value a string), `families` (by id; see scanguard_tenable_policy.securitycenter),
  `policyTemplate` {id, name};
- `POST /rest/policy/{id}/export`: the .nessus Policy, whose FamilySelection lists every family
  with its status ("Port scanners" included) and whose IndividualPluginSelection lists the port
  scanners that run (sc_policy_export.nessus);
- the scanner's families: `GET /rest/pluginFamily` (id, name, type: only "active" families go in
  a scan policy); a family's plugins: `GET /rest/pluginFamily/{id}?fields=plugins`; a plugin's
  family: `GET /rest/plugin?filterField=id&op=eq&value={id}&fields=id,name,family` (none listed:
  the scanner does not know it);
- the policy templates: `GET /rest/policyTemplate` (id, name: "Advanced Scan").

Writes: `POST /rest/policy` (name, description, policyTemplate {id}, preferences, families,
auditFiles); `PATCH /rest/policy/{id}` with the whole preferences and families (Security Center
edits only the fields passed, and defaults the preferences it is not given, so all of them go);
`DELETE /rest/policy/{id}`. A family state that cannot be read counts as enabled; where the policy
and its export disagree, the more enabled state counts; a port scanner the export does not show
as off runs.
"""

from __future__ import annotations

import io
import logging
from typing import Any, Mapping

from scanguard import RemoteObject, ScannerConfig, ScannerError, resolve_secret
from scanguard.http import HttpTransport, SecretHeaderAuth, error_text
from scanguard_tenable_policy import (
    MANAGED_SETTINGS,
    PluginSelection,
    PolicyDocument,
    describe,
    hinted_plugins,
    live_document,
    read_selection,
    select_families,
)
from scanguard_tenable_policy.client import least_safe, managed_policies, policy_object
from scanguard_tenable_policy.exclusion import Changes, Piece, PiecesClient
from scanguard_tenable_policy.securitycenter import TEMPLATES, families_field, family_states, template_of

from .freeze import body_of, piece_of

log = logging.getLogger(__name__)

VALIDATION = 146
"""The error_code of a request Security Center refuses as invalid (it answers HTTP 403 with it)."""
FREEZE_FIELDS = "id,name,description,ipList,allIPs,assets,repeatRule,start,end,duration,enabled"


def _said(response: Any) -> str:
    """What Security Center said about an error: its error_code and error_msg."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping) and body.get("error_code") not in (None, 0, "0"):
        return f"error {body.get('error_code')}: {str(body.get('error_msg') or '').strip()}"[:300]
    return error_text(response)


def _refused(response: Any) -> bool:
    """A 401 or 403 is a refused credential unless the envelope says the request was invalid."""
    try:
        body = response.json()
    except ValueError:
        return True
    return not (isinstance(body, Mapping) and str(body.get("error_code")) == str(VALIDATION))


class SecurityCenterClient(PiecesClient):
    """Security Center policies and freeze windows; implements scanguard.ScannerClient and
    ExclusionClient."""

    def __init__(self, config: ScannerConfig, *, session: Any = None) -> None:
        self.scanner = config.name or config.type
        if not config.url:
            raise ScannerError(self.scanner, "no url configured (set url in scanguard.toml, like https://securitycenter)")
        access = resolve_secret(config, "access_key")
        secret = resolve_secret(config, "secret_key")
        auth = SecretHeaderAuth("x-apikey", lambda: f"accesskey={access.reveal()}; secretkey={secret.reveal()};")
        self.http = HttpTransport(config, auth=auth, secrets=[access, secret], user_agent="scanguard-tenablesc",
                                  describe=_said, refused=_refused, session=session)
        self._templates: list[dict[str, Any]] | None = None
        self._catalog: dict[str, str] | None = None
        self._family_plugins: dict[str, list[str] | None] = {}
        self._plugin_families: dict[str, str | None] = {}

    def __repr__(self) -> str:
        return f"SecurityCenterClient(scanner={self.scanner!r}, url={self.http.base_url!r})"

    # --- the envelope ---------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """One request to `/rest{path}`; the envelope's `response` (ScannerError for an answer
        outside the envelope or with an error_code)."""
        doc = self.http.json(method, "/rest" + path, body=body, params=params)
        if not isinstance(doc, dict) or "response" not in doc or "error_code" not in doc:
            raise ScannerError(self.scanner, f"{method} /rest{path} answered outside Security Center's envelope")
        if str(doc.get("error_code")).strip() not in ("0", ""):
            raise ScannerError(self.scanner, self.http.mask(
                f"{method} /rest{path}: error {doc.get('error_code')}: {str(doc.get('error_msg') or '').strip()[:300]}"))
        for warning in doc.get("warnings") or []:
            log.warning("scanner %s: %s /rest%s: %s", self.scanner, method, path, self.http.mask(str(warning))[:300])
        return doc["response"]

    # --- the policies API -----------------------------------------------------------------------

    def list_policies(self) -> list[dict[str, Any]]:
        """GET /rest/policy: the policies this user can manage."""
        answer = self.call("GET", "/policy", params={"fields": "id,name,description"})
        listed = answer.get("manageable") if isinstance(answer, dict) else answer
        if not isinstance(listed, list):
            raise ScannerError(self.scanner, "GET /rest/policy answered without a list of policies")
        return [p for p in listed if isinstance(p, dict) and p.get("id") is not None]

    def get_policy(self, policy_id: str) -> dict[str, Any]:
        """GET /rest/policy/{id}."""
        doc = self.call("GET", f"/policy/{_id(policy_id)}")
        if not isinstance(doc, dict) or not isinstance(doc.get("preferences"), dict):
            raise ScannerError(self.scanner, f"GET /rest/policy/{policy_id} answered without preferences")
        return doc

    def create_policy(self, body: dict[str, Any]) -> str:
        """POST /rest/policy; the new policy's id."""
        doc = self.call("POST", "/policy", body)
        if not isinstance(doc, dict) or doc.get("id") in (None, ""):
            raise ScannerError(self.scanner, "POST /rest/policy answered without the new policy's id")
        return str(doc["id"])

    def patch_policy(self, policy_id: str, body: dict[str, Any]) -> None:
        """PATCH /rest/policy/{id}."""
        self.call("PATCH", f"/policy/{_id(policy_id)}", body)

    def delete_policy(self, policy_id: str) -> None:
        """DELETE /rest/policy/{id}."""
        self.call("DELETE", f"/policy/{_id(policy_id)}")

    def export_selection(self, policy_id: str) -> PluginSelection:
        """The plugin selection of POST /rest/policy/{id}/export (a .nessus file, no envelope)."""
        body = self.http.request("POST", f"/rest/policy/{_id(policy_id)}/export", headers={"Accept": "*/*"}).content
        try:
            return read_selection(io.BytesIO(body), f"scanner {self.scanner}: export of policy {policy_id}")
        except ValueError as e:
            raise ScannerError(self.scanner, f"the export of policy {policy_id} cannot be read: {e}") from None

    def templates(self) -> list[dict[str, Any]]:
        """GET /rest/policyTemplate (once per client)."""
        if self._templates is None:
            answer = self.call("GET", "/policyTemplate", params={"fields": "id,name"})
            self._templates = [t for t in answer or [] if isinstance(t, dict)] if isinstance(answer, list) else []
        return self._templates

    def template_id(self, name: str) -> str:
        """The id of the Security Center policy template a document's template stands for."""
        wanted = TEMPLATES.get(name, name)
        for t in self.templates():
            if str(t.get("name", "")).strip().lower() == wanted.lower() and t.get("id") is not None:
                return str(t["id"])
        known = ", ".join(sorted(str(t.get("name")) for t in self.templates())) or "none"
        raise ScannerError(self.scanner, f"the scanner has no policy template {wanted!r} (it has: {known})")

    def catalog(self) -> dict[str, str]:
        """The scanner's active plugin families, id -> name (GET /rest/pluginFamily, once)."""
        if self._catalog is None:
            answer = self.call("GET", "/pluginFamily", params={"fields": "id,name,type"})
            out = {}
            for f in answer if isinstance(answer, list) else []:
                if isinstance(f, dict) and f.get("id") is not None and f.get("name") and \
                        str(f.get("type") or "active").lower() == "active":
                    out[str(f["id"])] = str(f["name"])
            if not out:
                raise ScannerError(self.scanner, "GET /rest/pluginFamily lists no active plugin families; the policy's "
                                                 "families cannot be set")
            self._catalog = out
        return self._catalog

    def family_ids(self) -> dict[str, str]:
        """Family name -> id."""
        return {name: fid for fid, name in self.catalog().items()}

    def family_plugins(self, family: str) -> list[str] | None:
        """The plugin ids of a family (GET /rest/pluginFamily/{id}?fields=plugins); None when the
        scanner does not list them."""
        if family not in self._family_plugins:
            fid = self.family_ids().get(family)
            doc = self.call("GET", f"/pluginFamily/{_id(fid)}", params={"fields": "id,name,plugins"}) if fid else None
            plugins = doc.get("plugins") if isinstance(doc, dict) else None
            self._family_plugins[family] = [str(p["id"]) for p in plugins if isinstance(p, dict) and p.get("id") is not None] \
                if isinstance(plugins, list) else None
        return self._family_plugins[family]

    def plugin_family(self, plugin_id: str) -> str | None:
        """The family of a plugin; None when the scanner does not know the plugin."""
        if plugin_id not in self._plugin_families:
            answer = self.call("GET", "/plugin", params={"filterField": "id", "op": "eq", "value": plugin_id,
                                                         "fields": "id,name,family"})
            found = next((p for p in answer if isinstance(p, dict) and str(p.get("id")) == str(plugin_id)), None) \
                if isinstance(answer, list) else None
            family = found.get("family") if found else None
            name = family.get("name") if isinstance(family, dict) else None
            self._plugin_families[plugin_id] = str(name) if name else None
        return self._plugin_families[plugin_id]

    # --- reading a policy as a document ---------------------------------------------------------

    def document(self, policy_id: str) -> PolicyDocument:
        """The policy as a document (the module docstring says where each part is read)."""
        return self._read(policy_id)[0]

    def _read(self, policy_id: str) -> tuple[PolicyDocument, dict[str, Any]]:
        doc = self.get_policy(policy_id)
        prefs = {str(k): v for k, v in doc["preferences"].items()}
        settings = {**prefs, "name": doc.get("name", ""), "description": doc.get("description", "")}
        rest, mixed = family_states(doc.get("families"), self.catalog(), self.family_plugins)
        export = self.export_selection(policy_id)
        statuses: dict[str, str] | None = None
        if rest is not None or export.families:
            names = set(rest or {}) | set(export.families)
            # a family one view shows more enabled than the other counts as the more enabled
            statuses = {n: least_safe((rest or {}).get(n), export.families.get(n)) for n in names}
            mixed = {n: ids for n, ids in mixed.items() if statuses.get(n) == "mixed"}
            for name, ids in list(mixed.items()):
                on_in_export = {pid for pid, fam, state in export.plugins if fam == name and state == "enabled"}
                mixed[name] = [pid for pid in ids if pid not in on_in_export]
        template = doc.get("policyTemplate") if isinstance(doc.get("policyTemplate"), dict) else {}
        read = live_document(
            template=template_of(template.get("name")), settings=settings, families=statuses, mixed_disabled=mixed,
            hinted=hinted_plugins(settings.get("description")), plugin_family=self.plugin_family,
            port_scanners=export.port_scanners())
        return read, settings

    # --- ScannerClient --------------------------------------------------------------------------

    def list_managed(self) -> list[RemoteObject]:
        """Policies carrying the scanguard marker, and unmanaged ones whose names collide with them."""
        return managed_policies(self.list_policies())

    def read(self, remote_id: str) -> RemoteObject:
        """The policy, its payload the document read back."""
        doc, settings = self._read(remote_id)
        return policy_object(remote_id, doc, settings.get("description"))

    def _body(self, doc: PolicyDocument, name: str, marker: str, preferences: Mapping[str, Any]) -> dict[str, Any]:
        selection = select_families(doc, self.catalog().values(), self.plugin_family)
        ours = {k: str(v) for k, v in doc.settings.items() if k in MANAGED_SETTINGS and k not in ("name", "description")}
        return {
            "name": name,
            "description": describe(doc.settings.get("description", ""), marker, doc.disabled_plugins),
            "preferences": {**{str(k): str(v) for k, v in preferences.items()}, **ours},
            "families": families_field(selection, self.family_ids(), self.family_plugins),
        }

    def create(self, name: str, payload: Any, marker: str) -> str:
        """Create the policy from the document, on the Security Center template of its kind."""
        doc = _document(payload)
        body = self._body(doc, name, marker, {})
        body.update({"context": "", "tags": "", "auditFiles": [], "policyTemplate": {"id": self.template_id(doc.template)}})
        return self.create_policy(body)

    def update(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """PATCH the policy to the document: every preference it has kept, ours over them, every
        family given its state again."""
        doc = _document(payload)
        current = self.get_policy(remote_id)
        self.patch_policy(remote_id, self._body(doc, name, marker, current["preferences"]))
        return str(remote_id)

    def delete(self, remote_id: str) -> None:
        """Delete the policy."""
        self.delete_policy(remote_id)

    # --- freeze windows (ExclusionClient, PiecesClient) -----------------------------------------

    def freezes(self) -> list[dict[str, Any]]:
        """GET /rest/freeze, with the fields a window's targets and schedule are read from."""
        answer = self.call("GET", "/freeze", params={"fields": FREEZE_FIELDS})
        if not isinstance(answer, list):
            raise ScannerError(self.scanner, "GET /rest/freeze answered without a list of freeze windows")
        return [w for w in answer if isinstance(w, dict) and w.get("id") is not None]

    def post_freeze(self, body: dict[str, Any]) -> str:
        """POST /rest/freeze; the new window's id."""
        doc = self.call("POST", "/freeze", body)
        if not isinstance(doc, dict) or doc.get("id") in (None, ""):
            raise ScannerError(self.scanner, "POST /rest/freeze answered without the new window's id")
        return str(doc["id"])

    def patch_freeze(self, freeze_id: str, body: dict[str, Any]) -> None:
        """PATCH /rest/freeze/{id}."""
        self.call("PATCH", f"/freeze/{_id(freeze_id)}", body)

    def remove_freeze(self, freeze_id: str) -> None:
        """DELETE /rest/freeze/{id}."""
        self.call("DELETE", f"/freeze/{_id(freeze_id)}")

    def held_pieces(self) -> list[tuple[str, Piece]]:
        """Every freeze window, as a piece."""
        return [(str(w["id"]), piece_of(w)) for w in self.freezes()]

    def write_changes(self, name: str, changes: Changes) -> None:
        """PATCH the windows rewritten in place, POST the new ones, DELETE what is left over."""
        for oid, piece in changes.replace:
            self.patch_freeze(oid, body_of(name, piece))
        for piece in changes.create:
            self.post_freeze(body_of(name, piece))
        for oid in changes.delete:
            self.remove_freeze(oid)


def _id(value: Any) -> str:
    """An id for a path: digits only (Security Center ids are numbers written as strings)."""
    text = str(value or "").strip()
    if not text.isdigit():
        raise ValueError(f"not a Security Center id: {value!r}")
    return text


def _document(payload: Any) -> PolicyDocument:
    if not PolicyDocument.is_payload(payload):
        raise ValueError("the Security Center client writes policy documents rendered by scanguard (tenable-policy/1)")
    return PolicyDocument.model_validate(payload)


__all__ = ["SecurityCenterClient", "VALIDATION"]
