"""The history database: migrations, and recording assessments through the library.

`connect` opens SQLite in WAL mode and applies the numbered migrations once
each. `record_assessments` writes snapshots, assessments, outbox actions, review
tasks and measurement events in batches, one transaction each, skipping an
account whose snapshot for that date is already stored with the same content.
The CLI and the subprocess tests (kill -9, two runs at once) are in
test_recording.py.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from skill import assess
from skill.assessment import Assessment
from skill.demo import demo_file
from skill.record import AccountRecord
from skill.store import db as store_db
from skill.store import outbox
from skill.store.db import connect, default_db_path, migrate, migrations
from skill.store.history import (
    BATCH_SIZE,
    HistoryReader,
    HistoryUnavailable,
    RunInfo,
    finish_run,
    idempotency_key,
    prior_assessments,
    record_assessments,
    record_hash,
    run_id_for,
    start_run,
)
from skill.vocabulary import ActionPurpose

AS_OF = date(2026, 11, 23)
LATER = date(2026, 11, 30)
#: What the issue asks the database to hold, besides the bookkeeping tables.
REQUIRED_TABLES = {
    "snapshots",
    "assessments",
    "actions",
    "review_tasks",
    "measurement_events",
    "outcomes",
}
#: Every table the data is in (schema_migrations is compared on its own).
DATA_TABLES = (
    "runs",
    "snapshots",
    "assessments",
    "actions",
    "action_decisions",
    "review_tasks",
    "measurement_events",
)


def demo_rows(**changes: dict[str, Any]) -> list[dict[str, Any]]:
    rows = json.loads(demo_file().read_text(encoding="utf-8"))["accounts"]
    return [{**row, **changes.get(row["account_id"], {})} for row in rows]


#: ACC-1001 as a thriving account: one action (update_health_score), no review task.
THRIVING = {
    "logins_30d": 2400,
    "logins_prev_30d": 2300,
    "active_users": 210,
    "weekly_activity": [80, 82, 81, 83],
    "features_adopted": 11,
    "csat": 4.8,
    "nps": 50,
    "last_survey_date": "2026-11-01",
    "discount_requested": False,
    "expansion_signal": True,
    "last_exec_touch_date": "2026-11-01",
    "champion": "strong",
    "last_customer_reply_date": "2026-11-20",
    "qbr_attended": True,
    "success_milestones_missed": 0,
    "blocker": "none",
    "blocker_note": None,
    "notes": "Happy customer.",
    "open_tickets": 0,
    "tickets_30d": 1,
    "renewal_date": "2027-09-30",
}


def record_rows(
    connection: sqlite3.Connection,
    rows: list[dict[str, Any]],
    as_of: date = AS_OF,
    run_id: str = "run-1",
    batch_size: int = BATCH_SIZE,
) -> tuple[int, list[Assessment]]:
    records = [AccountRecord.model_validate(row) for row in rows]
    run = assess(records, as_of=as_of)
    start_run(connection, RunInfo(run_id, as_of, "balanced", run.policy_version, "t", run_id))
    written = record_assessments(
        connection, run_id, zip(records, run.assessments, strict=True), batch_size=batch_size
    )
    return written, run.assessments


def dump(connection: sqlite3.Connection) -> str:
    """Every row of every table, as SQL text: byte-for-byte comparable."""
    return "\n".join(connection.iterdump())


def count(connection: sqlite3.Connection, table: str, where: str = "", *args: Any) -> int:
    sql = f"SELECT COUNT(*) FROM {table}" + (f" WHERE {where}" if where else "")
    return connection.execute(sql, args).fetchone()[0]


def rows_of(connection: sqlite3.Connection, table: str, account_id: str) -> list[tuple]:
    return [
        tuple(r)
        for r in connection.execute(
            f"SELECT * FROM {table} WHERE account_id = ? ORDER BY 1, 2, 3", (account_id,)
        )
    ]


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(tmp_path / "history.sqlite3")
    yield connection
    connection.close()


# -- the database and its migrations ------------------------------------------------------


def tables(connection: sqlite3.Connection) -> set[str]:
    return {
        r[0]
        for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not r[0].startswith("sqlite_")
    }


def test_a_fresh_database_has_every_table(conn: sqlite3.Connection) -> None:
    created: set[str] = set()
    views: set[str] = set()
    for _, path in migrations():
        text = path.read_text(encoding="utf-8")
        created |= set(re.findall(r"CREATE TABLE (\w+)", text))
        created -= set(re.findall(r"DROP TABLE (\w+)", text))
        views |= set(re.findall(r"CREATE VIEW (\w+)", text))
    listed = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert created | views >= REQUIRED_TABLES
    assert tables(conn) == created | {"schema_migrations"}
    assert listed == views


def test_schema_migrations_lists_each_migration_once(conn: sqlite3.Connection) -> None:
    listed = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [tuple(r) for r in listed] == [(v, p.name) for v, p in migrations()]
    assert [v for v, _ in migrations()] == sorted({v for v, _ in migrations()})
    assert migrations()[0][1].name == "0001_initial.sql"


def test_connecting_again_applies_nothing_again(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    first = connect(path)
    before = dump(first)
    first.close()

    second = connect(path)
    assert dump(second) == before  # applied_at unchanged: nothing re-ran
    assert migrate(second) == migrations()[-1][0]
    assert dump(second) == before
    second.close()


def test_wal_journal_mode_is_on(conn: sqlite3.Connection, tmp_path: Path) -> None:
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    plain = sqlite3.connect(tmp_path / "history.sqlite3")  # WAL is a property of the file
    assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    plain.close()


def test_connect_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "history.sqlite3"
    connect(path).close()
    assert path.is_file()


def test_default_path_honours_account_health_db_then_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ACCOUNT_HEALTH_DB", str(tmp_path / "explicit.sqlite3"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "explicit.sqlite3"

    monkeypatch.delenv("ACCOUNT_HEALTH_DB")
    assert default_db_path() == tmp_path / "xdg" / "account-health" / "history.sqlite3"

    monkeypatch.setenv("ACCOUNT_HEALTH_DB", "")  # empty means unset
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_path() == (
        tmp_path / "home" / ".local" / "share" / "account-health" / "history.sqlite3"
    )

    connection = connect()  # no path: the default, created on first use
    connection.close()
    assert default_db_path().is_file()


def test_a_failing_migration_rolls_back_and_is_retried(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_first.sql").write_text("CREATE TABLE one (x INTEGER);\n", encoding="utf-8")
    (folder / "0002_second.sql").write_text(
        "CREATE TABLE two (x INTEGER);\nCREATE TABLE broken (;\n", encoding="utf-8"
    )
    monkeypatch.setattr(store_db, "MIGRATIONS", folder)
    path = tmp_path / "history.sqlite3"

    with pytest.raises(sqlite3.OperationalError):
        connect(path)
    plain = sqlite3.connect(path)
    assert [r[0] for r in plain.execute("SELECT version FROM schema_migrations")] == [1]
    assert tables(plain) == {"schema_migrations", "one"}  # `two` rolled back with 0002
    plain.close()

    (folder / "0002_second.sql").write_text("CREATE TABLE two (x INTEGER);\n", encoding="utf-8")
    connection = connect(path)
    assert [r[0] for r in connection.execute("SELECT version FROM schema_migrations")] == [1, 2]
    assert tables(connection) == {"schema_migrations", "one", "two"}
    connection.close()


def test_a_migration_file_must_be_numbered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "add_things.sql").write_text("CREATE TABLE t (x);\n", encoding="utf-8")
    monkeypatch.setattr(store_db, "MIGRATIONS", tmp_path)
    with pytest.raises(RuntimeError, match=r"NNNN_name\.sql"):
        migrations()


# -- runs ------------------------------------------------------------------------------------


def test_run_id_is_a_hash_of_content_date_level_and_policy() -> None:
    base = run_id_for("abc", AS_OF, "balanced", "1")
    assert base == run_id_for("abc", AS_OF, "balanced", "1")
    others = {
        run_id_for("abd", AS_OF, "balanced", "1"),
        run_id_for("abc", LATER, "balanced", "1"),
        run_id_for("abc", AS_OF, "autonomous", "1"),
        run_id_for("abc", AS_OF, "balanced", "2"),
    }
    assert base not in others and len(others) == 4


def test_a_completed_run_does_nothing_an_incomplete_one_resumes(conn) -> None:
    info = RunInfo("r1", AS_OF, "balanced", "v", "file.csv", "hash")
    assert start_run(conn, info) is True
    started = conn.execute("SELECT * FROM runs").fetchone()
    assert started["completed_at"] is None

    assert start_run(conn, info) is True  # killed and rerun: resume
    assert count(conn, "runs") == 1
    assert tuple(conn.execute("SELECT * FROM runs").fetchone()) == tuple(started)

    finish_run(conn, "r1", assessed=4, rejected=1)
    done = conn.execute("SELECT * FROM runs").fetchone()
    assert done["completed_at"] is not None and (done["assessed"], done["rejected"]) == (4, 1)
    assert start_run(conn, info) is False


# -- recording -------------------------------------------------------------------------------


def test_recording_writes_every_table_per_account(conn) -> None:
    written, assessments = record_rows(conn, demo_rows())

    assert written == 5
    for table in ("snapshots", "assessments", "measurement_events"):
        assert count(conn, table) == 5
    assert count(conn, "actions") == sum(len(a.actions) for a in assessments)
    assert count(conn, "review_tasks") == sum(a.review_task is not None for a in assessments)
    for a in assessments:
        row = conn.execute(
            "SELECT *, document(assessment_json) AS text FROM assessments "
            "WHERE account_id = ? AND as_of = ?",
            (a.account_id, AS_OF.isoformat()),
        ).fetchone()
        assert (row["score"], row["band"], row["run_id"]) == (a.score, a.band.value, "run-1")
        assert row["text"] == a.model_dump_json()
        assert json.loads(row["dimensions"]) == {d.dimension.value: d.score for d in a.dimensions}
        assert json.loads(row["flags"]) == [f.code.value for f in a.flags]
        snapshot = conn.execute(
            "SELECT *, document(record_json) AS text FROM snapshots WHERE account_id = ?",
            (a.account_id,),
        ).fetchone()
        record = AccountRecord.model_validate_json(snapshot["text"])
        assert snapshot["record_hash"] == record_hash(record)
        for action in a.actions:
            stored = conn.execute(
                "SELECT * FROM actions WHERE action_key = ?",
                (idempotency_key(a.account_id, action.action, AS_OF),),
            ).fetchone()
            assert (stored["status"], stored["as_of"]) == (action.status.value, AS_OF.isoformat())
        event = conn.execute(
            "SELECT * FROM measurement_events WHERE account_id = ?", (a.account_id,)
        ).fetchone()
        assert event["event_id"] == a.measurement_event.event_id


def test_recording_the_same_pairs_again_changes_nothing(conn) -> None:
    record_rows(conn, demo_rows())
    before = dump(conn)

    written, _ = record_rows(conn, demo_rows(), run_id="run-2")

    assert written == 0
    after = dump(conn)
    assert after.replace("run-2", "") != after  # only the new runs row differs...
    conn.execute("DELETE FROM runs WHERE run_id = 'run-2'")
    assert dump(conn) == before  # ...and nothing else


def test_a_changed_account_replaces_only_its_own_rows(conn) -> None:
    record_rows(conn, demo_rows())
    others = {
        acc: {t: rows_of(conn, t, acc) for t in ("snapshots", "assessments", "actions")}
        for acc in ("ACC-1002", "ACC-1003", "ACC-1004")
    }

    written, assessments = record_rows(
        conn, demo_rows(**{"ACC-1002": {"csat": 2.1}}), run_id="run-2"
    )

    assert written == 1
    for acc, tables_before in others.items():
        if acc != "ACC-1002":
            for table, rows in tables_before.items():
                assert rows_of(conn, table, acc) == rows
    changed = next(a for a in assessments if a.account_id == "ACC-1002")
    row = conn.execute("SELECT * FROM assessments WHERE account_id = 'ACC-1002'").fetchone()
    assert (row["score"], row["run_id"]) == (changed.score, "run-2")
    assert json.loads(
        conn.execute(
            "SELECT document(record_json) FROM snapshots WHERE account_id = 'ACC-1002'"
        ).fetchone()[0]
    )["csat"] == pytest.approx(2.1)
    assert count(conn, "snapshots") == count(conn, "measurement_events") == 5


def test_a_corrected_snapshot_drops_actions_and_tasks_nobody_acted_on(conn) -> None:
    """ACC-1001 corrected to thriving: its old actions and open task no longer apply,
    except the one already exported and the one already approved."""
    _, first = record_rows(conn, demo_rows())
    northwind = next(a for a in first if a.account_id == "ACC-1001")
    assert {x.action for x in northwind.actions} == {
        "create_discount_request",
        "send_checkin_email",
        "notify_owner_slack",
        "schedule_checkpoint",
        "update_health_score",
    }
    assert northwind.review_task is not None
    exported = idempotency_key("ACC-1001", "notify_owner_slack", AS_OF)
    conn.execute(
        "UPDATE actions SET exported_at = '2026-11-23T10:00:00' WHERE action_key = ?", (exported,)
    )
    # SilverPeak's check-in email needs approval: approve it, then correct the account.
    approved = idempotency_key("ACC-1004", "send_checkin_email", AS_OF)
    outbox.approve(conn, approved, by="Dana", reason="fine")

    written, second = record_rows(
        conn,
        demo_rows(**{"ACC-1001": THRIVING, "ACC-1004": THRIVING}),
        run_id="run-2",
    )

    assert written == 2
    now = {a.account_id: a for a in second}
    remedies = [x.action for x in now["ACC-1001"].actions if x.purpose is ActionPurpose.REMEDY]
    assert remedies == ["update_health_score"]
    plays = {x.action for x in now["ACC-1001"].actions if x.purpose is ActionPurpose.OPPORTUNITY}
    assert now["ACC-1001"].review_task is None
    kept = {
        r["action"]: r["state"]
        for r in conn.execute("SELECT action, state FROM actions WHERE account_id = 'ACC-1001'")
        if r["action"] not in plays  # a thriving account's opportunity plays are new rows
    }
    assert kept == {"update_health_score": "ready", "notify_owner_slack": "ready"}
    assert count(conn, "review_tasks", "account_id = 'ACC-1001'") == 0
    silverpeak = {
        r["action"]: r["state"]
        for r in conn.execute("SELECT action, state FROM actions WHERE account_id = 'ACC-1004'")
    }
    assert silverpeak["send_checkin_email"] == "approved"
    assert set(silverpeak) == {x.action for x in now["ACC-1004"].actions} | {"send_checkin_email"}
    assert count(conn, "action_decisions") == 1
    # The other two accounts kept everything.
    for acc in ("ACC-1002", "ACC-1003"):
        assert count(conn, "actions", "account_id = ?", acc) == len(
            next(a for a in first if a.account_id == acc).actions
        )


def test_an_approved_action_keeps_its_decision_when_the_account_is_recorded_again(conn) -> None:
    record_rows(conn, demo_rows())
    key = idempotency_key("ACC-1003", "create_support_task", AS_OF)
    outbox.approve(conn, key, by="Sam")

    record_rows(
        conn, demo_rows(**{"ACC-1003": {"notes": "Still waiting on a fix."}}), run_id="run-2"
    )

    row = conn.execute("SELECT state, status FROM actions WHERE action_key = ?", (key,)).fetchone()
    assert tuple(row) == ("approved", "approval_required")


def test_each_batch_is_one_transaction(conn) -> None:
    """A failure mid-run keeps the whole batches before it and nothing of the one it hit."""
    rows = [
        {**demo_rows()[i % 4], "account_id": f"ACC-{i:05d}", "name": f"Account {i}"}
        for i in range(12)
    ]
    records = [AccountRecord.model_validate(row) for row in rows]
    run = assess(records, as_of=AS_OF)
    start_run(conn, RunInfo("run-1", AS_OF, "balanced", run.policy_version, "t", "h"))

    def failing() -> Iterator[tuple[AccountRecord, Assessment]]:
        for index, pair in enumerate(zip(records, run.assessments, strict=True)):
            if index == 9:
                raise KeyboardInterrupt  # what a signal looks like in-process
            yield pair

    with pytest.raises(KeyboardInterrupt):
        record_assessments(conn, "run-1", failing(), batch_size=4)

    assert not conn.in_transaction
    for table in ("snapshots", "assessments", "measurement_events"):
        assert count(conn, table) == 8
    recorded = {r[0] for r in conn.execute("SELECT account_id FROM actions")}
    assert recorded == {f"ACC-{i:05d}" for i in range(8)}

    written = record_assessments(
        conn, "run-1", zip(records, run.assessments, strict=True), batch_size=4
    )
    assert written == 4  # the rerun adds the rest and nothing twice
    assert count(conn, "snapshots") == count(conn, "measurement_events") == 12


def test_a_write_error_rolls_back_its_batch(conn) -> None:
    records = [AccountRecord.model_validate(row) for row in demo_rows()]
    run = assess(records, as_of=AS_OF)
    # No runs row for "missing": the foreign key fails on the first insert.
    with pytest.raises(sqlite3.IntegrityError):
        record_assessments(conn, "missing", zip(records, run.assessments, strict=True))
    assert not conn.in_transaction
    assert count(conn, "snapshots") == count(conn, "actions") == 0


def test_an_account_listed_twice_is_written_once_as_last_listed(conn) -> None:
    rows = demo_rows()
    again = {**rows[0], "csat": 1.5}
    written, assessments = record_rows(conn, [*rows, again])

    assert written == 5
    assert count(conn, "snapshots") == 5
    stored = conn.execute("SELECT score FROM assessments WHERE account_id = 'ACC-1001'")
    assert stored.fetchone()[0] == assessments[-1].score


def test_batches_larger_than_the_query_chunk(conn) -> None:
    rows = [
        {**demo_rows()[i % 4], "account_id": f"ACC-{i:05d}", "name": f"Account {i}"}
        for i in range(1000)
    ]
    written, _ = record_rows(conn, rows, batch_size=1000)
    assert written == 1000
    written, _ = record_rows(conn, rows, run_id="run-2", batch_size=1000)
    assert written == 0
    previous = prior_assessments(conn, [(r["account_id"], LATER) for r in rows], depth=2)
    assert len(previous) == 1000


# -- previous snapshots ------------------------------------------------------------------------


def previous_snapshot(connection, account_id: str, before: date):
    """The latest recorded assessment strictly before `before`, or None."""
    history = prior_assessments(connection, [(account_id, before)], depth=1)
    found = history.get((account_id, before))
    return found[-1] if found else None


def test_previous_snapshot_is_the_latest_strictly_before(conn) -> None:
    _, first = record_rows(conn, demo_rows(), as_of=date(2026, 11, 9), run_id="w1")
    _, second = record_rows(
        conn, demo_rows(**{"ACC-1001": {"csat": 2.0}}), as_of=date(2026, 11, 16), run_id="w2"
    )

    assert previous_snapshot(conn, "ACC-1001", date(2026, 11, 9)) is None
    at_16 = previous_snapshot(conn, "ACC-1001", date(2026, 11, 16))
    assert at_16 is not None and at_16.as_of == date(2026, 11, 9)
    assert at_16.score == first[0].score
    later = previous_snapshot(conn, "ACC-1001", AS_OF)
    assert later is not None and later.as_of == date(2026, 11, 16)
    assert (later.score, later.band) == (second[0].score, second[0].band.value)
    assert later.dimensions == {d.dimension.value: d.score for d in second[0].dimensions}
    assert previous_snapshot(conn, "ACC-9999", AS_OF) is None

    keys = [("ACC-1001", AS_OF), ("ACC-1002", date(2026, 11, 16)), ("ACC-1003", date(2026, 11, 9))]
    batch = prior_assessments(conn, [*keys, ("ACC-9999", AS_OF)], depth=2)
    assert set(batch) == set(keys[:2])
    for account_id, before in keys[:2]:
        assert batch[(account_id, before)][-1] == previous_snapshot(conn, account_id, before)


def test_prior_assessments_are_the_latest_few_oldest_first(conn) -> None:
    for day in (2, 9, 16):
        record_rows(conn, demo_rows(), as_of=date(2026, 11, day), run_id=f"w{day}")

    history = prior_assessments(conn, [("ACC-1001", AS_OF)], depth=2)[("ACC-1001", AS_OF)]

    assert [p.as_of for p in history] == [date(2026, 11, 9), date(2026, 11, 16)]


# -- reading history for assess ------------------------------------------------------


def test_history_reader_feeds_the_library_assess_read_only(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    connection = connect(db)
    record_rows(connection, demo_rows(), as_of=date(2026, 11, 16), run_id="w1")
    connection.close()
    before = db.read_bytes()
    reader = HistoryReader(db, depth=2)

    try:
        from_file = assess(demo_file(), as_of=AS_OF, history=reader)
        from_rows = assess(demo_rows(), as_of=AS_OF, history=reader)
    finally:
        reader.close()

    for run in (from_file, from_rows):
        assert {a.trend.previous_as_of for a in run.assessments} == {date(2026, 11, 16)}
    assert from_file.model_dump_json() == from_rows.model_dump_json()
    assert db.read_bytes() == before


def test_history_reader_refuses_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(HistoryUnavailable, match="no history database at"):
        HistoryReader(tmp_path / "none.sqlite3", depth=2)
    assert not (tmp_path / "none.sqlite3").exists()


def one_assessment_at_version(
    version: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    """A database migrated only up to (not including) `version`, holding one assessment."""
    import shutil

    folder = tmp_path / "migrations"
    folder.mkdir()
    for number, source in migrations():
        if number < version:
            shutil.copy(source, folder / source.name)
    with monkeypatch.context() as patch:
        patch.setattr(store_db, "MIGRATIONS", folder)
        path = tmp_path / "history.sqlite3"
        old = connect(path)
        old.execute(
            "INSERT INTO runs (run_id, as_of, automation_level, policy_version, source, "
            "source_hash, started_at) VALUES ('r1', '2026-11-20', 'balanced', 'p', 'f', 'h', 't')"
        )
        old.execute(
            "INSERT INTO assessments VALUES ('A-1', '2026-11-20', 'balanced', 'p', 'A', 'smb', "
            "NULL, 1000, NULL, 71, 'yellow', 'steady', 'low', 50, 'x', '[]', '{}', '{}', 'r1')"
        )
        old.commit()
        old.close()
    return path


def test_0008_keeps_every_assessment_and_lets_the_score_be_null(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A database made before no_data assessments keeps its rows; score becomes NULL-able."""
    upgraded = connect(one_assessment_at_version(8, monkeypatch, tmp_path))
    assert [tuple(r) for r in upgraded.execute("SELECT account_id, score FROM assessments")] == [
        ("A-1", 71)
    ]
    columns = {r[1]: r[3] for r in upgraded.execute("PRAGMA table_info(assessments)")}
    assert columns["score"] == 0  # notnull flag off
    indexes = [r[1] for r in upgraded.execute("PRAGMA index_list(assessments)")]
    # Reading one date stays indexed (the date index, or a later one that begins with as_of).
    leading = [[c[2] for c in upgraded.execute(f'PRAGMA index_info("{n}")')][:1] for n in indexes]
    assert ["as_of"] in leading
    upgraded.close()


def test_0011_adds_opportunities_and_leaves_older_assessments_not_evaluated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A database made before opportunity flags keeps its rows, with opportunities NULL."""
    upgraded = connect(one_assessment_at_version(11, monkeypatch, tmp_path))
    rows = upgraded.execute("SELECT account_id, opportunities FROM assessments").fetchall()
    assert [tuple(r) for r in rows] == [("A-1", None)]
    upgraded.close()


def test_recording_keeps_each_assessments_opportunity_codes(conn) -> None:
    record_rows(conn, demo_rows())
    stored = dict(conn.execute("SELECT account_id, opportunities FROM assessments").fetchall())
    assert json.loads(stored["ACC-1005"]) == ["expansion_ready", "advocate", "loyal_customer"]
    assert json.loads(stored["ACC-1003"]) == []
