"""The Nessus REST client: policies and editor templates, and the ScannerClient the sync engine uses.

- Authentication is the `X-ApiKeys` header, built per request from secrets resolved through
  scanguard (environment or keyring); the keys never reach a log, an error or a repr.
- TLS is verified unless the workspace says `verify = false`; `ca_bundle` names a private CA.
- No retries here: transient failures (connection errors, timeouts, 429, 502, 503, 504) raise
  ScannerError(transient=True) and the sync engine retries with backoff.
- Every policy scanguard writes carries the managed marker (with the rendered hash) on its own line
  of the description; `read` returns the policy normalised to exactly the keys render writes, so an
  untouched policy hashes like its rendering and an edit in the console shows as drift.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import requests

from scanguard import RemoteObject, ScannerConfig, ScannerError, parse_marker, resolve_secret

from .policy import MANAGED_SETTINGS, NESSUS_DEFAULTS

log = logging.getLogger(__name__)
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
MARKER_PREFIX = "scanguard:managed"


class _ApiKeys(requests.auth.AuthBase):
    """Adds `X-ApiKeys` to each request from the resolved secrets (masked in any repr)."""

    def __init__(self, access, secret) -> None:  # scanguard.Secret values
        self._access = access
        self._secret = secret

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["X-ApiKeys"] = f"accessKey={self._access.reveal()}; secretKey={self._secret.reveal()}"
        return r

    def __repr__(self) -> str:
        return "_ApiKeys(***)"


def _strip_marker(description: str) -> str:
    return "\n".join(line for line in str(description or "").splitlines() if not line.startswith(MARKER_PREFIX))


def with_marker(description: str, marker: str) -> str:
    """The description with the marker on its own last line (any old marker replaced)."""
    base = _strip_marker(description)
    if not marker:
        return base
    return f"{base}\n{marker}" if base else marker


def normalise(doc: dict[str, Any]) -> dict[str, Any]:
    """A policy document as read back, reduced to what render writes: the editor template uuid,
    every managed settings key (as strings; the marker line dropped from the description) and the
    families that are not simply enabled."""
    settings = doc.get("settings") or {}
    out_settings: dict[str, str] = {}
    for key in MANAGED_SETTINGS:
        value = settings.get(key, NESSUS_DEFAULTS.get(key, ""))
        out_settings[key] = "" if value is None else str(value)
    out_settings["description"] = _strip_marker(out_settings["description"])
    plugins: dict[str, Any] = {}
    for family, entry in (doc.get("plugins") or {}).items():
        if not isinstance(entry, dict):
            continue
        status = str(entry.get("status", "enabled")).lower()
        if status == "disabled":
            plugins[str(family)] = {"status": "disabled"}
        elif status == "mixed":
            off = {str(p): "disabled" for p, s in (entry.get("individual") or {}).items() if str(s).lower() == "disabled"}
            if off:
                plugins[str(family)] = {"status": "mixed", "individual": dict(sorted(off.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0))}
    return {"uuid": doc.get("uuid"), "settings": out_settings, "plugins": dict(sorted(plugins.items()))}


class NessusClient:
    """Nessus policies over the REST API; implements scanguard.ScannerClient."""

    def __init__(self, config: ScannerConfig, *, session: requests.Session | None = None) -> None:
        self.scanner = config.name or "nessus"
        if not config.url:
            raise ScannerError(self.scanner, "no url configured (set url in scanguard.toml, like https://nessus:8834)")
        self.base = config.url.rstrip("/")
        self.timeout = config.timeout_s
        self._env = {f: config.credentials.get(f, "") for f in ("access_key", "secret_key")}
        access = resolve_secret(config, "access_key")
        secret = resolve_secret(config, "secret_key")
        self.session = session or requests.Session()
        self.session.auth = _ApiKeys(access, secret)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "scanguard-nessus"})
        # passed with every request: a session-level value would lose to REQUESTS_CA_BUNDLE
        self.verify: bool | str = str(config.tls.ca_bundle) if config.tls.ca_bundle else True
        if not config.tls.verify:
            self.verify = False
            log.warning("scanner %s: TLS verification is off (tls.verify = false)", self.scanner)

    def __repr__(self) -> str:
        return f"NessusClient(scanner={self.scanner!r}, url={self.base!r})"

    # --- HTTP -----------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        url = self.base + path
        try:
            r = self.session.request(method, url, json=body, timeout=self.timeout, verify=self.verify)
        except requests.exceptions.SSLError as e:
            raise ScannerError(
                self.scanner,
                f"TLS verification of {self.base} failed ({type(e).__name__}); set tls.ca_bundle to the CA that "
                "signed the scanner's certificate",
            ) from None
        except requests.exceptions.Timeout:
            raise ScannerError(self.scanner, f"{method} {path} timed out after {self.timeout:g}s", transient=True) from None
        except requests.exceptions.ConnectionError as e:
            raise ScannerError(self.scanner, f"cannot reach {self.base} ({type(e).__name__})", transient=True) from None
        except requests.exceptions.RequestException as e:
            raise ScannerError(self.scanner, f"{method} {path} failed ({type(e).__name__})", transient=True) from None
        if r.status_code >= 400:
            raise self._error(method, path, r)
        if not r.content:
            return None
        try:
            return r.json()
        except ValueError:
            raise ScannerError(self.scanner, f"{method} {path} answered {r.status_code} with a body that is not JSON",
                               status=r.status_code) from None

    def _error(self, method: str, path: str, r: requests.Response) -> ScannerError:
        status = r.status_code
        try:
            said = str((r.json() or {}).get("error", ""))[:200]
        except (ValueError, AttributeError):
            said = ""
        said_text = f": {said}" if said else ""
        if status in (401, 403):
            envs = " and ".join(v for v in self._env.values() if v) or "access_key and secret_key"
            return ScannerError(self.scanner, f"the credential was refused (HTTP {status}{said_text}); check the API keys "
                                f"in {envs}", status=status)
        if status == 412:
            return ScannerError(
                self.scanner,
                "the API is unavailable on Nessus Professional (HTTP 412): policies cannot be managed remotely. "
                "Import the exported policy file instead (`scanguard render --vendor nessus --out DIR` writes "
                "DIR/nessus/<template>.policy.nessus) and add the <template>.nessusd.rules snippet to nessusd.rules",
                status=412,
            )
        if status in TRANSIENT_STATUS:
            retry_after = None
            if status == 429:
                try:
                    retry_after = float(r.headers.get("Retry-After", ""))
                except ValueError:
                    retry_after = None
            return ScannerError(self.scanner, f"{method} {path}: HTTP {status}{said_text}", status=status,
                                transient=True, retry_after=retry_after)
        if status == 404:
            return ScannerError(self.scanner, f"{method} {path}: not found (HTTP 404)", status=404)
        return ScannerError(self.scanner, f"{method} {path}: HTTP {status}{said_text}", status=status)

    # --- the Nessus API -------------------------------------------------------------------

    def list_policies(self) -> list[dict[str, Any]]:
        """GET /policies (Nessus sends null when there are none)."""
        doc = self._request("GET", "/policies") or {}
        return list(doc.get("policies") or [])

    def get_policy(self, policy_id: int | str) -> dict[str, Any]:
        """GET /policies/{id}: the whole document (uuid, settings, plugins)."""
        return self._request("GET", f"/policies/{int(policy_id)}") or {}

    def create_policy(self, document: dict[str, Any]) -> str:
        """POST /policies with uuid, settings and plugins; returns the new policy id."""
        doc = self._request("POST", "/policies", document) or {}
        if "policy_id" not in doc:
            raise ScannerError(self.scanner, "POST /policies answered without a policy_id")
        return str(doc["policy_id"])

    def put_policy(self, policy_id: int | str, document: dict[str, Any]) -> None:
        """PUT /policies/{id} with the whole document."""
        self._request("PUT", f"/policies/{int(policy_id)}", document)

    def copy_policy(self, policy_id: int | str) -> str:
        """POST /policies/{id}/copy; returns the copy's id."""
        doc = self._request("POST", f"/policies/{int(policy_id)}/copy") or {}
        return str(doc.get("id"))

    def delete_policy(self, policy_id: int | str) -> None:
        """DELETE /policies/{id}."""
        self._request("DELETE", f"/policies/{int(policy_id)}")

    def editor_templates(self) -> list[dict[str, Any]]:
        """GET /editor/policy/templates: the editor templates policies are made from."""
        doc = self._request("GET", "/editor/policy/templates") or {}
        return list(doc.get("templates") or [])

    def template_uuid(self, name: str = "advanced") -> str:
        """The uuid of an editor template by name ("advanced") or title ("Advanced Network Scan")."""
        for t in self.editor_templates():
            if name in (t.get("name"), t.get("title")):
                return str(t["uuid"])
        raise ScannerError(self.scanner, f"the scanner has no editor template {name!r}")

    # --- ScannerClient --------------------------------------------------------------------

    def list_managed(self) -> list[RemoteObject]:
        """Policies carrying the scanguard marker, and unmanaged ones whose names collide with them.
        Payloads are left out (None): `read` fetches them."""
        policies = self.list_policies()
        managed, others = [], []
        for p in policies:
            marker = parse_marker(p.get("description"))
            obj = RemoteObject(remote_id=str(p["id"]), name=str(p.get("name", "")),
                               marker_hash=marker[1] if marker else None, managed=marker is not None)
            (managed if marker else others).append(obj)
        names = {o.name for o in managed}
        return managed + [o for o in others if o.name in names]

    def read(self, remote_id: str) -> RemoteObject:
        """The policy, its payload normalised to be comparable with what render produces."""
        doc = self.get_policy(remote_id)
        settings = doc.get("settings") or {}
        marker = parse_marker(settings.get("description"))
        return RemoteObject(remote_id=str(remote_id), name=str(settings.get("name", "")), payload=normalise(doc),
                            marker_hash=marker[1] if marker else None, managed=marker is not None)

    def create(self, name: str, payload: Any, marker: str) -> str:
        """Create the policy with its marker; returns the policy id."""
        doc = copy.deepcopy(payload)
        settings = doc.setdefault("settings", {})
        settings["name"] = name
        settings["description"] = with_marker(settings.get("description", ""), marker)
        return self.create_policy(doc)

    def update(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """Read the policy, change it to the payload, PUT the whole document back. Families the
        live policy has turned off that the payload leaves on are sent as enabled, so that a family
        disabled or re-enabled by hand is put back too."""
        current = self.get_policy(remote_id)
        doc = copy.deepcopy(current)
        desired = copy.deepcopy(payload)
        doc["uuid"] = current.get("uuid") or desired.get("uuid")
        settings = dict(current.get("settings") or {})
        settings.update(desired.get("settings") or {})
        settings["name"] = name
        settings["description"] = with_marker(settings.get("description", ""), marker)
        doc["settings"] = settings
        plugins = {f: {"status": "enabled"} for f, e in (current.get("plugins") or {}).items()
                   if isinstance(e, dict) and str(e.get("status", "enabled")).lower() != "enabled"}
        plugins.update(desired.get("plugins") or {})
        doc["plugins"] = plugins
        self.put_policy(remote_id, doc)
        return str(remote_id)

    def delete(self, remote_id: str) -> None:
        """Delete the policy."""
        self.delete_policy(remote_id)
