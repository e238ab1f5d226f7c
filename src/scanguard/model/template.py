"""The vendor-neutral scan template: what every vendor adapter renders and parses back."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from .base import Model
from .checks import VendorCheck, check_categories, parse_vendor_checks
from .ports import PortSet
from .windows import ScanWindow, WindowSet

PING_METHODS = ("icmp", "arp", "tcp_ping", "udp_ping")
"""Host discovery (liveness) methods a template can enable."""
DISCOVERY_METHODS = PING_METHODS + ("syn_scan", "udp_scan")
"""Every discovery method the lattice knows: the ping methods, half-open SYN port scanning
and UDP port scanning."""


class Discovery(Model):
    """How hosts are found alive and how ports are scanned."""

    icmp: bool = True
    arp: bool = True
    tcp_ping: bool = True
    udp_ping: bool = False
    ping_ports: PortSet = Field(default_factory=lambda: PortSet.parse("22,80,443"))
    port_scan: Literal["syn", "connect"] = "syn"


class Checks(Model):
    """Which vulnerability checks run."""

    enabled: bool = True
    safe_only: bool = True
    excluded_categories: frozenset[str] = frozenset()
    excluded_vendor_checks: frozenset[VendorCheck] = frozenset()

    @field_validator("excluded_categories", mode="before")
    @classmethod
    def _cats(cls, v: Any) -> frozenset[str]:
        return check_categories(v)

    @field_validator("excluded_vendor_checks", mode="before")
    @classmethod
    def _vendor(cls, v: Any) -> frozenset[VendorCheck]:
        return parse_vendor_checks(v)


class Performance(Model):
    """Speed and parallelism. packets_per_second None means no rate cap."""

    packets_per_second: int | None = Field(default=None, ge=1)
    parallel_hosts: int = Field(default=30, ge=1)
    parallel_checks_per_host: int = Field(default=4, ge=1)
    probe_delay_ms: int = Field(default=0, ge=0)
    timeout_s: int = Field(default=5, ge=1)


class ScanTemplate(Model):
    """A vendor-neutral scan template."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
    description: str = ""
    ports: PortSet = Field(default_factory=lambda: PortSet.parse("1-65535"))
    discovery: Discovery = Field(default_factory=Discovery)
    checks: Checks = Field(default_factory=Checks)
    performance: Performance = Field(default_factory=Performance)
    windows: frozenset[WindowSet] = frozenset()

    @field_validator("windows", mode="before")
    @classmethod
    def _windows(cls, v: Any) -> Any:
        # YAML gives a list of windows: one set of alternatives
        if isinstance(v, list) and v and not isinstance(v[0], (set, frozenset, list, tuple)):
            return frozenset({frozenset(ScanWindow.model_validate(w) for w in v)})
        return v

    def discovery_methods(self) -> frozenset[str]:
        """The discovery methods this template uses (see DISCOVERY_METHODS)."""
        d = self.discovery
        used = {m for m in PING_METHODS if getattr(d, m)}
        if d.port_scan == "syn" and self.ports.tcp:
            used.add("syn_scan")
        if self.ports.udp:
            used.add("udp_scan")
        return frozenset(used)
