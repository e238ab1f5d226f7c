"""Misplaced fragile devices: profiled devices recognised by their fingerprint in scan exports
where their profile does not place them, and hosts inside a profile's location that do not look
like the device any more (replaced or moved).

Vendor-neutral: each export is read by the plugin of the vendor that wrote it (told from the
file's root element), one host at a time; only matches and hosts inside a profile's location
are kept, so memory does not grow with the size of the exports.

What is proposed is only ever safer: a device found outside its location gets that address
added to its profile's location (its templates then reach it, and general templates stop
probing it). An address inside a location whose host does not match is reported for a person
to decide; removing it would make the templates aimed there less careful, and a scan that saw
little is no proof that the device left.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .exports import read_hosts, vendor_of
from .matcher import Match, Matcher, has_evidence
from .model.base import Model
from .model.events import Finding, ProfileChange
from .model.profile import DeviceProfile
from .plugin.records import Vendor

SOURCE = "find-misplaced"


class ExportRead(Model):
    """One export as read: its vendor, how many hosts, how many said nothing usable."""

    path: str
    vendor: str
    hosts: int = 0
    hosts_without_evidence: int = 0


class Sighting(Model):
    """A host judged against one profile, in the export(s) that showed it best."""

    address: str
    hostname: str | None = None
    profile: str
    profile_name: str
    policy: str
    verdict: str
    score: int
    threshold: int
    potential: int
    evidence: tuple[str, ...] = ()
    contradictions: tuple[str, ...] = ()
    exports: tuple[str, ...] = ()
    also_matches: tuple[str, ...] = ()


class MisplacedReport(Model):
    """What find-misplaced found in a set of exports."""

    exports: tuple[ExportRead, ...] = ()
    misplaced: tuple[Sighting, ...] = ()
    """Hosts that match a profile outside its location."""
    changed: tuple[Sighting, ...] = ()
    """Hosts inside a profile's location that do not match it."""
    unverified: tuple[Sighting, ...] = ()
    """Hosts inside a profile's location the exports cannot judge either way."""
    unrecognisable: tuple[str, ...] = ()
    """Profiles whose fingerprint cannot recognise a device (none, or open ports only)."""

    @property
    def has_findings(self) -> bool:
        """True when a device turned up outside its place or one inside does not match."""
        return bool(self.misplaced or self.changed)


def _sighting(m: Match, p: DeviceProfile, hostname: str | None, export: str) -> Sighting:
    return Sighting(address=m.address, hostname=hostname, profile=p.id, profile_name=p.name, policy=p.policy,
                    verdict=m.verdict, score=m.score, threshold=m.threshold, potential=m.potential,
                    evidence=m.evidence, contradictions=m.contradictions, exports=(export,))


def _better(old: Sighting | None, new: Sighting) -> Sighting:
    """Keep the stronger sighting of a host and profile, remembering every export that saw it."""
    if old is None:
        return new
    best = new if (new.score, -len(new.contradictions)) > (old.score, -len(old.contradictions)) else old
    exports = tuple(dict.fromkeys(old.exports + new.exports))
    return best.model_copy(update={"exports": exports, "hostname": best.hostname or old.hostname or new.hostname})


def find_misplaced(paths: Sequence[Path], profiles: Sequence[DeviceProfile], vendors: Mapping[str, Vendor],
                   *, vendor: str | None = None) -> MisplacedReport:
    """Read every export and judge each host against every profile with a fingerprint (see the
    module docstring). Raises UsageError or UnsafeInput naming a file that cannot be read."""
    matcher = Matcher(profiles)
    by_id = {p.id: p for p in profiles}
    where = {p.id: p.addresses() for p in matcher.profiles}
    read: list[ExportRead] = []
    outside: dict[tuple[str, str], Sighting] = {}
    inside: dict[tuple[str, str], Sighting] = {}
    confirmed: set[tuple[str, str]] = set()
    for path in paths:
        v = vendor_of(path, vendors, vendor)
        label = f"{path} ({v.name})"
        hosts = silent = 0
        for host in read_hosts(v, path):
            hosts += 1
            if not has_evidence(host):
                silent += 1
            matches = matcher.judge(host)
            matched_ids = tuple(m.profile for m in matches if m.verdict == "match")
            for m in matches:
                key = (host.address, m.profile)
                located = _holds(where[m.profile], host.address)
                if m.verdict == "match" and located:
                    confirmed.add(key)
                elif m.verdict == "match":
                    s = _sighting(m, by_id[m.profile], host.hostname, label)
                    s = s.model_copy(update={"also_matches": tuple(x for x in matched_ids if x != m.profile)})
                    outside[key] = _better(outside.get(key), s)
                elif located:
                    inside[key] = _better(inside.get(key), _sighting(m, by_id[m.profile], host.hostname, label))
        read.append(ExportRead(path=str(path), vendor=v.name, hosts=hosts, hosts_without_evidence=silent))
    judged = [s for k, s in inside.items() if k not in confirmed]
    # a mismatch in one export outweighs "cannot tell" in another; a match anywhere outweighs both
    changed = [s for s in judged if s.verdict == "mismatch"]
    unverified = [s for s in judged if s.verdict != "mismatch"]
    unrecognisable = tuple(p.id for p in profiles if not any(r.identifying for r in p.fingerprint.rules()))
    return MisplacedReport(
        exports=tuple(read),
        misplaced=tuple(sorted(outside.values(), key=lambda s: (-s.score / max(s.threshold, 1), *_order(s)))),
        changed=tuple(sorted(changed, key=_order)),
        unverified=tuple(sorted(unverified, key=_order)),
        unrecognisable=unrecognisable,
    )


