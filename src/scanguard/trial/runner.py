"""Run a trial: the stages in order against one device, watched by a health monitor; at the
first failure stop, bring the device back, rerun the same scan to confirm the spot, and
correlate both runs into findings and a proposed profile change.

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

from ..correlate import BURST_MIN_DISTINCT, CorrelationRun, correlate
from ..errors import ScanguardError, UsageError
from ..health import HealthMonitor, outages
from ..model.base import Model
from ..model.events import ActivityEvent, Finding, HealthEvent, ProfileChange
from ..model.ports import PortSet
from ..model.profile import DeviceProfile
from ..model.run import ScanRun
from .records import (
    STAGE_ORDER,
    OutageRecord,
    RecoveryRecord,
    ScanRecord,
    StageName,
    StageResult,
    TrialResult,
)
from .stages import STAGE_TITLES, StagePlan, plan_stage, skip_reason

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
    """What the SYN survey looks at (narrowed by the profile)."""
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
    vulnerability_timeout_s: float = Field(default=45.0, gt=0)
    """The safe checks can take minutes on silent services: a timed-out stage still counts as
    survived for what it ran."""
    max_service_ports: int = Field(default=32, ge=1)
    speed_probes: int = Field(default=60, ge=1)
    confirm: bool = True
    allow_non_loopback: bool = False
    """Passed to the vendor's run: only for an isolated lab the user named explicitly."""


Progress = Callable[[str], None]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


