"""The test bed's ground truth: what really killed a virtual device and when it came back, to
check correlation against, and the device status the control interface reports."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ..model.base import Model

DeviceState = Literal["up", "down"]
TruthKind = Literal["start", "death", "recovery", "stop"]


class TruthEvent(Model):
    """One entry of a device's ground-truth log.

    A `death` names the rule that fired (`connect`, `payload`, `rate`, `probes`, or `manual` for
    a kill through the control interface), the port, protocol and peer of the probe that fired it,
    and an excerpt of the payload received. A `recovery` says how (`reboot` or `reset`)."""

    time: datetime
    device: str
    host: str
    kind: TruthKind
    rule: str | None = None
    port: int | None = None
    protocol: Literal["tcp", "udp"] | None = None
    peer: str | None = None
    payload: str = ""
    how: Literal["reboot", "reset"] | None = None
    detail: str = ""

    def text(self) -> str:
        """One line for people: "2026-...Z death rule payload 8081/tcp: <reason>"."""
        where = f" {self.port}/{self.protocol}" if self.port is not None else ""
        what = f" rule {self.rule}" if self.rule else (f" by {self.how}" if self.how else "")
        return f"{self.time.isoformat(timespec='milliseconds')} {self.kind}{what}{where}" \
               f"{': ' + self.detail if self.detail else ''}"


class DeviceStatus(Model):
    """What the control interface says about a device right now."""

    device: str
    name: str
    host: str
    state: DeviceState
    tcp_ports: tuple[int, ...]
    udp_ports: tuple[int, ...]
    heartbeat: int | None
    control_port: int | None
    deaths: int
    probes: int
    since: datetime


def excerpt(data: bytes, limit: int = 120) -> str:
    """A printable excerpt of received bytes (escaped, cut at `limit` characters)."""
    text = data[:limit].decode("latin-1").encode("unicode_escape").decode("ascii")
    return text + ("..." if len(data) > limit else "")
