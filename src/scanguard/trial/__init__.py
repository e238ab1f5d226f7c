"""Trials: the staged assessment of one device (discovery, service evaluation port by port,
vulnerability checks port by port, higher speed), each stage estimated before it starts and
watched while it runs, stopping at the first failure and confirming it (see DESIGN.md, "Test bed
and trials")."""

from .preflight import StageEstimate, TrialOverrun, check_policy
from .records import STAGE_ORDER, Coverage, OutageRecord, RecoveryRecord, ScanRecord, StageResult, TrialResult
from .runner import TrialError, TrialOptions, preflight, run_trial
from .stages import STAGE_TITLES, can_raw_scan, plan_stage

__all__ = [
    "STAGE_ORDER", "STAGE_TITLES", "Coverage", "OutageRecord", "RecoveryRecord", "ScanRecord", "StageEstimate",
    "StageResult", "TrialError", "TrialOptions", "TrialOverrun", "TrialResult", "can_raw_scan", "check_policy",
    "plan_stage", "preflight", "run_trial",
]
