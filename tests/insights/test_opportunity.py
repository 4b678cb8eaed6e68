"""The report's opportunity side: the risk/opportunity matrix, the advocacy shortlist and the
executive briefing, on a small recorded history whose answers are worked out by hand."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from insights_support import BAD, GOOD, WEAK, WEEK_2, YELLOW, record
from typer.testing import CliRunner

from skill.cli import app
from skill.insights.report import portfolio_report, render_markdown
from skill.policy import Policy, deep_merge, default_policy_data, load_policy
from skill.store.db import connect

POLICY = load_policy()

# GOOD (60,000) is thriving and green: expansion_ready and advocate.
LOYAL = GOOD | {
    "account_id": "LOYAL",
    "name": "Loyal Co",
    "arr": 40000,
    "renewal_date": "2027-02-15",  # 84 days: the loyalty window, an annual contract
    "contract_term": "annual",
    "expansion_signal": False,
    "features_adopted": 6,
    "champion": "weak",
}
GROW = GOOD | {
    "account_id": "GROW",
    "name": "Grow Co",
    "arr": 30000,
    "weekly_activity": [40, 42, 41, 43],  # steady
    "features_adopted": 5,
    "expansion_signal": False,
}
OVERDUE = GOOD | {
    "account_id": "OVERDUE",
    "name": "Overdue Co",
    "arr": 80000,
    "payment_status": "overdue",
    "days_overdue": 20,
}
PLAIN = GOOD | {
    "account_id": "PLAIN",
    "name": "Plain Co",
    "arr": 10000,
    "expansion_signal": False,
    "features_adopted": 6,
    "champion": "weak",
}
# Three red accounts to order by ARR at stake: 300,000, 250,000 (BAD) and unknown.
BIGGER = BAD | {"account_id": "BIGGER", "name": "Bigger Co", "arr": 300000}
NO_ARR = BAD | {"account_id": "NO-ARR", "name": "No ARR Co", "arr": None}


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(tmp_path / "history.sqlite3")
    accounts = [GOOD, LOYAL, GROW, OVERDUE, PLAIN, YELLOW, BAD, BIGGER, NO_ARR]
    record(connection, [{k: v for k, v in a.items() if v is not None} for a in accounts], WEEK_2)
    yield connection
    connection.close()


def cells(connection: sqlite3.Connection) -> dict[tuple[str, str], tuple[int, float]]:
    matrix = portfolio_report(connection, POLICY).risk_opportunity_matrix
    return {(c.band, c.opportunity): (c.accounts, c.arr) for c in matrix.cells if c.accounts}


def test_the_matrix_places_each_account_by_band_and_opportunity_with_its_arr(connection):
    assert cells(connection) == {
        ("green", "none"): (1, 10000.0),  # PLAIN
        ("green", "expansion_ready"): (2, 140000.0),  # GOOD, OVERDUE
        ("green", "advocate"): (2, 140000.0),  # GOOD, OVERDUE
        ("green", "loyal_customer"): (1, 40000.0),  # LOYAL
        ("green", "room_to_grow"): (1, 30000.0),  # GROW
        ("green", "any"): (4, 210000.0),
        ("yellow", "none"): (1, 150000.0),  # YELLOW
        ("red", "none"): (3, 550000.0),  # BAD, BIGGER, NO-ARR (no ARR counts as 0)
    }


def test_the_matrix_rows_and_columns_are_the_bands_and_the_flags(connection):
    matrix = portfolio_report(connection, POLICY).risk_opportunity_matrix
    assert matrix.bands == ["green", "yellow", "red"]
    assert matrix.opportunities == [
        "none",
        "expansion_ready",
        "advocate",
        "loyal_customer",
        "room_to_grow",
        "any",
    ]
    assert (matrix.accounts_with_opportunity, matrix.arr_with_opportunity) == (4, 210000.0)


def test_each_play_counts_the_accounts_it_was_proposed_to_and_held_from(connection):
    plays = {
        p.action: (p.opportunities, p.proposed, p.held, p.arr)
        for p in portfolio_report(connection, POLICY).risk_opportunity_matrix.plays
    }
    assert plays == {
        # OVERDUE's upsell and advocacy ask are held: a payment is overdue
        "flag_upsell_opportunity": (["expansion_ready"], 1, 1, 60000.0),
        "send_engagement_email": (["room_to_grow"], 1, 0, 30000.0),
        "request_advocacy": (["advocate"], 1, 1, 60000.0),
        "propose_loyalty_benefit": (["loyal_customer"], 1, 0, 40000.0),
    }


def test_the_advocacy_shortlist_puts_a_held_ask_last_and_names_the_rule(connection):
    shortlist = portfolio_report(connection, POLICY).advocacy_shortlist
    assert (shortlist.total, shortlist.ready) == (2, 1)
    good, overdue = shortlist.advocates
    assert (good.account_id, good.ask_status, good.ask_state) == (
        "GOOD",
        "approval_required",
        "pending",
    )
    assert "strong champion" in good.evidence and "CSAT 4.6 of 5" in good.evidence
    assert (overdue.account_id, overdue.ask_status) == ("OVERDUE", "blocked")
    assert overdue.held_by == ["opportunity_payment_overdue"]


def test_the_executive_briefing_lists_red_accounts_by_arr_at_stake(connection):
    briefing = portfolio_report(connection, POLICY).executive_briefing
    assert [a.account_id for a in briefing.accounts] == ["BIGGER", "BAD", "NO-ARR"]
    assert (briefing.total, briefing.arr_at_stake, briefing.accounts_without_arr) == (
        3,
        550000.0,
        1,
    )
    assert all(a.band == "red" for a in briefing.accounts)
    assert "payment_issue" in briefing.accounts[0].flags


def test_the_executive_briefing_respects_the_limit_but_counts_everyone(connection):
    briefing = portfolio_report(connection, POLICY, limit=1).executive_briefing
    assert [a.account_id for a in briefing.accounts] == ["BIGGER"]
    assert briefing.total == 3


def test_an_assessment_from_before_opportunity_flags_is_not_evaluated(connection):
    connection.execute("UPDATE assessments SET opportunities = NULL WHERE account_id = 'GOOD'")
    matrix = portfolio_report(connection, POLICY).risk_opportunity_matrix
    assert matrix.not_evaluated == 1
    assert cells(connection)[("green", "expansion_ready")] == (1, 80000.0)  # OVERDUE alone


def test_a_flag_without_its_play_counts_in_the_matrix_only(tmp_path: Path):
    """WEAK is steady with room to grow, but a detractor: no engagement email is proposed."""
    connection = connect(tmp_path / "weak.sqlite3")
    [weak] = record(connection, [WEAK], WEEK_2)
    assert [o.code.value for o in weak.opportunities] == ["room_to_grow"]
    report = portfolio_report(connection, POLICY)
    [engagement] = [
        p for p in report.risk_opportunity_matrix.plays if p.action == "send_engagement_email"
    ]
    assert (engagement.proposed, engagement.held) == (0, 0)
    assert cells(connection)[("green", "room_to_grow")] == (1, 20000.0)


def test_the_markdown_has_the_three_sections(connection):
    text = render_markdown(portfolio_report(connection, POLICY))
    assert "## Executive briefing: at-risk accounts by ARR at stake" in text
    assert "| green | 1 (10,000) | 2 (140,000) | 2 (140,000) | 1 (40,000) | 1 (30,000) |" in text
    assert "## Advocacy shortlist" in text
    assert "blocked, blocked (opportunity_payment_overdue)" in text


def test_report_json_carries_the_matrix(connection, tmp_path: Path):
    db = tmp_path / "history.sqlite3"
    result = CliRunner().invoke(app, ["report", "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["advocacy_shortlist"]["total"] == 2
    assert data["executive_briefing"]["accounts"][0]["account_id"] == "BIGGER"
    green_any = next(
        c
        for c in data["risk_opportunity_matrix"]["cells"]
        if (c["band"], c["opportunity"]) == ("green", "any")
    )
    assert green_any["accounts"] == 4


def test_a_held_play_is_never_the_next_action_in_attention(tmp_path: Path):
    """OVERDUE (enterprise) carries a high-priority upsell, held by the overdue payment; due
    the same day as its Slack notification, it would come first by id."""
    policy = Policy.model_validate(
        deep_merge(
            default_policy_data(),
            {"actions": {"catalogue": {"flag_upsell_opportunity": {"due_days": 0}}}},
        )
    )
    connection = connect(tmp_path / "held.sqlite3")
    [overdue] = record(connection, [OVERDUE | {"segment": "enterprise"}], WEEK_2, policy)
    held = next(a for a in overdue.actions if a.action == "flag_upsell_opportunity")
    assert (held.priority.value, held.status.value) == ("high", "blocked")
    [row] = portfolio_report(connection, policy).attention
    assert row.next_action is not None and row.next_action.action == "notify_owner_slack"
