"""The control interface of a virtual device: a small HTTP/JSON service, out of band (on
127.0.0.1 by default, like a management port or a power switch), that stays up while the
device is dead.

    GET  /status   the DeviceStatus
    GET  /truth    {"events": [TruthEvent, ...]}
    POST /reset    the hard-reset button; answers the DeviceStatus after it
    POST /kill     take the device down (rule "manual"); answers the DeviceStatus
"""

from __future__ import annotations

import asyncio
import http.client
import json
from typing import TYPE_CHECKING

from pydantic import TypeAdapter

from ..errors import ScanguardError
from .truth import DeviceStatus, TruthEvent

if TYPE_CHECKING:
    from .device import VirtualDevice

MAX_HEADER_BYTES = 16 * 1024
_EVENTS = TypeAdapter(tuple[TruthEvent, ...])


class ControlError(ScanguardError):
    """The control interface could not be reached or refused the request."""

    exit_code = 1


async def serve_control(device: "VirtualDevice", host: str, port: int) -> asyncio.AbstractServer:
    """Start the control interface of `device` on host:port (0: a free port)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await _answer(device, reader)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            status, body = 400, {"error": "bad request"}
        payload = json.dumps(body).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload
        )
        try:
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port, limit=MAX_HEADER_BYTES)


async def _answer(device: "VirtualDevice", reader: asyncio.StreamReader) -> tuple[int, object]:
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and int(value.strip() or 0) > 0:
            await reader.readexactly(min(int(value.strip()), MAX_HEADER_BYTES))  # bodies are ignored
    routes = {
        "/status": ("GET", lambda: _dump(device.status())),
        "/truth": ("GET", lambda: {"events": [e.model_dump(mode="json") for e in device.truth()]}),
        "/kill": ("POST", lambda: _dump(device.kill())),
    }
    path = path.split("?", 1)[0].rstrip("/") or "/"
    if path == "/reset":
        if method != "POST":
            return 405, {"error": "use POST /reset"}
        return 200, _dump(await device.reset())
    if path not in routes:
        return 404, {"error": f"no such resource {path}; try /status, /truth, /reset, /kill"}
    want, fn = routes[path]
    if method != want:
        return 405, {"error": f"use {want} {path}"}
    return 200, fn()


def _dump(status: DeviceStatus) -> dict:
    return status.model_dump(mode="json")


class ControlClient:
    """A blocking client of a device's control interface."""

    def __init__(self, host: str, port: int, *, timeout_s: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s

    @property
    def url(self) -> str:
        """http://host:port/ of the control interface."""
        return f"http://{self.host}:{self.port}/"

    def status(self) -> DeviceStatus:
        """The device's state and counters."""
        return DeviceStatus.model_validate(self._call("GET", "/status"))

    def truth(self) -> tuple[TruthEvent, ...]:
        """The device's ground-truth log."""
        return _EVENTS.validate_python(self._call("GET", "/truth")["events"])

    def reset(self) -> DeviceStatus:
        """Press the hard-reset button; the status after it."""
        return DeviceStatus.model_validate(self._call("POST", "/reset"))

    def kill(self) -> DeviceStatus:
        """Take the device down; the status after it."""
        return DeviceStatus.model_validate(self._call("POST", "/kill"))

    def _call(self, method: str, path: str) -> dict:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            body = json.loads(resp.read() or b"{}")
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise ControlError(f"control interface {self.url}: {type(e).__name__}: {e}") from None
        finally:
            conn.close()
        if resp.status != 200:
            raise ControlError(f"control interface {self.url}{path.lstrip('/')}: HTTP {resp.status}: {body.get('error')}")
        return body
