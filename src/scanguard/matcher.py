"""The fingerprint matcher: does a host of a scan export look like a profiled device?

Vendor-neutral: it reads what every vendor's results parser puts in a HostResult (open and
probed ports, the MAC address, OS and CPE strings, and the evidence list: service names,
products, banners, HTTP titles, TLS certificate subjects, device types).

Each rule of a profile's fingerprint (`scanguard.model.fingerprint`) comes out in one of three
states:

- matched: the export shows it (the evidence that did is kept, to be reported);
- contradicted: the export shows it cannot hold (a port the scan probed that is not open, a
  pattern bound to such a port, a MAC address of another maker);
- unknown: the export does not say (a port never probed, a service nobody identified).

A host *matches* a profile when every required rule matched, the matched weights reach the
threshold and at least one identifying rule (anything but an open port) matched. It
*mismatches* when a required rule is contradicted or, even if every unknown rule held, the
threshold could not be reached. Anything else is *undetermined*: never reported as a match,
never as a mismatch.
"""

from __future__ import annotations

import re
from typing import Iterable, Literal

from .model.base import Model
from .model.events import Evidence, HostResult
from .model.fingerprint import Rule, normalise_oui
from .model.profile import DeviceProfile

RuleState = Literal["matched", "unknown", "contradicted"]
Verdict = Literal["match", "mismatch", "undetermined"]
READS: dict[str, tuple[str, ...]] = {
    "service": ("service",), "product": ("product",), "banner": ("banner", "product"),
    "http_title": ("http_title",), "tls_subject": ("tls_subject",), "os": ("os",),
    "device_type": ("device_type",), "cpe": ("cpe",),
}
"""Which kinds of evidence a rule kind reads (a banner rule also reads products: a product is
the scanner's reading of the service's banner)."""


class RuleOutcome(Model):
    """One rule of a fingerprint against one host."""

    rule: str
    kind: str
    weight: int
    required: bool = False
    state: RuleState
    evidence: str = ""
    """What made the rule matched or contradicted, as a report reads it."""


class Match(Model):
    """A host against a profile's fingerprint: the verdict, the score and how it came about."""

    profile: str
    address: str
    verdict: Verdict
    score: int
    threshold: int
    potential: int
    """The score if every unknown rule held."""
    outcomes: tuple[RuleOutcome, ...] = ()

    @property
    def evidence(self) -> tuple[str, ...]:
        """What matched, each with its rule and weight."""
        return tuple(f"{o.evidence} ({o.rule}: +{o.weight})" for o in self.outcomes if o.state == "matched")

    @property
    def contradictions(self) -> tuple[str, ...]:
        """What the export shows against the fingerprint."""
        return tuple(f"{o.evidence} ({o.rule}{', required' if o.required else ''})"
                     for o in self.outcomes if o.state == "contradicted")


def describe(e: Evidence) -> str:
    """`product "Ingenico TMS" on 7100/tcp [nmap service detection]`."""
    where = f" on {e.port}/{e.protocol or 'tcp'}" if e.port is not None else ""
    return f'{e.kind.replace("_", " ")} "{e.value}"{where}' + (f" [{e.source}]" if e.source else "")


class _Compiled:
    """A profile's rules, patterns compiled once for a whole run."""

    __slots__ = ("profile", "rules", "patterns", "threshold")

    def __init__(self, profile: DeviceProfile) -> None:
        self.profile = profile
        self.rules: tuple[Rule, ...] = profile.fingerprint.rules()
        self.patterns: dict[int, re.Pattern[str]] = {i: r.regex() for i, r in enumerate(self.rules) if r.kind in READS}
        self.threshold = profile.fingerprint.threshold()


def _index(host: HostResult) -> dict[str, list[Evidence]]:
    by_kind: dict[str, list[Evidence]] = {}
    for e in host.evidence:
        by_kind.setdefault(e.kind, []).append(e)
    # the host-level fields every parser fills, for parsers (or exports) that say no more
    if host.os and not any(e.value == host.os for e in by_kind.get("os", ())):
        by_kind.setdefault("os", []).append(Evidence(kind="os", value=host.os, source="export OS"))
    known = {e.value for e in by_kind.get("cpe", ())}
    for c in host.cpes:
        if c not in known:
            by_kind.setdefault("cpe", []).append(Evidence(kind="cpe", value=c, source="export CPE"))
    return by_kind


