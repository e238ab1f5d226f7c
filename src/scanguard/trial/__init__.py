"""Trials: the staged assessment of one device (discovery, service evaluation port by port,
vulnerability checks, higher speed), each stage watched, stopping at the first failure and
confirming it by a rerun (see DESIGN.md, "Test bed and trials")."""

from .records import STAGE_ORDER, OutageRecord, RecoveryRecord, ScanRecord, StageResult, TrialResult
from .runner import TrialError, TrialOptions, run_trial
from .stages import STAGE_TITLES, can_raw_scan, plan_stage

__all__ = [
    "STAGE_ORDER", "STAGE_TITLES", "OutageRecord", "RecoveryRecord", "ScanRecord", "StageResult", "TrialError",
    "TrialOptions", "TrialResult", "can_raw_scan", "plan_stage", "run_trial",
]
