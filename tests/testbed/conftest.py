"""Helpers for the test-bed tests: shipped personalities with short delays, privileged ports
moved where binding them needs root, and bounded polling."""

from __future__ import annotations

import os
import socket
import time
from typing import Callable

import pytest

from scanguard.testbed import Personality, load_personality


def _unprivileged_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 1024


def port_map_for(p: Personality) -> dict[int, int]:
    """Ports below the unprivileged start moved up by 20000 when not running as root."""
    if os.geteuid() == 0:
        return {}
    floor = _unprivileged_start()
    return {port: port + 20000 for port in (*p.tcp_ports, *p.udp_ports) if port < floor}


@pytest.fixture
def personality() -> Callable[..., Personality]:
    """personality("payment-terminal", delay_s=0.2): a shipped personality, recovery changed,
    privileged ports moved when needed."""

    def make(name: str, **recovery: object) -> Personality:
        p = load_personality(name)
        if recovery:
            p = p.with_recovery(**recovery)
        return p.remap_ports(port_map_for(p))

    return make


class Net:
    """Loopback client helpers (a fixture, as tests/testbed is not a package)."""

    @staticmethod
    def connect(host: str, port: int, send: bytes = b"", *, read: bool = False, timeout: float = 2.0,
                source: str | None = None) -> bytes:
        """Open a TCP connection (from `source` when given), send `send`, optionally read one
        answer, close. Returns what was read."""
        with socket.create_connection((host, port), timeout=timeout,
                                      source_address=(source, 0) if source else None) as s:
            if send:
                s.sendall(send)
            return s.recv(4096) if read else b""

    @staticmethod
    def refused(host: str, port: int) -> bool:
        """Whether a TCP connect to host:port is refused."""
        try:
            with socket.create_connection((host, port), timeout=2.0):
                return False
        except ConnectionRefusedError:
            return True

    @staticmethod
    def eventually(predicate: Callable[[], bool], timeout_s: float = 5.0, every_s: float = 0.02) -> bool:
        """Poll `predicate` until it holds or `timeout_s` passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(every_s)
        return predicate()


@pytest.fixture
def net() -> type[Net]:
    """Loopback client helpers: connect, refused, eventually."""
    return Net
