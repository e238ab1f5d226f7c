"""A stateful fake Rapid7 InsightVM Security Console (API v3 scan templates) over real HTTPS.

    with FakeInsightVM(tls=True) as fake:
        fake.url, fake.ca_bundle, fake.username, fake.password   # random per instance
        fake.templates                  # id -> stored ScanTemplate document (guard with fake.lock)
        fake.edit_template(id, {...})   # a console user's hand edit (deep merge; or a callable)
        fake.add_template("Made by hand", {...})   # a template someone made in the console; its id
        fake.requests                   # [(method, path, status)]; status 0: connection dropped
        fake.writes()                   # the logged POST, PUT and DELETE requests
        fake.bodies                     # [(method, path, body)] of every JSON body received
        fake.fail_next("503", count=1, method=None, path_prefix=None)
        fake.fail_at(n, "reset")        # the n-th request from now (1 = the next one)
        fake.clear_faults()
        fake.latency = 0.2              # seconds added before every response

The fault API is the same as nessus.py (FakeNessus), so one fault matrix drives both.

Endpoints (sites and their excluded targets: insightvm_sites.py): GET /api/3/scan_templates (paged with ?page=&size=, `page_size` by default; the
response carries resources, page and links, with a "next" link while pages remain), POST
/api/3/scan_templates (returns {"id", "links"}), GET/PUT/DELETE /api/3/scan_templates/{id}.
PUT replaces the whole object. Built-in templates (BUILTIN_IDS) are present and read-only: PUT
and DELETE on them answer 400. Every request needs HTTP Basic auth (401 otherwise).

What the console knows, in the spec's shapes: GET /api/3/vulnerability_categories (paged,
PageOf<VulnerabilityCategory>: `categories`), GET /api/3/vulnerability_checks_types
(ReferencesWith<VulnerabilityCheckTypeID>: `check_types`), GET /api/3/administration/info (Info,
with version.semantic `console_version`) and GET /api/3/json (the console's own spec; 404 when
`serves_spec` is False). `api_version` "3" serves the recorded spec, whose port lists are arrays
(ranges as strings); "3.1" serves it with info.version "3.1" and port lists as one CSV string.
Request bodies must take the form of the version served.

Errors have the console's shape {"status", "message"}; `status_type` (int or str) chooses
whether status is an integer or a string, both of which real consoles send.

Request bodies are validated against Rapid7's Swagger spec (with the plugin's documented
port-list erratum) and refused with a 400 when invalid. The spec lives in the shared fixtures
(`../shared/fixtures/insightvm/console-swagger.json` beside the repository); where it is absent
the fake still runs, without body validation (`fake.validating` is then False).

Fault kinds for fail_next / fail_at: "500", "502", "503", "504", "429" (with Retry-After:
`retry_after`), "reset" (the connection is closed without a response), "timeout" (the response
is held back for `hang_s` seconds, longer than any client timeout, then the connection is
closed; stopping the fake interrupts the wait). `retry_after` is 0 and `hang_s` 5 s by default,
as in FakeNessus. State, faults and logs are thread-safe.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import secrets
import socket
import ssl
import struct
import threading
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from scanguard_insightvm.spec import SpecValidator, find_spec, load_validator

from .common import FaultPlan, LoopbackTLS, serve_in_background, stop_serving
from .insightvm_sites import SITES, SitesMixin

BASE = "/api/3/scan_templates"
CATEGORIES = (
    "Apache", "Database", "Default Account", "Denial of Service", "DNS", "HTTP", "Malware", "Microsoft",
    "Network", "SCADA", "SSL", "Web",
)
"""Vulnerability check categories the fake console knows (names as Rapid7's docs show them)."""
CHECK_TYPES = ("Default Account", "Local", "Patch", "Policy", "Remote", "Safe", "Unsafe", "Version")
"""Vulnerability check types the fake console knows."""
BUILTIN_IDS = (
    "discovery",
    "full-audit-without-web-spider",
    "full-audit-enhanced-logging-without-web-spider",
    "denial-of-service",
)


def _builtin(template_id: str, name: str, description: str, *, unsafe: bool = False,
             discovery_only: bool = False) -> dict[str, Any]:
    """A built-in template as a console returns it (console-only fields included)."""
    return {
        "id": template_id,
        "name": name,
        "description": description,
        "discoveryOnly": discovery_only,
        "enableWindowsServices": False,
        "enhancedLogging": False,
        "maxParallelAssets": 10,
        "maxScanProcesses": 10,
        "policyEnabled": not discovery_only,
        "vulnerabilityEnabled": not discovery_only,
        "webEnabled": not discovery_only,
        "discovery": {
            "asset": {"sendIcmpPings": True, "sendArpPings": True, "tcpPorts": [21, 22, 23, 25, 80, 443, 3389],
                      "udpPorts": [53, 161], "treatTcpResetAsAsset": True, "fingerprintRetries": 0},
            "service": {
                "tcp": {"method": "SYN", "ports": "well-known", "additionalPorts": [], "excludedPorts": []},
                "udp": {"ports": "well-known", "additionalPorts": [], "excludedPorts": []},
            },
            "performance": {
                "packetRate": {"defeatRateLimit": True, "minimum": 450, "maximum": 15000},
                "parallelism": {"minimum": 0, "maximum": 0},
                "retryLimit": 3,
                "scanDelay": {"minimum": "PT0S", "maximum": "PT0S"},
                "timeout": {"initial": "PT0.5S", "minimum": "PT0.5S", "maximum": "PT3S"},
            },
        },
        "checks": {
            "correlate": False, "potential": False, "unsafe": unsafe,
            "categories": {"enabled": [], "disabled": []},
            "types": {"enabled": [], "disabled": []},
            "individual": {"enabled": [], "disabled": []},
        },
    }


def builtin_templates() -> dict[str, dict[str, Any]]:
    """The built-in templates a fresh fake console holds."""
    return {
        "discovery": _builtin("discovery", "Discovery Scan", "Identify live assets and their services.",
                              discovery_only=True),
        "full-audit-without-web-spider": _builtin(
            "full-audit-without-web-spider", "Full audit without Web Spider",
            "Performs a full network audit of all systems using only safe checks."),
        "full-audit-enhanced-logging-without-web-spider": _builtin(
            "full-audit-enhanced-logging-without-web-spider", "Full audit enhanced logging without Web Spider",
            "Full audit with enhanced logging."),
        "denial-of-service": _builtin("denial-of-service", "Denial of service",
                                      "Tests assets for denial-of-service vulnerabilities.", unsafe=True),
    }


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied: dicts merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, fake: "FakeInsightVM", context: ssl.SSLContext | None):
        self.fake = fake
        self.context = context
        self.address_family = socket.AF_INET6 if ":" in fake.host else socket.AF_INET
        super().__init__((fake.host, fake.port), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # the TLS handshake happens here, in the connection's own thread, so a stalled client
        # cannot hold up the accept loop
        if self.context is not None:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
        self.fake._track(request, True)
        try:
            super().finish_request(request, client_address)
        finally:
            self.fake._track(request, False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # connections the client dropped (timeouts, resets) are expected here


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # small replies must not wait ~40 ms for a delayed ACK
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the fake's own log is fake.requests

    def do_GET(self) -> None:
        self.server.fake._dispatch(self, "GET")

    def do_POST(self) -> None:
        self.server.fake._dispatch(self, "POST")

    def do_PUT(self) -> None:
        self.server.fake._dispatch(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.fake._dispatch(self, "DELETE")


class _NoResponse(Exception):
    """The fault sends nothing back."""


class FakeInsightVM(SitesMixin):
    """A fake InsightVM console on 127.0.0.1 (random free port; `host` and `port` choose another
    loopback address or a fixed port), in a background thread.
    See the module docstring for its API (and insightvm_sites.py for sites)."""

    def __init__(self, tls: bool = True, *, page_size: int = 10, validate: bool = True,
                 spec_path: str | Path | None = None, api_version: str = "3", host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.tls = tls
        self.host, self.port = host, port
        self.username = "nxadmin-" + secrets.token_hex(4)
        self.password = secrets.token_urlsafe(18)
        self.page_size = page_size
        self.status_type: type = int
        self.latency = 0.0
        self.hang_s = 5.0
        self.retry_after = 0
        self.lock = threading.RLock()
        self.templates: dict[str, dict[str, Any]] = builtin_templates()
        self.builtin_ids = frozenset(BUILTIN_IDS)
        self.requests: list[tuple[str, str, int]] = []
        self.bodies: list[tuple[str, str, Any]] = []
        self._faults = FaultPlan(self.lock)
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._conns: set[Any] = set()
        spec = spec_path or find_spec()
        self.spec_path = str(spec) if spec else None
        self.api_version = api_version
        self.serves_spec = True
        self.console_version = "6.6.55"
        self.categories: list[str] = list(CATEGORIES)
        self.check_types: list[str] = list(CHECK_TYPES)
        form = "csv" if api_version == "3.1" else "array"
        self.validator: SpecValidator | None = (load_validator(str(spec), port_form=form)
                                                if (validate and spec) else None)
        self._init_sites()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tls: LoopbackTLS | None = None
        self.ca_bundle: str | None = None
        self.url = ""

    # lifecycle -------------------------------------------------------------------------------
    @property
    def validating(self) -> bool:
        """True when request bodies are validated against the spec."""
        return self.validator is not None

    def start(self) -> "FakeInsightVM":
        """Start serving; returns self."""
        context = None
        if self.tls:
            self._tls = LoopbackTLS("fake-insightvm-", self.host)
            context = self._tls.context
            self.ca_bundle = self._tls.ca_bundle
        self._server = _Server(self, context)
        host, port = self._server.server_address[:2]
        self.url = f"{'https' if self.tls else 'http'}://{f'[{host}]' if ':' in host else host}:{port}"
        self._thread = serve_in_background(self._server, "fake-insightvm")
        return self

    def stop(self) -> None:
        """Stop serving, interrupt held responses, close open connections."""
        self._stop.set()
        with self.lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        stop_serving(self._server, self._thread)
        self._server, self._thread = None, None
        if self._tls is not None:
            self._tls.cleanup()
            self._tls = None

    def __enter__(self) -> "FakeInsightVM":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _track(self, conn: Any, add: bool) -> None:
        with self.lock:
            (self._conns.add if add else self._conns.discard)(conn)

    # test-side API -----------------------------------------------------------------------------
    def fail_next(self, kind: str, count: int = 1, method: str | None = None, path_prefix: str | None = None) -> None:
        """The next `count` requests (matching `method` and `path_prefix`, if given) fail with `kind`."""
        self._faults.fail_next(kind, count, method, path_prefix)

    def fail_at(self, n: int, kind: str) -> None:
        """The n-th request from now (1 = the next one) fails with `kind`."""
        self._faults.fail_at(n, kind)

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    def writes(self) -> list[tuple[str, str, int]]:
        """The logged requests that change state (POST, PUT, DELETE)."""
        with self.lock:
            return [r for r in self.requests if r[0] in ("POST", "PUT", "DELETE")]

    def add_template(self, name: str, document: dict[str, Any] | None = None) -> str:
        """Store a template directly (one made by hand in the console, no marker); returns its id."""
        with self.lock:
            template_id = self._new_id(name)
            self.templates[template_id] = self._stored(template_id, {**(document or {}), "name": name})
            return template_id

    def edit_template(self, template_id: str,
                      changes: dict[str, Any] | Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """A console user's hand edit: deep-merge `changes` (or call it on the document); returns
        a copy of the stored document."""
        with self.lock:
            doc = self.templates[template_id]
            if callable(changes):
                doc = copy.deepcopy(doc)
                changes(doc)
            else:
                doc = deep_merge(doc, changes)
            self.templates[template_id] = doc
            return copy.deepcopy(doc)

    def template(self, template_id: str) -> dict[str, Any]:
        """A copy of one stored template."""
        with self.lock:
            return copy.deepcopy(self.templates[template_id])

    def managed_templates(self) -> dict[str, dict[str, Any]]:
        """Copies of every template that is not built in."""
        with self.lock:
            return {k: copy.deepcopy(v) for k, v in self.templates.items() if k not in self.builtin_ids}

    # serving -----------------------------------------------------------------------------------
    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)

    def _next_fault(self, method: str, path: str) -> str | None:
        return self._faults.take(method, path)

    def _log(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.requests.append((method, path, status))

    def _error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"status": self.status_type(status), "message": message, "links": []}

    def _dispatch(self, h: _Handler, method: str) -> None:
        url = urlsplit(h.path)
        path = url.path
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        kind = self._next_fault(method, path)
        self._wait(self.latency)
        if kind in ("reset", "timeout"):
            self._log(method, path, 0)  # logged when it starts: a held response may never end
        try:
            if kind is not None:
                status, body, headers = self._fault(h, kind)
            elif not self._authorised(h.headers.get("Authorization")):
                status, body, headers = 401, self._error_body(401, "Authentication required."), {
                    "WWW-Authenticate": 'Basic realm="Security Console"'}
            else:
                status, body = self._route(method, path, parse_qs(url.query), raw)
                headers = {}
        except _NoResponse:
            h.close_connection = True
            return
        self._log(method, path, status)
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json;charset=UTF-8")
        h.send_header("Content-Length", str(len(payload)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(payload)

    def _fault(self, h: _Handler, kind: str) -> tuple[int, Any, dict[str, str]]:
        if kind == "reset":
            try:  # linger 0: close with a TCP RST, as a dying proxy would
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            raise _NoResponse
        if kind == "timeout":
            self._wait(self.hang_s)
            raise _NoResponse
        status = int(kind)
        headers = {"Retry-After": str(self.retry_after)} if status == 429 else {}
        messages = {500: "An unexpected error occurred.", 502: "Bad gateway.", 503: "The service is unavailable.",
                    504: "Gateway timeout.", 429: "Too many requests."}
        return status, self._error_body(status, messages[status]), headers

    def _authorised(self, header: str | None) -> bool:
        import base64

        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.username) and secrets.compare_digest(pw, self.password)

    def _body(self, method: str, path: str, raw: bytes, template: str) -> Any:
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise _BadRequest("The request body is not valid JSON.") from None
        with self.lock:
            self.bodies.append((method, path, copy.deepcopy(body)))
        if not isinstance(body, dict):
            raise _BadRequest("The request body must be a scan template object.")
        if self.validator is not None:
            errs = self.validator.errors(template, body)
            if errs:
                raise _BadRequest("The request body is invalid: " + "; ".join(errs[:5]))
        return body

    def _new_id(self, name: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        return f"{slug or 'template'}-{next(self._ids)}"

    def _links(self, template_id: str) -> list[dict[str, str]]:
        return [{"href": f"{self.url}{BASE}/{template_id}", "rel": "self"}]

    def _stored(self, template_id: str, body: dict[str, Any]) -> dict[str, Any]:
        doc = {k: v for k, v in copy.deepcopy(body).items() if k not in ("id", "links")}
        doc["id"] = template_id
        # a real console answers with hypermedia links inside nested objects too
        checks = doc.get("checks")
        if isinstance(checks, dict):
            checks["links"] = self._links(template_id)
        return doc

    def _route(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
        try:
            return self._route_inner(method, path, query, raw)
        except _BadRequest as e:
            return 400, self._error_body(400, str(e))

    def _console(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        """What the console knows (module docstring); None for any other path."""
        path = path.rstrip("/")
        if path == "/api/3/vulnerability_categories":
            number, size = self._paging(query)
            with self.lock:
                names = list(self.categories)
            chosen = names[number * size:(number + 1) * size]
            resources = [{"id": i, "name": n, "links": [{"href": f"{self.url}{path}/{i}", "rel": "self"}]}
                         for i, n in enumerate(chosen, number * size + 1)]
            return 200, self._page(path, resources, number, size, len(names))
        if path == "/api/3/vulnerability_checks_types":
            with self.lock:
                return 200, {"resources": list(self.check_types), "links": [{"href": self.url + path, "rel": "self"}]}
        if path == "/api/3/administration/info":
            info = self.validator.example("Info") if self.validator is not None else {"version": {}}
            info["version"]["semantic"] = self.console_version
            return 200, info
        if path == "/api/3/json":
            if not self.serves_spec or self.spec_path is None:
                return 404, self._error_body(404, "Not found.")
            return 200, served_spec_bytes(self.spec_path, self.api_version)
        return None

    def _route_inner(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
        if method == "GET":
            known = self._console(path, query)
            if known is not None:
                return known
        if path.rstrip("/") == SITES or path.startswith(SITES + "/"):
            return self._sites_route(method, path, query, raw)
        if path.rstrip("/") == BASE:
            if method == "GET":
                return 200, self._list(query)
            if method == "POST":
                body = self._body(method, path, raw, "ScanTemplate")
                with self.lock:
                    template_id = self._new_id(str(body.get("name", "template")))
                    self.templates[template_id] = self._stored(template_id, body)
                return 200, {"id": template_id, "links": self._links(template_id)}
            return 405, self._error_body(405, f"Method {method} is not supported here.")
        m = re.fullmatch(re.escape(BASE) + r"/([^/]+)", path)
        if not m:
            return 404, self._error_body(404, f"No resource at {path}.")
        template_id = m.group(1)
        with self.lock:
            exists = template_id in self.templates
        if not exists:
            return 404, self._error_body(404, f"Scan template {template_id} does not exist.")
        if method == "GET":
            with self.lock:
                doc = copy.deepcopy(self.templates[template_id])
            doc["links"] = self._links(template_id)
            return 200, doc
        if method in ("PUT", "DELETE") and template_id in self.builtin_ids:
            return 400, self._error_body(400, f"Built-in scan template {template_id} cannot be modified; copy it.")
        if method == "PUT":
            body = self._body(method, path, raw, "ScanTemplate")
            with self.lock:
                self.templates[template_id] = self._stored(template_id, body)
            return 200, {"links": self._links(template_id)}
        if method == "DELETE":
            with self.lock:
                self.templates.pop(template_id, None)
            return 200, {"links": [{"href": f"{self.url}{BASE}", "rel": "up"}]}
        return 405, self._error_body(405, f"Method {method} is not supported here.")

    def _paging(self, query: dict[str, list[str]]) -> tuple[int, int]:
        try:
            number = int(query.get("page", ["0"])[0])
            size = int(query.get("size", [str(self.page_size)])[0])
        except ValueError:
            raise _BadRequest("page and size must be integers") from None
        return number, max(1, size)

    def _page(self, path: str, resources: list[Any], number: int, size: int, total: int) -> dict[str, Any]:
        pages = max(1, -(-total // size))
        links = [{"href": f"{self.url}{path}?page={number}&size={size}", "rel": "self"}]
        if number + 1 < pages:
            links.append({"href": f"{self.url}{path}?page={number + 1}&size={size}", "rel": "next"})
        return {"resources": resources, "page": {"number": number, "size": size, "totalPages": pages,
                                                 "totalResources": total}, "links": links}

    def _list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        number, size = self._paging(query)
        with self.lock:
            ids = sorted(self.templates)
            total = len(ids)
            chosen = ids[number * size:(number + 1) * size]
            resources = []
            for template_id in chosen:
                doc = copy.deepcopy(self.templates[template_id])
                doc["links"] = self._links(template_id)
                resources.append(doc)
        return self._page(BASE, resources, number, size, total)


@lru_cache(maxsize=4)
def served_spec_bytes(path: str, api_version: str) -> bytes:
    """`served_spec` serialised once (it is some 800 KB)."""
    return json.dumps(served_spec(path, api_version)).encode()


def served_spec(path: str, api_version: str) -> dict[str, Any]:
    """The console's own spec as GET /api/3/json serves it: the recorded one for API 3.0; for 3.1,
    info.version "3.1" and the service port lists as one CSV string."""
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    if api_version == "3.1":
        spec["info"]["version"] = "3.1"
        for definition in ("ScanTemplateServiceDiscoveryTcp", "ScanTemplateServiceDiscoveryUdp"):
            for field in ("additionalPorts", "excludedPorts"):
                prop = spec["definitions"][definition]["properties"][field]
                prop.pop("items", None)
                prop["type"] = "string"
    return spec


class _BadRequest(Exception):
    """A request the console refuses with 400."""
