"""What a trial records: each stage, each scan run in it, outages, recoveries, findings and the
proposals they lead to. These models cross from the runner to the state database, the CLI and
the scorecard."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from ..model.base import Model
from ..model.events import ActivityEvent, Finding, HealthEvent, Outage, ProfileChange

StageName = Literal["discovery-icmp", "discovery-syn", "discovery-connect", "service", "vulnerability", "speed"]
STAGE_ORDER: tuple[StageName, ...] = (
    "discovery-icmp", "discovery-syn", "discovery-connect", "service", "vulnerability", "speed",
)
"""The methodology's order: gentlest first, so the first failure names the least intrusive cause."""
StageStatus = Literal["passed", "failed", "skipped", "not-run"]
Outcome = Literal["survived", "failed", "inconclusive"]


class ScanRecord(Model):
    """One scan run inside a stage (a rerun to confirm is its own record)."""

    label: str
    argv: tuple[str, ...] = ()
    exit_code: int | None = None
    activity_log: Path | None = None
    results: Path | None = None
    started: datetime | None = None
    finished: datetime | None = None
    stopped_early: bool = False
    stop_reason: str = ""
    probes: int = 0
    device_went_down: bool = False
    confirming: bool = False


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

    def failed_stage(self) -> StageResult | None:
        """The stage that took the device down, if any."""
        return next((s for s in self.stages if s.status == "failed"), None)

    def outages(self) -> tuple[OutageRecord, ...]:
        """Every outage of every stage, in order."""
        return tuple(o for s in self.stages for o in s.outages)
