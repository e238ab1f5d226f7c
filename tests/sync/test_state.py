"""The state database: versioned schema, ordered migrations, records, redaction."""

from __future__ import annotations

import sqlite3

import pytest

from scanguard.sync.state import MIGRATIONS, SCHEMA_VERSION, StateDB, StateError, SyncLock, redact


def test_a_new_database_gets_every_migration_in_order(tmp_path):
    with StateDB(tmp_path / "s.db") as db:
        assert db.version() == SCHEMA_VERSION
    rows = sqlite3.connect(tmp_path / "s.db").execute("SELECT version FROM schema_version ORDER BY rowid").fetchall()
    assert [r[0] for r in rows] == [v for v, _, _ in MIGRATIONS]


def test_an_old_database_is_migrated_keeping_its_records(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, description TEXT NOT NULL, applied_at TEXT NOT NULL)")
    db.executescript(MIGRATIONS[0][2])
    db.execute("INSERT INTO schema_version VALUES (1, 'x', 'then')")
    db.execute("INSERT INTO runs (command, started_at, user, status) VALUES ('sync', 'then', 'ops', 'ok')")
    db.commit()
    db.close()
    with StateDB(path) as state:
        assert state.version() == SCHEMA_VERSION
        assert [r.user for r in state.runs()] == ["ops"]


def test_a_database_from_a_newer_scanguard_is_refused(tmp_path):
    path = tmp_path / "new.db"
    StateDB(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (?, 'future', 'later')", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(StateError, match="newer"):
        StateDB(path)


def test_the_database_uses_wal(tmp_path):
    StateDB(tmp_path / "s.db").close()
    assert sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_runs_that_never_finished_are_marked_interrupted(tmp_path):
    with StateDB(tmp_path / "s.db") as db:
        rid = db.start_run("sync", "ops", ["a"], dry_run=False)
        assert db.interrupt_stale_runs() == 1
        assert db.runs()[0].id == rid and db.runs()[0].status == "interrupted"


def test_credential_like_keys_are_redacted_from_stored_documents(tmp_path):
    doc = {"settings": {"ssh_password": "hunter2", "safe_checks": "yes"},
           "credentials": {"add": {"Host": {"SSH": [{"password": "hunter2", "username": "root"}]}}}}
    clean = redact(doc)
    assert "hunter2" not in repr(clean) and clean["settings"]["safe_checks"] == "yes"
    with StateDB(tmp_path / "s.db") as db:
        rid = db.start_run("sync", "ops", ["a"], dry_run=False)
        db.record_push(rid, "a", "t", "update", remote_id="1", rendered_hash="h", before_hash=None, after_hash=None,
                       before=doc, after=None, verified=True, user="ops")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    assert b"hunter2" not in stored


def test_only_one_sync_holds_the_lock(tmp_path):
    with SyncLock(tmp_path / "s.db"):
        with pytest.raises(StateError, match="another scanguard sync"):
            with SyncLock(tmp_path / "s.db"):
                pass
    with SyncLock(tmp_path / "s.db"):
        pass
