"""Migration 0012 packs a database recorded before it: every document reads back byte
for byte, and the database goes on working (reruns, decisions, trends).

The "before" database is filled the way the code before the migration wrote it:
the documents as JSON text, the snapshot's full SHA-256 as its record hash.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from insights_support import record
from weekly_history import varied_accounts, weeks

from skill import assess
from skill.record import AccountRecord
from skill.store import outbox
from skill.store.db import HistoryConnection, connect, migrate
from skill.store.documents import SAME_AS_BASE, TRAIN_FROM
from skill.store.history import (
    idempotency_key,
    prepare,
    prior_assessments,
    record_assessments,
)

BEFORE = 11  # the last schema version that stored documents as text
ACCOUNTS = TRAIN_FROM + 16
DOCUMENTS = {
    "snapshots": ("record_json", "account_id, as_of"),
    "assessments": ("assessment_json", "account_id, as_of"),
    "measurement_events": ("event_json", "event_id"),
    "actions": ("action_json", "action_key"),
}


def record_as_before(connection: sqlite3.Connection, day: date, week: int) -> None:
    """Rows as the store wrote them before documents were packed."""
    run_id = f"run-{day}"
    connection.execute(
        "INSERT INTO runs (run_id, as_of, automation_level, policy_version, source, "
        "source_hash, started_at, completed_at) VALUES (?, ?, 'balanced', 'p', 'f', 'h', "
        "'2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00')",
        (run_id, day.isoformat()),
    )
    rows = varied_accounts(ACCOUNTS, week)
    run = assess(rows, as_of=day)
    for raw, a in zip(rows, run.assessments, strict=True):
        p = prepare(AccountRecord.model_validate(raw), a, run_id)
        record_json = p.snapshot[2]
        full_hash = hashlib.sha256(record_json.encode()).hexdigest()
        connection.execute(
            "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?)", (*p.snapshot[:3], full_hash, run_id)
        )
        connection.execute(f"INSERT INTO assessments VALUES ({','.join('?' * 20)})", p.assessment)
        event = a.measurement_event
        connection.execute(
            "INSERT INTO measurement_events VALUES (?, ?, ?, ?)",
            (event.event_id, a.account_id, p.as_of, event.model_dump_json()),
        )
        for row in p.actions:
            connection.execute(
                "INSERT INTO actions (action_key, account_id, as_of, action, kind, sensitivity, "
                "owner, owner_name, priority, due_date, status, state, action_json, "
                "last_proposed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row[:13], row[2]),
            )


def documents_of(connection: sqlite3.Connection, read: str) -> dict[tuple, str]:
    found = {}
    for table, (column, key) in DOCUMENTS.items():
        for row in connection.execute(f"SELECT {key}, {read.format(column)} FROM {table}"):
            found[(table, *row[:-1])] = row[-1]
    return found


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None, factory=HistoryConnection)
    assert migrate(connection, up_to=BEFORE) == BEFORE
    for week, day in enumerate(weeks(3)):
        record_as_before(connection, day, week)
    connection.close()
    return path


def test_documents_recorded_before_the_migration_read_back_byte_identical(old_db: Path):
    with sqlite3.connect(old_db) as plain:
        before = documents_of(plain, "{}")
        hashes = dict(plain.execute("SELECT account_id || as_of, record_hash FROM snapshots"))

    connection = connect(old_db)  # migrates
    after = documents_of(connection, "document({})")
    packed = documents_of(connection, "typeof({})")
    after_hashes = dict(
        connection.execute("SELECT account_id || as_of, record_hash FROM snapshots")
    )
    connection.close()

    assert len(before) == 3 * ACCOUNTS * 3 + sum(1 for k in before if k[0] == "actions")
    assert after == before
    # Events are read from their assessments' documents (a view): text, not packed.
    assert {v for k, v in packed.items() if k[0] != "measurement_events"} == {"blob"}
    assert after_hashes == {key: digest[:16] for key, digest in hashes.items()}


def test_the_migration_trains_dictionaries_and_stores_later_dates_against_bases(old_db: Path):
    connection = connect(old_db)
    kinds = {r[0] for r in connection.execute("SELECT kind FROM document_dictionaries")}
    first_bytes = {
        bytes(r[0])[0] for r in connection.execute("SELECT assessment_json FROM assessments")
    }
    replaced = connection.execute("SELECT COUNT(*) FROM measurement_events_replaced").fetchone()
    connection.close()

    assert kinds == {"snapshot", "assessment", "event", "action"}
    # Every event is its assessment's: read from there (migration 0013), none kept apart.
    assert SAME_AS_BASE in first_bytes and replaced[0] == 0


def test_recording_the_same_date_again_after_the_migration_writes_nothing(old_db: Path):
    """The shortened record hashes still recognise a snapshot already stored."""
    connection = connect(old_db)
    last = weeks(3)[-1]
    rows = varied_accounts(ACCOUNTS, 2)
    run = assess(rows, as_of=last)
    pairs = zip((AccountRecord.model_validate(r) for r in rows), run.assessments, strict=True)

    written = record_assessments(connection, f"run-{last}", pairs)

    assert written == 0
    connection.close()


def test_a_migrated_database_takes_decisions_and_the_next_weeks_run(old_db: Path):
    connection = connect(old_db)
    last = weeks(3)[-1]
    pending = connection.execute(
        "SELECT account_id, action FROM actions WHERE state = 'pending' AND as_of = ? LIMIT 1",
        (last.isoformat(),),
    ).fetchone()
    key = idempotency_key(pending[0], pending[1], last)

    decided = outbox.approve(connection, key, by="Dana Reyes")
    nxt = date.fromordinal(last.toordinal() + 7)
    record(connection, varied_accounts(ACCOUNTS, 3), nxt)
    copy = connection.execute(
        "SELECT document(action_json) FROM actions WHERE action_key = ?", (key,)
    ).fetchone()[0]
    history = prior_assessments(connection, [("ACC-0001", nxt)], depth=5)
    stored = connection.execute(
        "SELECT COUNT(document(assessment_json)) FROM assessments WHERE as_of = ?",
        (nxt.isoformat(),),
    ).fetchone()[0]
    connection.close()

    assert decided.state == "approved"
    assert '"policy_trace"' in copy  # the whole action, copied from the migrated assessment
    assert [p.as_of for p in history[("ACC-0001", nxt)]] == weeks(3)
    assert stored == ACCOUNTS


def test_the_assessments_indexes_survive_the_rebuild(old_db: Path):
    """Other migrations index the assessments too: the rebuilt table keeps each one,
    and the date index gives way to one that begins with the date."""
    with sqlite3.connect(old_db) as plain:
        plain.execute("CREATE INDEX assessments_by_owner ON assessments (owner, as_of)")
        plain.execute("CREATE INDEX assessments_page ON assessments (as_of, account_id, score)")

    connection = connect(old_db)
    indexes = {
        r[0]
        for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'assessments'"
        )
    }
    plan = " ".join(
        r[3]
        for r in connection.execute(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM assessments WHERE as_of = '2026-11-09'"
        )
    )
    connection.close()

    assert {"assessments_by_owner", "assessments_page"} <= indexes
    assert "assessments_by_date" not in indexes and "assessments_page" in plan
