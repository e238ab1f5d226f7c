"""The knowledge base's vocabulary: advisories (and MDS2 forms) as scanguard reads them, what
they say takes a device down (findings), and the profile changes drafted from them (drafts),
each waiting for a person's decision."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ..model.base import Model
from ..model.events import ProfileChange
from ..model.ports import PortSet

Trigger = Literal["malformed", "flood", "scan", "request"]
"""What traffic takes the device down: malformed or crafted packets and requests, a flood (many
packets, connections or requests), a network or vulnerability scan, a specific (well-formed)
request or command."""
TRIGGERS: tuple[str, ...] = ("malformed", "flood", "scan", "request")

PortSource = Literal["text", "remediation", "protocol"]
"""How a port is known: the vulnerability's own text names it; a remediation of the same
vulnerability names it for the same service; or it is the well-known port of the protocol the
text names (inferred)."""

DiscoveryKind = Literal["icmp", "arp", "udp"]
"""Discovery traffic an advisory says takes the device down: ICMP, ARP, or UDP with no port named."""


class PortMention(Model):
    """Ports the advisory ties to a crash, how they are known, and the sentence that says so."""

    ports: PortSet
    source: PortSource
    protocol: str | None = None
    sentence: str


class TriggerMention(Model):
    """A trigger and the sentence that names it."""

    trigger: Trigger
    sentence: str


class DiscoveryMention(Model):
    """A discovery protocol the advisory says takes the device down, with the sentence."""

    kind: DiscoveryKind
    sentence: str


class Finding(Model):
    """One way a document says network traffic takes the device down (one vulnerability)."""

    cves: tuple[str, ...] = ()
    cwes: tuple[str, ...] = ()
    product_ids: tuple[str, ...] = ()
    effect: str
    ports: tuple[PortMention, ...] = ()
    protocols: tuple[str, ...] = ()
    triggers: tuple[TriggerMention, ...] = ()
    discovery: tuple[DiscoveryMention, ...] = ()

    def port_set(self, sources: frozenset[str] = frozenset({"text", "remediation", "protocol"})) -> PortSet:
        """Every port of this finding known in one of `sources`."""
        out = PortSet()
        for m in self.ports:
            if m.source in sources:
                out = out | m.ports
        return out

    def trigger_set(self) -> frozenset[str]:
        """The triggers named."""
        return frozenset(t.trigger for t in self.triggers)


class Product(Model):
    """An affected product from the product tree: vendor, name, and the affected versions as
    written (a vers string, a range like ">= 5.4.1 | <= 5.7.1", or a single version)."""

    vendor: str
    name: str
    versions: tuple[str, ...] = ()
    product_ids: tuple[str, ...] = ()


class Advisory(Model):
    """One imported document: a CSAF advisory or an MDS2 form, as extracted."""

    id: str
    kind: Literal["csaf", "mds2"] = "csaf"
    title: str = ""
    url: str = ""
    version: str = ""
    released: str = ""
    source: str = ""  # the file name it was imported from (the sha256 says which content)
    sha256: str = ""
    vendors: tuple[str, ...] = ()
    products: tuple[Product, ...] = ()
    cves: tuple[str, ...] = ()
    cwes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    open_ports: PortSet = Field(default_factory=PortSet)
    notes: tuple[str, ...] = ()

    def crash(self) -> bool:
        """True when the document says network traffic takes the device down."""
        return bool(self.findings)

    def products_of(self, product_ids: tuple[str, ...]) -> tuple[Product, ...]:
        """The products named by these ids (every product when none is given)."""
        if not product_ids:
            return self.products
        wanted = set(product_ids)
        hit = tuple(p for p in self.products if wanted & set(p.product_ids))
        return hit or self.products


class NewProfile(Model):
    """A profile a draft proposes when no existing profile matches the advisory's device."""

    id: str
    name: str
    vendor: str
    model: str
    firmware: str | None = None


class Target(Model):
    """Where a draft goes: an existing profile (with how well it matches) or a new one."""

    profile: str | None = None
    new_profile: NewProfile | None = None
    score: float = Field(default=0.0, ge=0.0, le=1.0)
    why: str = ""

    def name(self) -> str:
        """The profile id, existing or proposed."""
        if self.profile:
            return self.profile
        assert self.new_profile is not None
        return self.new_profile.id


class Decision(Model):
    """A person's decision on a draft: who, when, what, and what it changed."""

    action: Literal["accepted", "rejected"]
    by: str
    at: datetime
    note: str = ""
    profile: str | None = None
    file: str | None = None
    changed: bool = False


DraftStatus = Literal["draft", "accepted", "rejected"]


class Draft(Model):
    """A profile change drafted from a document: ignored by compile until a person accepts it."""

    id: str
    advisory: str
    url: str = ""
    sentence: str
    cves: tuple[str, ...] = ()
    basis: str = ""
    target: Target
    change: ProfileChange
    status: DraftStatus = "draft"
    decisions: tuple[Decision, ...] = ()
    covered: bool = False

    def summary(self) -> str:
        """One line: what the draft would change."""
        c = self.change
        if c.kind == "excluded_port" and c.ports is not None:
            return f"exclude ports {c.ports.text()}"
        if c.kind == "excluded_check":
            return f"exclude checks {', '.join(c.categories) or c.category}"
        if c.kind == "rate":
            parts = [f"{k}={v}" for k, v in (("packets_per_second", c.packets_per_second),
                                               ("parallel_checks_per_host", c.parallel_checks_per_host),
                                               ("probe_delay_ms", c.probe_delay_ms)) if v is not None]
            return "rate limit " + ", ".join(parts)
        if c.kind == "discovery":
            return "no discovery by " + ", ".join(c.forbid_discovery)
        if c.kind == "safe_checks":
            return "safe checks only"
        if c.kind == "fingerprint" and c.ports is not None:
            return f"fingerprint open ports {c.ports.text()}"
        return c.kind


class ImportProblem(Model):
    """A document that could not be imported, and why."""

    path: str
    message: str


class ImportReport(Model):
    """What one `kb import` did."""

    imported: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    older: tuple[str, ...] = ()
    new_drafts: tuple[str, ...] = ()
    problems: tuple[ImportProblem, ...] = ()
    documents: int = 0
