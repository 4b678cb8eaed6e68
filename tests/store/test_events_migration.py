"""Migration 0013: measurement events are read from their assessments' documents.

The database before it is written the way the code before it wrote events: each
assessment's event packed in a `measurement_events` table of its own. After it,
the `measurement_events` view lists every one of those events, byte for byte.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from weekly_history import varied_accounts, weeks

from skill import assess
from skill.record import AccountRecord
from skill.store import db as store_db
from skill.store.db import connect, migrations
from skill.store.documents import documents
from skill.store.history import prepare, record_assessments

VERSION = 13
ACCOUNTS = 12


def database_before_0013(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Two weekly dates recorded with each event in its own row; one assessment replaced
    under another level since (its old event stays logged), one document pruned."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for number, source in migrations():
        if number < VERSION:
            shutil.copy(source, folder / source.name)
    path = tmp_path / "history.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(store_db, "MIGRATIONS", folder)
        connection = connect(path)
        codec = documents(connection)
        for week, day in enumerate(weeks(2)):
            run_id = f"run-{day}"
            connection.execute(
                "INSERT INTO runs (run_id, as_of, automation_level, policy_version, source, "
                "source_hash, started_at) VALUES (?, ?, 'balanced', 'p', 'f', 'h', 't')",
                (run_id, day.isoformat()),
            )
            rows = varied_accounts(ACCOUNTS, week)
            run = assess(rows, as_of=day)
            connection.execute("BEGIN")
            for raw, a in zip(rows, run.assessments, strict=True):
                p = prepare(AccountRecord.model_validate(raw), a, run_id)
                row = list(p.assessment)
                row[17] = codec.pack_all("assessment", [row[17]], [a.account_id])[0]
                connection.execute(f"INSERT INTO assessments VALUES ({','.join('?' * 20)})", row)
                event = a.measurement_event
                connection.execute(
                    "INSERT INTO measurement_events VALUES (?, ?, ?, ?)",
                    (event.event_id, a.account_id, p.as_of, codec.pack("event", to_text(event))),
                )
            connection.execute("COMMIT")
        first = weeks(2)[0].isoformat()
        # ACC-0001's first date was assessed again under another level: a new event id,
        # and the old event stays in the table; ACC-0002's first document was pruned.
        connection.execute(
            "INSERT INTO measurement_events SELECT 'replaced-event-id', account_id, as_of, "
            "event_json FROM measurement_events WHERE account_id = 'ACC-0001' AND as_of = ?",
            (first,),
        )
        connection.execute(
            "UPDATE assessments SET assessment_json = NULL "
            "WHERE account_id = 'ACC-0002' AND as_of = ?",
            (first,),
        )
        connection.close()
    return path


def to_text(event: object) -> str:
    return event.model_dump_json()  # type: ignore[attr-defined]


def events(connection) -> set[tuple]:
    return {
        tuple(r)
        for r in connection.execute(
            "SELECT event_id, account_id, as_of, document(event_json) FROM measurement_events"
        )
    }


def test_every_event_reads_back_byte_identical_after_the_migration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = database_before_0013(monkeypatch, tmp_path)
    with monkeypatch.context() as patch:
        folder = tmp_path / "migrations"
        patch.setattr(store_db, "MIGRATIONS", folder)
        old = connect(path)
        before = events(old)
        old.close()

    upgraded = connect(path)  # every migration: 0013 runs now
    after = events(upgraded)
    kept_apart = {
        r[0] for r in upgraded.execute("SELECT event_id FROM measurement_events_replaced")
    }
    kind = upgraded.execute(
        "SELECT type FROM sqlite_master WHERE name = 'measurement_events'"
    ).fetchone()[0]
    upgraded.close()

    assert len(before) == 2 * ACCOUNTS + 1
    assert after == before
    assert kind == "view"
    # Only the events no assessment document holds are kept apart: the replaced
    # assessment's, and the one whose document was pruned.
    first = weeks(2)[0].isoformat()
    pruned = {r[0] for r in before if r[1] == "ACC-0002" and r[2] == first}
    assert kept_apart == {"replaced-event-id"} | pruned


def test_recording_after_the_migration_keeps_one_event_per_assessment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = database_before_0013(monkeypatch, tmp_path)
    connection = connect(path)
    day = weeks(3)[2]
    connection.execute(
        "INSERT INTO runs (run_id, as_of, automation_level, policy_version, source, "
        "source_hash, started_at) VALUES (?, ?, 'balanced', 'p', 'f', 'h', 't')",
        (f"run-{day}", day.isoformat()),
    )
    rows = varied_accounts(ACCOUNTS, 2)
    run = assess(rows, as_of=day)
    pairs = zip((AccountRecord.model_validate(r) for r in rows), run.assessments, strict=True)
    record_assessments(connection, f"run-{day}", pairs)
    stored = {
        r[0]: r[1]
        for r in connection.execute(
            "SELECT account_id, document(event_json) FROM measurement_events WHERE as_of = ?",
            (day.isoformat(),),
        )
    }
    connection.close()

    assert stored == {a.account_id: a.measurement_event.model_dump_json() for a in run.assessments}
