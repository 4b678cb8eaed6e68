"""A queue that stays true across weekly runs: carried over, superseded, decided untouched.

Three weekly runs of the demo file: week 2 proposes the same actions again (each
pending item carries over, none is duplicated); week 3 at the conservative level
turns approval_required into recommend_only, so the still-pending items become
superseded. What a person decided in week 1 stays as decided throughout.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from account_templates import as_seen_on, demo_as_seen_on
from insights_support import BAD, WEAK, account
from typer.testing import CliRunner

from skill import assess
from skill.cli import app
from skill.policy import load_policy
from skill.record import AccountRecord
from skill.store import outbox
from skill.store.db import _statements, connect, migrations
from skill.store.history import RunInfo, record_assessments, start_run
from skill.store.reviews import list_review_tasks

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo" / "accounts.json"
WEEKS = ["2026-11-16", "2026-11-23", "2026-11-30"]


def cli(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def run(db: Path, day: str, *extra: str) -> None:
    """Record the demo file as exported on `day` (its own dates never after the run's)."""
    source = demo_as_seen_on(day, db.parent) if day < "2026-11-23" else DEMO
    result = cli("run", source, "--db", db, "--as-of", day, "--format", "json", *extra)
    assert result.exit_code == 0, result.stderr


@pytest.fixture
def weeks(tmp_path: Path):
    """Week 1 recorded, one action approved and one rejected, then week 2 recorded."""
    db = tmp_path / "history.sqlite3"
    run(db, WEEKS[0])
    connection = connect(db)
    pending = outbox.list_actions(connection, state="pending")
    approved, rejected = pending[0], pending[1]
    outbox.approve(connection, approved.action_key, by="Morgan Lee")
    outbox.reject(connection, rejected.action_key, by="Morgan Lee", reason="not now")
    week_1_pending = {(i.account_id, i.action): i for i in pending[2:]}
    run(db, WEEKS[1])
    yield db, connection, approved, rejected, week_1_pending
    connection.close()


def test_week_2_carries_each_pending_item_over_without_duplicating_it(weeks):
    _, connection, approved, rejected, week_1_pending = weeks
    live = outbox.list_actions(connection, state="pending")
    by_action = {(i.account_id, i.action): i for i in live}
    assert len(by_action) == len(live)  # one live item per account and action
    for key, before in week_1_pending.items():
        item = by_action[key]
        assert item.action_key == before.action_key  # the same id: downstream keys hold
        assert (item.as_of, item.last_proposed) == (date(2026, 11, 16), date(2026, 11, 23))
        assert item.due_date == before.due_date
    # Decided items stay as decided; proposing them again is a new pending item.
    for decided, state in ((approved, "approved"), (rejected, "rejected")):
        again = outbox.get_action(connection, decided.action_key)
        assert (again.state, again.last_proposed) == (state, date(2026, 11, 16))
        fresh = by_action[(decided.account_id, decided.action)]
        assert fresh.action_key != decided.action_key
        assert fresh.as_of == date(2026, 11, 23)
    assert outbox.list_actions(connection, state="superseded") == []


def test_week_3_supersedes_what_it_no_longer_proposes_for_approval(weeks):
    db, connection, approved, rejected, _ = weeks
    before = outbox.list_actions(connection, state="pending")
    run(db, WEEKS[2], "--automation-level", "conservative")

    superseded = outbox.list_actions(connection, state="superseded")
    still = outbox.list_actions(connection, state="pending")
    assert {i.action_key for i in superseded} | {i.action_key for i in still} >= {
        i.action_key for i in before
    }
    assert superseded, "conservative turns some approval_required into recommend_only"
    for item in superseded:
        assert item.superseded_by == date(2026, 11, 30)
        assert item.last_proposed == date(2026, 11, 23)
    assert all(i.last_proposed == date(2026, 11, 30) for i in still)
    # Decided in week 1: untouched by either later week.
    assert outbox.get_action(connection, approved.action_key).state == "approved"
    assert outbox.get_action(connection, rejected.action_key).state == "rejected"
    # Superseded: not listed by default, never exported, not approvable.
    listed = {i.action_key for i in outbox.list_actions(connection)}
    assert listed.isdisjoint(i.action_key for i in superseded)
    exported = {p.idempotency_key for p in outbox.export(connection, include_exported=True)}
    assert exported.isdisjoint(i.action_key for i in superseded)
    with pytest.raises(outbox.OutboxError, match="superseded by the assessment of 2026-11-30"):
        outbox.approve(connection, superseded[0].action_key, by="Morgan Lee")
    # Review tasks: one live task per account, the newest.
    live_tasks = list_review_tasks(connection)
    assert {t.as_of for t in live_tasks} == {date(2026, 11, 30)}
    assert len({t.account_id for t in live_tasks}) == len(live_tasks)


def test_the_report_and_measure_count_only_live_items(weeks):
    db, connection, *_ = weeks
    live = len(outbox.list_actions(connection, state="pending"))
    report = json.loads(cli("report", "--db", db, "--format", "json").stdout)
    assert report["review_queue"]["actions_pending"] == live
    measured = json.loads(
        cli("measure", "--db", db, "--as-of", WEEKS[1], "--format", "json").stdout
    )
    assert measured["follow_through"]["open"] == live


def test_queue_listing_pages_filters_and_streams(weeks):
    db, connection, *_ = weeks
    everything = outbox.list_actions(connection)
    keys = [i.action_key for i in everything]

    page = json.loads(cli("actions", "list", "--db", db, "--limit", "3", "-f", "json").stdout)
    assert [a["action_key"] for a in page["actions"]] == keys[:3]
    assert page["next_offset"] == 3
    rest = cli("actions", "list", "--db", db, "--offset", "3", "-f", "jsonl")
    assert [json.loads(line)["action_key"] for line in rest.stdout.splitlines()] == keys[3:]
    streamed = cli("actions", "list", "--db", db, "--limit", "2", "-f", "jsonl")
    assert len(streamed.stdout.splitlines()) == 2
    assert "continue with --offset 2" in streamed.stderr

    since = cli("actions", "list", "--db", db, "--since", WEEKS[1], "-f", "jsonl").stdout
    assert {json.loads(line)["last_proposed"] for line in since.splitlines()} == {WEEKS[1]}
    week_1 = cli("actions", "list", "--db", db, "--as-of", WEEKS[0], "-f", "jsonl").stdout
    assert {json.loads(line)["as_of"] for line in week_1.splitlines()} == {WEEKS[0]}

    tasks = cli("review", "list", "--db", db, "--state", "superseded", "-f", "jsonl").stdout
    assert {json.loads(line)["as_of"] for line in tasks.splitlines()} == {WEEKS[0]}
    one = json.loads(cli("review", "list", "--db", db, "--limit", "1", "-f", "json").stdout)
    assert one["count"] == 1 and one["next_offset"] == 1
    bad = cli("actions", "list", "--db", db, "--since", "last week")
    assert bad.exit_code == 2 and "--since 'last week' is not a date" in bad.stderr


def test_the_migration_supersedes_what_older_databases_left_pending(tmp_path: Path):
    """Before 0006 every week's pending actions stayed pending side by side."""
    db = tmp_path / "history.sqlite3"
    run(db, WEEKS[0])
    connection = connect(db)
    week_1 = {i.action_key for i in outbox.list_actions(connection, state="pending")}
    connection.close()
    run(db, WEEKS[1])
    connection = connect(db)
    # What a pre-0006 database held: week 1's rows still pending, week 2's own rows.
    connection.execute("UPDATE actions SET last_proposed = NULL")
    rows = connection.execute(
        f"SELECT * FROM actions WHERE action_key IN ({','.join('?' * len(week_1))})",
        sorted(week_1),
    ).fetchall()
    for row in rows:
        copy = {**dict(row), "as_of": WEEKS[1], "action_key": row["action_key"][:-4] + "beef"}
        connection.execute(
            f"INSERT INTO actions ({', '.join(copy)}) VALUES ({', '.join('?' * len(copy))})",
            list(copy.values()),
        )
    [(_, path)] = [m for m in migrations() if m[1].name == "0006_superseded.sql"]
    for statement in _statements(path.read_text(encoding="utf-8")):
        if statement.startswith("UPDATE"):
            connection.execute(statement)

    pending = outbox.list_actions(connection, state="pending")
    assert {i.as_of for i in pending} == {date(2026, 11, 23)}
    assert len({(i.account_id, i.action) for i in pending}) == len(pending)
    superseded = outbox.list_actions(connection, state="superseded")
    assert {i.action_key for i in superseded} == week_1
    assert {i.superseded_by for i in superseded} == {date(2026, 11, 23)}
    connection.close()


def test_a_superseded_task_remembers_whether_it_was_open_or_deferred(tmp_path: Path):
    db = tmp_path / "history.sqlite3"
    tight = tmp_path / "tight.yaml"
    tight.write_text(
        "actions:\n  review_task:\n    budget: {max_share: 0.25, min_tasks: 1}\n", "utf-8"
    )
    run(db, WEEKS[0], "--policy", str(tight))
    run(db, WEEKS[1], "--policy", str(tight))
    connection = connect(db)
    before = dict(
        connection.execute(
            "SELECT superseded_from, COUNT(*) FROM review_tasks WHERE as_of = ? GROUP BY 1",
            (WEEKS[0],),
        ).fetchall()
    )
    connection.close()
    assert before == {"open": 1, "also_at_risk": before["also_at_risk"]}
    assert before["also_at_risk"] >= 1


def _pairs(rows: list[dict], day: date) -> list:
    rows = [as_seen_on(r, day.isoformat()) for r in rows]
    run_ = assess(rows, as_of=day)
    return [
        (AccountRecord.model_validate(r), a) for r, a in zip(rows, run_.assessments, strict=True)
    ]


def record_assessments_of(connection, run_id: str, pairs: list) -> None:
    """Record (record, assessment) pairs as one run, as `run` would."""
    info = RunInfo(run_id, pairs[0][1].as_of, "balanced", load_policy().version, "test", run_id)
    start_run(connection, info)
    record_assessments(connection, run_id, pairs)


def test_two_dates_of_an_account_in_one_batch_settle_the_queue_as_the_newer_says(
    tmp_path: Path,
):
    """A file listing an account on two dates: the older date's pending items enter
    superseded by the newer one, and what was pending before both carries over or is
    superseded by the newer date alone, as two runs would leave the live queue."""

    rows = [account(WEAK, f"ACC-{i}") for i in range(3)]
    days = [date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
    together, apart = connect(tmp_path / "one.sqlite3"), connect(tmp_path / "two.sqlite3")
    for connection in (together, apart):
        record_assessments_of(connection, "week-0", _pairs(rows, days[0]))
    record_assessments_of(together, "both", _pairs(rows, days[1]) + _pairs(rows, days[2]))
    for day in days[1:]:
        record_assessments_of(apart, f"run-{day}", _pairs(rows, day))

    def live(connection):
        return [
            (i.action_key, i.as_of, i.last_proposed, i.state)
            for i in outbox.list_actions(connection, state="pending")
        ]

    assert live(together) and live(together) == live(apart)
    week_0 = {(i.account_id, i.action) for i in outbox.list_actions(together, state="pending")}
    middle = outbox.list_actions(together, state="superseded")
    assert {i.as_of for i in middle} == {days[1]}
    assert {i.superseded_by for i in middle} == {days[2]}
    assert all((i.account_id, i.action) in week_0 for i in middle)
    for connection in (together, apart):
        connection.close()


def test_an_older_date_recorded_after_a_newer_one_enters_superseded(tmp_path: Path):
    """Recording a week that is older than one already recorded (a late export): its
    pending items and open tasks enter superseded by the newer date, whose queue stays."""
    rows = [account(BAD, f"ACC-{i}") for i in range(3)]  # each with a review task
    newer, older = date(2026, 11, 23), date(2026, 11, 16)
    connection = connect(tmp_path / "history.sqlite3")
    record_assessments_of(connection, "newer", _pairs(rows, newer))
    live = outbox.list_actions(connection, state="pending")
    record_assessments_of(connection, "older", _pairs(rows, older))

    assert live and outbox.list_actions(connection, state="pending") == live
    late = outbox.list_actions(connection, state="superseded")
    assert late and {(i.as_of, i.superseded_by) for i in late} == {(older, newer)}
    tasks = list_review_tasks(connection, state="superseded")
    assert tasks and {t.as_of for t in tasks} == {older}
    connection.close()
