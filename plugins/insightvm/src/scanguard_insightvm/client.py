"""The InsightVM console API v3 (scan templates) for the sync engine: a ScannerClient.

- HTTP Basic with the credentials `username` and `password` named in scanguard.toml (the
  environment or the keyring; never stored on the client in clear);
- TLS verified by default (`tls.verify`, `tls.ca_bundle`, `tls.client_cert`);
- no retries here: the sync engine retries what is transient (connection errors, timeouts, 429
  with its Retry-After, 502, 503, 504) and nothing else;
- errors come from the console as {"status", "message"} with status a string or an integer.

Managed templates carry `managed_marker(name, hash)` at the end of their description. Updates
follow the console's rule that PUT replaces the whole object: GET, change, PUT. A template
scanguard does not manage (a built-in, which cannot be edited, or one a person made) is never
overwritten: update copies it instead, and returns the copy's id.
"""

from __future__ import annotations

import base64
import copy
from typing import Any, Iterable
from urllib.parse import quote, urlsplit

import requests

from scanguard import RemoteObject, ScannerConfig, ScannerError, parse_marker, resolve_secret

from .ports import format_port_list, parse_port_list, port_list_form
from .template import normalise_document, strip_marker

API = "/api/3/scan_templates"
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
PAGE_SIZE = 100
MAX_PAGES = 10_000
"""A bound on paging, so that a console that never stops sending "next" cannot hold a sync forever."""


class _BasicAuth(requests.auth.AuthBase):
    """HTTP Basic from Secret objects, revealed only while the header is built."""

    def __init__(self, username: Any, password: Any) -> None:
        self._username = username
        self._password = password

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = f"{self._username.reveal()}:{self._password.reveal()}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
        return request

    def __repr__(self) -> str:
        return "_BasicAuth('***')"


def _strip_links(value: Any) -> Any:
    """A document without the console's read-only hypermedia links (at any depth)."""
    if isinstance(value, dict):
        return {k: _strip_links(v) for k, v in value.items() if k != "links"}
    if isinstance(value, list):
        return [_strip_links(v) for v in value]
    return value


