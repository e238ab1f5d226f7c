"""The policies REST API that Nessus (Manager) and Tenable Vulnerability Management share, read
where the products show each part, and the ScannerClient the sync engine uses. The Nessus plugin
and the Tenable VM plugin both build on `PolicyClient`; neither copies it.

Where each part of a policy lives (recorded in ../shared/fixtures/nessus and tenableio: Tenable VM
answers these paths as Nessus does):

- `GET /policies/{id}`: only `uuid` (the editor template) and flat `settings` (strings);
- `GET /editor/policy/{id}`: the policy editor, whose `plugins.families` {name: {id, count,
  status}} is the scanner's own list of families with this policy's state; a mixed family's plugins
  and their states come from `GET /editor/policy/{id}/families/{family_id}`;
- `GET /policies/{id}/export`: the .nessus Policy, whose FamilySelection lists every family with
  its status, "Port scanners" included (the editor does not show it), and whose
  IndividualPluginSelection lists the port scanners that run;
- `GET /editor/policy/templates`: the editor templates by name, with the uuid a policy is made from;
  `GET /editor/policy/templates/{uuid}`: that template's families (what a new policy can switch);
- `GET /plugins/plugin/{id}`: a plugin's `family_name`.

What cannot be read is read as less safe: a family state that cannot be read is enabled, a port
scanner the export does not show as off runs. Writes send an explicit state for every family the
scanner lists. HTTP, TLS, errors and secret masking are scanguard.http's; no retries here (the sync
engine retries what is transient).
"""

from __future__ import annotations

import io
import logging
from typing import Any, Iterable, Mapping

from scanguard import RemoteObject, ScannerConfig, ScannerError, parse_marker, resolve_secret
from scanguard.http import HttpTransport, SecretHeaderAuth
from .document import PolicyDocument, describe, hinted_plugins, live_document, select_families
from .policy_file import PluginSelection, read_selection

log = logging.getLogger(__name__)

UNREADABLE = (403, 404, 405, 501)
"""Statuses meaning "this product does not show that here" (read as unknown, never as safe)."""
_LEAST_SAFE = {"disabled": 0, "mixed": 1, "enabled": 2}


def _wire(selection: Mapping[str, Any], also_enable: Mapping[str, Iterable[str]] | None = None) -> dict[str, Any]:
    """The `plugins` body Nessus takes: {family: {"status"}} and, for a mixed family, the plugins
    turned off (and those to turn back on) under "individual"."""
    out: dict[str, Any] = {}
    for family, sel in selection.items():
        if sel.status != "mixed":
            out[family] = {"status": sel.status}
            continue
        individual = {pid: "enabled" for pid in (also_enable or {}).get(family, ())}
        individual.update({pid: "disabled" for pid in sel.disabled_plugins})
        out[family] = {"status": "mixed", "individual": individual}
    return out


def least_safe(*statuses: str | None) -> str:
    """Of family statuses two views show, the more enabled ("enabled" when neither is known)."""
    known = [s for s in statuses if s in _LEAST_SAFE]
    return max(known, key=_LEAST_SAFE.__getitem__) if known else "enabled"


