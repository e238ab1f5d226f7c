"""Trials in the state database (tables from migration 3 of :mod:`scanguard.sync.state`):
one row per trial with the whole record, and one row per stage, outage and finding so that
they can be queried on their own."""

from __future__ import annotations

import json

from ..sync.state import StateDB, now
from .records import TrialResult


def record_trial(db: StateDB, trial: TrialResult, *, user: str) -> int:
    """Store a finished trial, its stages, outages and findings; returns the trial's id."""
    doc = trial.model_dump_json()
    with db._lock:
        db._db.execute("BEGIN IMMEDIATE")
        try:
            cur = db._db.execute(
                "INSERT INTO trials (profile, target, vendor, started_at, finished_at, outcome, summary, user, "
                "recorded_at, doc) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (trial.profile, trial.target, trial.vendor, trial.started.isoformat(),
                 trial.finished.isoformat() if trial.finished else None, trial.outcome, trial.summary, user, now(), doc))
            trial_id = int(cur.lastrowid)
            for pos, s in enumerate(trial.stages):
                db._db.execute("INSERT INTO trial_stages (trial_id, position, name, status, reason, confirmed, runs) "
                               "VALUES (?,?,?,?,?,?,?)",
                               (trial_id, pos, s.name, s.status, s.reason, int(s.confirmed), len(s.runs)))
                for o in s.outages:
                    db._db.execute(
                        "INSERT INTO trial_outages (trial_id, stage, run, host, start, end, recovery, waited_s) "
                        "VALUES (?,?,?,?,?,?,?,?)",
                        (trial_id, s.name, o.run, o.outage.host, o.outage.start.isoformat(),
                         o.outage.end.isoformat() if o.outage.end else None,
                         o.recovery.how if o.recovery else None, o.recovery.waited_s if o.recovery else None))
                for f in s.findings:
                    db._db.execute(
                        "INSERT INTO trial_findings (trial_id, stage, title, confidence, proposal) VALUES (?,?,?,?,?)",
                        (trial_id, s.name, f.title, f.confidence,
                         json.dumps(f.proposal.model_dump(mode="json")) if f.proposal else None))
            db._db.execute("COMMIT")
        except BaseException:
            db._db.execute("ROLLBACK")
            raise
    return trial_id


def latest_trial(db: StateDB, profile: str) -> TrialResult | None:
    """The most recent trial of a profile, or None."""
    rows = list(db._rows("SELECT id, doc FROM trials WHERE profile = ? ORDER BY id DESC LIMIT 1", (profile,)))
    if not rows:
        return None
    return TrialResult.model_validate_json(rows[0]["doc"]).model_copy(update={"id": rows[0]["id"]})


def trial_by_id(db: StateDB, trial_id: int) -> TrialResult | None:
    """One trial by id, or None."""
    rows = list(db._rows("SELECT id, doc FROM trials WHERE id = ?", (trial_id,)))
    if not rows:
        return None
    return TrialResult.model_validate_json(rows[0]["doc"]).model_copy(update={"id": rows[0]["id"]})
