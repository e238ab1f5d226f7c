"""The InsightVM console API v3 (scan templates) for the sync engine: a ScannerClient.

- HTTP Basic with the credentials `username` and `password` named in scanguard.toml (the
  environment or the keyring); HTTP, TLS (`tls.verify`, `tls.ca_bundle`, `tls.client_cert`),
  error mapping and secret masking are scanguard.http's;
- no retries here: the sync engine retries what is transient (connection errors, timeouts, 429
  with its Retry-After, 502, 503, 504) and nothing else;
- errors come from the console as {"status", "message"} with status a string or an integer.

What the console knows, the client asks it (once per client):

- check categories (`GET /api/3/vulnerability_categories`, paged) and check types
  (`GET /api/3/vulnerability_checks_types`): a template that disables a category or type the
  console does not know is refused (CannotEnforce) before anything is written: the console would
  store the name and exclude nothing;
- which form port lists take: the console's own spec (`GET /api/3/json`) says, by the type of
  `excludedPorts` or by its version (3.0: an array with ranges as strings; 3.1: one CSV string).
  A console that does not serve its spec gets the 3.0 form, and its version
  (`GET /api/3/administration/info`, version.semantic) is logged.

Managed templates carry `managed_marker(name, hash)` at the end of their description. Updates
follow the console's rule that PUT replaces the whole object: GET, change, PUT. A template
scanguard does not manage (a built-in, which cannot be edited, or one a person made) is never
overwritten: update copies it instead, and returns the copy's id.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Iterable, Iterator
from urllib.parse import quote

import requests

from scanguard import CannotEnforce, RemoteObject, ScannerConfig, ScannerError, parse_marker, resolve_secret
from scanguard.http import HttpTransport, basic_auth

from .ports import format_port_list, parse_port_list
from .spec import spec_port_form
from .template import normalise_document, strip_marker

log = logging.getLogger(__name__)

API = "/api/3/scan_templates"
CATEGORIES = "/api/3/vulnerability_categories"
CHECK_TYPES = "/api/3/vulnerability_checks_types"
PAGE_SIZE = 100
MAX_PAGES = 10_000
"""A bound on paging, so that a console that never stops sending "next" cannot hold a sync forever."""
UNREADABLE = (403, 404, 405, 501)


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


def write_port_lists(body: dict[str, Any], form: str) -> None:
    """Every service port list of a body in the form the console takes ("array" or "csv")."""
    for proto in ("tcp", "udp"):
        service = body.get("discovery", {}).get("service", {}).get(proto)
        if not isinstance(service, dict):
            continue
        for field in ("additionalPorts", "excludedPorts"):
            if field in service:
                service[field] = format_port_list(parse_port_list(service[field]), form)


def with_marker(description: str, marker: str) -> str:
    """The description with scanguard's marker on its last line (any old marker removed)."""
    text = strip_marker(description)
    return f"{text}\n{marker}" if text else marker