class PolicyClient:
    """Tenable policies over the Nessus-style REST API (Nessus Manager, Tenable VM); implements
    scanguard.ScannerClient. Authentication is the `X-ApiKeys` header both products take."""

    product = "Tenable"
    """How the product is named in messages."""
    example_url = "https://scanner:8834"
    user_agent = "scanguard-tenable"
    hints: Mapping[int, str] = {}
    """Advice per HTTP status (Nessus Professional's 412, say)."""

    def __init__(self, config: ScannerConfig, *, session: Any = None) -> None:
        self.scanner = config.name or config.type
        if not config.url:
            raise ScannerError(self.scanner, f"no url configured (set url in scanguard.toml, like {self.example_url})")
        access = resolve_secret(config, "access_key")
        secret = resolve_secret(config, "secret_key")
        auth = SecretHeaderAuth("X-ApiKeys", lambda: f"accessKey={access.reveal()}; secretKey={secret.reveal()}")
        self.http = HttpTransport(config, auth=auth, secrets=[access, secret], user_agent=self.user_agent,
                                  hints=self.hints, session=session)
        self._templates: list[dict[str, Any]] | None = None
        self._template_families: dict[str, list[str]] = {}
        self._plugin_families: dict[str, str | None] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scanner={self.scanner!r}, url={self.http.base_url!r})"

    @property
    def session(self) -> Any:
        """The HTTP session (its auth has a masked repr)."""
        return self.http.session

    @property
    def timeout(self) -> float:
        """Seconds each request may take."""
        return self.http.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.http.timeout = value

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        return self.http.json(method, path, body=body)

    def _optional(self, path: str) -> Any:
        """GET a view this product may not offer: None when it says so (a 403, 404, 405 or 501)."""
        try:
            return self._json("GET", path)
        except ScannerError as e:
            if e.status in UNREADABLE:
                log.warning("scanner %s: %s cannot be read (HTTP %s): read as unknown", self.scanner, path, e.status)
                return None
            raise

    # --- the policies API -----------------------------------------------------------------

    def list_policies(self) -> list[dict[str, Any]]:
        """GET /policies (Nessus sends null when there are none)."""
        doc = self._json("GET", "/policies") or {}
        return [p for p in (doc.get("policies") or []) if isinstance(p, dict)]

    def get_policy(self, policy_id: int | str) -> dict[str, Any]:
        """GET /policies/{id}: the editor template uuid and the flat settings."""
        doc = self._json("GET", f"/policies/{int(policy_id)}")
        if not isinstance(doc, dict) or not isinstance(doc.get("settings"), dict):
            raise ScannerError(self.scanner, f"GET /policies/{policy_id} answered without a settings object")
        return doc

    def create_policy(self, body: dict[str, Any]) -> str:
        """POST /policies; returns the new policy id."""
        doc = self._json("POST", "/policies", body) or {}
        if "policy_id" not in doc:
            raise ScannerError(self.scanner, "POST /policies answered without a policy_id")
        return str(doc["policy_id"])

    def put_policy(self, policy_id: int | str, body: dict[str, Any]) -> None:
        """PUT /policies/{id} with the whole document."""
        self._json("PUT", f"/policies/{int(policy_id)}", body)

    def copy_policy(self, policy_id: int | str) -> str:
        """POST /policies/{id}/copy; returns the copy's id."""
        doc = self._json("POST", f"/policies/{int(policy_id)}/copy") or {}
        return str(doc.get("id"))

    def delete_policy(self, policy_id: int | str) -> None:
        """DELETE /policies/{id}."""
        self._json("DELETE", f"/policies/{int(policy_id)}")

    def editor_templates(self) -> list[dict[str, Any]]:
        """GET /editor/policy/templates (once per client)."""
        if self._templates is None:
            doc = self._json("GET", "/editor/policy/templates") or {}
            self._templates = [t for t in (doc.get("templates") or []) if isinstance(t, dict)]
        return self._templates

    def template_uuid(self, name: str = "advanced") -> str:
        """The uuid of an editor template by name ("advanced") or title ("Advanced Network Scan")."""
        for t in self.editor_templates():
            if name in (t.get("name"), t.get("title")) and t.get("uuid"):
                return str(t["uuid"])
        known = ", ".join(sorted(str(t.get("name")) for t in self.editor_templates())) or "none"
        raise ScannerError(self.scanner, f"the scanner has no policy editor template {name!r} (it has: {known})")

    def template_name(self, uuid: str | None) -> str:
        """The name of the editor template with this uuid (the uuid itself when unknown)."""
        for t in self.editor_templates():
            if t.get("uuid") == uuid and t.get("name"):
                return str(t["name"])
        return str(uuid or "")

    def template_families(self, uuid: str) -> list[str]:
        """The families of an editor template: GET /editor/policy/templates/{uuid} plugins.families."""
        if uuid not in self._template_families:
            doc = self._json("GET", f"/editor/policy/templates/{uuid}") or {}
            families = _families(doc)
            if not families:
                raise ScannerError(self.scanner, f"editor template {uuid} lists no plugin families; the policy's "
                                                 "families cannot be set")
            self._template_families[uuid] = list(families)
        return self._template_families[uuid]

    def policy_families(self, policy_id: int | str) -> dict[str, dict[str, Any]] | None:
        """GET /editor/policy/{id} plugins.families: {name: {id, count, status}}; None when the
        scanner does not show it."""
        doc = self._optional(f"/editor/policy/{int(policy_id)}")
        if doc is None:
            return None
        return _families(doc)

    def family_plugins(self, policy_id: int | str, family_id: Any) -> dict[str, str]:
        """GET /editor/policy/{id}/families/{family_id}: plugin id -> status in that family."""
        doc = self._json("GET", f"/editor/policy/{int(policy_id)}/families/{family_id}") or {}
        out = {}
        for p in doc.get("plugins") or []:
            if isinstance(p, dict) and p.get("id") is not None:
                out[str(p["id"])] = str(p.get("status") or "enabled").lower()
        return out

    def plugin_family(self, plugin_id: str) -> str | None:
        """The family of a plugin (GET /plugins/plugin/{id} family_name); None when the scanner does
        not know the plugin."""
        if plugin_id not in self._plugin_families:
            try:
                doc = self._json("GET", f"/plugins/plugin/{int(plugin_id)}") or {}
            except ScannerError as e:
                if e.status != 404:
                    raise
                doc = {}
            family = doc.get("family_name") if isinstance(doc, dict) else None
            self._plugin_families[plugin_id] = str(family) if family else None
        return self._plugin_families[plugin_id]

    def export_selection(self, policy_id: int | str) -> PluginSelection | None:
        """The plugin selection of GET /policies/{id}/export; None when the scanner does not export."""
        try:
            body = self.http.content("GET", f"/policies/{int(policy_id)}/export")
        except ScannerError as e:
            if e.status in UNREADABLE:
                log.warning("scanner %s: the export of policy %s cannot be read (HTTP %s): every port scanner "
                            "counts as running", self.scanner, policy_id, e.status)
                return None
            raise
        try:
            return read_selection(io.BytesIO(body), f"scanner {self.scanner}: export of policy {policy_id}")
        except ValueError as e:
            raise ScannerError(self.scanner, f"the export of policy {policy_id} cannot be read: {e}") from None

    # --- reading a policy as a document ---------------------------------------------------

    def document(self, policy_id: int | str) -> PolicyDocument:
        """The policy as a document, read from where the product shows each part (module docstring)."""
        return self._read(policy_id)[0]

    def _read(self, policy_id: int | str) -> tuple[PolicyDocument, dict[str, Any]]:
        doc = self.get_policy(policy_id)
        settings = doc["settings"]
        editor = self.policy_families(policy_id)
        export = self.export_selection(policy_id)
        statuses: dict[str, str] | None = None
        mixed: dict[str, list[str]] = {}
        if editor is not None or export is not None:
            from_editor = {name: str(e.get("status", "")).lower() for name, e in (editor or {}).items()}
            from_export = dict(export.families) if export is not None else {}
            # a family one view shows more enabled than the other counts as the more enabled
            statuses = {name: least_safe(from_editor.get(name), from_export.get(name))
                        for name in {**from_export, **from_editor}}
            for name, entry in (editor or {}).items():
                if from_editor[name] == "mixed" and statuses[name] == "mixed" and entry.get("id") is not None:
                    plugins = self.family_plugins(policy_id, entry["id"])
                    mixed[name] = [pid for pid, state in plugins.items() if state == "disabled"]
        read = live_document(
            template=self.template_name(doc.get("uuid")), settings=settings, families=statuses, mixed_disabled=mixed,
            hinted=hinted_plugins(settings.get("description")), plugin_family=self.plugin_family,
            port_scanners=export.port_scanners() if export is not None else None)
        return read, settings

    # --- ScannerClient --------------------------------------------------------------------

    def list_managed(self) -> list[RemoteObject]:
        """Policies carrying the scanguard marker, and unmanaged ones whose names collide with them.
        Payloads are left out (None): `read` fetches them."""
        return managed_policies(self.list_policies())

    def read(self, remote_id: str) -> RemoteObject:
        """The policy, its payload the document read back (comparable with what render produces)."""
        doc, settings = self._read(remote_id)
        return policy_object(remote_id, doc, settings.get("description"))

    def _body(self, doc: PolicyDocument, name: str, marker: str, settings: Mapping[str, Any], uuid: str,
              catalog: Iterable[str], also_enable: Mapping[str, Iterable[str]] | None = None) -> dict[str, Any]:
        selection = select_families(doc, catalog, self.plugin_family)
        merged = {**settings, **doc.settings, "name": name,
                  "description": describe(doc.settings.get("description", ""), marker, doc.disabled_plugins)}
        return {"uuid": uuid, "settings": merged, "plugins": _wire(selection, also_enable)}

    def create(self, name: str, payload: Any, marker: str) -> str:
        """Create the policy from the document, on the scanner's own editor template and families."""
        doc = _document(payload)
        uuid = self.template_uuid(doc.template)
        return self.create_policy(self._body(doc, name, marker, {}, uuid, self.template_families(uuid)))

    def update(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """Read the policy, change it to the document, PUT the whole document back: every setting
        kept, every family given its state, plugins disabled by hand in a mixed family enabled again."""
        doc = _document(payload)
        current = self.get_policy(remote_id)
        editor = self.policy_families(remote_id)
        uuid = str(current.get("uuid") or self.template_uuid(doc.template))
        catalog = list(editor) if editor else self.template_families(uuid)
        stray: dict[str, list[str]] = {}
        for family, entry in (editor or {}).items():
            if str(entry.get("status", "")).lower() == "mixed" and entry.get("id") is not None:
                off = self.family_plugins(remote_id, entry["id"])
                stray[family] = [pid for pid, state in off.items() if state == "disabled"]
        self.put_policy(remote_id, self._body(doc, name, marker, current["settings"], uuid, catalog, stray))
        return str(remote_id)

    def delete(self, remote_id: str) -> None:
        """Delete the policy."""
        self.delete_policy(remote_id)


def policy_object(remote_id: Any, doc: PolicyDocument, description: Any) -> RemoteObject:
    """A policy read back: its document, and the marker its description carries as stored."""
    marker = parse_marker(description)
    return RemoteObject(remote_id=str(remote_id), name=doc.settings.get("name", ""), payload=doc.payload(),
                        marker_hash=marker[1] if marker else None, managed=marker is not None)


def managed_policies(policies: Iterable[Mapping[str, Any]]) -> list[RemoteObject]:
    """Policies as a list shows them ({"id", "name", "description"}): those carrying scanguard's
    marker, and the unmanaged ones whose names collide with them (payloads left out)."""
    managed, others = [], []
    for p in policies:
        marker = parse_marker(p.get("description"))
        obj = RemoteObject(remote_id=str(p["id"]), name=str(p.get("name") or ""),
                           marker_hash=marker[1] if marker else None, managed=marker is not None)
        (managed if marker else others).append(obj)
    names = {o.name for o in managed}
    return managed + [o for o in others if o.name in names]


def _families(editor_doc: Any) -> dict[str, dict[str, Any]]:
    families = ((editor_doc or {}).get("plugins") or {}).get("families") if isinstance(editor_doc, dict) else None
    if not isinstance(families, dict):
        return {}
    return {str(name): (entry if isinstance(entry, dict) else {}) for name, entry in families.items()}


def _document(payload: Any) -> PolicyDocument:
    if not PolicyDocument.is_payload(payload):
        raise ValueError("the Tenable clients write policy documents rendered by scanguard (format tenable-policy/1)")
    return PolicyDocument.model_validate(payload)