def _ports_text(rule: Rule) -> str:
    ports = rule.ports if rule.kind == "port" else rule.port
    return ports.text() if ports is not None else ""


def _closed(host: HostResult, rule: Rule) -> bool:
    """True when every port of the rule was probed and none is open."""
    ports = rule.ports if rule.kind == "port" else rule.port
    if ports is None or host.probed_ports is None:
        return False
    return ports.issubset(host.probed_ports) and not (ports & host.open_ports)


def _outcome(rule: Rule, pattern: re.Pattern[str] | None, host: HostResult,
             index: dict[str, list[Evidence]]) -> RuleOutcome:
    base = {"rule": rule.text(), "kind": rule.kind, "weight": rule.weight, "required": rule.required}
    if rule.kind == "port":
        assert rule.ports is not None
        open_here = rule.ports & host.open_ports
        if open_here:
            return RuleOutcome(state="matched", evidence=f"{open_here.text()} open", **base)
        if _closed(host, rule):
            return RuleOutcome(state="contradicted", evidence=f"{rule.ports.text()} probed, not open", **base)
        return RuleOutcome(state="unknown", **base)
    if rule.kind == "mac_oui":
        if not host.mac:
            return RuleOutcome(state="unknown", **base)
        try:
            oui = normalise_oui(re.sub(r"[^0-9A-Fa-f]", "", host.mac)[:6])
        except ValueError:
            return RuleOutcome(state="unknown", **base)
        state: RuleState = "matched" if oui in rule.value else "contradicted"
        return RuleOutcome(state=state, evidence=f"MAC {host.mac} (OUI {oui})", **base)
    assert pattern is not None
    for kind in READS[rule.kind]:
        for e in index.get(kind, ()):
            if rule.port is not None and (e.port is None or not rule.port.contains(e.port, e.protocol or "tcp")):
                continue
            if pattern.search(e.value):
                return RuleOutcome(state="matched", evidence=describe(e), **base)
    if _closed(host, rule):
        return RuleOutcome(state="contradicted", evidence=f"{_ports_text(rule)} probed, not open", **base)
    return RuleOutcome(state="unknown", **base)


class Matcher:
    """Every profile with a fingerprint, ready to judge hosts (build once per run)."""

    def __init__(self, profiles: Iterable[DeviceProfile]) -> None:
        self._compiled = [_Compiled(p) for p in profiles if not p.fingerprint.is_empty()]

    @property
    def profiles(self) -> list[DeviceProfile]:
        """The profiles that have a fingerprint."""
        return [c.profile for c in self._compiled]

    def judge(self, host: HostResult, profile_id: str | None = None) -> list[Match]:
        """The host against every profile with a fingerprint (or only `profile_id`)."""
        index = _index(host)
        return [self._judge(c, host, index) for c in self._compiled
                if profile_id is None or c.profile.id == profile_id]

    def _judge(self, c: _Compiled, host: HostResult, index: dict[str, list[Evidence]]) -> Match:
        outcomes = tuple(_outcome(r, c.patterns.get(i), host, index) for i, r in enumerate(c.rules))
        score = sum(o.weight for o in outcomes if o.state == "matched")
        potential = sum(o.weight for o in outcomes if o.state != "contradicted")
        required = [o for o in outcomes if o.required]
        identifying = [(r, o) for r, o in zip(c.rules, outcomes) if r.identifying]
        verdict: Verdict
        if (all(o.state == "matched" for o in required) and score >= c.threshold
                and any(o.state == "matched" for _, o in identifying)):
            verdict = "match"
        elif (any(o.state == "contradicted" for o in required) or potential < c.threshold
              or (identifying and all(o.state == "contradicted" for _, o in identifying))):
            verdict = "mismatch"
        else:
            verdict = "undetermined"
        return Match(profile=c.profile.id, address=host.address, verdict=verdict, score=score,
                     threshold=c.threshold, potential=potential, outcomes=outcomes)


def has_evidence(host: HostResult) -> bool:
    """True when the export says anything about the host a fingerprint could use."""
    return bool(host.evidence or host.open_ports or host.mac or host.os or host.cpes)
