"""A scan that was run: one record for every scanner and every use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field

from .base import Model
from .events import ActivityEvent, HealthEvent


class ScanRun(Model):
    """One scan run against live targets, the same record wherever a scan is handled: what a
    vendor's `run` returns, what correlation reads (the scanner's activity with the device-health
    timeline watched during it), and what a trial keeps of each scan.

    `activity` is the normalised timeline the vendor's activity parser read from
    `activity_log`; `health` the device-health observations made while it ran (empty when
    nobody watched); `results` is the vendor's result export (None when it wrote none);
    `stopped_early` says the scan was stopped before it ended (the device went down, or the
    run timed out: `stop_reason` is ``stop_when`` or ``timeout``). `label` names the run for
    people ("run 2 (scan.log)", "service 7100/tcp")."""

    label: str = ""
    vendor: str = ""
    argv: tuple[str, ...] = ()
    exit_code: int | None = None
    activity: tuple[ActivityEvent, ...] = Field(default=(), repr=False)
    health: tuple[HealthEvent, ...] = Field(default=(), repr=False)
    activity_log: Path | None = None
    results: Path | None = None
    started: datetime | None = None
    finished: datetime | None = None
    stopped_early: bool = False
    stop_reason: str = ""

    @property
    def timed_out(self) -> bool:
        """Whether the scan was cut short by its time limit (what it covered is partial)."""
        return self.stopped_early and self.stop_reason == "timeout"
