"""A virtual fragile device in asyncio: services with banners on loopback, fragility rules that
kill it, recovery by reboot or reset, and a ground-truth log of both.

Dead means silent on every port: the listening sockets are closed (connects are refused, UDP gets
port-unreachable) and open connections are aborted, so both a TCP heartbeat and nmap see it down.

The heartbeat rule: a connection to the heartbeat port from the observer's address (the health
monitor's, :data:`scanguard.health.LOOPBACK_OBSERVER`) is the observer, not the scan, and no
rate or probe rule counts it. Every other connection counts, the scan's connections to the
heartbeat port included (when the heartbeat is a service, a scan exercises it like any other).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import ipaddress
import logging
import os
import random
import socket
import tempfile
import threading
import time
from collections import Counter, deque
from datetime import datetime, timezone
from typing import Callable

from ..health import LOOPBACK_OBSERVER
from .personality import ConnectRule, PayloadRule, Personality, ProbesRule, RateRule
from .truth import DeviceState, DeviceStatus, TruthEvent, excerpt

MAX_STREAM_BUFFER = 64 * 1024  # payload rules look at this much of a TCP stream
IDLE_TIMEOUT_S = 30.0  # a connection that says nothing for this long is closed, so none leak
AUTO_HOST_ATTEMPTS = 64
_HELD: Counter[str] = Counter()
"""Addresses the devices of this process hold, with how many devices hold each, down ones
included (a dead device's ports are closed, but it comes back there), devices given their
address included: a device that picks its own address never takes one of them."""
_HELD_LOCK = threading.Lock()
_CLAIMS: dict[str, int] = {}
"""The open lock file of each address in _HELD that this process claimed from the others."""
ACCEPT_BATCH = 64

log = logging.getLogger(__name__)


def _claim(host: str) -> bool:
    """Claim the address from the other processes on this machine (a test run on several cores,
    two test beds): an exclusive lock on a file named for it, held until this process lets the
    address go or ends. False when another process holds it. A dead device's ports are closed
    while it reboots; without the claim, another process's device could pick its address and
    answer there in its place. Call with _HELD_LOCK held."""
    if host in _CLAIMS:
        return True
    folder = os.path.join(tempfile.gettempdir(), f"scanguard-testbed-{os.getuid()}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(folder, f"{host}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:  # no lock files here: the addresses are still held within this process
        log.debug("cannot claim %s from other processes: %s", host, e)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _CLAIMS[host] = fd
    return True


def _hold(host: str) -> None:
    """Hold an address given to a device (claimed from other processes when none holds it)."""
    with _HELD_LOCK:
        if not _HELD[host]:
            _claim(host)
        _HELD[host] += 1


def _release(host: str) -> None:
    with _HELD_LOCK:
        _HELD[host] -= 1
        if _HELD[host] <= 0:
            del _HELD[host]
            fd = _CLAIMS.pop(host, None)
            if fd is not None:
                os.close(fd)  # the lock goes with it


def _now() -> datetime:
    return datetime.now(timezone.utc)


class VirtualDevice:
    """One virtual device on one loopback address.

    Use ``await device.start()`` / ``await device.stop()`` or ``async with``. `host` None picks a
    free 127.0.0.x address (one on which every port of the personality can be bound). With
    `control_port` not None a control interface (HTTP/JSON, see :mod:`.control`) listens on
    `control_host`; 0 picks a free port. `observer` is the address the health monitor connects
    from (see the heartbeat rule above); None: every connection to the heartbeat port is the
    observer's."""

    def __init__(self, personality: Personality, host: str | None = None, *,
                 control_host: str = "127.0.0.1", control_port: int | None = 0,
                 observer: str | None = LOOPBACK_OBSERVER) -> None:
        for addr in (host, control_host):
            # the test bed must never listen where a real network could reach it
            if addr is not None and not ipaddress.ip_address(addr).is_loopback:
                raise ValueError(f"{addr} is not a loopback address; the test bed listens on 127.0.0.0/8 only")
        self.personality = personality
        self.observer = observer
        self.host = host or ""
        self._want_host = host
        self._control_host = control_host
        self._control_port = control_port
        self.control_port: int | None = None
        self.state: DeviceState = "down"
        self._since = _now()
        self._tcp: list[_TcpListener] = []
        self._tasks: set[asyncio.Task] = set()
        self._udp: list[asyncio.DatagramTransport] = []
        self._conns: set[asyncio.BaseTransport] = set()
        self._probe_times: deque[float] = deque()
        self._probes = 0
        self._deaths = 0
        self._reboots = 0
        self._truth: list[TruthEvent] = []
        self._reboot_handle: asyncio.TimerHandle | None = None
        self._control: asyncio.AbstractServer | None = None
        self._watchers: list[Callable[[], None]] = []
        self._coming_back = False
        self._held: str | None = None  # the address this device holds in _HELD, until stopped

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind every service (and the control interface) and come up."""
        if self._want_host is not None:
            await self._listen(self._want_host)
            _hold(self._want_host)
        else:
            await self._listen_anywhere()
        self._held = self.host
        self._set_state("up")
        self._record("start", detail=f"listening on tcp {list(self.personality.tcp_ports)} "
                                      f"udp {list(self.personality.udp_ports)}")
        if self._control_port is not None:
            from .control import serve_control

            try:
                self._control = await serve_control(self, self._control_host, self._control_port)
            except OSError:
                self._close_listeners()
                self._let_go()
                self._set_state("down")
                raise
            self.control_port = self._control.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close everything, the control interface included."""
        if self._reboot_handle is not None:
            self._reboot_handle.cancel()
        self._close_listeners()
        self._let_go()
        if self._control is not None:
            self._control.close()
            await self._control.wait_closed()
            self._control = None
        self._record("stop")
        self._set_state("down")

    def _let_go(self) -> None:
        if self._held is not None:
            _release(self._held)
            self._held = None

    async def __aenter__(self) -> "VirtualDevice":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- what the control interface offers -------------------------------------------------------
    async def reset(self) -> DeviceStatus:
        """The hard-reset button: a dead device comes back now; a live one forgets its counters."""
        if self.state == "down":
            if self._reboot_handle is not None:
                self._reboot_handle.cancel()
                self._reboot_handle = None
            await self._come_back("reset")
        else:
            self._forget_probes()
        return self.status()

    def kill(self, detail: str = "killed through the control interface") -> DeviceStatus:
        """Take the device down as if a rule had fired (rule `manual`)."""
        if self.state == "up":
            self._die("manual", None, None, None, b"", detail)
        return self.status()

    def status(self) -> DeviceStatus:
        """The device's state and counters now."""
        p = self.personality
        return DeviceStatus(
            device=p.id, name=p.name, host=self.host, state=self.state, tcp_ports=p.tcp_ports,
            udp_ports=p.udp_ports, heartbeat=p.heartbeat, control_port=self.control_port,
            deaths=self._deaths, probes=self._probes, since=self._since,
        )

    def truth(self) -> tuple[TruthEvent, ...]:
        """The ground-truth log so far: start, every death and recovery, stop."""
        return tuple(self._truth)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on the device's loop) whenever the state changes."""
        self._watchers.append(callback)

    # -- binding -------------------------------------------------------------------------------
    async def _listen_anywhere(self) -> None:
        candidates = random.sample(range(2, 255), k=min(AUTO_HOST_ATTEMPTS, 253))
        last: OSError | None = None
        for last_octet in candidates:
            host = f"127.0.0.{last_octet}"
            with _HELD_LOCK:
                if _HELD[host] or not _claim(host):
                    continue  # held here, or by another process
                _HELD[host] += 1
            try:
                await self._listen(host)
                return
            except OSError as e:
                _release(host)
                if e.errno != errno.EADDRINUSE:
                    raise
                last = e
        raise OSError(errno.EADDRINUSE, f"no free 127.0.0.x address for {self.personality.id}: {last}")

    async def _listen(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        p = self.personality
        try:
            for port in p.tcp_ports:
                self._tcp.append(_TcpListener(self, host, port))
            for port in p.udp_ports:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda port=port: _UdpService(self, port), local_addr=(host, port)
                )
                self._udp.append(transport)
        except OSError:
            self._close_listeners()
            raise
        self.host = host

    def _close_listeners(self) -> None:
        for listener in self._tcp:
            listener.close()
        for transport in self._udp:
            transport.close()
        for conn in list(self._conns):
            conn.abort()  # an RST, as a crashed stack would leave the peer
        self._tcp, self._udp = [], []
        self._conns.clear()

    def _serve(self, sock: socket.socket, port: int, peer: str | None) -> None:
        """Hand an accepted (and survived) connection to its service."""
        loop = asyncio.get_running_loop()
        task = loop.create_task(loop.connect_accepted_socket(lambda: _TcpService(self, port, peer), sock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- fragility -----------------------------------------------------------------------------
    def _probe(self, port: int, protocol: str, peer: str | None) -> bool:
        """Count one probe and apply the connect, rate and probe rules. True: still alive."""
        p = self.personality
        for rule in p.fragility:
            if isinstance(rule, ConnectRule) and rule.port == port and rule.protocol == protocol:
                self._die("connect", port, protocol, peer, b"", rule.reason)
                return False
        if protocol == "tcp" and port == p.heartbeat and self._observer(peer):
            return True  # the monitor is the observer, not the scan
        self._probes += 1
        now = time.monotonic()
        self._probe_times.append(now)
        windows = [r.window_s for r in p.fragility if isinstance(r, RateRule)]
        while windows and self._probe_times and self._probe_times[0] < now - max(windows):
            self._probe_times.popleft()
        for rule in p.fragility:
            if isinstance(rule, RateRule):
                recent = sum(1 for t in self._probe_times if t >= now - rule.window_s)
                if recent >= rule.connections:
                    self._die("rate", port, protocol, peer, b"",
                              f"{recent} probes within {rule.window_s}s. {rule.reason}".strip())
                    return False
            elif isinstance(rule, ProbesRule) and self._probes >= rule.count:
                self._die("probes", port, protocol, peer, b"", f"probe {self._probes}. {rule.reason}".strip())
                return False
        return True

    def _observer(self, peer: str | None) -> bool:
        return self.observer is None or (peer is not None and peer.rsplit(":", 1)[0] == self.observer)

    def _payload(self, port: int, protocol: str, peer: str | None, data: bytes) -> bool:
        """Apply the payload rules to what was received. True: still alive."""
        for rule in self.personality.fragility:
            if isinstance(rule, PayloadRule) and rule.port == port and rule.protocol == protocol and rule.matches(data):
                self._die("payload", port, protocol, peer, data, rule.reason)
                return False
        return True

    def _die(self, rule: str, port: int | None, protocol: str | None, peer: str | None,
             data: bytes, detail: str) -> None:
        when = _now()  # before the ports close: no observer can see it down earlier than this
        self._deaths += 1
        self._close_listeners()
        self._set_state("down")
        self._record("death", at=when, rule=rule, port=port, protocol=protocol, peer=peer, payload=excerpt(data), detail=detail)
        rec = self.personality.recovery
        if rec.mode == "reboot" and (rec.max_reboots is None or self._reboots < rec.max_reboots):
            loop = asyncio.get_running_loop()
            self._reboot_handle = loop.call_later(rec.delay_s, lambda: loop.create_task(self._reboot()))

    async def _reboot(self) -> None:
        self._reboot_handle = None
        if self.state == "down":
            self._reboots += 1
            await self._come_back("reboot")

    async def _come_back(self, how: str) -> None:
        if self.state == "up" or self._coming_back:
            return  # a reset while a reboot is binding: one comeback is enough
        self._coming_back = True
        when = _now()  # before the ports open: no observer can see it up earlier than this
        try:
            await self._listen(self.host)
        except OSError as e:
            # someone took a port meanwhile: stay down, say so, try again shortly
            log.warning("%s on %s failed to come back (%s); retrying", self.personality.id, self.host, e)
            loop = asyncio.get_running_loop()
            self._reboot_handle = loop.call_later(0.5, lambda: loop.create_task(self._come_back(how)))
            return
        finally:
            self._coming_back = False
        self._forget_probes()
        self._set_state("up")
        self._record("recovery", at=when, how=how)

    def _forget_probes(self) -> None:
        self._probes = 0
        self._probe_times.clear()

    def _set_state(self, state: DeviceState) -> None:
        if state != self.state:
            self.state = state
            self._since = _now()
            for cb in self._watchers:
                cb()

    def _record(self, kind: str, at: datetime | None = None, **fields: object) -> None:
        self._truth.append(TruthEvent(time=at or _now(), device=self.personality.id, host=self.host, kind=kind,
                                      **fields))


def _peer_text(peer: object) -> str | None:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return None


class _TcpListener:
    """A listening socket on the device's loop. asyncio's own servers are not used: closing one
    while connections are being accepted leaks half-made transports (CPython 3.11), and the
    fragility rules must judge each connection the moment it is accepted."""

    def __init__(self, device: VirtualDevice, host: str, port: int) -> None:
        self.device = device
        self.port = port
        self.loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # rebind over TIME_WAIT after a death
            sock.bind((host, port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock: socket.socket | None = sock
        self.loop.add_reader(sock.fileno(), self._accept)

    def close(self) -> None:
        """Stop listening: from now on connects are refused."""
        if self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):  # then yield, so the loop serves what it accepted
            if self.sock is None:
                return
            try:
                conn, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # the peer gave up before we accepted (ECONNABORTED and the like)
                continue
            peer = _peer_text(addr)
            if self.device.state != "up" or not self.device._probe(self.port, "tcp", peer):
                # this connection killed it (the listener is closed by now). A FIN, not an RST:
                # on loopback an RST can beat the peer's connect() back and fail it, and the
                # peer (nmap) must see what it saw on the wire: the port was open
                conn.close()
                return
            conn.setblocking(False)
            self.device._serve(conn, self.port, peer)


class _TcpService(asyncio.Protocol):
    """One TCP connection to one service port (already counted by the fragility rules)."""

    def __init__(self, device: VirtualDevice, port: int, peer: str | None) -> None:
        self.device = device
        self.port = port
        self.peer = peer
        self.buffer = b""
        self.answered = False
        self.transport: asyncio.Transport | None = None
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.device.state != "up":
            transport.abort()  # accepted just before the fatal probe: the stack is gone
            return
        self.device._conns.add(transport)
        service = self._service()
        if service is not None and service.banner:
            transport.write(service.banner.encode("latin-1", "replace"))
        if service is None or service.closes == "at-once":
            # the silent heartbeat listener only needs the connect to succeed
            transport.close()
            return
        self._arm_idle()

    def data_received(self, data: bytes) -> None:
        if self.device.state != "up" or self.transport is None:
            return
        self.buffer = (self.buffer + data)[-MAX_STREAM_BUFFER:]
        if not self.device._payload(self.port, "tcp", self.peer, self.buffer):
            return
        service = self._service()
        if service is not None and service.response and not self.answered:
            self.answered = True
            self.transport.write(service.response.encode("latin-1", "replace"))
            if service.closes == "after-response":
                self.transport.close()
                return
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle is not None:
            self.idle.cancel()
        if self.transport is not None:
            self.device._conns.discard(self.transport)

    def _service(self):
        for s in self.device.personality.services:
            if s.port == self.port and s.protocol == "tcp":
                return s
        return None  # the silent heartbeat listener

    def _arm_idle(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        if self.transport is not None:
            self.idle = asyncio.get_running_loop().call_later(IDLE_TIMEOUT_S, self.transport.close)


class _UdpService(asyncio.DatagramProtocol):
    """One UDP service port: every datagram is a probe."""

    def __init__(self, device: VirtualDevice, port: int) -> None:
        self.device = device
        self.port = port
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a datagram endpoint's transport (asyncio's selector transport does not subclass
        # DatagramTransport on every Python, so no isinstance check)
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.device.state != "up":
            return
        peer = _peer_text(addr)
        if not self.device._probe(self.port, "udp", peer) or not self.device._payload(self.port, "udp", peer, data):
            return
        for s in self.device.personality.services:
            if s.port == self.port and s.protocol == "udp" and s.response and self.transport is not None:
                self.transport.sendto(s.response.encode("latin-1", "replace"), addr)
