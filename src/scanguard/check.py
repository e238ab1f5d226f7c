"""Pre-scan safety check: go or no-go for one scan (scanner, template, targets, time).

The core checks live in the built-in plugin scanguard.builtin.checks; plugins add their own
through ``scanguard_pre_scan_checks``. Every result counts: any error vetoes the scan, and a check
that raises vetoes it too (the plugin manager turns the exception into an error result).
Targets are interval sets: a whole /8 is checked without expanding it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .errors import UsageError
from .lattice import violations
from .model.addresses import AddressSet
from .model.base import Model, trusted
from .model.events import CheckRequest, CheckResult
from .model.plan import CompiledTemplate
from .model.profile import DeviceProfile
from .model.template import ScanTemplate
from .model.windows import allowed_at
from .suggest import unknown

if TYPE_CHECKING:
    from .plugin.manager import PluginManager
    from .workspace import Workspace


class Verdict(Model):
    """The answer for one scan: go when no result is an error."""

    go: bool
    results: tuple[CheckResult, ...]


def _template_of(request: CheckRequest) -> ScanTemplate | None:
    t = request.template
    if isinstance(t, CompiledTemplate):
        return t.template
    return t if isinstance(t, ScanTemplate) else None


class _AddressIndex:
    """Every profile's address intervals, sorted by their start, per IP version: the profiles a
    scan's targets reach are found in one merge of two sorted lists (a /8 in 10,000 ranges
    against 20,000 profiles: thirty thousand steps, never two hundred million pairs)."""

    def __init__(self, profiles: tuple[DeviceProfile, ...]) -> None:
        self.profiles = profiles
        entries: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
        for pos, p in enumerate(profiles):
            addrs = p.addresses()
            entries[4].extend((lo, hi, pos) for lo, hi in addrs.v4.intervals)
            entries[6].extend((lo, hi, pos) for lo, hi in addrs.v6.intervals)
        self.sorted = {v: sorted(e) for v, e in entries.items()}

    def reached(self, targets: AddressSet) -> list[DeviceProfile]:
        """The profiles with an address among the targets, in workspace order."""
        hit: set[int] = set()
        for version, wanted in ((4, targets.v4), (6, targets.v6)):
            index, i, n = self.sorted[version], 0, len(self.sorted[version])
            for tlo, thi in wanted.intervals:
                # every interval starting by this target's end either reaches it or ends before
                # it starts, and then no later target (they lie further up) can reach it either
                while i < n and index[i][0] <= thi:
                    if index[i][1] >= tlo:
                        hit.add(index[i][2])
                    i += 1
                if i == n:
                    break
        return [self.profiles[pos] for pos in sorted(hit)]


_last_index: _AddressIndex | None = None


def reached(profiles: tuple[DeviceProfile, ...], targets: AddressSet) -> list[DeviceProfile]:
    """The profiles with an address among the targets, in their order. The index of the last
    workspace asked about is kept (it holds its profiles, so it is never mistaken for another's)."""
    global _last_index
    if _last_index is None or _last_index.profiles is not profiles:
        _last_index = _AddressIndex(tuple(profiles))
    return _last_index.reached(targets)


def _result(severity: str, code: str, message: str, device: str | None = None, fix: str = "") -> CheckResult:
    # one per device reached (30,000 for a /8): built from values made here, without validation
    return trusted(CheckResult, severity=severity, code=code, message=message, device=device, fix=fix, source="core")


def _hit(targets: AddressSet, p: DeviceProfile) -> str:
    """The first five of the device's addresses the scan reaches, as the messages show them."""
    return ", ".join((targets & p.addresses()).items()[:5])


def core_checks(request: CheckRequest, ws: "Workspace", today: date | None = None) -> list[CheckResult]:
    """The checks every scan gets: never-scan devices, fragile devices without a template at
    least as safe as their profile, restricted devices outside their own template, scan windows,
    expired risk acceptances."""
    out: list[CheckResult] = []
    targets: AddressSet = request.targets
    template = _template_of(request)
    compiled = request.template if isinstance(request.template, CompiledTemplate) else None
    # a general template names thousands of devices: look each one up in a set, not the tuple
    covered = frozenset(compiled.devices) if compiled else frozenset()
    today = today or request.when.date()
    if not targets:
        out.append(CheckResult(severity="error", code="no-targets", message="the scan has no targets",
                               fix="give --targets"))
    for p in reached(ws.profiles, targets):
        ra = p.risk_acceptance
        if p.policy == "never":
            hit = _hit(targets, p)
            accepted = f" (risk accepted by {ra.accepted_by} until {ra.expires})" if ra else ""
            out.append(_result(
                severity="error", code="never-scan", device=p.id,
                message=f"targets include {hit}: {p.name} must never be scanned{accepted}",
                fix="exclude these addresses from the targets (the compiled templates already do)",
            ))
            if ra and ra.expired(today):
                out.append(_result(
                    severity="warning", code="acceptance-expired", device=p.id,
                    message=f"the risk acceptance for {p.id} expired on {ra.expires}",
                    fix="renew the acceptance or change the device's policy",
                ))
            continue
        if p.policy == "restricted" and p.id not in covered:
            hit = _hit(targets, p)
            own = f"{compiled.base if compiled else '<base template>'}@{p.group_name()}"
            out.append(_result(
                severity="error", code="restricted-device", device=p.id,
                message=f"targets include {hit}: {p.name} may only be scanned with its own template {own}",
                fix=f"scan these addresses with {own}, and leave them out of this scan's targets "
                    "(the compiled template's targets.exclude in `scanguard render --json` lists them)",
            ))
        if template is None:
            out.append(_result(severity="error", code="unknown-template", device=p.id,
                                   message=f"targets include the fragile device {p.id} and the template is unknown",
                                   fix="name a compiled template with --template"))
            continue
        constraints = p.lattice()
        bad = [v for v in violations(template, constraints) if v.kind != "window"]  # windows: judged below
        hit = _hit(targets, p) if bad else ""
        for v in bad:
            out.append(_result(severity="error", code=f"unsafe-{v.kind}", device=p.id,
                                   message=f"targets include {hit} ({p.name}): {v.message}",
                                   fix="use the device's compiled template, or exclude these addresses"))
        windows = constraints.windows
        if windows and not allowed_at(windows, request.when):
            allowed = "; ".join(w.text() for ws_ in windows for w in ws_)
            out.append(_result(severity="error", code="outside-window", device=p.id,
                                   message=f"{p.name} may be scanned only in {allowed}; the scan is at "
                                           f"{request.when.isoformat()}",
                                   fix="schedule the scan inside the device's window"))
    if template is not None and template.windows and not allowed_at(template.windows, request.when):
        out.append(CheckResult(severity="error", code="outside-window", message=(
            f"template {template.name} may run only in its scan windows; the scan is at {request.when.isoformat()}"),
            fix="schedule the scan inside the window"))
    return out


def check_scan(request: CheckRequest, ws: "Workspace", plugins: "PluginManager") -> Verdict:
    """Every check of every plugin (the core ones are a built-in plugin): go when no error. The
    checks judge what the scan will reach (`scan_reach`)."""
    request, notes = scan_reach(request, ws, plugins)
    results = tuple(notes) + tuple(plugins.pre_scan_checks(request, ws))
    return Verdict(go=not any(r.severity == "error" for r in results), results=results)


def scan_reach(request: CheckRequest, ws: "Workspace",
               plugins: "PluginManager") -> tuple[CheckRequest, list[CheckResult]]:
    """The request as the checks see it: its targets less its own `exclude` and less the compiled
    template's `targets.exclude` (never-scan devices, restricted devices of other templates),
    with a note saying which. The template's exclusions count only where the scanner that runs
    the template keeps them: a scanner whose vendor writes a template's targets into its
    documents (capability "targets": render verified they exclude these addresses); named with
    --scanner, or else every scanner the template goes to. Elsewhere (a Nessus policy carries no
    targets) they do not count, and the note says how to leave the addresses out."""
    exclude = request.exclude
    notes: list[CheckResult] = []
    compiled = request.template if isinstance(request.template, CompiledTemplate) else None
    own = compiled.targets.exclude & request.targets if compiled is not None else AddressSet()
    if own:
        where = (request.scanner,) if request.scanner else compiled.scanners
        vendors = plugins.vendors()
        types = {s: ws.config.scanners[s].type for s in where if s in ws.config.scanners}
        keeps = bool(where) and len(types) == len(where) and all(
            types[s] in vendors and vendors[types[s]].parse_targets is not None for s in where)
        shown = ", ".join(own.items()[:5]) + (f" and {len(own.items()) - 5} more" if len(own.items()) > 5 else "")
        if keeps:
            exclude = exclude | own
            notes.append(CheckResult(severity="info", code="template-excludes", message=(
                f"template {compiled.name} leaves out {shown} (devices that must not be scanned with it), and "
                f"{'scanner ' + where[0] if len(where) == 1 else 'every scanner it goes to'} keeps that exclusion")))
        else:
            why = (f"scanner {request.scanner}'s vendor does not write a template's targets into it"
                   if request.scanner else "not every scanner it goes to writes a template's targets into it"
                   if where else "no scanner is known to run it")
            notes.append(CheckResult(severity="info", code="template-excludes-not-kept", message=(
                f"template {compiled.name} excludes {shown}, but {why}: the scan's own targets must leave "
                "them out"), fix=f"add --exclude {','.join(own.items()[:20])}"
                                 + (" ..." if len(own.items()) > 20 else "")))
    if not exclude:
        return request, notes
    return request.model_copy(update={"targets": request.targets - exclude, "exclude": exclude}), notes


def live_template_results(ws: "Workspace", plugins: "PluginManager", scanner: str, template: str) -> list[CheckResult]:
    """Compare the template as it lives on the scanner with what scanguard would push (the sync
    engine's diff for that one scanner): drift, a template never pushed, a pending update, or a
    scanner that cannot be read are errors (fail closed); a vendor without a client says so."""
    from .sync import SyncEngine, SyncOptions

    cfg = ws.config.scanners.get(scanner)
    if cfg is None:
        raise UsageError(unknown("scanner", scanner, ws.config.scanners, listed="configured"))
    (diff,) = SyncEngine(ws, plugins, options=SyncOptions(scanners=(scanner,), dry_run=True, command="check")).diff()
    if diff.skipped:
        return [CheckResult(severity="warning", code="live-not-compared",
                            message=f"the live template on {scanner} was not compared: {diff.skipped}")]
    if diff.invalid:  # the scanner's configuration cannot work: invalid input, not a no-go
        raise UsageError(diff.error or f"scanner {scanner}: invalid configuration")
    if diff.error:
        reason = diff.error.removeprefix(f"scanner {scanner}: ")
        return [CheckResult(severity="error", code="scanner-unreadable",
                            message=f"cannot read the live template {template} from {scanner}: {reason}",
                            fix="fix the scanner connection, or check without --scanner to skip this comparison")]
    refused = [i.message for i in diff.refused if i.object == template]
    if refused:
        return [CheckResult(severity="error", code="live-refused",
                            message=f"template {template} cannot be rendered safely for {scanner}: {refused[0]}",
                            fix="scan these devices with a scanner that can keep their constraints")]
    action = next((a for a in diff.actions if a.name == template), None)
    if action is None:
        return [CheckResult(severity="error", code="not-planned",
                            message=f"template {template} is not planned for scanner {scanner}",
                            fix="see `scanguard render --json` for the templates each scanner gets")]
    if action.kind == "unchanged":
        return []
    text = {
        "drift": f"the live template {template} on {scanner} was edited by hand since scanguard pushed it"
                 + (f" and is less safe: {'; '.join(action.weaker)}" if action.weaker else ""),
        "create": f"template {template} has never been pushed to {scanner}",
        "update": f"template {template} on {scanner} is older than the plan (profiles changed since the last sync)",
        "retire": f"template {template} on {scanner} can no longer be vouched for: {'; '.join(action.weaker)}",
    }.get(action.kind, f"template {template} on {scanner}: {action.kind}")
    return [CheckResult(severity="error", code=f"live-{action.kind}", message=text,
                        fix="run `scanguard sync` (it restores or pushes the template), then check again")]