def _order(s: Sighting) -> tuple:
    return (s.profile, _address_key(s.address))


def _holds(addresses, address: str) -> bool:
    try:
        return address in addresses
    except ValueError:  # an export's address that is not an IP (a name): not in any location
        return False


def _address_key(address: str) -> tuple:
    try:
        ip = ipaddress.ip_address(address)
        return (ip.version, int(ip))
    except ValueError:
        return (9, address)


def why_not(s: Sighting) -> str:
    """Why a changed host cannot match: a required rule, or too little that could still hold."""
    if s.potential >= s.threshold:
        return f"score {s.score} of {s.threshold} needed, and a required rule cannot hold"
    return f"score {s.score} of {s.threshold} needed, at most {s.potential} reachable"


def _confidence(score: int, threshold: int, total: int) -> float:
    """0.6 for a host that just reaches the threshold, 1.0 for one that shows every rule."""
    return round(min(1.0, 0.6 + 0.4 * (score - threshold) / max(1, total - threshold)), 2)


def findings(report: MisplacedReport, profiles: Iterable[DeviceProfile]) -> list[Finding]:
    """The report as findings, best first: a misplaced device carries the proposal to add its
    address to its profile's location (none when the host matches several profiles equally
    well); a changed device carries none (a person decides)."""
    total = {p.id: sum(r.weight for r in p.fingerprint.rules()) for p in profiles}
    strengths: dict[str, list[float]] = {}
    for s in report.misplaced:
        strengths.setdefault(s.address, []).append(s.score / max(s.threshold, 1))
    out: list[Finding] = []
    for s in report.misplaced:
        strength = s.score / max(s.threshold, 1)
        # the one best fit of a host gets the proposal; a tie between profiles gets none
        propose = strength == max(strengths[s.address]) and strengths[s.address].count(strength) == 1
        evidence = (*s.evidence, *(f"export {e}" for e in s.exports))
        description = (f"{s.address}{f' ({s.hostname})' if s.hostname else ''} matches the fingerprint of "
                       f"{s.profile_name} ({s.profile}) with score {s.score} (needs {s.threshold}), but is not "
                       f"among its profile's addresses: templates that do not know it is there may probe it "
                       f"(policy {s.policy}).")
        if s.also_matches:
            description += f" It also matches {', '.join(s.also_matches)}."
        if not propose:
            description += " No location change is proposed: another profile fits this host as well or better."
        out.append(Finding(
            title=f"{s.address} looks like {s.profile} outside its location",
            severity="high" if s.policy in ("restricted", "never") else "medium",
            host=s.address, device=s.profile, description=description, evidence=evidence,
            confidence=_confidence(s.score, s.threshold, total.get(s.profile, s.score)),
            proposal=ProfileChange(
                profile=s.profile, kind="location", hosts=(s.address,),
                reason=f"{s.address} was recognised as {s.profile} by its fingerprint (score {s.score} of "
                       f"{s.threshold} needed) by scanguard find-misplaced",
                evidence=evidence,
            ) if propose else None,
        ))
    for s in report.changed:
        out.append(Finding(
            title=f"{s.address} in {s.profile}'s location does not look like it",
            severity="medium", host=s.address, device=s.profile,
            description=(f"{s.address} lies inside the location of {s.profile_name} ({s.profile}) but cannot match "
                         f"its fingerprint ({why_not(s)}): the device may have been replaced or moved. Check it before changing the profile; the "
                         "address stays protected until a person removes it."),
            evidence=(*s.contradictions, *s.evidence, *(f"export {e}" for e in s.exports)),
            confidence=0.5,
        ))
    return out
