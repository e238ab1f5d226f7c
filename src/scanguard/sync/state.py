"""The state database: every run, every push and every drift seen, in one SQLite file.

The schema is versioned: `schema_version` holds the version applied, and `MIGRATIONS` lists the
steps in order; opening a database applies the missing ones in one transaction each. WAL mode
lets `scanguard history` read while a sync writes, and each record is committed on its own so
that a run killed at any point leaves everything it did on record.

Secrets never reach this file: payloads are stored with credential-like keys redacted, and no
client, header or credential object is ever passed in.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from ..errors import ScanguardError
from ..scanners import canonical_json
from .models import Action, DriftRecord, PushRecord, RunRecord, RunSummary

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "runs, pushes and drift", """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            command TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            user TEXT NOT NULL,
            status TEXT NOT NULL,
            exit_code INTEGER,
            dry_run INTEGER NOT NULL DEFAULT 0,
            scanners TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE pushes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            scanner TEXT NOT NULL,
            object_name TEXT NOT NULL,
            action TEXT NOT NULL,
            remote_id TEXT,
            rendered_hash TEXT,
            before_hash TEXT,
            after_hash TEXT,
            before_doc TEXT,
            after_doc TEXT,
            verified INTEGER NOT NULL DEFAULT 0,
            at TEXT NOT NULL,
            user TEXT NOT NULL
        );
        CREATE TABLE drift (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            scanner TEXT NOT NULL,
            object_name TEXT NOT NULL,
            remote_id TEXT,
            marker_hash TEXT,
            live_hash TEXT,
            detail TEXT,
            restored INTEGER NOT NULL DEFAULT 0,
            at TEXT NOT NULL,
            user TEXT NOT NULL
        );
    """),
    (2, "per-scanner outcomes and lookup indexes", """
        CREATE TABLE scanner_runs (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            scanner TEXT NOT NULL,
            vendor TEXT NOT NULL,
            status TEXT NOT NULL,
            summary TEXT NOT NULL,
            PRIMARY KEY (run_id, scanner)
        );
        CREATE INDEX pushes_scanner ON pushes(scanner, object_name, id);
        CREATE INDEX drift_scanner ON drift(scanner, object_name, id);
    """),
    (3, "trials: stages, outages and findings", """
        CREATE TABLE trials (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            profile TEXT NOT NULL,
            target TEXT NOT NULL,
            vendor TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            outcome TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '',
            user TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            doc TEXT NOT NULL
        );
        CREATE TABLE trial_stages (
            trial_id INTEGER NOT NULL REFERENCES trials(id),
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            confirmed INTEGER NOT NULL DEFAULT 0,
            runs INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (trial_id, position)
        );
        CREATE TABLE trial_outages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            trial_id INTEGER NOT NULL REFERENCES trials(id),
            stage TEXT NOT NULL,
            run TEXT NOT NULL,
            host TEXT NOT NULL,
            start TEXT NOT NULL,
            end TEXT,
            recovery TEXT,
            waited_s REAL
        );
        CREATE TABLE trial_findings (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            trial_id INTEGER NOT NULL REFERENCES trials(id),
            stage TEXT NOT NULL,
            title TEXT NOT NULL,
            confidence REAL NOT NULL,
            proposal TEXT
        );
        CREATE INDEX trials_profile ON trials(profile, id);
    """),
)
"""Ordered schema migrations: (version, what it does, SQL). Only ever append."""

SCHEMA_VERSION = MIGRATIONS[-1][0]

_SECRET_KEYS = ("password", "passwd", "secret", "token", "apikey", "api_key", "access_key", "accesskey",
                "passphrase", "private_key", "privatekey", "community", "credential")


class StateError(ScanguardError):
    """The state database cannot be opened or is newer than this scanguard."""

    exit_code = 1


def now() -> str:
    """The current time, UTC, ISO 8601 (what every record carries)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def redact(doc: Any) -> Any:
    """A copy of a native document with the values of credential-like keys replaced, so a
    policy someone filled with scan credentials in the console cannot carry them into state."""
    if isinstance(doc, dict):
        out = {}
        for k, v in doc.items():
            low = str(k).lower().replace("-", "_")
            if any(s in low for s in _SECRET_KEYS) and isinstance(v, (str, int, float)) and v not in ("", None):
                out[k] = "***"
            else:
                out[k] = redact(v)
        return out
    if isinstance(doc, list):
        return [redact(v) for v in doc]
    return doc


