"""What a trial records: each stage, each scan run in it, outages, recoveries, findings and the
proposals they lead to. These models cross from the runner to the state database, the CLI and
the scorecard."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from ..model.base import Model
from ..model.events import ActivityEvent, Finding, HealthEvent, Outage, ProfileChange, Suspect
from ..model.ports import PortSet
from ..model.run import ScanRun

StageName = Literal["discovery-icmp", "discovery-syn", "discovery-connect", "service", "vulnerability", "speed"]
STAGE_ORDER: tuple[StageName, ...] = (
    "discovery-icmp", "discovery-syn", "discovery-connect", "service", "vulnerability", "speed",
)
"""The methodology's order: gentlest first, so the first failure names the least intrusive cause."""
StageStatus = Literal["passed", "failed", "incomplete", "skipped", "not-run"]
"""``incomplete``: cut short (a time limit) before it covered what it planned; never ``passed``."""
Outcome = Literal["survived", "failed", "inconclusive"]
"""``inconclusive``: nothing failed, but a stage is incomplete: what it did not cover is untested."""


class Coverage(Model):
    """How much of what a stage planned it covered: ports probed (or ports whose checks ran to
    the end) of the ports planned."""

    done: int = Field(ge=0)
    planned: int = Field(ge=0)
    unit: str = "ports"

    @property
    def complete(self) -> bool:
        """Whether everything planned was covered."""
        return self.done >= self.planned

    def text(self) -> str:
        """"98 of 65535 ports (0.1%)"."""
        share = 100.0 * self.done / self.planned if self.planned else 100.0
        return f"{self.done} of {self.planned} {self.unit} ({share:.3g}%)"


class ScanRecord(ScanRun):
    """One scan run inside a stage, as the trial keeps it (a rerun or a replay to confirm is a
    record of its own). Its timelines are the trial's (:attr:`TrialResult.activity`,
    :attr:`TrialResult.health`): its own `activity` and `health` are left empty."""

    probes: int = 0
    device_went_down: bool = False
    confirming: bool = False
    replayed: Suspect | None = None
    """For a replay: the one probe, check or connect it sent alone."""
    port: int | None = None
    """The one port this scan covers, for stages that go port by port."""
    time_limit_s: float | None = None


class RecoveryRecord(Model):
    """How the device came back after an outage."""

    how: Literal["came-back", "reset", "not-recovered"]
    waited_s: float
    detail: str = ""


class OutageRecord(Model):
    """One outage a trial caused, with the run that caused it and how it ended."""

    stage: StageName
    run: str
    outage: Outage
    recovery: RecoveryRecord | None = None


class StageResult(Model):
    """One stage of a trial: what it ran, what happened, and what was concluded."""

    name: StageName
    title: str
    status: StageStatus
    reason: str = ""
    runs: tuple[ScanRecord, ...] = ()
    outages: tuple[OutageRecord, ...] = ()
    confirmed: bool = False
    findings: tuple[Finding, ...] = ()
    coverage: Coverage | None = None
    estimate_s: float | None = None
    """The duration estimated before it started (from the rate and the port count)."""
    ports: PortSet = Field(default_factory=PortSet)
    """The device's ports this stage planned to probe."""


class TrialResult(Model):
    """A whole trial of one device: the stages in order, the first failure (if any), the
    findings and proposals, and the timelines behind them (for the scorecard's picture)."""

    id: int | None = None
    profile: str
    device_name: str = ""
    target: str
    vendor: str
    started: datetime
    finished: datetime | None = None
    outcome: Outcome
    summary: str = ""
    stages: tuple[StageResult, ...] = ()
    findings: tuple[Finding, ...] = ()
    proposals: tuple[ProfileChange, ...] = ()
    applied: tuple[str, ...] = ()
    health: tuple[HealthEvent, ...] = Field(default=(), repr=False)
    activity: tuple[ActivityEvent, ...] = Field(default=(), repr=False)
    ground_truth: tuple[str, ...] = ()
    """What the device itself logged (test-bed devices only): deaths and recoveries, as text."""
    out_dir: Path | None = None
    device_ports: PortSet | None = None
    """The ports the device itself listens on, when known (a test bed's): nothing else was probed."""
    warnings: tuple[str, ...] = ()
    """What the owner should know about how the trial ran (foreign listeners left out, ...)."""
    isolation: str = ""
    """How the trial was kept off the network ("network namespace with only loopback"), if it was."""
    risk_acceptance_override: str = ""
    """For a device whose policy is never: the risk acceptance the user named to run it anyway."""

    def failed_stage(self) -> StageResult | None:
        """The stage that took the device down, if any."""
        return next((s for s in self.stages if s.status == "failed"), None)

    def incomplete_stages(self) -> tuple[StageResult, ...]:
        """The stages cut short before they covered what they planned."""
        return tuple(s for s in self.stages if s.status == "incomplete")

    def outages(self) -> tuple[OutageRecord, ...]:
        """Every outage of every stage, in order."""
        return tuple(o for s in self.stages for o in s.outages)
