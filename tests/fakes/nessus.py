"""A stateful fake Nessus (Manager) serving real HTTP or HTTPS on loopback, for tests and benchmarks.

It speaks the parts of the Nessus REST API scanguard uses, in the shapes of the recorded responses
in ../shared/fixtures/nessus/: `X-ApiKeys` authentication; `/policies` (list, read, create with
an editor template uuid, PUT of the whole document, copy, delete); `/editor/policy/templates`;
settings stored and returned as strings, a GET returning the whole document (every settings key
of the editor template, not only those written). State lives across requests, behind a lock.

Faults on demand: HTTP errors, 429 with Retry-After, connection resets, hangs longer than the
client's timeout, per-request latency, and the HTTP 412 of Nessus Professional.

    with FakeNessus(tls=True) as fake:
        monkeypatch.setenv("NESSUS_ACCESS_KEY", fake.access_key)
        ... fake.url, fake.ca_bundle, fake.policies, fake.requests ...
        fake.fail_next("503", count=2, method="PUT")
        fake.edit_policy(policy_id, settings={"safe_checks": "no"})
"""

from __future__ import annotations

import copy
import json
import secrets
import socket
import ssl
import struct
import threading
import time
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .common import FaultPlan, LoopbackTLS, serve_in_background, stop_serving

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "nessus"

ADVANCED_UUID = "ad629e16-03b6-8c1d-cef6-ef8c9dd3c658d24bd260ef5f9e66"
BASIC_UUID = "731a8e52-3ea6-a291-ec0a-d2ff0619c19d7bd788d6be818b65"
PROFESSIONAL_ERROR = {"error": "API is not available"}

_MINIMAL_DEFAULTS = {
    "name": "", "description": "", "portscan_range": "default", "unscanned_closed": "no", "safe_checks": "yes",
    "syn_scanner": "yes", "tcp_scanner": "no", "udp_scanner": "no", "ping_the_remote_host": "yes",
    "icmp_ping": "yes", "tcp_ping": "yes", "tcp_ping_dest_ports": "built-in", "arp_ping": "yes", "udp_ping": "no",
    "max_checks_per_host": "5", "max_hosts_per_scan": "80", "network_receive_timeout": "5",
    "scan_network_printers": "no", "scan_netware_hosts": "no", "scan_ot_devices": "no",
}
"""Defaults used only when the recorded fixtures are not beside the checkout."""


def _walk_inputs(node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("id"), str) and "type" in node:
            default = node.get("default")
            out[node["id"]] = "" if default is None else str(default)
        for v in node.values():
            _walk_inputs(v, out)
    elif isinstance(node, list):
        for v in node:
            _walk_inputs(v, out)


@lru_cache(maxsize=1)
def _recorded() -> dict[str, Any]:
    """Editor templates and their default settings, from the recorded responses when present."""
    advanced_path = FIXTURES / "editor-template-advanced.json"
    details_path = FIXTURES / "policy-details.json"
    if advanced_path.is_file() and details_path.is_file():
        editor = json.loads(advanced_path.read_text(encoding="utf-8"))
        adv_defaults: dict[str, str] = {}
        _walk_inputs(editor.get("settings", {}), adv_defaults)
        details = json.loads(details_path.read_text(encoding="utf-8"))
        basic_defaults = {k: str(v) for k, v in details["settings"].items()}
        basic_defaults.update(name="", description="")
        families = {name: {"status": "enabled"} for name in editor.get("plugins", {}).get("families", {})}
    else:  # pragma: no cover - a checkout without ../shared
        editor = {"uuid": ADVANCED_UUID, "name": "advanced", "title": "Advanced Network Scan", "settings": {}}
        adv_defaults = dict(_MINIMAL_DEFAULTS)
        basic_defaults = dict(_MINIMAL_DEFAULTS)
        families = {}
    return {
        "editor": {ADVANCED_UUID: editor},
        "defaults": {ADVANCED_UUID: adv_defaults, BASIC_UUID: basic_defaults},
        "families": families,
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, fake: "FakeNessus") -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that refuses our certificate or drops the connection is part of the tests
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes; with Nagle on, the body would wait for the
    # client's delayed ACK (about 40 ms a request)
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        ctx = self.server.fake._ssl_context
        if ctx is not None:
            # the handshake runs in this connection's thread, never in the accept loop
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean (and key-free)
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, OSError):
            self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- plumbing -------------------------------------------------------------------------

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        return json.loads(raw)

    def _send(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        body = b"" if doc is None else json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self, reset: bool) -> None:
        """Close the connection without a response (with a TCP reset when `reset`)."""
        self.close_connection = True
        try:
            raw = self.connection
            if reset:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
        except OSError:
            pass

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path.rstrip("/") or "/"
        try:
            body = self._body()
        except (ValueError, UnicodeDecodeError):
            fake._log(method, path, 400)
            self._send(400, {"error": "Invalid JSON"})
            return
        if fake.latency:
            fake._stop.wait(fake.latency)
        fault = fake._take_fault(method, path)
        if fault is not None:
            self._fault(fault, method, path)
            return
        if not fake._authorised(self.headers.get("X-ApiKeys", "")):
            fake._log(method, path, 401)
            self._send(401, {"error": "Invalid Credentials"})
            return
        status, doc = fake._route(method, path, body)
        fake._log(method, path, status)
        self._send(status, doc)

    def _fault(self, kind: str, method: str, path: str) -> None:
        fake = self.server.fake
        if kind == "reset":
            fake._log(method, path, 0)
            self._drop(reset=True)
        elif kind == "timeout":
            fake._log(method, path, 0)
            fake._stop.wait(fake.hang_s)  # bounded, and cut short when the fake stops
            self._drop(reset=False)
        elif kind == "429":
            fake._log(method, path, 429)
            self._send(429, {"error": "Too Many Requests"}, {"Retry-After": str(fake.retry_after)})
        else:
            status = int(kind)
            fake._log(method, path, status)
            self._send(status, {"error": f"fault injected ({status})"})


