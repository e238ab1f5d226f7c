"""A small in-memory scanner and vendor for unit tests of the sync engine (the acceptance tests
run against the HTTP fakes of scanguard_testbed_scanners). Faults use the same kinds as the fakes."""

from __future__ import annotations

import itertools
import threading
from typing import Any

from scanguard import RemoteObject, ScannerConfig, ScannerError, ScanTemplate, Vendor, hookimpl, parse_marker
from scanguard.scanners import canonical_json

TRANSIENT = {"429", "502", "503", "504", "reset", "timeout"}
SERVERS: dict[str, "MemoryScanner"] = {}


def _sorted(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _sorted(x) for k, x in v.items()}
    if isinstance(v, list):
        return sorted((_sorted(x) for x in v), key=canonical_json)
    return v


def render(ct) -> dict:
    """The neutral template as JSON, lists sorted (so the hash is stable)."""
    return _sorted(ct.template.model_dump(mode="json"))


def parse(payload: Any) -> ScanTemplate:
    """Back to the neutral template."""
    return ScanTemplate.model_validate(payload)


class MemoryScanner:
    """Objects by id, a request log, and fault injection like the HTTP fakes'."""

    def __init__(self, name: str):
        self.name = name
        self.objects: dict[str, dict] = {}
        self.requests: list[tuple[str, str, int]] = []
        self._ids = itertools.count(1)
        self._faults: dict[int, str] = {}
        self._next: list[list] = []
        self.lock = threading.Lock()
        SERVERS[name] = self

    def fail_at(self, n: int, kind: str) -> None:
        """The n-th request from now (1-based) fails with `kind`."""
        self._faults[len(self.requests) + n] = kind

    def fail_next(self, kind: str, count: int = 1, method: str | None = None) -> None:
        """The next `count` requests (of that method) fail with `kind`."""
        self._next.append([kind, count, method])

    def edit(self, rid: str, **changes: Any) -> None:
        """A console edit: change the payload, keep the description."""
        self.objects[rid]["payload"] = {**self.objects[rid]["payload"], **changes}

    def _fault(self, method: str) -> str | None:
        n = len(self.requests) + 1
        kind = self._faults.pop(n, None)
        if kind is None:
            for rule in self._next:
                if rule[1] > 0 and (rule[2] is None or rule[2] == method):
                    rule[1] -= 1
                    kind = rule[0]
                    break
        return kind

    def request(self, method: str, path: str, apply) -> Any:
        """Run one request, with an injected fault if one is due. Resets and timeouts happen
        after the server acted (the reply is lost), the worst case for the client."""
        with self.lock:
            kind = self._fault(method)
            self.requests.append((method, path, 200 if kind is None else -1))
            if kind in ("reset", "timeout"):
                apply()
            elif kind is None:
                return apply()
        raise ScannerError(self.name, f"injected {kind} on {method} {path}",
                           status=int(kind) if kind.isdigit() else None,
                           transient=kind in TRANSIENT, retry_after=0.0 if kind == "429" else None)


class MemoryClient:
    """The ScannerClient of a MemoryScanner."""

    def __init__(self, server: MemoryScanner):
        self.server = server
        self.scanner = server.name

    def _obj(self, rid: str, o: dict, payload: bool) -> RemoteObject:
        m = parse_marker(o["description"])
        return RemoteObject(remote_id=rid, name=o["name"], payload=o["payload"] if payload else None,
                            marker_hash=m[1] if m else None, managed=m is not None)

    def list_managed(self, names: frozenset[str] = frozenset()) -> list[RemoteObject]:
        def go():
            every = [self._obj(rid, o, False) for rid, o in sorted(self.server.objects.items())]
            wanted = set(names) | {o.name for o in every if o.managed}
            return [o for o in every if o.managed or o.name in wanted]
        return self.server.request("GET", "/objects", go)

    def read(self, remote_id: str) -> RemoteObject:
        def go():
            if remote_id not in self.server.objects:
                raise ScannerError(self.scanner, f"no object {remote_id}", status=404)
            return self._obj(remote_id, self.server.objects[remote_id], True)
        return self.server.request("GET", f"/objects/{remote_id}", go)

    def create(self, name: str, payload: Any, marker: str) -> str:
        def go():
            rid = str(next(self.server._ids))
            self.server.objects[rid] = {"name": name, "payload": payload, "description": marker}
            return rid
        return self.server.request("POST", "/objects", go)

    def update(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        def go():
            if remote_id not in self.server.objects:
                raise ScannerError(self.scanner, f"no object {remote_id}", status=404)
            self.server.objects[remote_id] = {"name": name, "payload": payload, "description": marker}
            return remote_id
        return self.server.request("PUT", f"/objects/{remote_id}", go)

    def delete(self, remote_id: str) -> None:
        return self.server.request("DELETE", f"/objects/{remote_id}",
                                   lambda: self.server.objects.pop(remote_id, None) and None)


def client(cfg: ScannerConfig) -> MemoryClient:
    """The client for a configured memory scanner."""
    if cfg.name not in SERVERS:
        raise ScannerError(cfg.name, "connection refused", transient=True)
    return MemoryClient(SERVERS[cfg.name])


VENDOR = Vendor(name="memory", render=render, parse=parse, client=client,
                capabilities=frozenset({"render", "parse", "client"}))


class Plugin:
    """Registers the memory vendor."""

    @hookimpl
    def scanguard_vendors(self) -> list[Vendor]:
        return [VENDOR]
