"""Device safety profiles: what an organisation knows about one kind of fragile device."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .addresses import AddressSet, parse_address_item
from .base import Input, describe, trusted
from .checks import VendorCheck, check_categories, parse_vendor_checks
from .constraints import Constraints, Provenance
from .fingerprint import Fingerprint
from .intervals import IntervalSet
from .ports import PortSet
from .template import DISCOVERY_METHODS
from .windows import ScanWindow

Scope = Literal["assets", "everywhere"]
Policy = Literal["scan", "restricted", "never"]
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


_ALL_DISCOVERY = frozenset(DISCOVERY_METHODS)
_RATE_FIELDS = (("max_packets_per_second", "packets_per_second"), ("max_parallel_hosts", "parallel_hosts"),
                ("max_parallel_checks_per_host", "parallel_checks_per_host"), ("min_probe_delay_ms", "probe_delay_ms"),
                ("max_timeout_s", "timeout_s"))
"""The lattice's rate bounds and the profile's rate fields they come from."""
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(value: object) -> date:
    """A calendar day written 2027-03-01 (ISO 8601). Numbers are refused: pydantic would read
    20270301 as seconds since 1970."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DAY.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar day") from None
    raise ValueError(f"{describe(value)} is not a date: write it like 2027-03-01")


class Reasoned(Input):
    """A constraint item's why: a reason, evidence (incident or advisory ids) and a scope
    (None: the profile's scope)."""

    reason: str = Field(min_length=1)
    evidence: list[str] = Field(default_factory=list)
    scope: Scope | None = None


class PortExclusion(Reasoned):
    """Ports that must never be probed."""

    ports: PortSet

    @field_validator("ports")
    @classmethod
    def _nonempty(cls, v: PortSet) -> PortSet:
        if not v:
            raise ValueError("names no port")
        return v


class CheckExclusion(Reasoned):
    """Checks that must never run: vendor-neutral categories and vendor-specific ids."""

    categories: frozenset[str] = frozenset()
    vendor: dict[str, dict[str, list[str | int]]] = Field(default_factory=dict)

    @field_validator("categories", mode="before")
    @classmethod
    def _cats(cls, v: Any) -> frozenset[str]:
        return check_categories(v)

    @model_validator(mode="after")
    def _something(self) -> "CheckExclusion":
        if not self.categories and not self.vendor:
            raise ValueError("names neither a category nor a vendor check")
        parse_vendor_checks(self.vendor)
        return self


class DiscoveryLimits(Reasoned):
    """Which discovery methods the device tolerates (None: no opinion)."""

    icmp: bool | None = None
    arp: bool | None = None
    tcp_ping: bool | None = None
    udp_ping: bool | None = None
    tcp_syn: bool | None = None
    udp: bool | None = None
    ping_ports: PortSet | None = None


class RateLimits(Reasoned):
    """Upper bounds on speed and parallelism, a lower bound on the delay between probes."""

    packets_per_second: int | None = Field(default=None, ge=1)
    parallel_hosts: int | None = Field(default=None, ge=1)
    parallel_checks_per_host: int | None = Field(default=None, ge=1)
    probe_delay_ms: int | None = Field(default=None, ge=0)
    timeout_s: int | None = Field(default=None, ge=1)


class SafeChecksOnly(Reasoned):
    """Only checks the vendor marks safe may run."""


class Windows(Reasoned):
    """When the device may be scanned: any of these windows."""

    allowed: list[ScanWindow] = Field(min_length=1)


class ProfileConstraints(Input):
    """Every constraint of a profile, each with its reason and evidence."""

    excluded_ports: list[PortExclusion] = Field(default_factory=list)
    excluded_checks: list[CheckExclusion] = Field(default_factory=list)
    discovery: DiscoveryLimits | None = None
    rate: RateLimits | None = None
    safe_checks_only: SafeChecksOnly | None = None
    windows: Windows | None = None


class Owner(Input):
    """Who owns the device and whom to call."""

    team: str
    contact: str = ""


@lru_cache(maxsize=1 << 16)
def _address_set(items: tuple[str, ...]) -> AddressSet:
    # keyed by the text itself, so never stale; check, compile and audit ask each profile again and again
    return AddressSet.parse(items)


