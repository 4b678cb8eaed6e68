"""`measure` on the opportunity side: how well the opportunity flags ranked expansions.

The fixture has answers worked out by hand. Ten outcomes on 2026-12-15, each
joined with the account's assessment of 2026-11-23:
- four GOOD accounts (score 94; expansion_ready and advocate): 3 expanded, 1 renewed;
- four PLAIN accounts (score 90; no opportunity flag): 1 expanded, 3 renewed;
- two BAD accounts (score 19; no opportunity flag): both churned.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from insights_support import BAD, GOOD, record_outcomes
from typer.testing import CliRunner

from skill.cli import app
from skill.insights.measure import expansion_auc, measure, render_markdown
from skill.policy import load_policy

AS_OF = date(2027, 3, 31)
POLICY = load_policy()
PLAIN = GOOD | {
    "account_id": "PLAIN",
    "expansion_signal": False,
    "features_adopted": 6,
    "champion": "weak",
}


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = record_outcomes(
        tmp_path / "history.sqlite3",
        [
            (GOOD, "expanded", 3),
            (GOOD, "renewed", 1),
            (PLAIN, "expanded", 1),
            (PLAIN, "renewed", 3),
            (BAD, "churned", 2),
        ],
    )
    yield connection
    connection.close()


def by_flag(connection: sqlite3.Connection) -> dict[str, object]:
    return {f.flag: f for f in measure(connection, POLICY, as_of=AS_OF).expansion.by_flag}


def test_expansion_counts_every_matched_outcome(connection):
    e = measure(connection, POLICY, as_of=AS_OF).expansion
    assert (e.outcomes, e.expanded, e.rate, e.not_evaluated) == (10, 4, 0.4, 0)


def test_expansion_rate_with_and_without_a_flag(connection):
    ready = by_flag(connection)["expansion_ready"]
    assert (ready.with_flag.n, ready.with_flag.expanded, ready.with_flag.rate) == (4, 3, 0.75)
    assert (ready.without_flag.n, ready.without_flag.expanded) == (6, 1)
    assert ready.without_flag.rate == 0.167
    assert ready.lift == 4.5  # 0.75 / (1/6)


def test_a_flag_as_a_yes_no_ranking_has_its_auc(connection):
    # 4 expanded x 6 not = 24 pairs: 3 flagged expanded beat 5 unflagged others (15 wins);
    # 3 x 1 flagged others and 1 x 5 unflagged others are ties (8 halves): 19 / 24.
    auc = by_flag(connection)["expansion_ready"].auc
    assert (auc.value, auc.n, auc.expanded) == (round(19 / 24, 3), 10, 4)


def test_the_number_of_flags_and_the_score_as_rankings(connection):
    e = measure(connection, POLICY, as_of=AS_OF).expansion
    assert e.flag_count_auc.value == round(19 / 24, 3)  # GOOD has two flags, the rest none
    # by score, 94 > 90 > 19: GOOD's 3 expanded beat PLAIN's 3 and BAD's 2 and tie one GOOD
    # (16.5); PLAIN's 1 beats BAD's 2 and ties PLAIN's 3 (3.5): 20 / 24.
    assert e.score_auc.value == round(20 / 24, 3)


def test_a_flag_nobody_has_ranks_nothing(connection):
    loyal = by_flag(connection)["loyal_customer"]
    assert (loyal.with_flag.n, loyal.with_flag.rate, loyal.lift) == (0, None, None)
    assert loyal.auc.value == 0.5


def test_outcomes_whose_assessment_predates_opportunity_flags_are_left_out(connection):
    connection.execute(
        "UPDATE assessments SET opportunities = NULL WHERE account_id LIKE 'GOOD-expanded-%'"
    )
    e = measure(connection, POLICY, as_of=AS_OF).expansion
    assert (e.outcomes, e.expanded, e.not_evaluated) == (7, 1, 3)


def test_the_auc_is_undefined_without_an_expansion():
    result = expansion_auc([1.0, 0.0], [False, False])
    assert (result.value, result.reason, result.n, result.expanded) == (
        None,
        "no expanded outcome",
        2,
        0,
    )


def test_the_churn_figures_are_unchanged_beside_them(connection):
    m = measure(connection, POLICY, as_of=AS_OF)
    assert (m.ranking[0].n, m.ranking[0].churned) == (10, 2)


def test_the_markdown_shows_the_expansion_table(connection):
    text = render_markdown(measure(connection, POLICY, as_of=AS_OF))
    assert "## How well the opportunity flags ranked expansions" in text
    assert "| expansion_ready | 3/4 (75.0%) | 1/6 (16.7%) | 4.50 | 0.792 |" in text


def test_measure_json_carries_the_expansion_figures(connection, tmp_path: Path):
    db = tmp_path / "history.sqlite3"
    args = ["measure", "--db", str(db), "--as-of", "2027-03-31", "--format", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    expansion = json.loads(result.stdout)["expansion"]
    assert (expansion["outcomes"], expansion["expanded"]) == (10, 4)
