"""The owner review queue: `review list` and `review done` (who, when, note).

The database is filled by `account-health run` on the demo file twice, a week
apart: Northwind (ACC-1001, renewal risk), HarborView (ACC-1003, escalation)
and SilverPeak (ACC-1004, high value) get a review task each time; GreenSprout
(ACC-1002) gets none.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from account_templates import demo_as_seen_on
from typer.testing import CliRunner

from skill.cli import app
from skill.demo import demo_file
from skill.insights.measure import measure
from skill.insights.report import portfolio_report
from skill.policy import load_policy
from skill.store.db import connect
from skill.store.reviews import ReviewError, complete_review, list_review_tasks

WEEK_1, WEEK_2 = "2026-11-16", "2026-11-23"


def cli(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    for day in (WEEK_1, WEEK_2):
        source = demo_as_seen_on(day, tmp_path) if day == WEEK_1 else demo_file()
        result = cli("run", source, "--db", path, "--as-of", day, "--format", "json")
        assert result.exit_code == 0, result.stderr
    return path


def test_list_shows_every_task_by_due_date_with_its_reasons(db: Path) -> None:
    result = cli("review", "list", "--db", db, "--format", "json")

    document = json.loads(result.stdout)
    tasks = document["tasks"]
    assert document["count"] == len(tasks) == 3  # one live task per account: week 2's
    assert {t["as_of"] for t in tasks} == {WEEK_2}
    assert [t["due_date"] for t in tasks] == sorted(t["due_date"] for t in tasks)
    assert {t["account_id"] for t in tasks} == {"ACC-1001", "ACC-1003", "ACC-1004"}
    northwind = next(t for t in tasks if t["account_id"] == "ACC-1001")
    assert northwind["account_name"] == "Northwind Logistics"
    assert northwind["reasons"][0].startswith("Renewal risk")
    assert (northwind["state"], northwind["done_by"]) == ("open", None)


def test_list_filters_by_state_owner_and_account(db: Path) -> None:
    connection = connect(db)
    complete_review(connection, "ACC-1003", by="Priya Natarajan")

    assert len(list_review_tasks(connection, state="open")) == 2
    assert {t.account_id for t in list_review_tasks(connection, state="done")} == {"ACC-1003"}
    assert {t.owner for t in list_review_tasks(connection, owner="Morgan Lee")} == {"Morgan Lee"}
    assert len(list_review_tasks(connection, account="ACC-1001")) == 1
    assert len(list_review_tasks(connection, account="ACC-1001", state="superseded")) == 1
    connection.close()


def test_done_records_who_when_and_the_note(db: Path) -> None:
    result = cli(
        "review", "done", "ACC-1001", "--by", "Dana Reyes", "--note", "renewal call booked",
        "--db", db, "--format", "json",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    task = json.loads(result.stdout)["task"]
    assert (task["as_of"], task["state"], task["done_by"]) == (WEEK_2, "done", "Dana Reyes")
    assert task["note"] == "renewal call booked"
    assert task["done_at"].endswith("+00:00")


def test_week_2_supersedes_week_1s_open_task_keeping_its_due_date(db: Path) -> None:
    connection = connect(db)
    [old] = list_review_tasks(connection, account="ACC-1001", state="superseded")
    [live] = list_review_tasks(connection, account="ACC-1001")

    assert (old.as_of.isoformat(), old.superseded_by) == (WEEK_1, date(2026, 11, 23))
    assert (live.as_of.isoformat(), live.state) == (WEEK_2, "open")
    assert live.due_date == old.due_date
    connection.close()


def test_done_closes_the_live_task_and_leaves_superseded_ones(db: Path) -> None:
    result = cli("review", "done", "ACC-1001", "--by", "Dana Reyes", "--db", db, "-f", "json")

    assert json.loads(result.stdout)["also_closed"] == []
    others = list_review_tasks(connect(db), state="open")
    assert "ACC-1001" not in {t.account_id for t in others}
    assert len(others) == 2
    [old] = list_review_tasks(connect(db), account="ACC-1001", state="superseded")
    assert old.done_by is None


def test_done_refuses_a_superseded_task_naming_the_newer_one(db: Path) -> None:
    connection = connect(db)

    with pytest.raises(ReviewError, match=f"superseded by the assessment of {WEEK_2}"):
        complete_review(connection, "ACC-1004", by="Morgan Lee", as_of=date(2026, 11, 16))
    connection.close()


def test_a_task_already_done_is_refused_naming_who_did_it(db: Path) -> None:
    cli("review", "done", "ACC-1003", "--by", "Priya Natarajan", "--db", db)

    again = cli("review", "done", "ACC-1003", "--by", "Someone Else", "--db", db)
    at_date = cli("review", "done", "ACC-1003", "--as-of", WEEK_2, "--by", "X", "--db", db)

    assert again.exit_code == 2
    assert "ACC-1003 has no open review task (1 done, 1 superseded)" in again.stderr
    assert at_date.exit_code == 2
    assert "already done by Priya Natarajan" in at_date.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ACC-1002", "--by", "Dana Reyes"], "no review task for ACC-1002"),
        (["ACC-1001", "--by", "  "], "--by must name the person"),
        (["ACC-1001", "--by", "Dana", "--as-of", "next week"], "--as-of 'next week' is not a date"),
        (["ACC-1001", "--by", "Dana", "--as-of", "2026-11-02"], "as of 2026-11-02"),
    ],
    ids=["no-task", "blank-name", "bad-date", "no-task-that-day"],
)
def test_done_refuses_what_it_cannot_record(db: Path, args: list[str], message: str) -> None:
    result = cli("review", "done", *args, "--db", db)

    assert result.exit_code == 2
    assert message in result.stderr


def test_done_is_counted_by_measure_and_leaves_the_report_queue(db: Path) -> None:
    connection = connect(db)
    policy = load_policy()
    before = measure(connection, policy, as_of=date(2026, 11, 23)).score_changes.review_tasks_done
    queue_before = portfolio_report(connection, policy).review_queue.review_tasks_open

    complete_review(connection, "ACC-1003", by="Priya Natarajan")

    assert (
        measure(connection, policy, as_of=date(2026, 11, 23)).score_changes.review_tasks_done
        == before + 1
    )
    queue = portfolio_report(connection, policy).review_queue
    assert queue.review_tasks_open == queue_before - 1
    assert "ACC-1003" not in {t.account_id for t in queue.review_tasks}
    connection.close()


def test_a_rerun_of_the_same_date_keeps_the_review_done(db: Path) -> None:
    complete_review(connect(db), "ACC-1001", by="Dana Reyes", note="checked")
    changed = json.loads(demo_file().read_text(encoding="utf-8"))
    changed["accounts"][0]["csat"] = 3.9
    corrected = db.parent / "corrected.json"
    corrected.write_text(json.dumps(changed), encoding="utf-8")

    result = cli("run", corrected, "--db", db, "--as-of", WEEK_2, "--format", "json")

    assert result.exit_code == 0, result.stderr
    [task] = list_review_tasks(connect(db), account="ACC-1001", state="done")[-1:]
    assert (task.as_of.isoformat(), task.done_by, task.note) == (WEEK_2, "Dana Reyes", "checked")


def test_table_on_a_terminal_names_who_closed_each_task(db: Path) -> None:
    complete_review(connect(db), "ACC-1004", by="Morgan Lee")

    table = cli("review", "list", "--db", db, "--format", "table").stdout

    assert "done (Morgan Lee)" in table
    assert table.rstrip().endswith("3 review task(s)")


def test_review_error_is_a_value_error_for_library_callers(db: Path) -> None:
    with pytest.raises(ReviewError):
        complete_review(connect(db), "ACC-9999", by="Dana Reyes")


# -- the review budget ------------------------------------------------------------


@pytest.fixture
def budgeted(tmp_path: Path) -> tuple[Path, Path]:
    """A run of eight escalated accounts under a 25% budget: two tasks open, six deferred."""
    policy = tmp_path / "budget.yaml"
    policy.write_text(
        "actions:\n  review_task:\n    budget: {max_share: 0.25, min_tasks: 1}\n", encoding="utf-8"
    )
    rows = [
        {"account_id": f"ACC-{i:02d}", "segment": "smb", "owner": "Dana Reyes",
         "arr": 10000 * i, "escalations_90d": 1, "active_users": 40, "licensed_seats": 50}
        for i in range(1, 9)
    ]  # fmt: skip
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps(rows), encoding="utf-8")
    db = tmp_path / "history.sqlite3"
    result = cli("run", accounts, "--db", db, "--as-of", WEEK_2, "--policy", policy, "-f", "json")
    assert result.exit_code == 0, result.stderr
    return db, policy


def test_run_keeps_the_budget_open_and_records_the_rest_also_at_risk(budgeted) -> None:
    db, _ = budgeted
    connection = connect(db)
    open_ = {t.account_id for t in list_review_tasks(connection, state="open")}
    deferred = {t.account_id for t in list_review_tasks(connection, state="also_at_risk")}
    connection.close()
    assert open_ == {"ACC-08", "ACC-07"}
    assert deferred == {f"ACC-0{i}" for i in range(1, 7)}


def test_an_account_also_at_risk_can_still_be_reviewed(budgeted) -> None:
    db, _ = budgeted
    result = cli("review", "done", "ACC-03", "--by", "Dana Reyes", "--db", db, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["task"]["state"] == "done"


def test_the_report_lists_the_accounts_also_at_risk_by_rank(budgeted) -> None:
    db, policy_file = budgeted
    connection = connect(db)
    queue = portfolio_report(connection, load_policy(policy_file)).review_queue
    connection.close()
    assert queue.review_tasks_open == 2
    assert queue.also_at_risk_total == 6
    assert [t.account_id for t in queue.also_at_risk] == [f"ACC-0{i}" for i in range(6, 0, -1)]


def test_the_weekly_report_markdown_says_how_many_more_are_at_risk(budgeted) -> None:
    db, policy_file = budgeted
    result = cli("report", "--db", db, "--policy", policy_file, "--format", "md")
    assert result.exit_code == 0, result.stderr
    section = result.stdout.split("### Also at risk", 1)[1]
    assert "6 more accounts have a review reason but rank below the review budget" in section
    assert "| ACC-06 | Dana Reyes | 60,000 |" in section