def _describe(response: requests.Response) -> str:
    """(message, with the console's status when it differs from the HTTP one) of a console error;
    the status may come as a string or an integer."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return str(response.reason or "no message")[:200]
    message = str(body.get("message") or response.reason or "no message")[:500]
    try:
        status = int(str(body.get("status")).strip())
    except ValueError:
        status = None
    if status is not None and status != response.status_code:
        message = f"{message} (console status {status})"
    return message


class InsightVMClient:
    """A ScannerClient for one InsightVM console."""

    def __init__(self, config: ScannerConfig, *, session: requests.Session | None = None) -> None:
        self.scanner = config.name or "insightvm"
        if not config.url:
            raise ScannerError(self.scanner, "no url is set for this InsightVM console (like https://console:3780)")
        self.base_template = str(config.options.get("base_template", "") or "") or None
        username, password = resolve_secret(config, "username"), resolve_secret(config, "password")
        self.http = HttpTransport(config, auth=basic_auth(username, password), secrets=[username, password],
                                  user_agent="scanguard-insightvm", describe=_describe, session=session)
        self._port_form: str | None = None
        self._categories: frozenset[str] | None = None
        self._types: frozenset[str] | None = None

    def __repr__(self) -> str:
        return f"InsightVMClient(scanner={self.scanner!r}, url={self.http.base_url!r})"

    @property
    def base_url(self) -> str:
        """The console's address (no trailing slash)."""
        return self.http.base_url

    @property
    def session(self) -> requests.Session:
        """The HTTP session (its auth has a masked repr)."""
        return self.http.session

    def _request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self.http.json(method, path, body=body, params=params)

    def _optional(self, path: str) -> Any:
        """GET what a console may not offer: None when it says so."""
        try:
            return self._request("GET", path)
        except ScannerError as e:
            if e.status in UNREADABLE:
                return None
            raise

    def _pages(self, path: str) -> Iterator[Any]:
        """Every resource of a paged collection, page by page."""
        page = 0
        for _ in range(MAX_PAGES):
            answer = self._request("GET", path, params={"page": page, "size": PAGE_SIZE}) or {}
            resources = answer.get("resources") or []
            yield from resources
            info = answer.get("page")
            if not isinstance(info, dict) or not resources:
                break  # the spec's unpaged form: everything came at once
            if int(info.get("number", page)) + 1 >= int(info.get("totalPages", 0)):
                break
            page = int(info.get("number", page)) + 1

    # what the console knows ---------------------------------------------------------------------
    def port_form(self) -> str:
        """The form the console takes port lists in: "array" (API 3.0) or "csv" (API 3.1)."""
        if self._port_form is None:
            spec = self._optional("/api/3/json")
            if isinstance(spec, dict) and isinstance(spec.get("definitions"), dict):
                self._port_form = spec_port_form(spec)
            else:
                info = self._optional("/api/3/administration/info") or {}
                version = ((info.get("version") or {}).get("semantic") if isinstance(info, dict) else None) or "unknown"
                log.warning("scanner %s: the console (version %s) does not serve its API spec; port lists are "
                            "written as arrays (the API 3.0 form)", self.scanner, version)
                self._port_form = "array"
        return self._port_form

    def check_categories(self) -> frozenset[str]:
        """The vulnerability check categories the console knows (GET /api/3/vulnerability_categories)."""
        if self._categories is None:
            self._categories = frozenset(str(r["name"]) for r in self._pages(CATEGORIES)
                                         if isinstance(r, dict) and r.get("name"))
        return self._categories

    def check_types(self) -> frozenset[str]:
        """The vulnerability check types the console knows (GET /api/3/vulnerability_checks_types)."""
        if self._types is None:
            answer = self._request("GET", CHECK_TYPES) or {}
            self._types = frozenset(str(t) for t in (answer.get("resources") or []) if isinstance(t, str))
        return self._types

    def require_known_checks(self, payload: dict[str, Any]) -> None:
        """CannotEnforce when the template disables a check category or type the console does not
        know: the exclusion would be stored and do nothing."""
        checks = payload.get("checks") or {}
        for kind, wanted, known in (("category", (checks.get("categories") or {}).get("disabled") or [],
                                     self.check_categories),
                                    ("type", (checks.get("types") or {}).get("disabled") or [], self.check_types)):
            if not wanted:
                continue
            names = known()
            unknown = sorted(str(w) for w in wanted if str(w) not in names)
            if unknown:
                near = {n.casefold(): n for n in names}
                hints = [f"{u!r} (the console has {near[u.casefold()]!r})" if u.casefold() in near else repr(u)
                         for u in unknown]
                raise CannotEnforce(f"scanner {self.scanner}: the console knows no check {kind} {', '.join(hints)}; "
                                    "the exclusion would do nothing, so the template is not pushed")

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
        return [r for r in self._pages(API) if isinstance(r, dict)]

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
        self.require_known_checks(payload)
        ours = copy.deepcopy(payload)
        ours["name"] = name
        ours["description"] = with_marker(str(payload.get("description", "")), marker)
        body = ours if base is None else _merge(_strip_links({k: v for k, v in base.items() if k != "id"}), ours)
        write_port_lists(body, self.port_form())
        return body

    def _post(self, body: dict[str, Any], what: str) -> str:
        answer = self._request("POST", API, body=body)
        new_id = answer.get("id") if isinstance(answer, dict) else None
        if new_id in (None, ""):
            raise ScannerError(self.scanner, f"{what}: the console returned no id")
        return str(new_id)

    def create(self, name: str, payload: Any, marker: str) -> str:
        """POST a new template (a copy of `options.base_template` when set); returns its id."""
        base = self._get(self.base_template) if self.base_template else None
        return self._post(self._body(name, payload, marker, base), f"creating scan template {name}")

    def update(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """GET, change, PUT the whole object; returns the id now in force. A template scanguard
        does not manage (built-ins cannot be edited) is copied, never overwritten."""
        current = self._get(remote_id)
        body = self._body(name, payload, marker, current)
        if parse_marker(current.get("description")) is None:
            return self._post(body, f"copying scan template {remote_id}")
        self._request("PUT", f"{API}/{quote(remote_id, safe='')}", body=body)
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