class Location(Input):
    """Where the devices are: single hosts, CIDRs, address ranges, asset tags."""

    hosts: list[str] = Field(default_factory=list)
    cidrs: list[str] = Field(default_factory=list)
    ranges: list[str] = Field(default_factory=list)
    asset_tags: list[str] = Field(default_factory=list)

    @field_validator("hosts", "cidrs", "ranges")
    @classmethod
    def _addresses(cls, v: list[str], info: Any) -> list[str]:
        for i, item in enumerate(v):
            kind = info.field_name
            if kind == "hosts" and ("/" in item or "-" in item):
                raise ValueError(f"item {i}: {item!r} is not a single host (put CIDRs under cidrs)")
            if kind == "cidrs" and "/" not in item:
                raise ValueError(f"item {i}: {item!r} is not a CIDR (like 10.20.0.0/16)")
            if kind == "ranges" and "-" not in item:
                raise ValueError(f"item {i}: {item!r} is not a range (like 10.0.0.1-10.0.0.50)")
            try:
                parse_address_item(item)
            except ValueError as e:
                raise ValueError(f"item {i}: {e}") from None
        return v

    @model_validator(mode="after")
    def _known(self) -> "Location":
        self.addresses()  # built once, while its items are fresh in the parser's cache; check asks again
        return self

    def addresses(self) -> AddressSet:
        """Every address of the device, as intervals."""
        return _address_set((*self.hosts, *self.cidrs, *self.ranges))


class RiskAcceptance(Input):
    """Why a device may go unscanned: who accepted, when, until when, what compensates."""

    accepted_by: str = Field(min_length=1)
    accepted_on: date
    expires: date
    reason: str = Field(min_length=1)
    compensating_controls: list[str] = Field(min_length=1)
    ticket: str | None = None

    @field_validator("accepted_on", "expires", mode="before")
    @classmethod
    def _day(cls, v: object) -> date:
        return parse_day(v)

    @model_validator(mode="after")
    def _order(self) -> "RiskAcceptance":
        if self.expires < self.accepted_on:
            raise ValueError("expires before it was accepted")
        return self

    def expired(self, today: date) -> bool:
        """True when the acceptance no longer holds on `today`."""
        return self.expires < today


