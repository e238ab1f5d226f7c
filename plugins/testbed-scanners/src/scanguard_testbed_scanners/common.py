"""What the HTTP scanner fakes share: the fault plan every fake injects from, a loopback TLS
certificate made for one fake's lifetime, and `HttpFake`, the server, fault answers and request
log the Tenable fakes (Nessus, Tenable VM, Security Center) are built on."""

from __future__ import annotations

import json
import secrets
import socket
import socketserver
import ssl
import struct
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

FAULT_KINDS = ("500", "502", "503", "504", "429", "reset", "timeout")
"""Status codes answered instead of the real reply, a connection closed with no reply ("reset"),
or a reply held longer than the client's timeout ("timeout")."""


@dataclass
class _Fault:
    kind: str
    count: int
    method: str | None
    path_prefix: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_prefix is None or path.startswith(self.path_prefix))


def check_kind(kind: str) -> None:
    """ValueError for a fault kind no fake knows."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")


class FaultPlan:
    """The faults a fake will answer with. `fail_at` counts from now (1 = the next request);
    `fail_next` matches by method and path prefix. Thread-safe under the fake's lock."""

    def __init__(self, lock: threading.RLock | threading.Lock) -> None:
        self._lock = lock
        self._next: list[_Fault] = []
        self._at: dict[int, str] = {}
        self._count = 0

    def fail_next(self, kind: str, count: int = 1, method: str | None = None, path_prefix: str | None = None) -> None:
        """The next `count` requests matching (method, path prefix) fail with `kind`."""
        check_kind(kind)
        with self._lock:
            self._next.append(_Fault(kind, count, method.upper() if method else None, path_prefix))

    def fail_at(self, n: int, kind: str) -> None:
        """The n-th request from now (1 = the next one) fails with `kind`."""
        check_kind(kind)
        if n < 1:
            raise ValueError("n counts from 1 (the next request)")
        with self._lock:
            self._at[self._count + n] = kind

    def clear(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._next.clear()
            self._at.clear()

    def take(self, method: str, path: str) -> str | None:
        """Count one request; the fault it meets, if any."""
        with self._lock:
            self._count += 1
            kind = self._at.pop(self._count, None)
            if kind is not None:
                return kind
            for f in self._next:
                if f.count > 0 and f.matches(method, path):
                    f.count -= 1
                    if f.count == 0:
                        self._next.remove(f)
                    return f.kind
        return None


@lru_cache(maxsize=1)
def shared_fixtures() -> Path:
    """The recorded real responses: `shared/fixtures` in the nearest ancestor of this file (an
    editable install in a checkout) or of the working directory that has one (the project keeps
    ../shared beside the repository). A path that does not exist when neither has one: each
    fake then says what it falls back to."""
    for base in (Path(__file__).resolve(), Path.cwd().resolve()):
        for parent in base.parents:
            if (parent / "shared" / "fixtures").is_dir():
                return parent / "shared" / "fixtures"
    return Path(__file__).resolve().parent / "shared-fixtures-not-found"


def netloc(host: str) -> str:
    """A host as a URL writes it (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


class LoopbackTLS:
    """A CA and a server certificate for 127.0.0.1, localhost and the loopback address served
    (trustme), the CA written to a temporary file for the client's `ca_bundle`; `cleanup()`
    removes it."""

    def __init__(self, prefix: str, host: str = "127.0.0.1") -> None:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert(*dict.fromkeys(("127.0.0.1", "localhost", host)))
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self.ca_bundle = str(Path(self._tmp.name) / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.context)

    def cleanup(self) -> None:
        """Remove the CA file."""
        self._tmp.cleanup()


def serve_in_background(server: "socketserver.BaseServer", name: str) -> threading.Thread:
    """Run `server.serve_forever` in a daemon thread (polled often, so stop is quick)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
    thread.start()
    return thread


def stop_serving(server: "socketserver.BaseServer | None", thread: threading.Thread | None) -> None:
    """Shut a server started with `serve_in_background` down and wait for its thread."""
    if server is not None:
        server.shutdown()
        server.server_close()
    if thread is not None:
        thread.join(timeout=5)


class _FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, fake: "HttpFake") -> None:
        self.fake = fake
        self.address_family = socket.AF_INET6 if ":" in fake.host else socket.AF_INET
        super().__init__((fake.host, fake.port), _FakeHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that refuses our certificate or drops the connection is part of the tests
        pass


class _FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes; with Nagle on, the body would wait for the
    # client's delayed ACK (about 40 ms a request)
    disable_nagle_algorithm = True
    server: _FakeServer

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

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        return json.loads(raw)

    def _send(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(doc, bytes):
            body = doc
            ctype = "application/json" if doc[:1] == b"{" else "application/octet-stream"
        else:
            body, ctype = (b"" if doc is None else json.dumps(doc).encode()), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
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
        path, _, query = self.path.partition("?")
        path = path.rstrip("/") or "/"
        try:
            body = self._body()
        except (ValueError, UnicodeDecodeError):
            fake._log(method, path, 400)
            self._send(400, fake._error_doc(400, "Invalid JSON"))
            return
        if fake.latency:
            fake._stop.wait(fake.latency)
        fault = fake._take_fault(method, path)
        if fault is not None:
            self._fault(fault, method, path)
            return
        if not fake._authorised(self.headers.get(fake.auth_header, "")):
            fake._log(method, path, fake.unauthorised_status)
            self._send(fake.unauthorised_status, fake._error_doc(fake.unauthorised_status, "Invalid Credentials"))
            return
        status, doc = fake._handle(method, path, parse_qs(query), body)
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
            self._send(429, fake._error_doc(429, "Too Many Requests"), {"Retry-After": str(fake.retry_after)})
        else:
            status = int(kind)
            fake._log(method, path, status)
            self._send(status, fake._error_doc(status, f"fault injected ({status})"))


class HttpFake:
    """What an HTTP scanner fake is made of, beyond its API: a server on 127.0.0.1 (random free
    port; `host` and `port` choose another loopback address or a fixed port; HTTPS with a
    loopback CA or plain HTTP) in a background thread, API keys checked in one
    header, the fault plan, and the request log.

    A fake sets `auth_header`, `_authorised(value)`, `_error_doc(status, message)` (its error body)
    and `_handle(method, path, query, body) -> (status, document)` (bytes go out as they are).
    Attributes for tests: `url`, `ca_bundle` (TLS only), `access_key`, `secret_key`, `requests`
    ((method, path, status) per request; status 0 when the connection was dropped), `bodies`
    ((method, path, body) of the JSON bodies a fake keeps), `latency`, `hang_s` (how long a
    "timeout" fault holds the connection), `retry_after` (seconds sent with a 429)."""

    auth_header = "X-ApiKeys"
    unauthorised_status = 401
    name = "fake"

    def __init__(self, tls: bool = True, *, access_key: str | None = None, secret_key: str | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.tls = tls
        self.host, self.port = host, port
        self.access_key = access_key or secrets.token_hex(32)
        self.secret_key = secret_key or secrets.token_hex(32)
        self.latency = 0.0
        self.hang_s = 5.0
        self.retry_after = 0
        self.requests: list[tuple[str, str, int]] = []
        self.bodies: list[tuple[str, str, Any]] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._faults = FaultPlan(self._lock)
        self._tls: LoopbackTLS | None = None
        self._ssl_context: ssl.SSLContext | None = None
        self._server: _FakeServer | None = None
        self._thread: threading.Thread | None = None
        self.ca_bundle: str | None = None
        self.url = ""

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self):
        """Start serving; returns self."""
        if self.tls:
            self._tls = LoopbackTLS(f"{self.name}-", self.host)
            self._ssl_context = self._tls.context
            self.ca_bundle = self._tls.ca_bundle
        self._stop.clear()
        self._server = _FakeServer(self)
        port = self._server.server_address[1]
        self.url = f"{'https' if self.tls else 'http'}://{netloc(self.host)}:{port}"
        self._thread = serve_in_background(self._server, self.name)
        return self

    def stop(self) -> None:
        """Stop serving and remove the CA files; hanging faults are cut short."""
        self._stop.set()
        stop_serving(self._server, self._thread)
        self._server, self._thread = None, None
        if self._tls is not None:
            self._tls.cleanup()
            self._tls = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- fault injection --------------------------------------------------------------------------

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

    # --- the log ----------------------------------------------------------------------------------

    def writes(self) -> list[tuple[str, str, int]]:
        """The logged requests that change state (POST, PUT, PATCH, DELETE)."""
        with self._lock:
            return [r for r in self.requests if r[0] in ("POST", "PUT", "PATCH", "DELETE")]

    def _log(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))

    # --- what a fake provides -----------------------------------------------------------------------

    def _authorised(self, header: str) -> bool:
        raise NotImplementedError

    def _error_doc(self, status: int, message: str) -> Any:
        return {"error": message}

    def _handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        raise NotImplementedError


def key_pairs(header: str) -> dict[str, str]:
    """"accessKey=a; secretKey=s;" as {"accessKey": "a", "secretKey": "s"}."""
    parts = {}
    for item in header.split(";"):
        k, _, v = item.strip().partition("=")
        if k.strip():
            parts[k.strip()] = v.strip()
    return parts
