"""Replay recorded HTTP exchanges on loopback, for contract tests of the REST clients.

An exchange list is what ../shared/fixtures/tenableio/*.json hold: `{source, interactions: [{method,
path, request_body, status, response_body}]}`. The server answers each request with the next
recorded interaction, after checking that the method and path are the recorded ones; anything
else is answered 599 and noted in `mismatches`, so a client that strays from the recording fails
its test. A response body that is a dict or list goes out as JSON, a string as it is ("" is an
empty body, the way the recorded PUT and DELETE answer), bytes as they are.

    with ReplayServer(interactions) as replay:
        client = ...(url=replay.url)
        ...
        assert replay.done()          # every interaction was used, nothing else was asked

`match_body=True` also compares each JSON request body with the recorded one (keys the
recording has must be sent with the recorded values).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from scanguard_testbed_scanners.common import serve_in_background, stop_serving


def load_exchanges(path: Path) -> list[dict[str, Any]]:
    """The interactions of a recorded exchange file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return list(doc["interactions"])


def _subset(recorded: Any, sent: Any) -> bool:
    """Whether `sent` holds everything `recorded` has (dicts key by key; other values equal)."""
    if isinstance(recorded, dict):
        return isinstance(sent, dict) and all(k in sent and _subset(v, sent[k]) for k, v in recorded.items())
    return recorded == sent


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, body = self.server.replay.answer(self.command, self.path.split("?", 1)[0], raw)
        if isinstance(body, (dict, list)):
            payload, ctype = json.dumps(body).encode(), "application/json"
        elif isinstance(body, bytes):
            payload, ctype = body, "application/octet-stream"
        else:
            payload, ctype = str(body or "").encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, replay: "ReplayServer") -> None:
        self.replay = replay
        super().__init__(("127.0.0.1", 0), _Handler)


class ReplayServer:
    """Serves recorded interactions in order on 127.0.0.1 (plain HTTP)."""

    def __init__(self, interactions: list[dict[str, Any]], *, match_body: bool = False) -> None:
        self.interactions = list(interactions)
        self.match_body = match_body
        self.position = 0
        self.mismatches: list[str] = []
        self.sent: list[tuple[str, str, Any]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def answer(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        """The recorded answer to the next request (599 when it is not the recorded one)."""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        with self._lock:
            self.sent.append((method, path, body))
            if self.position >= len(self.interactions):
                self.mismatches.append(f"{method} {path}: beyond the recording ({len(self.interactions)} interactions)")
                return 599, {"error": "not in the recording"}
            rec = self.interactions[self.position]
            if (rec["method"], rec["path"]) != (method, path):
                self.mismatches.append(f"#{self.position}: sent {method} {path}, recorded {rec['method']} {rec['path']}")
                return 599, {"error": "not the recorded request"}
            if self.match_body and rec.get("request_body") is not None and not _subset(rec["request_body"], body):
                self.mismatches.append(f"#{self.position}: {method} {path} body differs from the recording")
            self.position += 1
            return int(rec["status"]), rec.get("response_body")

    def done(self) -> bool:
        """Every interaction used, in order, and nothing else asked."""
        return not self.mismatches and self.position == len(self.interactions)

    def start(self) -> "ReplayServer":
        """Start serving; returns self."""
        self._server = _Server(self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = serve_in_background(self._server, "replay")
        return self

    def stop(self) -> None:
        """Stop serving."""
        stop_serving(self._server, self._thread)
        self._server, self._thread = None, None

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