class DeviceProfile(Input):
    """A device safety profile (one YAML file under profiles/)."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    vendor: str = ""
    model: str = ""
    firmware: str | None = None
    category: str = "other"
    owner: Owner | None = None
    location: Location = Field(default_factory=Location)
    fingerprint: Fingerprint = Field(default_factory=Fingerprint)
    scope: Scope = "assets"
    policy: Policy = "scan"
    group: str | None = Field(default=None, pattern=ID_PATTERN)
    constraints: ProfileConstraints = Field(default_factory=ProfileConstraints)
    risk_acceptance: RiskAcceptance | None = None
    advisories: list[str] = Field(default_factory=list)
    notes: str = ""

    @field_validator("policy")
    @classmethod
    def _policy_needs_an_address(cls, v: Policy, info: Any) -> Policy:
        # a never-scan or restricted profile protects only by taking its addresses out of the
        # other templates: without an address it would protect nothing, so it is refused
        location = info.data.get("location")
        if v in ("never", "restricted") and isinstance(location, Location) and not location.addresses():
            tags = " (asset tags alone cannot be excluded from a scan)" if location.asset_tags else ""
            raise ValueError(
                f"policy {v!r} needs the device's addresses: give location.hosts, cidrs or ranges{tags}; "
                "a profile whose location is unknown can only be policy 'scan', and then its constraints "
                "narrow every template"
            )
        return v

    @model_validator(mode="after")
    def _never_needs_acceptance(self) -> "DeviceProfile":
        if self.policy == "never" and self.risk_acceptance is None:
            raise ValueError(
                "policy 'never' requires a risk_acceptance (accepted_by, accepted_on, expires, reason, "
                "compensating_controls)"
            )
        return self

    def addresses(self) -> AddressSet:
        """Every address where this device lives."""
        return self.location.addresses()

    def group_name(self) -> str:
        """The group this profile's restricted template belongs to (its id when none is set)."""
        return self.group or self.id

    def constraint_scopes(self) -> frozenset[str]:
        """The scopes its constraint items apply in (an item without one takes the profile's)."""
        c = self.constraints
        items: list[Reasoned] = [*c.excluded_ports, *c.excluded_checks]
        items += [r for r in (c.discovery, c.rate, c.safe_checks_only, c.windows) if r is not None]
        return frozenset(r.scope or self.scope for r in items)

    def lattice(self, scopes: frozenset[str] = frozenset({"assets", "everywhere"}), source: str | None = None) -> Constraints:
        """This profile's constraints of the given scopes in lattice form, with provenance.

        Built in one pass (no intermediate merges): compile calls this for every profile."""
        c = self.constraints
        own = self.scope
        pid = self.id
        tcp: list[tuple[int, int]] = []
        udp: list[tuple[int, int]] = []
        cats: set[str] = set()
        vendor: set = set()
        forbidden: set[str] = set()
        ping: PortSet | None = None
        rates: dict[str, int] = {}
        safe = False
        windows: set = set()
        provs: list[Provenance] = []

        def prov(kind: str, item: str, r: Reasoned, scope: str, ports: PortSet | None = None) -> None:
            provs.append(trusted(
                Provenance,
                profile=pid, kind=kind, item=item, reason=r.reason, evidence=tuple(r.evidence),
                scope=scope, ports=ports, source=source, line=None,
            ))

        for pe in c.excluded_ports:
            scope = pe.scope or own
            if scope in scopes:
                ports = pe.ports
                tcp.extend(ports.tcp.intervals)
                udp.extend(ports.udp.intervals)
                prov("excluded_ports", ports.text(), pe, scope, ports)
        for ce in c.excluded_checks:
            scope = ce.scope or own
            if scope in scopes:
                cats |= ce.categories
                for x in sorted(ce.categories):
                    prov("excluded_checks", f"category:{x}", ce, scope)
                if ce.vendor:
                    vchecks = parse_vendor_checks(ce.vendor)
                    vendor |= vchecks
                    for v in sorted(vchecks, key=VendorCheck.text):
                        prov("excluded_checks", v.text(), ce, scope)
        d = c.discovery
        if d is not None and (d.scope or own) in scopes:
            scope = d.scope or own
            for m, flag in (("icmp", d.icmp), ("arp", d.arp), ("tcp_ping", d.tcp_ping), ("udp_ping", d.udp_ping),
                            ("syn_scan", d.tcp_syn), ("udp_scan", d.udp)):
                if flag is False:
                    forbidden.add(m)
                    prov("discovery", m, d, scope)
            if d.ping_ports is not None:
                ping = d.ping_ports
                prov("discovery", "ping_ports", d, scope, d.ping_ports)
        r = c.rate
        if r is not None and (r.scope or own) in scopes:
            scope = r.scope or own
            values = r.__dict__
            for key, name in _RATE_FIELDS:
                value = values[name]
                if value is not None:
                    rates[key] = value
                    prov("rate", name, r, scope)
        if c.safe_checks_only and (c.safe_checks_only.scope or own) in scopes:
            safe = True
            prov("safe_checks", "safe checks only", c.safe_checks_only, c.safe_checks_only.scope or own)
        if c.windows and (c.windows.scope or own) in scopes:
            windows.add(frozenset(c.windows.allowed))
            prov("window", " or ".join(w.text() for w in c.windows.allowed), c.windows, c.windows.scope or own)
        return trusted(
            Constraints,
            excluded_ports=PortSet(IntervalSet(tcp), IntervalSet(udp)),
            excluded_categories=frozenset(cats),
            excluded_vendor_checks=frozenset(vendor),
            allowed_discovery=_ALL_DISCOVERY - forbidden if forbidden else _ALL_DISCOVERY,
            allowed_ping_ports=ping,
            max_packets_per_second=rates.get("max_packets_per_second"),
            max_parallel_hosts=rates.get("max_parallel_hosts"),
            max_parallel_checks_per_host=rates.get("max_parallel_checks_per_host"),
            min_probe_delay_ms=rates.get("min_probe_delay_ms"),
            max_timeout_s=rates.get("max_timeout_s"),
            safe_checks_only=safe,
            windows=frozenset(windows),
            provenance=frozenset(provs),
        )