class _Trial:
    """One trial in progress (the state shared by the stages)."""

    def __init__(self, profile: DeviceProfile, target: str, vendor: "Vendor", out_dir: Path, options: TrialOptions,
                 reset: Callable[[], object] | None, progress: Progress, plugins: "PluginManager | None",
                 workspace: "Workspace | None", check_kinds: Mapping[str, str] | None) -> None:
        self.profile, self.target, self.vendor, self.out_dir = profile, target, vendor, out_dir
        self.options, self.reset, self.progress = options, reset, progress
        self.plugins, self.workspace, self.check_kinds = plugins, workspace, check_kinds
        self.constraints = profile.lattice()
        self.monitor = HealthMonitor(target, options.heartbeat_port, interval_s=options.interval_s,
                                     timeout_s=min(options.interval_s, 0.5))
        self.activity: list[ActivityEvent] = []
        self.open_ports: list[int] = sorted({lo_p for lo, hi in profile.fingerprint.open_ports.tcp.intervals
                                             for lo_p in range(lo, min(hi, lo + 1024) + 1)})
        self.counter = 0

    # -- one scan ----------------------------------------------------------------------------------
    def scan(self, plan: StagePlan, *, confirming: bool = False) -> tuple[ScanRecord, ScanRun]:
        self.counter += 1
        name = f"{self.counter:02d}-{_slug(plan.label)}" + ("-rerun" if confirming else "")
        timeout = self.options.vulnerability_timeout_s if plan.stage == "vulnerability" else self.options.stage_timeout_s
        since = _now()
        assert self.vendor.run is not None
        extra = {"allow_non_loopback": True} if self.options.allow_non_loopback else {}
        run = self.vendor.run(plan.compiled, list(plan.targets), out_dir=self.out_dir, name=name,
                              stop_when=lambda: self.monitor.current() == "down", timeout_s=timeout, **extra)
        # the packets sent last may kill the device after the scan ended: give the monitor time
        deadline = time.monotonic() + self.options.settle_s
        while time.monotonic() < deadline and not self._down_since(since):
            time.sleep(self.options.interval_s / 2)
        down = self._down_since(since)
        self.activity.extend(run.activity)
        probes = sum(1 for e in run.activity if e.kind == "probe")
        rec = ScanRecord(label=plan.label + (" (rerun to confirm)" if confirming else ""), argv=run.argv,
                         exit_code=run.exit_code, activity_log=run.activity_log, results=run.results,
                         started=run.started or since, finished=run.finished or _now(), stopped_early=run.stopped_early,
                         stop_reason=run.stop_reason, probes=probes, device_went_down=down, confirming=confirming)
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

    # -- correlation -------------------------------------------------------------------------------
    def conclude(self, stage: StageName, pairs: Sequence[tuple[ScanRecord, ScanRun, datetime]]) -> list[Finding]:
        runs = [CorrelationRun(label=rec.label, activity=run.activity, health=self.health_slice(rec, until))
                for rec, run, until in pairs]
        distinct = BURST_MIN_DISTINCT
        if stage == "speed":
            # the speed stage hits the few open ports many times each: a burst over few ports
            distinct = max(2, min(BURST_MIN_DISTINCT, len(self.open_ports)))
        report = correlate(runs, plugins=self.plugins, workspace=self.workspace, check_kinds=self.check_kinds,
                           burst_min_distinct=distinct)
        return [f.model_copy(update={"device": f.device or self.profile.id,
                                     "proposal": f.proposal.model_copy(update={"profile": f.proposal.profile or self.profile.id})
                                     if f.proposal is not None else None})
                for f in report.findings if f.host == self.target]


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
    """
    if vendor.run is None:
        raise UsageError(f"vendor {vendor.name} cannot run scans (its plugin offers no run)")
    say = progress or (lambda _m: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t = _Trial(profile, target, vendor, out_dir, options, reset, say, plugins, workspace, check_kinds)
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
    failed_stage = next((s for s in stages if s.status == "failed"), None)
    if failed_stage is None:
        outcome, summary = "survived", f"{profile.id} survived every stage ({len([s for s in stages if s.status == 'passed'])} passed)"
    else:
        outcome = "failed"
        what = findings[0].title if findings else "no single cause found"
        summary = (f"{profile.id} went down in stage {failed_stage.name}: {what}"
                   f"{' (confirmed by a rerun)' if failed_stage.confirmed else ''}")
    proposals: list[ProfileChange] = []
    if findings and findings[0].proposal is not None:
        proposals.append(findings[0].proposal)
    return TrialResult(profile=profile.id, device_name=profile.name, target=target, vendor=vendor.name,
                       started=started, finished=_now(), outcome=outcome, summary=summary, stages=tuple(stages),
                       findings=findings, proposals=tuple(proposals), health=t.monitor.timeline(),
                       activity=tuple(sorted(t.activity, key=lambda e: e.time)),
                       ground_truth=tuple(ground_truth()) if ground_truth else (), out_dir=out_dir)


def _run_stage(t: _Trial, name: StageName) -> StageResult:
    title = STAGE_TITLES[name]
    why = skip_reason(name, t.constraints)
    if why:
        t.progress(f"{title}: skipped ({why})")
        return StageResult(name=name, title=title, status="skipped", reason=why)
    o = t.options
    ping = o.ping_ports if o.ping_ports is not None else PortSet.parse(f"{o.heartbeat_port}/tcp")
    plans = plan_stage(name, target=t.target, constraints=t.constraints, profile=t.profile.id, survey=o.survey_ports,
                       ping_ports=ping, open_ports=tuple(t.open_ports[: o.max_service_ports]),
                       speed_probes=o.speed_probes)
    if not plans:
        t.progress(f"{title}: skipped (nothing left to scan after the profile's exclusions)")
        return StageResult(name=name, title=title, status="skipped", reason="nothing to scan (the profile excludes it)")
    t.progress(f"{title}: {len(plans)} scan(s)")
    records: list[ScanRecord] = []
    for plan in plans:
        rec, run = t.scan(plan)
        records.append(rec)
        if name == "discovery-syn" and not rec.device_went_down:
            _learn_open_ports(t, run)
        if not rec.device_went_down:
            continue
        # the first failure: stop, bring it back, rerun the same scan to confirm the spot
        t.progress(f"[red]{plan.label}: the device went down[/]; waiting for it to come back")
        recovery = t.recover()
        recovered_at = _now()
        outage_recs = [x for x in [t.outage_of(rec, name, recovery)] if x is not None]
        t.progress(f"recovery: {recovery.how} after {recovery.waited_s:g}s")
        pairs = [(rec, run, recovered_at)]
        if o.confirm and recovery.how != "not-recovered":
            time.sleep(o.settle_s)  # let the device settle after coming back
            t.progress(f"{plan.label}: rerun to confirm the spot")
            rec2, run2 = t.scan(plan, confirming=True)
            records.append(rec2)
            if rec2.device_went_down:
                recovery2 = t.recover()
                t.progress(f"rerun: down again; recovery: {recovery2.how} after {recovery2.waited_s:g}s")
                outage_recs += [x for x in [t.outage_of(rec2, name, recovery2)] if x is not None]
                pairs.append((rec2, run2, _now()))
            else:
                t.progress("rerun: the device survived this time")
        findings = t.conclude(name, pairs)
        confirmed = len(pairs) >= 2 and bool(findings) and findings[0].confidence >= 0.7
        reason = findings[0].title if findings else "the device went down; no single cause found"
        return StageResult(name=name, title=title, status="failed", reason=reason, runs=tuple(records),
                           outages=tuple(outage_recs), confirmed=confirmed, findings=tuple(findings))
    reason = "the device stayed up"
    if any(r.stop_reason == "timeout" for r in records):
        reason += " (stopped at the stage's time limit; what ran was survived)"
    return StageResult(name=name, title=title, status="passed", reason=reason, runs=tuple(records))


def _learn_open_ports(t: _Trial, run: ScanRun) -> None:
    """Add the open TCP ports a survey found to what the later stages evaluate."""
    if run.results is None or t.vendor.parse_results is None or not Path(run.results).exists():
        return
    try:
        with open(run.results, "rb") as f:
            hosts = list(t.vendor.parse_results(f))
    except Exception as e:  # noqa: BLE001 - a broken export costs the survey, not the trial
        t.progress(f"cannot read the survey's results: {e}")
        return
    found = set(t.open_ports)
    for h in hosts:
        if h.address == t.target:
            for lo, hi in h.open_ports.tcp.intervals:
                found.update(range(lo, hi + 1))
    t.open_ports = sorted(found)
