"""Constraints in lattice form: the merged, normalised safety requirements of one or more
device profiles, each item traced to where it came from (Provenance).

The algebra over these (merge, narrow, violations) lives in scanguard.lattice.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Model
from .checks import VendorCheck
from .ports import PortSet
from .template import DISCOVERY_METHODS
from .windows import WindowSet

ConstraintKind = Literal["excluded_ports", "excluded_checks", "discovery", "rate", "safe_checks", "window"]


class Provenance(Model):
    """Where a constraint came from: the profile, the kind of constraint, what it says
    (`item`, e.g. "7100/tcp" or "category:dos"), the reason and the evidence."""

    profile: str
    kind: ConstraintKind
    item: str
    reason: str
    evidence: tuple[str, ...] = ()
    scope: Literal["assets", "everywhere"] = "assets"
    ports: PortSet | None = None
    source: str | None = None
    line: int | None = None

    def text(self) -> str:
        """One line for people: profile, item, reason and evidence."""
        ev = f" [evidence: {', '.join(self.evidence)}]" if self.evidence else ""
        return f"{self.profile}: {self.item} ({self.kind}, scope {self.scope}) - {self.reason}{ev}"


class Constraints(Model):
    """Normalised constraints. The neutral element of merge is `Constraints()` (no constraint)."""

    excluded_ports: PortSet = Field(default_factory=PortSet)
    excluded_categories: frozenset[str] = frozenset()
    excluded_vendor_checks: frozenset[VendorCheck] = frozenset()
    allowed_discovery: frozenset[str] = frozenset(DISCOVERY_METHODS)
    allowed_ping_ports: PortSet | None = None
    max_packets_per_second: int | None = None
    max_parallel_hosts: int | None = None
    max_parallel_checks_per_host: int | None = None
    min_probe_delay_ms: int | None = None
    max_timeout_s: int | None = None
    safe_checks_only: bool = False
    windows: frozenset[WindowSet] = frozenset()
    provenance: frozenset[Provenance] = frozenset()

    def is_empty(self) -> bool:
        """True when nothing is constrained."""
        return self == Constraints()