def _merge(base: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """`base` with every field of `ours` written over it (objects merge, values replace)."""
    out = copy.deepcopy(base)
    for key, value in ours.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _keep_port_list_forms(body: dict[str, Any], current: dict[str, Any]) -> None:
    """Write each port list back in the form the console gave it (array or CSV string)."""
    for proto in ("tcp", "udp"):
        read = current.get("discovery", {}).get("service", {}).get(proto, {})
        written = body.get("discovery", {}).get("service", {}).get(proto)
        if not isinstance(read, dict) or not isinstance(written, dict):
            continue
        for field in ("additionalPorts", "excludedPorts"):
            if field in read and field in written and port_list_form(read[field]) == "csv":
                written[field] = format_port_list(parse_port_list(written[field]), "csv")


def with_marker(description: str, marker: str) -> str:
    """The description with scanguard's marker on its last line (any old marker removed)."""
    text = strip_marker(description)
    return f"{text}\n{marker}" if text else marker


class InsightVMClient:
    """A ScannerClient for one InsightVM console."""

    def __init__(self, config: ScannerConfig, *, session: requests.Session | None = None) -> None:
        self.scanner = config.name or "insightvm"
        if not config.url:
            raise ScannerError(self.scanner, "no url is set for this InsightVM console (like https://console:3780)")
        self.base_url = config.url.rstrip("/")
        self.timeout = config.timeout_s
        self.base_template = str(config.options.get("base_template", "") or "") or None
        self.session = session or requests.Session()
        self.session.auth = _BasicAuth(resolve_secret(config, "username"), resolve_secret(config, "password"))
        tls = config.tls
        # passed with every request: requests lets REQUESTS_CA_BUNDLE override a session's verify
        self.verify: bool | str = str(tls.ca_bundle) if (tls.verify and tls.ca_bundle) else tls.verify
        self.cert = str(tls.client_cert) if tls.client_cert else None
        self.session.headers.update({"Accept": "application/json", "User-Agent": "scanguard-insightvm"})

    # transport ---------------------------------------------------------------------------------
    def _request(self, method: str, path_or_url: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        what = f"{method} {urlsplit(url).path}"
        try:
            response = self.session.request(method, url, json=body, params=params, timeout=self.timeout,
                                            verify=self.verify, cert=self.cert, allow_redirects=False)
        except requests.exceptions.SSLError as e:
            # a certificate that does not verify will not verify on retry either
            raise ScannerError(self.scanner, f"TLS verification failed for {self.base_url} ({type(e).__name__}); "
                               "set tls.ca_bundle to the console's CA") from None
        except requests.exceptions.Timeout:
            raise ScannerError(self.scanner, f"{what} timed out after {self.timeout:g} s", transient=True) from None
        except requests.exceptions.ConnectionError as e:
            raise ScannerError(self.scanner, f"{what}: could not reach {self.base_url} ({_reason(e)})",
                               transient=True) from None
        except requests.exceptions.RequestException as e:
            raise ScannerError(self.scanner, f"{what} failed: {type(e).__name__}") from None
        except OSError as e:  # requests reports an unreadable CA bundle or client certificate so
            raise ScannerError(self.scanner, f"TLS files could not be read: {e.strerror or type(e).__name__} "
                               "(check tls.ca_bundle and tls.client_cert)") from None
        if response.status_code >= 400 or response.status_code in (301, 302, 303, 307, 308):
            raise self._error(what, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ScannerError(self.scanner, f"{what}: the console's answer is not JSON") from None

    def _error(self, what: str, response: requests.Response) -> ScannerError:
        code = response.status_code
        status, message = _error_fields(response)
        if status is not None and status != code:
            message = f"{message} (console status {status})"
        if code in (401, 403):
            return ScannerError(self.scanner, f"the console refused the credential (HTTP {code}) for {what}: {message}",
                                status=code)
        retry_after = _retry_after(response.headers.get("Retry-After")) if code == 429 else None
        return ScannerError(self.scanner, f"{what} failed with HTTP {code}: {message}", status=code,
                            transient=code in TRANSIENT_STATUS, retry_after=retry_after)

    # documents ---------------------------------------------------------------------------------
    def _remote(self, doc: dict[str, Any]) -> RemoteObject:
        marker = parse_marker(doc.get("description"))
        return RemoteObject(
            remote_id=str(doc.get("id")),
            name=str(doc.get("name", "")),
            payload=normalise_document(doc),
            marker_hash=marker[1] if marker else None,
            managed=marker is not None,
        )

    def list_templates(self) -> list[dict[str, Any]]:
        """Every scan template on the console, page by page."""
        out: list[dict[str, Any]] = []
        page = 0
        for _ in range(MAX_PAGES):
            answer = self._request("GET", API, params={"page": page, "size": PAGE_SIZE}) or {}
            resources = answer.get("resources") or []
            out.extend(r for r in resources if isinstance(r, dict))
            info = answer.get("page")
            if not isinstance(info, dict) or not resources:
                break  # the spec's unpaged form: everything came at once
            if int(info.get("number", page)) + 1 >= int(info.get("totalPages", 0)):
                break
            page = int(info.get("number", page)) + 1
        return out

    def list_managed(self, names: Iterable[str] = ()) -> list[RemoteObject]:
        """Templates carrying scanguard's marker, and any other whose name collides with one of
        theirs or with one of `names` (the names the sync is about to write: a hand-made template
        of that name must be seen, reported and left alone, never shadowed by a copy)."""
        every = [self._remote(doc) for doc in self.list_templates()]
        wanted = {o.name for o in every if o.managed} | set(names)
        return [o for o in every if o.managed or o.name in wanted]

    def _get(self, remote_id: str) -> dict[str, Any]:
        doc = self._request("GET", f"{API}/{quote(remote_id, safe='')}")
        if not isinstance(doc, dict):
            raise ScannerError(self.scanner, f"scan template {remote_id}: the console's answer is not an object")
        return doc

    def read(self, remote_id: str) -> RemoteObject:
        """One template; its payload normalised to compare with what render produces."""
        return self._remote(self._get(remote_id))

    def _body(self, name: str, payload: dict[str, Any], marker: str, base: dict[str, Any] | None) -> dict[str, Any]:
        ours = copy.deepcopy(payload)
        ours["name"] = name
        ours["description"] = with_marker(str(payload.get("description", "")), marker)
        if base is None:
            return ours
        body = _merge(_strip_links({k: v for k, v in base.items() if k != "id"}), ours)
        _keep_port_list_forms(body, base)
        return body

    def create(self, name: str, payload: Any, marker: str) -> str:
        """POST a new template (a copy of `options.base_template` when set); returns its id."""
        base = self._get(self.base_template) if self.base_template else None
        answer = self._request("POST", API, body=self._body(name, payload, marker, base))
        new_id = answer.get("id") if isinstance(answer, dict) else None
        if new_id in (None, ""):
            raise ScannerError(self.scanner, f"creating scan template {name}: the console returned no id")
        return str(new_id)

    def update(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """GET, change, PUT the whole object; returns the id now in force. A template scanguard
        does not manage (built-ins cannot be edited) is copied, never overwritten."""
        current = self._get(remote_id)
        if parse_marker(current.get("description")) is None:
            answer = self._request("POST", API, body=self._body(name, payload, marker, current))
            new_id = answer.get("id") if isinstance(answer, dict) else None
            if new_id in (None, ""):
                raise ScannerError(self.scanner, f"copying scan template {remote_id}: the console returned no id")
            return str(new_id)
        self._request("PUT", f"{API}/{quote(remote_id, safe='')}", body=self._body(name, payload, marker, current))
        return remote_id

    def delete(self, remote_id: str) -> None:
        """Delete a template."""
        self._request("DELETE", f"{API}/{quote(remote_id, safe='')}")

    # scanner-side exclusions: every static site's excluded targets (scanguard_insightvm.sites)
    def list_exclusions(self) -> list[RemoteObject]:
        """The excluded targets of every static site."""
        from . import sites

        return sites.list_exclusions(self)

    def read_exclusion(self, remote_id: str) -> RemoteObject:
        """One site's excluded targets."""
        from . import sites

        return sites.read_exclusion(self, remote_id)

    def update_exclusion(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """Add the document's addresses to one site's excluded targets (kept: what is there)."""
        from . import sites

        return sites.update_exclusion(self, remote_id, payload)

    def create_exclusion(self, name: str, payload: Any, marker: str) -> str:
        """Not possible: excluded targets live in the sites people make."""
        raise ScannerError(self.scanner, "InsightVM keeps exclusions in its sites; scanguard does not create sites")

    def delete_exclusion(self, remote_id: str) -> None:
        """Not done: scanguard never empties a site's excluded targets."""
        raise ScannerError(self.scanner, "scanguard never removes a site's excluded targets")

    def __repr__(self) -> str:
        return f"InsightVMClient(scanner={self.scanner!r}, url={self.base_url!r})"


def _error_fields(response: requests.Response) -> tuple[int | None, str]:
    """(status, message) of a console error; status may come as a string or an integer."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        status: int | None
        try:
            status = int(str(body.get("status")).strip())
        except ValueError:
            status = None
        message = str(body.get("message") or response.reason or "no message")
        return status, message[:500]
    return None, str(response.reason or "no message")[:200]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _reason(e: Exception) -> str:
    """A short, secret-free reason for a connection failure."""
    text = str(e.args[0]) if e.args else type(e).__name__
    for marker in ("Connection refused", "Connection reset", "Remote end closed", "Name or service not known",
                   "timed out", "Connection aborted"):
        if marker.lower() in text.lower():
            return marker.lower()
    return type(e).__name__

