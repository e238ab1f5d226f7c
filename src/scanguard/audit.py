"""Post-scan audit: every way a scan that actually ran broke the workspace's profiles.

Vendor-neutral. A vendor adapter reads its export twice: `vendor.parse(path)` for the policy the
scan ran with (vendors that can read a policy out of an export accept its Path), and
`vendor.parse_results(stream)` for the hosts it reached. The audit then asks the safety lattice:

- the policy, against every `everywhere` constraint (it must honour those wherever it runs);
- each profiled device found among the scanned hosts, against that profile's constraints;
- the results themselves: a finding or a port state on an excluded port (or from an excluded
  check) of a host a constraint covers proves the scan probed it, whatever the policy says;
- devices that must never be scanned, found among the hosts;
- safe checks off at all (a warning where no profile demands them);
- devices whose MAC OUI says they are a profiled model, scanned where their profile does not
  place them (a warning: the profile may need the address).

An audit that cannot judge is not a pass: when the policy cannot be read (or read only in part)
and a constraint could apply (a profiled device among the hosts, or any constraint that holds
everywhere), the outcome is "undetermined", never "clean".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

from .errors import ScanguardError, UnsafeInput
from .lattice import merge_all, violations
from .model.addresses import AddressSet
from .model.base import Model
from .model.constraints import Provenance
from .model.events import CheckResult, Finding, HostResult, ResultItem
from .model.ports import PortSet
from .model.profile import DeviceProfile
from .model.template import ScanTemplate
from .plugin.records import Vendor
from .workspace import Workspace

SOURCE = "audit"


class ScannedHost(Model):
    """What the audit keeps of a scanned host (not its findings: exports can be huge)."""

    address: str
    hostname: str | None = None
    mac: str | None = None


Outcome = Literal["clean", "violations", "undetermined"]


class AuditReport(Model):
    """The outcome of auditing one export."""

    export: str
    vendor: str
    policy: str | None = None
    hosts_scanned: int = 0
    results: tuple[CheckResult, ...] = ()
    undetermined: tuple[str, ...] = ()
    """Why the audit could not judge the scan (empty when it could)."""

    @property
    def violations(self) -> tuple[CheckResult, ...]:
        """The results that break a profile (severity error)."""
        return tuple(r for r in self.results if r.severity == "error")

    @property
    def outcome(self) -> Outcome:
        """violations (a profile was broken), undetermined (it could not be judged) or clean."""
        if self.violations:
            return "violations"
        return "undetermined" if self.undetermined else "clean"


def _oui(mac: str | None) -> str | None:
    if not mac:
        return None
    digits = "".join(ch for ch in mac if ch.isalnum()).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 6, 2)) if len(digits) >= 6 else None


def read_policy(vendor: Vendor, path: Path) -> tuple[ScanTemplate | None, str | None]:
    """(template, problem): the policy a vendor reads out of an export, or why it could not."""
    try:
        return vendor.parse(path), None
    except UnsafeInput:
        raise
    except Exception as e:  # an export without a policy is still worth auditing for hosts
        return None, f"{type(e).__name__}: {e}"


def read_hosts(vendor: Vendor, path: Path) -> list[ScannedHost]:
    """The hosts an export says were scanned (streamed; only addresses and MACs are kept)."""
    return read_results(vendor, path, [])[0]


@dataclass
class _Rule:
    """One excluded port or vendor check of a profile, and where it holds (None: everywhere)."""

    profile: DeviceProfile
    prov: Provenance
    home: AddressSet  # the profile's own addresses
    where: AddressSet | None
    check: tuple[str, str] | None = None  # (kind, id) of a vendor check


@dataclass
class _Seen:
    rule: _Rule
    sample: str
    ports: PortSet = field(default_factory=PortSet)
    hosts: list[str] = field(default_factory=list)
    total: int = 0


def _rules(profiles: Iterable[DeviceProfile], vendor: str) -> list[_Rule]:
    out = []
    for p in profiles:
        where = p.addresses()
        for prov in p.lattice().provenance:
            scope = None if prov.scope == "everywhere" else where
            if prov.kind == "excluded_ports" and prov.ports:
                out.append(_Rule(p, prov, where, scope))
            elif prov.kind == "excluded_checks":
                parts = prov.item.split(":", 2)
                # categories and vendor kinds a result item does not carry are judged on the policy
                if len(parts) == 3 and parts[0] == vendor and parts[1] not in ("category", "type"):
                    out.append(_Rule(p, prov, where, scope, (parts[1], parts[2])))
    return out


def _item_text(item: ResultItem) -> str:
    what = " ".join(x for x in (item.check_name, f"[{item.check_id}]" if item.check_id else None) if x)
    return what or (item.detail[:60] if item.detail else "a port state")


def _port_of(item: ResultItem) -> PortSet:
    proto = (item.protocol or "").lower()
    if not item.port or proto not in ("tcp", "udp"):
        return PortSet()
    return PortSet.parse(f"{item.port}/{proto}")


def _ran(rule: _Rule, item: ResultItem) -> bool:
    kind, ident = rule.check or ("", "")
    got = item.family if kind == "family" else item.check_id
    return got is not None and str(got) == ident


class _Evidence:
    """What the results prove was probed against an exclusion, gathered host by host: a finding
    or port state on an excluded port, a port that answered a probe, a finding of an excluded
    check."""

    def __init__(self, profiles: Iterable[DeviceProfile], vendor: str) -> None:
        self.rules = _rules(profiles, vendor)
        self.seen: dict[tuple[str, str, str, bool], _Seen] = {}

    def host(self, h: HostResult) -> None:
        for r in self.rules:
            if r.where is not None and h.address not in r.where:
                continue
            hit = PortSet()
            if r.check is None:
                excluded = r.prov.ports or PortSet()
                items = [i for i in h.items if _port_of(i) & excluded]
                for i in items:
                    hit = hit | (_port_of(i) & excluded)
                if h.probed_ports is not None:
                    hit = hit | (h.probed_ports & excluded)
                if not hit:
                    continue
                sample, code = (_item_text(items[0]) if items else "the export lists it among the ports probed"), "probed_excluded_port"
            else:
                item = next((i for i in h.items if _ran(r, i)), None)
                if item is None:
                    continue
                sample, code = _item_text(item), "ran_excluded_check"
            own = r.where is not None or h.address in r.home
            seen = self.seen.setdefault((r.profile.id, code, r.prov.item, own), _Seen(rule=r, sample=sample))
            seen.ports = seen.ports | hit
            seen.total += 1
            if len(seen.hosts) < 5:
                seen.hosts.append(h.address)

    def results(self) -> list[CheckResult]:
        out = []
        for (pid, code, item, own), seen in sorted(self.seen.items()):
            rule = seen.rule
            what = seen.ports.text() if code == "probed_excluded_port" else item
            where = ", ".join(seen.hosts) + (f" and {seen.total - len(seen.hosts)} more" if seen.total > len(seen.hosts) else "")
            verb = "probed" if code == "probed_excluded_port" else "ran"
            if own:
                message = (f"{rule.profile.name} ({pid}): the scan's results show {what} {verb} on {where} "
                           f"({seen.sample}), which its profile excludes: {rule.prov.text()}")
            else:
                message = (f"{what} is excluded everywhere by {pid} ({rule.prov.text()}), but the scan's results "
                           f"show it {verb} on {where} ({seen.sample})")
            out.append(CheckResult(
                severity="error", code=code, device=pid, source=SOURCE, message=message,
                fix=f"check the health of {where}; scan only with templates scanguard rendered (scanguard sync), "
                    "and find out how the scan reached the excluded port or check",
            ))
        return out


def read_results(vendor: Vendor, path: Path, profiles: Iterable[DeviceProfile]) -> tuple[list[ScannedHost], list[CheckResult]]:
    """The hosts an export says were scanned (only addresses and MACs are kept: streamed), and
    every excluded port or check its results prove was probed (violations with evidence).
    Raises UnsafeInput (naming the file) for an export the vendor cannot read."""
    if vendor.parse_results is None:
        return [], []
    profiles = list(profiles)
    evidence = _Evidence(profiles, vendor.name)
    hosts = []
    try:
        with path.open("rb") as f:
            for h in vendor.parse_results(f):
                hosts.append(ScannedHost(address=h.address, hostname=h.hostname, mac=h.mac))
                evidence.host(h)
    except ScanguardError:
        raise
    except Exception as e:  # a vendor parser's own failure is this file's problem, never a traceback
        raise UnsafeInput(path, f"cannot be read as {vendor.name} results ({type(e).__name__}: {e})") from None
    return hosts, evidence.results()


def audit_policy(policy: ScanTemplate, profiles: Iterable[DeviceProfile], vendor: str) -> list[CheckResult]:
    """The policy against every `everywhere` constraint, and safe checks."""
    out = []
    everywhere = merge_all(p.lattice(frozenset({"everywhere"})) for p in profiles)
    for v in violations(policy, everywhere, vendor=vendor):
        devices = sorted({p.profile for p in v.provenance})
        out.append(CheckResult(
            severity="error", code=f"policy_{v.kind}", device=", ".join(devices) or None, source=SOURCE,
            message=f"the scan's policy breaks a constraint that holds everywhere: {v.text()}",
            fix="render the template again with scanguard and push it (scanguard sync), or import the policy file",
        ))
    if policy.checks.enabled and not policy.checks.safe_only:
        out.append(CheckResult(
            severity="warning", code="safe_checks_off", source=SOURCE,
            message=f"the scan ran policy {policy.name} with safe checks off",
            fix="turn safe checks on unless every target is known to withstand unsafe checks",
        ))
    return out


def audit_hosts(policy: ScanTemplate | None, hosts: list[ScannedHost], profiles: Iterable[DeviceProfile],
                vendor: str) -> list[CheckResult]:
    """Profiled devices among the scanned hosts, each against its own profile."""
    out: list[CheckResult] = []
    profiles = list(profiles)
    by_oui: dict[str, list[DeviceProfile]] = {}
    for p in profiles:
        for oui in p.fingerprint.mac_ouis:
            by_oui.setdefault(oui, []).append(p)
    for p in profiles:
        addrs = p.addresses()
        seen = [h for h in hosts if h.address in addrs]
        if not seen:
            continue
        shown = ", ".join(h.address for h in seen[:5]) + (f" and {len(seen) - 5} more" if len(seen) > 5 else "")
        if p.policy == "never":
            out.append(CheckResult(
                severity="error", code="never_scan_device_scanned", device=p.id, source=SOURCE,
                message=f"{p.name} ({p.id}) must never be scanned, but the scan reached {shown}",
                fix="exclude its addresses from the scan's targets (scanguard sync writes them) and check the device",
            ))
            continue
        if policy is None:
            continue
        for v in violations(policy, p.lattice(), vendor=vendor):
            out.append(CheckResult(
                severity="error", code=f"device_{v.kind}", device=p.id, source=SOURCE,
                message=f"{p.name} ({p.id}) at {shown} was scanned with policy {policy.name}, which breaks its "
                        f"profile: {v.text()}",
                fix=f"scan {p.id} only with its own template ({p.group_name()}) and check the device's health",
            ))
    for h in hosts:
        for p in by_oui.get(_oui(h.mac) or "", []):
            if h.address not in p.addresses():
                out.append(CheckResult(
                    severity="warning", code="fingerprint_outside_profile", device=p.id, source=SOURCE,
                    message=f"{h.address} has the MAC OUI of {p.name} ({p.id}) but is not among its profile's addresses",
                    fix=f"add {h.address} to profiles/{p.id}'s location if it is that device",
                ))
    return out


def _cannot_judge(policy: ScanTemplate | None, problem: str | None, hosts: list[ScannedHost],
                  profiles: list[DeviceProfile], path: Path) -> list[str]:
    """Why the scan cannot be judged: its policy is unreadable while a constraint could apply."""
    if policy is not None:
        return []
    everywhere = [p.id for p in profiles if p.lattice(frozenset({"everywhere"})).provenance]
    scanned = []
    for p in profiles:
        home = p.addresses()
        if p.policy != "never" and any(h.address in home for h in hosts):
            scanned.append(p.id)
    if not everywhere and not scanned:
        return []
    who = []
    if scanned:
        who.append("profiled devices were scanned (" + ", ".join(sorted(scanned)[:5]) + ")")
    if everywhere:
        who.append("constraints hold everywhere (" + ", ".join(sorted(everywhere)[:5]) + ")")
    return [f"the scan's policy could not be read from {path.name} ({problem}), and " + " and ".join(who)
            + ": what it probed beyond its results cannot be judged"]


def audit_export(ws: Workspace, vendor: Vendor, path: Path) -> AuditReport:
    """Audit one scan export against the workspace's profiles. Raises UnsafeInput for a hostile
    or malformed file (naming it)."""
    profiles = list(ws.profiles)
    policy, problem = read_policy(vendor, path)
    hosts, evidence = read_results(vendor, path, profiles)
    results: list[CheckResult] = []
    if policy is None:
        results.append(CheckResult(
            severity="warning", code="policy_unreadable", source=SOURCE,
            message=f"the scan's policy could not be read from {path.name} ({problem}); only the hosts and "
                    "the results are audited",
            fix="export the scan with its policy (a .nessus file, nmap -oX with its command line)",
        ))
    else:
        results.extend(audit_policy(policy, profiles, vendor.name))
    results.extend(audit_hosts(policy, hosts, profiles, vendor.name))
    results.extend(evidence)
    return AuditReport(export=str(path), vendor=vendor.name, policy=policy.name if policy else None,
                       hosts_scanned=len(hosts), results=tuple(results),
                       undetermined=tuple(_cannot_judge(policy, problem, hosts, profiles, path)))


def findings(report: AuditReport) -> list[Finding]:
    """The audit's results as findings (for the report formats, such as DefectDojo's)."""
    sev = {"error": "high", "warning": "medium", "info": "info"}
    return [
        Finding(title=r.message if len(r.message) <= 150 else r.message[:147] + "...", severity=sev[r.severity],  # type: ignore[arg-type]
                device=r.device, description=f"{r.message}\n\nFix: {r.fix}" if r.fix else r.message,
                evidence=(f"{report.vendor} export {report.export}", f"check {r.code}"), confidence=1.0)
        for r in report.results
    ]
