"""Run a trial: the stages in order against one device, watched by a health monitor; at the
first failure stop, bring the device back, confirm the spot, and correlate into findings and a
proposed profile change.

Confirmation: a scan of one port (service evaluation) is rerun as it was; a port's checks
(vulnerability stage) are confirmed probe by probe: the payloads in flight when the device went
down are sent again alone, the likeliest first (:func:`scanguard.correlate.in_flight`), and the
first that takes the device down again is the cause, named with its port (a vendor without
"replay" falls back to rerunning the whole scan). A trial never claims more than it tested:
every stage is estimated before it starts (one that cannot finish in its time limit is refused
unless ``allow_incomplete``), and a stage cut short is ``incomplete`` with its coverage, never
``passed``.

The runner knows no vendor: it calls the vendor record's ``run`` with neutral compiled
templates (see :mod:`.stages`), and no test bed: recovery is waiting, or a ``reset`` callable
(the test bed's control interface, a smart power switch) when the device does not come back.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from pydantic import Field

from ..correlate import correlate, in_flight, observe, rate_finding, replay_finding
from ..errors import ScanguardError, UsageError
from ..health import HealthMonitor, outages
from ..model.base import Model
from ..model.events import ActivityEvent, Finding, HealthEvent, ProfileChange, Suspect
from ..model.ports import PortSet
from ..model.profile import DeviceProfile
from ..model.run import ScanRun
from .loopback import foreign_listeners
from .preflight import StageEstimate, TrialOverrun, check_policy, duration, estimate, overrun_message
from .records import (
    STAGE_ORDER,
    Coverage,
    OutageRecord,
    RecoveryRecord,
    ScanRecord,
    StageName,
    StageResult,
    TrialResult,
)
from .stages import STAGE_TITLES, StagePlan, plan_stage, skip_reason, with_rate

if TYPE_CHECKING:
    from ..plugin.manager import PluginManager
    from ..plugin.records import Vendor
    from ..workspace import Workspace


class TrialError(ScanguardError):
    """A trial could not start or run (the device is not up, the vendor cannot run scans)."""

    exit_code = 1


class TrialOptions(Model):
    """How a trial runs. The defaults suit a real lab; tests shorten the waits and ports."""

    stages: tuple[StageName, ...] = STAGE_ORDER
    survey_ports: PortSet = Field(default_factory=lambda: PortSet.parse("1-65535"))
    """What the SYN survey looks at (narrowed by the profile, and by `device_ports` when known)."""
    ping_ports: PortSet | None = None
    """Liveness ports for the full-connect discovery (None: the heartbeat port)."""
    heartbeat_port: int
    interval_s: float = Field(default=0.2, gt=0)
    settle_s: float = Field(default=0.6, ge=0)
    """After each scan: how long the monitor gets to see a death the last packets caused."""
    recovery_timeout_s: float = Field(default=60.0, gt=0)
    reset_after_s: float = Field(default=5.0, ge=0)
    """With a reset: how long to wait for the device to come back by itself before pressing it."""
    stage_timeout_s: float = Field(default=120.0, gt=0)
    """The time limit of each scan of the discovery, service and speed stages."""
    vulnerability_timeout_s: float = Field(default=240.0, gt=0)
    """The time limit of the checks on one port (version detection alone waits seconds per probe
    on a service that keeps the connection open and says nothing)."""
    allow_incomplete: bool = False
    """Run a scan whose estimate exceeds its time limit anyway (its stage ends ``incomplete``)."""
    device_ports: PortSet | None = None
    """The ports the device itself listens on, when known (a test bed's): on a shared loopback
    address nothing else is probed."""
    max_service_ports: int = Field(default=32, ge=1)
    speed_probes: int = Field(default=60, ge=1)
    confirm: bool = True
    max_replays: int = Field(default=6, ge=0)
    """How many payloads of a failed port's checks are replayed alone, one by one, to find the one."""
    allow_non_loopback: bool = False
    """Passed to the vendor's run: only for an isolated lab the user named explicitly."""
    accept_risk: str | None = None
    """For a device whose policy is never: who accepted the risk (or the ticket), to try it anyway."""
    isolation: str = ""
    """How the caller isolated the trial from the network (recorded in the result)."""


Progress = Callable[[str], None]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


class _Planner:
    """What a trial knows about the device before and while it runs: its ports, the foreign
    listeners on its address, and the scans of each stage with their time limits."""

    def __init__(self, profile: DeviceProfile, target: str, options: TrialOptions) -> None:
        self.profile, self.target, self.options = profile, target, options
        self.constraints = profile.lattice()
        self.warnings: list[str] = []
        # what listens on a shared loopback address but is not the device: never probed
        foreign = foreign_listeners(target, options.device_ports)
        self.left_out = PortSet.parse([f"{x.port}/{x.protocol}" for x in foreign]) if foreign else PortSet()
        if foreign:
            self.warnings.append(f"{target} is a shared loopback address: {', '.join(x.text() for x in foreign)} "
                                 "listen(s) there but belong(s) to the machine, not the device; left out of every stage")
        # what is known open before any survey: the profile's fingerprint, and the device's own
        # ports when something (a test bed) says which they are
        known = profile.fingerprint.open_ports.tcp
        if options.device_ports is not None:
            known = known | options.device_ports.tcp
        self.open_ports: list[int] = sorted(p for lo, hi in known.intervals for p in range(lo, min(hi, lo + 1024) + 1)
                                            if self.is_device_port(p))

    def is_device_port(self, port: int, protocol: str = "tcp") -> bool:
        """Whether a port may be the device's: not a foreign listener, one of its own when known."""
        if self.left_out.contains(port, protocol):  # type: ignore[arg-type]
            return False
        own = self.options.device_ports
        return own is None or own.contains(port, protocol)  # type: ignore[arg-type]

    def survey(self) -> PortSet:
        """The ports the discovery survey may probe."""
        ports = PortSet(self.options.survey_ports.tcp) - self.left_out
        if self.options.device_ports is not None:
            ports = ports & PortSet(self.options.device_ports.tcp)
        return ports

    def plans(self, name: StageName) -> list[StagePlan]:
        """The scans of one stage with what the trial knows now."""
        o = self.options
        ping = o.ping_ports if o.ping_ports is not None else PortSet.parse(f"{o.heartbeat_port}/tcp")
        return plan_stage(name, target=self.target, constraints=self.constraints, profile=self.profile.id,
                          survey=self.survey(), ping_ports=ping - self.left_out,
                          open_ports=tuple(self.open_ports[: o.max_service_ports]), speed_probes=o.speed_probes)

    def time_limit(self, plan: StagePlan) -> float:
        """The time limit of one scan."""
        o = self.options
        return o.vulnerability_timeout_s if plan.stage == "vulnerability" else o.stage_timeout_s

    def estimates(self, plans: Sequence[StagePlan]) -> list[StageEstimate]:
        """The estimate of each scan that has one (a port's checks have their own limit)."""
        keep = self.profile.fingerprint.open_ports | (self.options.device_ports or PortSet()) \
            | PortSet.parse(f"{self.options.heartbeat_port}/tcp")
        return [estimate(p, self.time_limit(p), self.survey() if p.stage == "discovery-syn" else None, keep)
                for p in plans if p.stage != "vulnerability"]


class _Trial(_Planner):
    """One trial in progress (the state shared by the stages)."""

    def __init__(self, profile: DeviceProfile, target: str, vendor: "Vendor", out_dir: Path, options: TrialOptions,
                 reset: Callable[[], object] | None, progress: Progress, plugins: "PluginManager | None",
                 workspace: "Workspace | None", check_kinds: Mapping[str, str] | None) -> None:
        super().__init__(profile, target, options)
        self.vendor, self.out_dir, self.reset, self.progress = vendor, out_dir, reset, progress
        self.plugins, self.workspace, self.check_kinds = plugins, workspace, check_kinds
        self.monitor = HealthMonitor(target, options.heartbeat_port, interval_s=options.interval_s,
                                     timeout_s=min(options.interval_s, 0.5))
        self.activity: list[ActivityEvent] = []
        self.counter = 0
        self.survived_alone: set[int] = set()
        """Ports whose service scan (one connect, alone) the device survived."""

    # -- one scan ----------------------------------------------------------------------------------
    def scan(self, plan: StagePlan, *, confirming: bool = False, replay: Suspect | None = None) -> tuple[ScanRecord, ScanRun]:
        self.counter += 1
        name = f"{self.counter:02d}-{_slug(plan.label)}" + ("-replay" if replay else "-rerun" if confirming else "")
        timeout = self.time_limit(plan)
        since = _now()
        assert self.vendor.run is not None
        extra: dict[str, object] = {"allow_non_loopback": True} if self.options.allow_non_loopback else {}
        if replay is not None:
            extra["replay"] = replay
        run = self.vendor.run(plan.compiled, list(plan.targets), out_dir=self.out_dir, name=name,
                              stop_when=lambda: self.monitor.current() == "down", timeout_s=timeout, **extra)
        # the packets sent last may kill the device after the scan ended: give the monitor time
        deadline = time.monotonic() + self.options.settle_s
        while time.monotonic() < deadline and not self._down_since(since):
            time.sleep(self.options.interval_s / 2)
        down = self._down_since(since)
        self.activity.extend(run.activity)
        label = plan.label + (f" (replay of {_what(replay)} alone)" if replay is not None
                              else " (rerun to confirm)" if confirming else "")
        rec = ScanRecord(**run.model_dump(exclude={"activity", "health", "label", "started", "finished"}),
                         label=label, started=run.started or since, finished=run.finished or _now(),
                         probes=sum(1 for e in run.activity if e.kind == "probe"), device_went_down=down,
                         confirming=confirming or replay is not None, replayed=replay, port=plan.port,
                         time_limit_s=timeout)
        return rec, run

    def _down_since(self, since: datetime) -> bool:
        return any(e.state == "down" and e.time >= since for e in self.monitor.timeline())

    # -- recovery ----------------------------------------------------------------------------------
    def recover(self) -> RecoveryRecord:
        """Wait for the device to come back; press reset when it does not by itself."""
        t0 = time.monotonic()
        opts = self.options
        first_wait = opts.reset_after_s if self.reset is not None else opts.recovery_timeout_s
        if self.monitor.wait_for("up", first_wait):
            return RecoveryRecord(how="came-back", waited_s=round(time.monotonic() - t0, 2),
                                  detail="the device came back by itself")
        if self.reset is not None:
            self.progress(f"not back after {first_wait:g}s: pressing reset")
            try:
                self.reset()
            except Exception as e:  # noqa: BLE001 - a failed reset is reported, the wait decides
                self.progress(f"reset failed: {e}")
            if self.monitor.wait_for("up", opts.recovery_timeout_s):
                return RecoveryRecord(how="reset", waited_s=round(time.monotonic() - t0, 2),
                                      detail=f"not back after {first_wait:g}s; reset through the control interface")
        return RecoveryRecord(how="not-recovered", waited_s=round(time.monotonic() - t0, 2),
                              detail="the device did not come back within the recovery timeout")

    def outage_of(self, rec: ScanRecord, stage: StageName, recovery: RecoveryRecord) -> OutageRecord | None:
        found = [o for o in outages(self.health_slice(rec)) if o.host == self.target]
        if not found:
            return None
        return OutageRecord(stage=stage, run=rec.label, outage=found[0], recovery=recovery)

    def health_slice(self, rec: ScanRecord, until: datetime | None = None) -> tuple[HealthEvent, ...]:
        """The health timeline around one scan: the last observation before it (the device was
        up) to the end of its outage."""
        assert rec.started is not None
        events = self.monitor.timeline()
        before = [e for e in events if e.time < rec.started]
        start = before[-1].time if before else rec.started
        return tuple(e for e in events if e.time >= start and (until is None or e.time <= until))

    def watched(self, rec: ScanRecord, run: ScanRun, until: datetime | None = None) -> ScanRun:
        """The run with its label and the health timeline watched during it, for correlation."""
        return run.model_copy(update={"label": rec.label, "health": self.health_slice(rec, until)})

    # -- correlation -------------------------------------------------------------------------------
    def own(self, f: Finding) -> Finding:
        """A finding named after the device, its proposal aimed at its profile."""
        proposal = f.proposal.model_copy(update={"profile": f.proposal.profile or self.profile.id}) \
            if f.proposal is not None else None
        return f.model_copy(update={"device": f.device or self.profile.id, "proposal": proposal})

    def conclude(self, stage: StageName, runs: Sequence[ScanRun]) -> list[Finding]:
        if stage != "speed":
            report = correlate(runs, plugins=self.plugins, workspace=self.workspace, check_kinds=self.check_kinds)
            return [self.own(f) for f in report.findings if f.host == self.target]
        # the speed stage hits the few open ports many times each, every one of which the device
        # survived alone (service stage): a port it names is no single cause, the rate is
        report = correlate(runs, plugins=self.plugins, workspace=self.workspace, check_kinds=self.check_kinds,
                           burst_min_distinct=1)
        mine = [f for f in report.findings if f.host == self.target]
        keep = [f for f in mine if not (f.proposal is not None and f.proposal.kind == "excluded_port"
                                        and f.suspect is not None and f.suspect.port in self.survived_alone)]
        if len(keep) < len(mine) and not any(f.proposal is not None and f.proposal.kind == "rate" for f in keep):
            obs = [ob for ob in report.observations if ob.outage.host == self.target]
            keep.insert(0, rate_finding(self.target, obs, len(obs), self.profile.id,
                                        "every port it went down on had survived a connect of its own"))
        return [self.own(f) for f in keep]


def _what(s: Suspect) -> str:
    if s.check_id:
        return f"check {s.check_id}"
    if s.probe:
        return f"probe {s.probe}"
    return "a connect"


def preflight(profile: DeviceProfile, target: str, options: TrialOptions) -> list[StageEstimate]:
    """Before a trial: refuse a device whose policy is never (unless `options.accept_risk` names
    its risk acceptance), and estimate each discovery scan at the profile's rate; raise
    TrialOverrun (exit 2, with a port list that fits) when one cannot finish within its time
    limit, unless `options.allow_incomplete`. Returns the estimates."""
    check_policy(profile, options.accept_risk)
    t = _Planner(profile, target, options)
    plans = [p for name in ("discovery-icmp", "discovery-syn", "discovery-connect") if name in options.stages
             and not skip_reason(name, t.constraints) for p in t.plans(name)]  # type: ignore[arg-type]
    found = t.estimates(plans)
    over = [e for e in found if not e.fits]
    if over and not options.allow_incomplete:
        raise TrialOverrun(f"{profile.id}: " + overrun_message(over))
    return found


def run_trial(profile: DeviceProfile, target: str, vendor: "Vendor", *, out_dir: Path, options: TrialOptions,
              reset: Callable[[], object] | None = None, progress: Progress | None = None,
              plugins: "PluginManager | None" = None, workspace: "Workspace | None" = None,
              check_kinds: Mapping[str, str] | None = None,
              ground_truth: Callable[[], Sequence[str]] | None = None) -> TrialResult:
    """Run the staged assessment of one device and return what happened.

    :param profile: the device's profile; its constraints narrow every stage.
    :param target: the device's address (the vendor's ``run`` decides which it will scan).
    :param vendor: a vendor record with ``run``.
    :param reset: brings a dead device back when it does not come back by itself.
    :param ground_truth: for a test-bed device, its own log of deaths and recoveries.

    Raises UsageError (exit 2) for a device whose policy is never without `options.accept_risk`
    and TrialOverrun (exit 2) for a stage that cannot finish in its time limit (see
    :func:`preflight`); TrialError (exit 1) when the device is not up.
    """
    if vendor.run is None:
        raise UsageError(f"vendor {vendor.name} cannot run scans (its plugin offers no run)")
    override = check_policy(profile, options.accept_risk)
    preflight(profile, target, options)
    say = progress or (lambda _m: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t = _Trial(profile, target, vendor, out_dir, options, reset, say, plugins, workspace, check_kinds)
    for w in t.warnings:
        say(f"[yellow]warning[/]: {w}")
    started = _now()
    t.monitor.start()
    try:
        if not t.monitor.wait_for("up", max(5.0, 10 * options.interval_s)):
            raise TrialError(f"{target}: heartbeat tcp/{options.heartbeat_port} does not answer; the device must be "
                             "up before a trial")
        stages: list[StageResult] = []
        failed = False
        for name in STAGE_ORDER:
            if name not in options.stages:
                continue
            if failed:
                stages.append(StageResult(name=name, title=STAGE_TITLES[name], status="not-run",
                                          reason="the trial stopped at the first failure"))
                continue
            result = _run_stage(t, name)
            stages.append(result)
            failed = result.status == "failed"
        findings = tuple(f for s in stages for f in s.findings)
    finally:
        t.monitor.stop()
    outcome, summary = _verdict(profile, stages, findings)
    proposals: list[ProfileChange] = []
    if findings and findings[0].proposal is not None:
        proposals.append(findings[0].proposal)
    return TrialResult(profile=profile.id, device_name=profile.name, target=target, vendor=vendor.name,
                       started=started, finished=_now(), outcome=outcome, summary=summary, stages=tuple(stages),
                       findings=findings, proposals=tuple(proposals), health=t.monitor.timeline(),
                       activity=tuple(sorted(t.activity, key=lambda e: e.time)),
                       ground_truth=tuple(ground_truth()) if ground_truth else (), out_dir=out_dir,
                       device_ports=options.device_ports, warnings=tuple(t.warnings), isolation=options.isolation,
                       risk_acceptance_override=override)


def _verdict(profile: DeviceProfile, stages: Sequence[StageResult], findings: Sequence[Finding]) -> tuple[str, str]:
    failed = next((s for s in stages if s.status == "failed"), None)
    if failed is not None:
        what = findings[0].title if findings else "no single cause found"
        return "failed", (f"{profile.id} went down in stage {failed.name}: {what}"
                          f"{' (confirmed)' if failed.confirmed else ''}")
    passed = [s for s in stages if s.status == "passed"]
    short = [s for s in stages if s.status == "incomplete"]
    skipped = [s for s in stages if s.status == "skipped"]
    tail = f"; {len(skipped)} skipped ({', '.join(s.name for s in skipped)})" if skipped else ""
    if short:
        cut = "; ".join(f"{s.name} covered {s.coverage.text() if s.coverage else 'part'}" for s in short)
        return "inconclusive", (f"{profile.id}: inconclusive: nothing failed, but {len(short)} stage(s) were cut short "
                                f"({cut}): what they did not cover is untested ({len(passed)} passed{tail})")
    return "survived", f"{profile.id} survived every stage that ran ({len(passed)} passed{tail})"


def _run_stage(t: _Trial, name: StageName) -> StageResult:
    title = STAGE_TITLES[name]
    why = skip_reason(name, t.constraints)
    if why:
        t.progress(f"{title}: skipped ({why})")
        return StageResult(name=name, title=title, status="skipped", reason=why)
    o = t.options
    plans = t.plans(name)
    if not plans:
        t.progress(f"{title}: skipped (nothing left to scan after the profile's exclusions)")
        return StageResult(name=name, title=title, status="skipped", reason="nothing to scan (the profile excludes it)")
    planned_ports = PortSet()
    for p in plans:
        planned_ports = planned_ports | p.compiled.template.ports
    estimates = t.estimates(plans)
    total = sum(e.seconds for e in estimates) if estimates else None
    over = [e for e in estimates if not e.fits]
    if over and not o.allow_incomplete:
        # found out only now (the survey found more ports): do not start what cannot finish
        reason = "not started: " + overrun_message(over).replace("\n", "; ")
        t.progress(f"{title}: {reason}")
        return StageResult(name=name, title=title, status="incomplete", reason=reason, estimate_s=total,
                           ports=planned_ports, coverage=Coverage(done=0, planned=_planned(name, plans)))
    t.progress(f"{title}: {len(plans)} scan(s)"
               + (f", about {duration(total)} at {estimates[0].pace}" if total is not None and estimates else
                  f", at most {duration(len(plans) * o.vulnerability_timeout_s)} ({o.vulnerability_timeout_s:g} s "
                  "per port)"))
    for e in over:
        t.progress(f"[yellow]warning[/]: {e.text()}: it will be cut short (--allow-incomplete)")
    records: list[ScanRecord] = []
    scans: list[tuple[ScanRecord, ScanRun]] = []
    for plan in plans:
        rec, run = t.scan(plan)
        records.append(rec)
        scans.append((rec, run))
        if name == "discovery-syn" and not rec.device_went_down:
            _learn_open_ports(t, run)
        if name == "service" and not rec.device_went_down and not rec.timed_out and plan.port is not None:
            t.survived_alone.add(plan.port)
        if rec.timed_out:
            t.progress(f"[yellow]{plan.label}: cut short at its time limit of {t.time_limit(plan):g}s[/]")
        if not rec.device_went_down:
            continue
        result = _failure(t, name, plan, rec, run, records, planned_ports, total)
        return result.model_copy(update={"coverage": _coverage(name, plans, scans, t.target)})
    coverage = _coverage(name, plans, scans, t.target)
    if not coverage.complete:
        bad = [r for r in records if not r.timed_out and _broken(r)]
        why_short = (f"cut short at its time limit after {coverage.text()}" if any(r.timed_out for r in records)
                     else f"the scanner failed (exit code {bad[0].exit_code}) after {coverage.text()}" if bad
                     else f"covered {coverage.text()}")
        reason = f"the device stayed up, but the stage was {why_short}: the rest is untested"
        return StageResult(name=name, title=title, status="incomplete", reason=reason, runs=tuple(records),
                           coverage=coverage, estimate_s=total, ports=planned_ports)
    return StageResult(name=name, title=title, status="passed", reason=f"the device stayed up; covered {coverage.text()}",
                       runs=tuple(records), coverage=coverage, estimate_s=total, ports=planned_ports)


def _failure(t: _Trial, name: StageName, plan: StagePlan, rec: ScanRecord, run: ScanRun, records: list[ScanRecord],
             planned_ports: PortSet, total: float | None) -> StageResult:
    """The first failure: bring the device back, confirm the spot, conclude."""
    o = t.options
    title = STAGE_TITLES[name]
    t.progress(f"[red]{plan.label}: the device went down[/]; waiting for it to come back")
    recovery = t.recover()
    recovered_at = _now()
    outage_recs = [x for x in [t.outage_of(rec, name, recovery)] if x is not None]
    t.progress(f"recovery: {recovery.how} after {recovery.waited_s:g}s")
    first = t.watched(rec, run, recovered_at)
    findings: list[Finding] = []
    confirmed = False
    if o.confirm and recovery.how != "not-recovered":
        time.sleep(o.settle_s)  # let the device settle after coming back
        if name == "vulnerability" and "replay" in t.vendor.capabilities and o.max_replays:
            found = _confirm_by_replay(t, plan, first, records, outage_recs)
            if found is not None:
                findings, confirmed = [found], True
        if not findings:
            t.progress(f"{plan.label}: rerun to confirm the spot")
            rec2, run2 = t.scan(plan, confirming=True)
            records.append(rec2)
            runs = [first]
            if rec2.device_went_down:
                recovery2 = t.recover()
                t.progress(f"rerun: down again; recovery: {recovery2.how} after {recovery2.waited_s:g}s")
                outage_recs += [x for x in [t.outage_of(rec2, name, recovery2)] if x is not None]
                runs.append(t.watched(rec2, run2, _now()))
            else:
                t.progress("rerun: the device survived this time")
            findings = t.conclude(name, runs)
            confirmed = len(runs) >= 2 and bool(findings) and findings[0].confidence >= 0.7
            if findings and findings[0].proposal is not None and findings[0].proposal.kind == "rate":
                findings[0] = _verify_rate(t, plan, findings[0], records, outage_recs)
    else:
        findings = t.conclude(name, [first])
    reason = findings[0].title if findings else "the device went down; no single cause found"
    return StageResult(name=name, title=title, status="failed", reason=reason, runs=tuple(records),
                       outages=tuple(outage_recs), confirmed=confirmed, findings=tuple(findings),
                       estimate_s=total, ports=planned_ports)


def _verify_rate(t: _Trial, plan: StagePlan, finding: Finding, records: list[ScanRecord],
                 outage_recs: list[OutageRecord], tries: int = 4) -> Finding:
    """A rate limit is proposed only once the device has survived the same scan at that rate: the
    rate an outage's timeline suggests is a guess (a device may still be working through the
    connections its stack accepted when the monitor last saw it up). Halve until it survives."""
    assert finding.proposal is not None and finding.proposal.packets_per_second is not None
    limit = finding.proposal.packets_per_second
    for _ in range(tries):
        slower = with_rate(plan, limit)
        t.progress(f"{plan.label}: the same scan at {limit} packets/s, to check the proposed limit")
        rec, _run = t.scan(slower, confirming=True)
        records.append(rec.model_copy(update={"label": f"{plan.label} at {limit} packets/s (checking the limit)"}))
        if not rec.device_went_down and not rec.timed_out:
            proposal = finding.proposal.model_copy(update={
                "packets_per_second": limit,
                "reason": f"{finding.proposal.reason}; the device survived the same scan at {limit} packets/s"})
            return finding.model_copy(update={
                "proposal": proposal, "confidence": max(finding.confidence, 0.85),
                "description": f"{finding.description} It survived the same scan at {limit} packets per second.",
                "evidence": (*finding.evidence, f"{rec.label}: survived at {limit} packets/s")})
        if rec.device_went_down:
            recovery = t.recover()
            outage_recs += [x for x in [t.outage_of(rec, plan.stage, recovery)] if x is not None]
            if recovery.how == "not-recovered":
                break
            time.sleep(t.options.settle_s)
        if limit == 1:
            break
        limit = max(1, limit // 2)
    # never seen surviving any rate tried: the least there is, and say so
    proposal = finding.proposal.model_copy(update={
        "packets_per_second": 1, "reason": f"{finding.proposal.reason}; it did not survive the slower runs tried"})
    return finding.model_copy(update={"proposal": proposal,
                                      "description": f"{finding.description} It did not survive slower runs either."})


def _confirm_by_replay(t: _Trial, plan: StagePlan, first: ScanRun, records: list[ScanRecord],
                       outage_recs: list[OutageRecord]) -> Finding | None:
    """Send the payloads in flight when the device went down again, one at a time, the likeliest
    first; the first that takes it down again is the cause (a finding), else None."""
    obs = [ob for ob in observe([first], plugins=None) if ob.outage.host == t.target]
    if not obs:
        return None
    candidates = [s for s in in_flight(obs[0]) if s.port == plan.port][: t.options.max_replays]
    survived: list[Suspect] = []
    for cand in candidates:
        t.progress(f"{plan.label}: replaying {_what(cand)} alone on {cand.port}/{cand.protocol or 'tcp'}")
        try:
            rec, run = t.scan(plan, replay=cand)
        except ScanguardError as e:
            t.progress(f"cannot replay {_what(cand)}: {e}")
            continue
        records.append(rec)
        if not rec.device_went_down:
            survived.append(cand)
            continue
        recovery = t.recover()
        t.progress(f"replay: down again; recovery: {recovery.how} after {recovery.waited_s:g}s")
        outage_recs += [x for x in [t.outage_of(rec, plan.stage, recovery)] if x is not None]
        again = [ob for ob in observe([t.watched(rec, run, _now())]) if ob.outage.host == t.target]
        if not again:
            continue
        time.sleep(t.options.settle_s)
        return t.own(replay_finding(cand, obs, again[0], profile=t.profile.id, vendor=t.vendor.name,
                                    check_kinds=t.check_kinds, replays_survived=survived))
    return None


def _broken(rec: ScanRecord) -> bool:
    """A scan that ended by itself with an error: it did not cover what it planned."""
    return not rec.stopped_early and rec.exit_code not in (0, None)


def _planned(name: StageName, plans: Sequence[StagePlan]) -> int:
    if name in ("service", "vulnerability") or name == "discovery-icmp":
        return len(plans)
    return sum(len(p.compiled.template.ports.tcp) + len(p.compiled.template.ports.udp) for p in plans)


def _coverage(name: StageName, plans: Sequence[StagePlan], scans: Sequence[tuple[ScanRecord, ScanRun]],
              target: str) -> Coverage:
    """What a stage covered (`scans`: its first runs, not the reruns): ports whose scan (or
    checks) ran to the end, for the port-by-port stages and the ICMP ping (one host); for the
    others the ports a probe reached (all of them when the scan ran to its end)."""
    firsts = [r for r, _ in scans]
    planned = _planned(name, plans)
    unit = "host" if name == "discovery-icmp" else "ports"
    if name in ("service", "vulnerability", "discovery-icmp"):
        done = sum(1 for r in firsts if not r.timed_out and not _broken(r))
        return Coverage(done=min(done, planned), planned=planned, unit=unit)
    if all(not r.timed_out and not _broken(r) for r in firsts) and firsts:
        return Coverage(done=planned, planned=planned)
    wanted = PortSet()
    for p in plans:
        wanted = wanted | p.compiled.template.ports
    # which planned ports a probe reached, from the activity kept of each scan (its log)
    seen: set[tuple[int, str]] = set()
    for _, run in scans:
        for e in run.activity:
            if e.host == target and e.port is not None and e.kind == "probe" \
                    and wanted.contains(e.port, e.protocol if e.protocol in ("tcp", "udp") else "tcp"):
                seen.add((e.port, e.protocol or "tcp"))
    return Coverage(done=min(len(seen), planned), planned=planned)


def _learn_open_ports(t: _Trial, run: ScanRun) -> None:
    """Add the open TCP ports a survey found to what the later stages evaluate (only the
    device's: never a foreign listener on a shared loopback address)."""
    if run.results is None or t.vendor.parse_results is None or not Path(run.results).exists():
        if run.timed_out:
            t.progress("the survey was cut short and wrote no results: later stages use the ports known before it")
        return
    try:
        with open(run.results, "rb") as f:
            hosts = list(t.vendor.parse_results(f))
    except Exception as e:  # noqa: BLE001 - a broken export costs the survey, not the trial
        t.progress(f"cannot read the survey's results ({e}): later stages use the ports known before it")
        return
    found = set(t.open_ports)
    for h in hosts:
        if h.address == t.target:
            for lo, hi in h.open_ports.tcp.intervals:
                found.update(p for p in range(lo, hi + 1) if t.is_device_port(p))
    t.open_ports = sorted(found)
