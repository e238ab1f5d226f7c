"""Nightly sync: bring every scanner's managed templates to the plan, safely and idempotently.

- `diff`: desired versus live, the action each object needs;
- `engine`: the concurrent, retrying, verifying sync itself;
- `state`: the SQLite state database (runs, pushes, drift) with its migrations;
- `retry`: the backoff policy for transient scanner failures.
"""

from .engine import SyncEngine, SyncOptions, exit_code_for, select_scanners, tls_warnings
from .models import Action, Desired, RunSummary, ScannerDiff, ScannerResult
from .retry import RetryPolicy
from .state import SCHEMA_VERSION, StateDB, SyncLock

__all__ = [
    "SyncEngine", "SyncOptions", "exit_code_for", "select_scanners", "tls_warnings", "Action", "Desired",
    "RunSummary", "ScannerDiff", "ScannerResult", "RetryPolicy", "SCHEMA_VERSION", "StateDB", "SyncLock",
]
