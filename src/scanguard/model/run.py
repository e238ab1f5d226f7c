"""A scan that was run: what a vendor's `run` returns, the same shape for every scanner."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field

from .base import Model
from .events import ActivityEvent


class ScanRun(Model):
    """One scan run by a vendor adapter against live targets.

    `activity` is the normalised timeline the vendor's activity parser read from
    `activity_log`; `results` is the vendor's result export (None when it wrote none);
    `stopped_early` says the scan was stopped before it ended (the device went down, or the
    run timed out: `stop_reason`)."""

    vendor: str
    argv: tuple[str, ...] = ()
    exit_code: int | None = None
    activity: tuple[ActivityEvent, ...] = Field(default=(), repr=False)
    activity_log: Path | None = None
    results: Path | None = None
    started: datetime | None = None
    finished: datetime | None = None
    stopped_early: bool = False
    stop_reason: str = ""
