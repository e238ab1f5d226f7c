"""What the HTTP scanner fakes share: the fault plan every fake injects from, and a loopback TLS
certificate made for one fake's lifetime."""

from __future__ import annotations

import socketserver
import ssl
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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
