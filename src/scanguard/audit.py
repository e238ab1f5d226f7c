"""Post-scan audit: every way a scan that actually ran broke the workspace's profiles.

Vendor-neutral. A vendor adapter reads its export twice: `vendor.parse(path)` for the policy the
scan ran with (vendors that can read a policy out of an export accept its Path), and
`vendor.parse_results(stream)` for the hosts it reached. The audit then asks the safety lattice:

- the policy, against every `everywhere` constraint (it must honour those wherever it runs);
- each profiled device found among the scanned hosts, against that profile's constraints;
- devices that must never be scanned, found among the hosts;
- safe checks off at all (a warning where no profile demands them);
- devices whose MAC OUI says they are a profiled model, scanned where their profile does not
  place them (a warning: the profile may need the address).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .errors import UnsafeInput
from .lattice import merge_all, violations
from .model.base import Model
from .model.events import CheckResult, Finding
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


class AuditReport(Model):
    """The outcome of auditing one export."""

    export: str
    vendor: str
    policy: str | None = None
    hosts_scanned: int = 0
    results: tuple[CheckResult, ...] = ()

    @property
    def violations(self) -> tuple[CheckResult, ...]:
        """The results that break a profile (severity error)."""
        return tuple(r for r in self.results if r.severity == "error")


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
    if vendor.parse_results is None:
        return []
    out = []
    with path.open("rb") as f:
        for h in vendor.parse_results(f):
            out.append(ScannedHost(address=h.address, hostname=h.hostname, mac=h.mac))
    return out


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


def audit_export(ws: Workspace, vendor: Vendor, path: Path) -> AuditReport:
    """Audit one scan export against the workspace's profiles. Raises UnsafeInput for a hostile
    or malformed file (naming it)."""
    policy, problem = read_policy(vendor, path)
    hosts = read_hosts(vendor, path)
    results: list[CheckResult] = []
    if policy is None:
        results.append(CheckResult(
            severity="warning", code="policy_unreadable", source=SOURCE,
            message=f"the scan's policy could not be read from {path.name} ({problem}); only the hosts are audited",
        ))
    else:
        results.extend(audit_policy(policy, ws.profiles, vendor.name))
    results.extend(audit_hosts(policy, hosts, ws.profiles, vendor.name))
    return AuditReport(export=str(path), vendor=vendor.name, policy=policy.name if policy else None,
                       hosts_scanned=len(hosts), results=tuple(results))


def findings(report: AuditReport) -> list[Finding]:
    """The audit's results as findings (for the report formats, such as DefectDojo's)."""
    sev = {"error": "high", "warning": "medium", "info": "info"}
    return [
        Finding(title=r.message if len(r.message) <= 150 else r.message[:147] + "...", severity=sev[r.severity],  # type: ignore[arg-type]
                device=r.device, description=f"{r.message}\n\nFix: {r.fix}" if r.fix else r.message,
                evidence=(f"{report.vendor} export {report.export}", f"check {r.code}"), confidence=1.0)
        for r in report.results
    ]