class StateDB:
    """The state database. Thread-safe: sync workers record through one shared instance."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as e:
            raise StateError(f"state database {self.path}: {e}") from e

    # -- schema -----------------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
                             "description TEXT NOT NULL, applied_at TEXT NOT NULL)")
            current = self.version()
            if current > SCHEMA_VERSION:
                raise StateError(f"state database {self.path} has schema version {current}, newer than this "
                                 f"scanguard understands ({SCHEMA_VERSION}); upgrade scanguard")
            for version, description, sql in MIGRATIONS:
                if version <= current:
                    continue
                # one transaction per step: a crash mid-migration leaves the previous version intact
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for stmt in _statements(sql):
                        self._db.execute(stmt)
                    self._db.execute("INSERT INTO schema_version VALUES (?, ?, ?)", (version, description, now()))
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    def version(self) -> int:
        """The schema version applied (0: empty database)."""
        with self._lock:
            row = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> "StateDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------------
    def _insert(self, sql: str, args: tuple) -> int:
        with self._lock:
            cur = self._db.execute(sql, args)
            return int(cur.lastrowid)

    def interrupt_stale_runs(self) -> int:
        """Mark runs that never finished (killed) as interrupted; returns how many. Call it only
        while holding the sync lock, so no live run is touched."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE runs SET status='interrupted', finished_at=? WHERE finished_at IS NULL", (now(),))
            return cur.rowcount

    def start_run(self, command: str, user: str, scanners: list[str], *, dry_run: bool) -> int:
        """Record a run as started; returns its id."""
        return self._insert("INSERT INTO runs (command, started_at, user, status, dry_run, scanners) "
                            "VALUES (?, ?, ?, 'running', ?, ?)",
                            (command, now(), user, int(dry_run), ",".join(scanners)))

    def finish_run(self, run_id: int, summary: RunSummary) -> None:
        """Record a run's outcome and each scanner's."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("UPDATE runs SET finished_at=?, status=?, exit_code=? WHERE id=?",
                                 (now(), summary.status, summary.exit_code, run_id))
                for s in summary.scanners:
                    doc = s.model_dump(mode="json", exclude={"objects"})
                    self._db.execute("INSERT OR REPLACE INTO scanner_runs VALUES (?, ?, ?, ?, ?)",
                                     (run_id, s.scanner, s.vendor, s.status, canonical_json(doc)))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def record_push(self, run_id: int, scanner: str, name: str, action: str, *, remote_id: str | None,
                    rendered_hash: str | None, before_hash: str | None, after_hash: str | None,
                    before: Any, after: Any, verified: bool, user: str) -> int:
        """Record one write to a scanner (payloads are redacted)."""
        return self._insert(
            "INSERT INTO pushes (run_id, scanner, object_name, action, remote_id, rendered_hash, before_hash, "
            "after_hash, before_doc, after_doc, verified, at, user) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, scanner, name, action, remote_id, rendered_hash, before_hash, after_hash,
             _doc(before), _doc(after), int(verified), now(), user))

    def record_drift(self, run_id: int, scanner: str, action: Action, *, user: str) -> int:
        """Record drift seen on one object (not yet restored)."""
        detail = canonical_json({"weaker": list(action.weaker), "changes": list(action.changes)})
        return self._insert(
            "INSERT INTO drift (run_id, scanner, object_name, remote_id, marker_hash, live_hash, detail, restored, "
            "at, user) VALUES (?,?,?,?,?,?,?,0,?,?)",
            (run_id, scanner, action.name, action.remote_id, action.marker_hash, action.live_hash, detail, now(), user))

    def mark_restored(self, drift_id: int) -> None:
        """Record that a drift was restored."""
        with self._lock:
            self._db.execute("UPDATE drift SET restored=1 WHERE id=?", (drift_id,))

    # -- reading ----------------------------------------------------------------------------------
    def _rows(self, sql: str, args: tuple) -> Iterator[sqlite3.Row]:
        with self._lock:
            cur = self._db.cursor()
            cur.row_factory = sqlite3.Row
            rows = cur.execute(sql, args).fetchall()
        return iter(rows)

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first."""
        return [RunRecord(id=r["id"], command=r["command"], started_at=r["started_at"], finished_at=r["finished_at"],
                          user=r["user"], status=r["status"], exit_code=r["exit_code"], dry_run=bool(r["dry_run"]),
                          scanners=r["scanners"])
                for r in self._rows("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))]

    def pushes(self, *, scanner: str | None = None, run_id: int | None = None, limit: int = 100) -> list[PushRecord]:
        """The latest pushes (newest first), optionally of one scanner or one run."""
        where, args = _where(scanner=scanner, run_id=run_id)
        return [PushRecord(id=r["id"], run_id=r["run_id"], scanner=r["scanner"], object_name=r["object_name"],
                           action=r["action"], remote_id=r["remote_id"], rendered_hash=r["rendered_hash"],
                           before_hash=r["before_hash"], after_hash=r["after_hash"],
                           before=_load(r["before_doc"]), after=_load(r["after_doc"]), verified=bool(r["verified"]),
                           at=r["at"], user=r["user"])
                for r in self._rows(f"SELECT * FROM pushes {where} ORDER BY id DESC LIMIT ?", (*args, limit))]

    def last_verified_hash(self, scanner: str, object_name: str, remote_id: str) -> str | None:
        """The rendered hash of the latest verified push of an object to that remote id (None:
        scanguard never pushed it there, or never verified it)."""
        rows = list(self._rows("SELECT rendered_hash FROM pushes WHERE scanner=? AND object_name=? AND remote_id=? "
                               "AND verified=1 AND action IN ('create', 'update', 'restore', 'adopt') "
                               "ORDER BY id DESC LIMIT 1", (scanner, object_name, remote_id)))
        return rows[0]["rendered_hash"] if rows else None

    def drifts(self, *, scanner: str | None = None, run_id: int | None = None, limit: int = 100) -> list[DriftRecord]:
        """The latest drift seen (newest first), optionally of one scanner or one run."""
        where, args = _where(scanner=scanner, run_id=run_id)
        out = []
        for r in self._rows(f"SELECT * FROM drift {where} ORDER BY id DESC LIMIT ?", (*args, limit)):
            detail = _load(r["detail"]) or {}
            out.append(DriftRecord(id=r["id"], run_id=r["run_id"], scanner=r["scanner"], object_name=r["object_name"],
                                   remote_id=r["remote_id"], marker_hash=r["marker_hash"], live_hash=r["live_hash"],
                                   weaker=tuple(detail.get("weaker", ())), changes=tuple(detail.get("changes", ())),
                                   restored=bool(r["restored"]), at=r["at"], user=r["user"]))
        return out


def _where(**filters: Any) -> tuple[str, tuple]:
    parts, args = [], []
    for col, val in filters.items():
        if val is not None:
            parts.append(f"{col} = ?")
            args.append(val)
    return ("WHERE " + " AND ".join(parts) if parts else ""), tuple(args)


def _doc(payload: Any) -> str | None:
    return None if payload is None else json.dumps(redact(payload), sort_keys=True, default=str)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]


class SyncLock:
    """An exclusive lock beside the state database, so two syncs of one workspace never
    interleave. The kernel drops it when the holder dies, even by SIGKILL."""

    def __init__(self, state_path: Path):
        self.path = Path(str(state_path) + ".lock")
        self._fh: Any = None

    def __enter__(self) -> "SyncLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a+")
        try:
            import fcntl

            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - no flock on this platform: run unlocked
            pass
        except OSError as e:
            self._fh.close()
            raise StateError(f"another scanguard sync is running on this workspace (lock {self.path} is held)") from e
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()  # closing releases the flock
            self._fh = None
