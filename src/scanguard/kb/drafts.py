"""From findings to drafts: each finding becomes one or more profile changes, each carrying the
advisory id, its URL and the sentence it came from, for every profile the advisory matches (or
a new profile when none does).

What a finding turns into:

- ports the advisory ties to the crash -> exclude those ports;
- malformed or crafted input -> exclude the `dos` and `fuzzing` checks (the checks that send it);
- a flood -> a rate limit (FLOOD_RATE: the advisory never says which rate is safe; this is a
  cautious start that `scanguard trial` can measure and `correlate` can refine);
- a scan -> safe checks only and the same rate limit;
- a specific request with no port named -> safe checks only;
- ICMP / ARP -> no ICMP / ARP discovery; UDP with no port named -> no UDP scan and no UDP ping.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable

from ..model.events import ProfileChange
from ..model.ports import PortSet
from ..model.profile import DeviceProfile
from .match import match, new_profile
from .model import Advisory, Draft, Finding, PortMention, Target

FLOOD_RATE = {"packets_per_second": 50, "parallel_checks_per_host": 1}
"""The rate limit drafted when an advisory says a flood or a scan takes the device down."""
MALFORMED_CATEGORIES = ("dos", "fuzzing")


class ProposedChange:
    """One change drafted from a finding (or an MDS2 form's port list), before it is attached to a
    target: the change's fields, the sentence it came from, why, and the CVEs behind it."""

    def __init__(self, change: dict, sentence: str, basis: str, cves: tuple[str, ...]):
        self.change = change
        self.sentence = sentence
        self.basis = basis
        self.cves = cves


def _port_basis(m: PortMention, finding: Finding) -> str:
    cves = ", ".join(finding.cves) or "the advisory"
    if m.source == "text":
        return f"the text of {cves} names the port"
    if m.source == "remediation":
        return f"a remediation of {cves} names the port for the same service: \"{m.sentence}\""
    return f"inferred: {m.ports.text()} is the well-known port of {m.protocol}, which {cves} names without a port"


def changes_of(f: Finding) -> list[ProposedChange]:
    """The changes one finding asks for (before targets and ids)."""
    out: list[ProposedChange] = []
    by_source: dict[str, tuple[PortSet, PortMention]] = {}
    for m in f.ports:
        ports, first = by_source.get(m.source, (PortSet(), m))
        by_source[m.source] = (ports | m.ports, first)
    for source in ("text", "remediation", "protocol"):
        if source in by_source:
            ports, first = by_source[source]
            # the sentence that says it crashes; the remediation or protocol that gives the port goes in basis
            said = first.sentence if source == "text" else f.effect
            out.append(ProposedChange({"kind": "excluded_port", "ports": ports.text()}, said, _port_basis(first, f),
                                      f.cves))
    triggers = {t.trigger: t.sentence for t in f.triggers}
    if "malformed" in triggers:
        out.append(ProposedChange(
            {"kind": "excluded_check", "categories": list(MALFORMED_CATEGORIES)}, triggers["malformed"],
            "malformed or crafted input takes the device down: the checks that send it are excluded", f.cves))
    for trig in ("flood", "scan"):
        if trig in triggers:
            out.append(ProposedChange(
                {"kind": "rate", **FLOOD_RATE}, triggers[trig],
                f"a {trig} takes the device down; the advisory names no safe rate: a cautious start that "
                "`scanguard trial` can measure", f.cves))
    if "scan" in triggers:
        out.append(ProposedChange({"kind": "safe_checks"}, triggers["scan"], "a scan takes the device down", f.cves))
    if "request" in triggers and not f.ports:
        out.append(ProposedChange({"kind": "safe_checks"}, triggers["request"],
                                  "a specific request takes the device down and the advisory names no port", f.cves))
    forbid = {"icmp": ["icmp"], "arp": ["arp"], "udp": ["udp", "udp_ping"]}
    for d in f.discovery:
        out.append(ProposedChange({"kind": "discovery", "forbid_discovery": forbid[d.kind]}, d.sentence,
                                  f"{d.kind.upper()} traffic takes the device down", f.cves))
    return out


def _reason(advisory: Advisory, p: ProposedChange) -> str:
    cves = f" ({', '.join(p.cves)})" if p.cves else ""
    reason = f"{advisory.id}{cves}: {p.sentence}"
    if p.basis.startswith(("inferred", "a remediation")):
        reason += f" [{p.basis}]"
    return reason


def _why(advisory: Advisory, p: ProposedChange) -> dict:
    """The reason and evidence a draft writes into the profile: advisory id, CVEs, sentence; id, URL, CVEs."""
    return {"reason": _reason(advisory, p),
            "evidence": tuple(dict.fromkeys([advisory.id, *([advisory.url] if advisory.url else []), *p.cves]))}


def draft_id(advisory_id: str, target: Target, change: dict) -> str:
    """A stable id: the same advisory, target and change give the same id on every import."""
    digest = hashlib.sha1(json.dumps([target.name(), change], sort_keys=True, default=str).encode()).hexdigest()
    return f"{advisory_id.lower()}-{digest[:6]}"


def covered_by(profile: DeviceProfile | None, change: ProfileChange) -> bool:
    """True when the profile already holds the change (at least as strictly)."""
    if profile is None:
        return False
    c = profile.constraints
    if change.kind == "excluded_port" and change.ports is not None:
        have = PortSet()
        for pe in c.excluded_ports:
            have = have | pe.ports
        return change.ports.issubset(have)
    if change.kind == "excluded_check":
        cats = {x for ce in c.excluded_checks for x in ce.categories}
        return set(change.categories) | ({change.category} if change.category else set()) <= cats
    if change.kind == "rate":
        if c.rate is None:
            return False
        pairs = ((change.packets_per_second, c.rate.packets_per_second),
                 (change.parallel_checks_per_host, c.rate.parallel_checks_per_host))
        return all(want is None or (have is not None and have <= want) for want, have in pairs) and (
            change.probe_delay_ms is None or (c.rate.probe_delay_ms or 0) >= change.probe_delay_ms)
    if change.kind == "discovery":
        d = c.discovery
        return d is not None and all(getattr(d, m) is False for m in change.forbid_discovery)
    if change.kind == "safe_checks":
        return c.safe_checks_only is not None
    if change.kind == "fingerprint" and change.ports is not None:
        return change.ports.issubset(profile.fingerprint.open_ports)
    return False


def build_drafts(advisory: Advisory, profiles: Iterable[DeviceProfile], *, extra: Iterable[ProposedChange] = ()) -> list[Draft]:
    """Every draft of an advisory against the workspace's profiles, deduplicated: the same change
    for the same target from several findings is one draft naming all their CVEs."""
    profiles = list(profiles)
    by_id = {p.id: p for p in profiles}
    taken = set(by_id)
    out: dict[str, Draft] = {}
    new_targets: dict[tuple[str, ...], Target] = {}
    work: list[tuple[tuple[str, ...], ProposedChange]] = [(f.product_ids, p) for f in advisory.findings for p in changes_of(f)]
    work += [((), p) for p in extra]
    for product_ids, proposed in work:
        targets = match(advisory, product_ids, profiles)
        if not targets:
            key = ()  # one new profile per advisory, whatever products its findings name
            if key not in new_targets:
                new_targets[key] = new_profile(advisory, (), taken)
                taken.add(new_targets[key].name())
            targets = [new_targets[key]]
        for target in targets:
            did = draft_id(advisory.id, target, proposed.change)
            if did in out:  # the same change from another vulnerability: one draft naming every CVE
                first = out[did]
                merged = ProposedChange(proposed.change, first.sentence, first.basis,
                                        tuple(dict.fromkeys(first.cves + proposed.cves)))
                change = first.change.model_copy(update=_why(advisory, merged))
                out[did] = first.model_copy(update={"cves": merged.cves, "change": change})
                continue
            change = ProfileChange.model_validate({
                **proposed.change, "profile": target.profile, **_why(advisory, proposed),
                "advisory": advisory.id if advisory.kind == "csaf" else None,
            })
            out[did] = Draft(id=did, advisory=advisory.id, url=advisory.url, sentence=proposed.sentence,
                             cves=proposed.cves, basis=proposed.basis, target=target, change=change,
                             covered=covered_by(by_id.get(target.profile or ""), change))
    return list(out.values())