class FakeNessus:
    """A fake Nessus on 127.0.0.1 (random free port) in a background thread.

    Attributes for tests: `url`, `ca_bundle` (CA PEM path, TLS only), `access_key`, `secret_key`,
    `policies` (id -> stored policy, editable), `requests` ((method, path, status) per request;
    status 0 when the connection was dropped), `latency` (seconds per request), `professional`
    (answer 412 on policy management, as Nessus Professional does), `hang_s` (how long a "timeout"
    fault holds the connection), `retry_after` (seconds sent with a 429).
    """

    def __init__(self, tls: bool = True, *, access_key: str | None = None, secret_key: str | None = None,
                 professional: bool = False) -> None:
        self.tls = tls
        self.access_key = access_key or secrets.token_hex(32)
        self.secret_key = secret_key or secrets.token_hex(32)
        self.professional = professional
        self.latency = 0.0
        self.hang_s = 5.0
        self.retry_after = 0
        self.policies: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._faults = FaultPlan(self._lock)
        self._next_id = 1
        self._tls: LoopbackTLS | None = None
        self._ssl_context: ssl.SSLContext | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.ca_bundle: str | None = None
        self.url = ""

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> "FakeNessus":
        """Start serving; returns self."""
        if self.tls:
            self._tls = LoopbackTLS("fake-nessus-")
            self._ssl_context = self._tls.context
            self.ca_bundle = self._tls.ca_bundle
        self._stop.clear()
        self._server = _Server(self)
        port = self._server.server_address[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"
        self._thread = serve_in_background(self._server, "fake-nessus")
        return self

    def stop(self) -> None:
        """Stop serving and remove the CA files; hanging faults are cut short."""
        self._stop.set()
        stop_serving(self._server, self._thread)
        self._server, self._thread = None, None
        if self._tls is not None:
            self._tls.cleanup()
            self._tls = None

    def __enter__(self) -> "FakeNessus":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- fault injection ------------------------------------------------------------------

    def fail_next(self, kind: str, count: int = 1, method: str | None = None, path_prefix: str | None = None) -> None:
        """Answer the next `count` requests that match (method, path prefix) with the fault `kind`:
        "500", "502", "503", "504", "429", "reset" or "timeout"."""
        self._faults.fail_next(kind, count, method, path_prefix)

    def fail_at(self, n: int, kind: str) -> None:
        """Answer the n-th request from now (1 = the next one) with the fault `kind`."""
        self._faults.fail_at(n, kind)

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    def _take_fault(self, method: str, path: str) -> str | None:
        return self._faults.take(method, path)

    # --- state helpers for tests ----------------------------------------------------------

    def edit_policy(self, policy_id: int | str, settings: dict[str, Any] | None = None,
                    plugins: dict[str, Any] | None = None) -> None:
        """Change a stored policy as someone in the console would (no request is logged)."""
        with self._lock:
            p = self.policies[int(policy_id)]
            if settings:
                p["settings"].update(_strings(settings))
            if plugins:
                for family, entry in plugins.items():
                    p["plugins"][family] = copy.deepcopy(entry)
            p["last_modification_date"] = int(time.time())

    def add_policy(self, name: str, settings: dict[str, Any] | None = None, uuid: str = ADVANCED_UUID,
                   plugins: dict[str, Any] | None = None) -> int:
        """Store a policy directly (one made by hand in the console); returns its id."""
        with self._lock:
            return self._store(uuid, {**(settings or {}), "name": name}, plugins or {})

    def writes(self) -> list[tuple[str, str, int]]:
        """The logged requests that change state (POST, PUT, DELETE)."""
        with self._lock:
            return [r for r in self.requests if r[0] in ("POST", "PUT", "DELETE")]

    def _log(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))

    def _authorised(self, header: str) -> bool:
        parts = {}
        for item in header.split(";"):
            k, _, v = item.strip().partition("=")
            parts[k.strip()] = v.strip()
        return secrets.compare_digest(parts.get("accessKey", ""), self.access_key) and secrets.compare_digest(
            parts.get("secretKey", ""), self.secret_key
        )

    # --- the API --------------------------------------------------------------------------

    def _store(self, uuid: str, settings: dict[str, Any], plugins: dict[str, Any]) -> int:
        rec = _recorded()
        full = dict(rec["defaults"].get(uuid) or rec["defaults"][ADVANCED_UUID])
        full.update(_strings(settings))
        now = int(time.time())
        pid = self._next_id
        self._next_id += 1
        self.policies[pid] = {
            "id": pid, "uuid": uuid, "settings": full,
            "plugins": {str(k): copy.deepcopy(v) for k, v in (plugins or {}).items()},
            "owner": "scanguard", "creation_date": now, "last_modification_date": now,
        }
        return pid

    def _summary(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": p["id"], "template_uuid": p["uuid"], "name": p["settings"].get("name", ""),
            "description": p["settings"].get("description", ""), "owner": p["owner"], "owner_id": 1,
            "shared": 0, "user_permissions": 128, "visible": 1, "no_target": "false",
            "creation_date": p["creation_date"], "last_modification_date": p["last_modification_date"],
        }

    def _document(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"uuid": p["uuid"], "settings": dict(p["settings"]), "plugins": copy.deepcopy(p["plugins"])}

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = [x for x in path.split("/") if x]
        with self._lock:
            if parts[:1] == ["server"] and method == "GET":
                if parts[1:] == ["properties"]:
                    return 200, {"nessus_type": "Nessus Professional" if self.professional else "Nessus Manager",
                                 "server_version": "10.6.1", "nessus_ui_version": "10.6.1"}
                if parts[1:] == ["status"]:
                    return 200, {"status": "ready", "progress": None}
            if parts[:3] == ["editor", "policy", "templates"] and method == "GET":
                rec = _recorded()
                if len(parts) == 3:
                    return 200, {"templates": copy.deepcopy(rec["templates"])}
                editor = rec["editor"].get(parts[3])
                if editor is None:
                    return 404, {"error": "Template not found"}
                return 200, editor
            if parts[:1] != ["policies"]:
                return 404, {"error": "The requested file was not found."}
            if self.professional:
                return 412, dict(PROFESSIONAL_ERROR)
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
                pid = self._store(uuid, body["settings"], body.get("plugins") or {})
                return 200, {"policy_id": pid, "policy_name": self.policies[pid]["settings"]["name"]}
            return 405, {"error": "Method not allowed"}
        try:
            pid = int(rest[0])
        except ValueError:
            return 404, {"error": "The requested file was not found."}
        p = self.policies.get(pid)
        if p is None:
            return 404, {"error": "The requested file was not found."}
        if len(rest) == 2 and rest[1] == "copy" and method == "POST":
            new = self._store(p["uuid"], {**p["settings"], "name": f"Copy of {p['settings'].get('name', '')}"},
                              p["plugins"])
            return 200, {"id": new, "name": self.policies[new]["settings"]["name"]}
        if len(rest) != 1:
            return 404, {"error": "The requested file was not found."}
        if method == "GET":
            return 200, self._document(p)
        if method == "PUT":
            if not isinstance(body, dict):
                return 400, {"error": "Invalid settings"}
            if "uuid" in body and body["uuid"] != p["uuid"]:
                return 400, {"error": "The policy template cannot be changed"}
            p["settings"].update(_strings(body.get("settings") or {}))
            for family, entry in (body.get("plugins") or {}).items():
                p["plugins"][str(family)] = copy.deepcopy(entry)  # a family sent replaces its stored state
            p["last_modification_date"] = int(time.time())
            return 200, {}
        if method == "DELETE":
            del self.policies[pid]
            return 200, {}
        return 405, {"error": "Method not allowed"}
