"""`db stats` adds up to the file, and `db prune` drops old documents while decisions,
outcomes, the queue, `measure` and `report` stay as they were."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from insights_support import write_outcomes
from weekly_history import record_weeks, weeks

from skill.insights.measure import measure
from skill.insights.report import portfolio_report
from skill.policy import load_policy
from skill.store import outbox
from skill.store.db import connect
from skill.store.history import prior_assessments
from skill.store.maintenance import PruneError, database_stats, prune
from skill.store.outcomes import import_outcomes
from skill.store.reviews import complete_review, list_review_tasks

DATES = weeks(4)
ACCOUNTS = 80
CUT = DATES[2]  # prune the first two dates


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    connection = connect(path)
    record_weeks(connection, ACCOUNTS, DATES)
    connection.close()
    return path


def decide_and_import(connection: sqlite3.Connection, tmp_path: Path) -> dict[str, str]:
    """Approve, reject and close a review on the oldest date; import outcomes."""
    keys = [
        r[0]
        for r in connection.execute(
            "SELECT action_key FROM actions WHERE state = 'pending' ORDER BY as_of, action_key"
        )
    ]
    outbox.approve(connection, keys[0], by="Dana Reyes")
    outbox.reject(connection, keys[1], by="Sam Lee", reason="Already in touch")
    complete_review(connection, "ACC-0003", by="Dana Reyes", note="Checked")
    outcomes = [
        (f"ACC-{i:04d}", "churned" if i % 3 else "renewed", "2026-12-20") for i in range(20)
    ]
    import_outcomes(connection, write_outcomes(tmp_path / "outcomes.csv", outcomes))
    return {"approved": keys[0], "rejected": keys[1]}


def test_stats_add_up_to_the_database_file(history: Path) -> None:
    connection = connect(history)
    stats = database_stats(connection, history)
    connection.close()

    assert (
        sum(t.bytes for t in stats.tables) + stats.other_bytes + stats.free_bytes
        == stats.database_bytes
    )
    # Closed, the write-ahead log is folded into the file: the pages are the file.
    assert history.stat().st_size == stats.database_bytes
    assert [d.as_of for d in stats.dates] == DATES
    assert [d.accounts for d in stats.dates] == [ACCOUNTS] * 4
    dated = {"assessments", "snapshots", "measurement_events", "actions", "review_tasks"}
    assert sum(d.bytes for d in stats.dates) == pytest.approx(
        sum(t.bytes for t in stats.tables if t.table in dated), abs=4
    )
    assert stats.account_dates == 4 * ACCOUNTS
    used = stats.database_bytes - stats.free_bytes
    assert stats.bytes_per_account_date == used // (4 * ACCOUNTS)


def test_stats_count_each_tables_indexes_with_it(history: Path) -> None:
    connection = connect(history)
    stats = database_stats(connection, history)
    index_pages = connection.execute(
        "SELECT SUM(pgsize) FROM dbstat WHERE name = 'assessments_portfolio'"
    ).fetchone()[0]
    table_pages = connection.execute(
        "SELECT SUM(pgsize) FROM dbstat WHERE name = 'assessments'"
    ).fetchone()[0]
    connection.close()

    assessments = next(t for t in stats.tables if t.table == "assessments")
    assert "assessments_portfolio" in assessments.indexes
    assert assessments.bytes > table_pages + index_pages - 1


def test_prune_keeps_decisions_outcomes_and_the_queue(history: Path, tmp_path: Path) -> None:
    connection = connect(history)
    decided = decide_and_import(connection, tmp_path)
    queue = list(outbox.list_actions(connection))
    reviews = list(list_review_tasks(connection))
    outcomes = connection.execute("SELECT * FROM outcomes ORDER BY account_id").fetchall()

    result = prune(connection, history, CUT)

    assert result.snapshots == 2 * ACCOUNTS and result.measurement_events == 2 * ACCOUNTS
    assert list(outbox.list_actions(connection)) == queue
    assert list(list_review_tasks(connection)) == reviews
    assert connection.execute("SELECT * FROM outcomes ORDER BY account_id").fetchall() == outcomes
    states = dict(connection.execute("SELECT action_key, state FROM actions"))
    assert states[decided["approved"]] == "approved" and states[decided["rejected"]] == "rejected"
    assert connection.execute("SELECT COUNT(*) FROM action_decisions").fetchone()[0] == 2
    connection.close()


def test_measure_and_report_give_the_same_answers_after_pruning(
    history: Path, tmp_path: Path
) -> None:
    policy = load_policy()
    connection = connect(history)
    decide_and_import(connection, tmp_path)
    day = date(2026, 12, 31)
    measured = measure(connection, policy, as_of=day).model_dump_json()
    reported = portfolio_report(connection, policy, as_of=day).model_dump_json()

    prune(connection, history, CUT)

    assert measure(connection, policy, as_of=day).model_dump_json() == measured
    assert portfolio_report(connection, policy, as_of=day).model_dump_json() == reported
    connection.close()


def test_prune_drops_old_documents_but_keeps_the_columns_trends_read(history: Path) -> None:
    connection = connect(history)
    before = prior_assessments(connection, [("ACC-0005", DATES[3])], depth=5)

    prune(connection, history, CUT)

    per_date = dict(
        connection.execute(
            "SELECT as_of, COUNT(assessment_json) FROM assessments GROUP BY as_of"
        ).fetchall()
    )
    snapshot_dates = {r[0] for r in connection.execute("SELECT DISTINCT as_of FROM snapshots")}
    assert prior_assessments(connection, [("ACC-0005", DATES[3])], depth=5) == before
    assert snapshot_dates == {DATES[2].isoformat(), DATES[3].isoformat()}
    # Old documents gone, except those a pending or approved action still reads.
    still_read = connection.execute(
        "SELECT COUNT(DISTINCT account_id || COALESCE(last_proposed, as_of)) FROM actions "
        "WHERE state IN ('pending', 'approved') AND exported_at IS NULL "
        "AND COALESCE(last_proposed, as_of) < ?",
        (CUT.isoformat(),),
    ).fetchone()[0]
    assert per_date[DATES[0].isoformat()] + per_date[DATES[1].isoformat()] == still_read
    assert per_date[DATES[3].isoformat()] == ACCOUNTS
    connection.close()


def test_an_action_still_waiting_keeps_its_document_so_approving_copies_it(
    history: Path,
) -> None:
    connection = connect(history)
    # An old pending action, superseded by nothing: a date recorded out of order.
    connection.execute(
        "UPDATE actions SET state = 'pending', superseded_by = NULL, last_proposed = as_of "
        "WHERE action_key = (SELECT action_key FROM actions WHERE as_of = ? "
        "AND status = 'approval_required' LIMIT 1)",
        (DATES[0].isoformat(),),
    )
    key = connection.execute(
        "SELECT action_key FROM actions WHERE as_of = ? AND state = 'pending'",
        (DATES[0].isoformat(),),
    ).fetchone()[0]

    result = prune(connection, history, CUT)
    outbox.approve(connection, key, by="Dana Reyes")

    copy = connection.execute(
        "SELECT document(action_json) FROM actions WHERE action_key = ?", (key,)
    ).fetchone()[0]
    assert result.assessment_documents_kept >= 1
    assert '"policy_trace"' in copy
    connection.close()


def test_every_document_kept_reads_back_after_pruning_and_vacuum(history: Path) -> None:
    connection = connect(history)
    kept_before = dict(
        connection.execute(
            "SELECT account_id || as_of, document(assessment_json) FROM assessments "
            "WHERE as_of >= ?",
            (CUT.isoformat(),),
        )
    )

    result = prune(connection, history, CUT)

    kept_after = dict(
        connection.execute(
            "SELECT account_id || as_of, document(assessment_json) FROM assessments "
            "WHERE as_of >= ?",
            (CUT.isoformat(),),
        )
    )
    used = {r[0] for r in connection.execute("SELECT base_id FROM document_bases").fetchall()}
    assert kept_after == kept_before
    assert result.base_documents > 0 and used  # the unused bases went, the needed stayed
    assert result.file_bytes_after < result.file_bytes_before
    assert history.stat().st_size == result.file_bytes_after
    connection.close()


def test_a_dry_run_changes_nothing(history: Path) -> None:
    connection = connect(history)
    dump = "\n".join(connection.iterdump())

    result = prune(connection, history, CUT, dry_run=True)

    assert "\n".join(connection.iterdump()) == dump
    assert result.dry_run and result.snapshots == 2 * ACCOUNTS
    assert result.file_bytes_after == result.file_bytes_before
    connection.close()


def test_the_newest_recorded_date_is_never_pruned(history: Path) -> None:
    connection = connect(history)
    with pytest.raises(PruneError, match=f"newest recorded date \\({DATES[3]}\\)"):
        prune(connection, history, date(2027, 1, 1))
    connection.close()


def test_without_dbstat_the_used_pages_are_shared_out_by_row_sizes(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from skill.store import maintenance

    connection = connect(history)
    counted = {t.table: t.bytes for t in database_stats(connection, history).tables}
    monkeypatch.setattr(maintenance, "_has_dbstat", lambda connection: False)
    stats = database_stats(connection, history)
    connection.close()

    assert stats.measured_with == "row sizes"
    used = stats.database_bytes - stats.free_bytes
    assert sum(t.bytes for t in stats.tables) + stats.other_bytes == used
    # An estimate, but of the right size for every table of some weight.
    for table in stats.tables:
        if counted[table.table] > used / 10:
            assert counted[table.table] / 2 < table.bytes < counted[table.table] * 2


def test_stats_of_a_database_with_nothing_recorded_yet(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    connection = connect(path)
    stats = database_stats(connection, path)
    connection.close()

    assert (stats.account_dates, stats.bytes_per_account_date, stats.dates) == (0, 0, [])
    assert sum(t.bytes for t in stats.tables) + stats.other_bytes + stats.free_bytes == (
        stats.database_bytes
    )
