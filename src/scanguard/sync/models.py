"""The records the sync engine, the state database and the commands exchange."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ..model.base import Model
from ..model.plan import CompiledTemplate

ActionKind = Literal["create", "update", "drift", "unchanged", "conflict", "duplicate", "orphan", "retire"]
"""What a sync does with one object:

- ``create``: no object of that name on the scanner;
- ``update``: a planned change (the workspace changed; the live object is as scanguard left it);
- ``drift``: the live object was edited by hand since scanguard pushed it; restored;
- ``unchanged``: live equals desired, nothing to write;
- ``conflict``: an object scanguard does not manage carries a managed name; never overwritten
  (unless adoption is asked for);
- ``duplicate``: a second managed object of the same name (left by an interrupted create on a
  scanner without lookup); removed once the kept one is verified;
- ``retire``: a managed template the plan can no longer vouch for (dropped from the plan, or
  its template can no longer be rendered safely and the live copy breaks the profiles): made
  unusable on the scanner (deleted, or disabled where the vendor's client can), recorded, and
  reported as a safety finding (exit 3). Only ever decided from a complete read of the scanner;
- ``orphan``: a managed object nothing asks for any more that is still safe to leave (a live
  template whose re-rendering failed but which keeps its profiles; a scanner-side exclusion,
  which can only block more); reported, left in place.
"""

WRITES: frozenset[str] = frozenset({"create", "update", "drift", "duplicate", "retire"})
"""Action kinds that write to a scanner (conflict writes only when adopting)."""


class Desired(Model):
    """One object a scanner should hold: the compiled template rendered for its vendor."""

    name: str
    compiled: CompiledTemplate
    payload: Any
    digest: str


class Action(Model):
    """One planned step for one object on one scanner."""

    kind: ActionKind
    name: str
    remote_id: str | None = None
    desired_hash: str | None = None
    marker_hash: str | None = None
    live_hash: str | None = None
    changes: tuple[str, ...] = ()
    """Paths in the native document whose value differs (``settings.safe_checks: 'no' -> 'yes'``)."""
    weaker: tuple[str, ...] = ()
    """How the live object is less safe than the desired one (safety lattice wording)."""
    adopt: bool = False

    @property
    def writes(self) -> bool:
        """Whether applying this action writes to the scanner."""
        return self.kind in WRITES or (self.kind == "conflict" and self.adopt)


class Issue(Model):
    """One error on a scanner (object None: the scanner as a whole)."""

    object: str | None = None
    message: str
    transient: bool = False
    safety: bool = False
    """A template refused because it could not be rendered safely (not pushed): a safety
    finding (exit 3), not a failure of the scanner."""
    invalid: bool = False
    """A fault of the scanner's configuration (a credential variable that is not set): the
    scanner was not contacted, and the run exits 2."""


class ScannerDiff(Model):
    """What a sync would do on one scanner."""

    scanner: str
    vendor: str
    actions: tuple[Action, ...] = ()
    error: str | None = None
    skipped: str | None = None
    """Why nothing was compared (a vendor without a scanner client), if so."""
    refused: tuple[Issue, ...] = ()
    """Templates that cannot be rendered safely for this scanner, and why (not pushed)."""
    invalid: bool = False
    """The error is a fault of the scanner's configuration (exit 2), not of the scanner."""

    def count(self, kind: str) -> int:
        """How many actions of that kind."""
        return sum(1 for a in self.actions if a.kind == kind)


class ObjectResult(Model):
    """What a sync did to one object."""

    name: str
    action: ActionKind
    remote_id: str | None = None
    digest: str | None = None
    applied: bool = False
    verified: bool = False
    error: str | None = None
    weaker: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()


class RetryNote(Model):
    """A transient failure that was retried."""

    operation: str
    message: str
    status: int | None = None


class ScannerResult(Model):
    """The outcome of a sync on one scanner."""

    scanner: str
    vendor: str
    status: Literal["ok", "drift_restored", "retired", "refused", "failed", "skipped"]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    drift_restored: int = 0
    drift_found: int = 0
    conflicts: int = 0
    duplicates_removed: int = 0
    orphans: int = 0
    retired: int = 0
    """Templates made unusable because the plan can no longer vouch for them (a safety finding)."""
    writes: int = 0
    objects: tuple[ObjectResult, ...] = ()
    errors: tuple[Issue, ...] = ()
    retries: tuple[RetryNote, ...] = ()
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0


class RunSummary(Model):
    """The outcome of one `scanguard sync` run (the JSON summary, less the schema version)."""

    run_id: int | None
    dry_run: bool
    started_at: datetime
    finished_at: datetime
    user: str
    exit_code: int
    status: Literal["ok", "drift_restored", "retired", "refused", "failed", "invalid"]
    scanners: tuple[ScannerResult, ...]
    warnings: tuple[str, ...] = ()

    def totals(self) -> dict[str, int]:
        """Sums over scanners of every counter, plus the number of failed scanners."""
        keys = ("created", "updated", "unchanged", "drift_restored", "drift_found", "conflicts",
                "duplicates_removed", "orphans", "retired", "writes")
        out = {k: sum(getattr(s, k) for s in self.scanners) for k in keys}
        out["errors"] = sum(len(s.errors) for s in self.scanners)
        out["failed_scanners"] = sum(1 for s in self.scanners if s.status == "failed")
        return out


class RunRecord(Model):
    """One run as the state database holds it."""

    id: int
    command: str
    started_at: str
    finished_at: str | None
    user: str
    status: str
    exit_code: int | None
    dry_run: bool
    scanners: str


class PushRecord(Model):
    """One write to a scanner as the state database holds it."""

    id: int
    run_id: int
    scanner: str
    object_name: str
    action: str
    remote_id: str | None
    rendered_hash: str | None
    before_hash: str | None
    after_hash: str | None
    before: Any = None
    after: Any = None
    verified: bool
    at: str
    user: str


class DriftRecord(Model):
    """One drift seen on a scanner as the state database holds it."""

    id: int
    run_id: int
    scanner: str
    object_name: str
    remote_id: str | None
    marker_hash: str | None
    live_hash: str | None
    weaker: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    restored: bool
    at: str
    user: str
