"""`report`: ARR by band, movers, attention, the open review queue, calibration status."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from insights_support import (
    BAD,
    GOOD,
    WEAK,
    WEEK_1,
    WEEK_2,
    YELLOW,
    record,
    record_outcomes,
    write_outcomes,
)
from typer.testing import CliRunner

from skill.cli import app
from skill.insights.measure import measure
from skill.insights.report import NoHistoryError, portfolio_report, render_markdown
from skill.policy import load_policy
from skill.store.db import connect
from skill.store.outcomes import import_outcomes

POLICY = load_policy()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Week 1: all four healthy-ish; week 2: WEAK slipped, BAD and YELLOW are bad."""
    path = tmp_path / "history.sqlite3"
    connection = connect(path)
    record(
        connection,
        [GOOD, GOOD | {"account_id": "WEAK", "name": "Weak Co"}, YELLOW, BAD],
        WEEK_1,
    )
    record(connection, [GOOD, WEAK, YELLOW, BAD], WEEK_2)
    connection.close()
    return path


def test_report_numbers(db: Path):
    connection = connect(db)
    r = portfolio_report(connection, POLICY)
    assert r.as_of == WEEK_2
    assert (r.accounts, r.arr_total) == (4, 60000 + 20000 + 150000 + 250000)
    shares = {b.band: (b.accounts, b.arr, b.share_of_arr) for b in r.arr_by_band}
    assert shares == {
        "green": (2, 80000.0, round(80000 / 480000, 3)),
        "yellow": (1, 150000.0, round(150000 / 480000, 3)),
        "red": (1, 250000.0, round(250000 / 480000, 3)),
    }
    # WEAK fell from 95 to 76; the others moved a point at most (dates moved on a week)
    assert r.movers[0].account_id == "WEAK"
    assert (r.movers[0].previous_score, r.movers[0].score, r.movers[0].delta) == (95, 76, -19)
    assert all(abs(m.delta) <= 1 for m in r.movers[1:])
    assert r.accounts_with_history == 4

    # attention: red/yellow or a high-severity flag, by ARR
    assert [a.account_id for a in r.attention] == ["BAD", "YELLOW"]
    assert r.attention_total == 2 and r.attention_arr == 400000.0
    bad = r.attention[0]
    assert bad.renewal_date == date(2027, 2, 1) and bad.owner == "Dana Reyes"
    assert "payment_issue" in bad.flags and "payment_issue" in bad.high_severity_flags
    assert bad.next_action is not None and bad.next_action.priority == "high"
    assert bad.next_action.state in ("pending", "ready", "recommended", "blocked")

    q = r.review_queue
    open_tasks = connection.execute(
        "SELECT COUNT(DISTINCT account_id), COUNT(*) FROM review_tasks "
        "WHERE state IN ('open', 'superseded')"
    ).fetchone()
    pending = connection.execute("SELECT COUNT(*) FROM actions WHERE state = 'pending'").fetchone()[
        0
    ]
    connection.close()
    assert (q.review_tasks_open, q.review_tasks_open + q.review_tasks_superseded) == tuple(
        open_tasks
    )
    assert q.actions_pending == pending > 0
    assert [t.as_of for t in q.review_tasks] == [WEEK_2] * len(q.review_tasks)
    assert r.calibration.last is None
    assert r.calibration.ready_segments == []


def test_limit_and_as_of(db: Path):
    connection = connect(db)
    r = portfolio_report(connection, POLICY, as_of=date(2026, 11, 20), limit=1)
    assert r.as_of == WEEK_1
    assert r.movers == [] and r.accounts_with_history == 0
    assert len(r.attention) == 1 and r.attention_total == 2
    assert len(r.review_queue.pending_actions) <= 1
    with pytest.raises(NoHistoryError):
        portfolio_report(connection, POLICY, as_of=date(2026, 1, 1))
    connection.close()


def test_calibration_status_counts_outcomes_against_the_need(db: Path, tmp_path: Path):
    connection = connect(db)
    import_outcomes(
        connection,
        write_outcomes(
            tmp_path / "o.csv",
            [("BAD", "churned", "2026-12-15"), ("GOOD", "renewed", "2026-12-15")],
        ),
    )
    status = portfolio_report(connection, POLICY).calibration
    connection.close()
    assert (status.outcomes, status.churned) == (2, 1)
    mid = next(s for s in status.segments if s.segment == "mid_market")
    assert (mid.needs_outcomes, mid.needs_churned) == (58, 9)
    assert "mid_market 58 more outcomes and 9 more churned" in status.summary


def test_the_calibration_section_opens_with_measures_verdict(tmp_path: Path):
    # Every band churns half the time: AUC 0.5, weak by measure's verdict.
    cases = [(t, o, 1) for t in (BAD, YELLOW, WEAK, GOOD) for o in ("churned", "renewed")]
    connection = record_outcomes(tmp_path / "h.sqlite3", cases)
    override = tmp_path / "small.yaml"
    override.write_text("measurement:\n  min_outcomes: 8\n  min_churned: 2\n", encoding="utf-8")
    policy = load_policy(override)
    verdict = measure(connection, policy, as_of=date(2027, 3, 31)).verdict
    report = portfolio_report(connection, policy)
    assert report.calibration.verdict == verdict
    assert verdict.status == "weak"
    section = render_markdown(report).split("## Calibration status\n\n", 1)[1]
    assert section.startswith(verdict.summary + "\n")


def test_markdown_has_every_section(db: Path):
    connection = connect(db)
    text = render_markdown(portfolio_report(connection, POLICY))
    connection.close()
    for heading in (
        "# Weekly portfolio report, as of 2026-11-23",
        "## Share of ARR by band",
        "## Biggest movers",
        "## Needs attention",
        "## Open review queue",
        "## Calibration status",
    ):
        assert heading in text
    assert "| red | 1 | 250,000 | 52.1% |" in text
    assert "| Weak Co (WEAK) | mid_market | Sam Lee | 20,000 | 95 → 76 | -19 | green → green |" in (
        text
    )
    assert "| Bad Co (BAD) | 250,000 | 2027-02-01 | 19 red |" in text
    assert "No calibration run recorded yet" in text


def test_cli_report_json_and_md(db: Path):
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["as_of"] == "2026-11-23"
    assert [a["account_id"] for a in data["attention"]] == ["BAD", "YELLOW"]
    md = runner.invoke(app, ["report", "--db", str(db), "--limit", "1"])
    assert md.exit_code == 0 and "## Open review queue" in md.stdout


def test_cli_report_after_calibration_shows_the_last_run(db: Path, tmp_path: Path):
    connection = connect(db)
    connection.execute(
        "INSERT INTO calibrations (as_of, created_at, policy_version, outcomes, churned, "
        "held_out, auc_before, auc_after, weights_path, result_json) "
        "VALUES ('2026-11-23', '2026-11-23T10:00:00+00:00', 'x', 120, 30, 36, 0.7, 0.75, "
        "'weights.yaml', '{}')"
    )
    connection.close()
    result = CliRunner().invoke(app, ["report", "--db", str(db)])
    assert "Last calibration: for 2026-11-23" in result.stdout
    assert "held-out AUC 0.7 → 0.75; weights in weights.yaml" in result.stdout


def test_cli_report_on_an_empty_database_exits_2(tmp_path: Path):
    path = tmp_path / "empty.sqlite3"
    connect(path).close()
    result = CliRunner().invoke(app, ["report", "--db", str(path)])
    assert result.exit_code == 2
    assert "no assessments recorded" in result.stderr
