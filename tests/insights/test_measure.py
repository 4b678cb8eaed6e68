"""`measure`: ROC AUC by rank sum, churn rates, false positives, missed risks,
follow-through and reviewed score changes, on small recorded histories."""

from __future__ import annotations

import itertools
import json
import random
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
from skill.insights.measure import measure, render_markdown, roc_auc
from skill.policy import load_policy
from skill.store.db import connect
from skill.store.outcomes import import_outcomes

AS_OF = date(2027, 3, 31)
POLICY = load_policy()

# -- ROC AUC --------------------------------------------------------------------------


def test_auc_of_four_accounts_by_hand():
    # churned: 20 and 60; kept: 40 and 80. Pairs (churned below kept): 20<40, 20<80,
    # 60<80 hold; 60<40 does not: 3 of 4.
    assert roc_auc([20, 60, 40, 80], [True, True, False, False]).value == 0.75


def test_auc_perfect_inverted_and_tied():
    assert roc_auc([10, 20, 90], [True, True, False]).value == 1.0
    assert roc_auc([90, 80, 10], [True, True, False]).value == 0.0
    # every score tied: each pair counts one half
    assert roc_auc([50, 50, 50, 50], [True, False, True, False]).value == 0.5
    # churned 30 and 50, kept 50 and 70: 30<50, 30<70, 50<70 and one tie: 3.5 / 4
    assert roc_auc([30, 50, 50, 70], [True, True, False, False]).value == 0.875


def brute_force(scores, churned):
    pairs = [
        (p, k)
        for p, k in itertools.product(
            [s for s, c in zip(scores, churned, strict=True) if c],
            [s for s, c in zip(scores, churned, strict=True) if not c],
        )
    ]
    return sum(1.0 if p < k else 0.5 if p == k else 0.0 for p, k in pairs) / len(pairs)


def test_auc_equals_the_pairwise_definition_on_random_data():
    rng = random.Random(3)
    for _ in range(50):
        n = rng.randint(2, 60)
        scores = [rng.randint(0, 20) for _ in range(n)]
        churned = [rng.random() < 0.3 for _ in range(n)]
        if all(churned) or not any(churned):
            continue
        assert roc_auc(scores, churned).value == round(brute_force(scores, churned), 3)


@pytest.mark.parametrize(
    ("scores", "churned", "reason"),
    [
        ([], [], "no outcomes"),
        ([10, 20], [False, False], "no churned outcome"),
        ([10, 20], [True, True], "no kept (non-churned) outcome"),
    ],
)
def test_undefined_auc_is_null_with_a_reason(scores, churned, reason):
    result = roc_auc(scores, churned)
    assert result.value is None and result.reason == reason
    assert result.n == len(scores)


# -- a recorded history ---------------------------------------------------------------


@pytest.fixture
def history(tmp_path: Path):
    """Four accounts recorded on two dates, each with an outcome after the second."""
    connection = connect(tmp_path / "history.sqlite3")
    week1 = [GOOD, GOOD | {"account_id": "WEAK"}, YELLOW, BAD]
    assessed1 = record(connection, week1, WEEK_1)
    assessed2 = record(connection, [GOOD, WEAK, YELLOW, BAD], WEEK_2)
    import_outcomes(
        connection,
        write_outcomes(
            tmp_path / "outcomes.csv",
            [
                ("BAD", "churned", "2026-12-15"),
                ("YELLOW", "renewed", "2026-12-15"),
                ("WEAK", "downgraded", "2026-12-15"),
                ("GOOD", "renewed", "2026-12-15"),
            ],
        ),
    )
    yield connection, assessed1, assessed2
    connection.close()


def test_the_templates_have_the_scores_the_cases_rely_on(history):
    _, _, assessed = history
    seen = {a.account_id: (a.score, a.band.value, a.tier.value) for a in assessed}
    assert seen == {
        "GOOD": (94, "green", "thriving"),
        "WEAK": (76, "green", "steady"),
        "YELLOW": (50, "yellow", "at_risk"),
        "BAD": (19, "red", "at_risk"),
    }


def test_measure_four_accounts(history):
    connection, _, _ = history
    m = measure(connection, POLICY, as_of=AS_OF)
    assert (m.outcomes.recorded, m.outcomes.matched, m.outcomes.unmatched) == (4, 4, 0)
    overall = m.ranking[0]
    assert (overall.scope, overall.n, overall.churned) == ("all", 4, 2)
    # churned BAD 19 and WEAK 76 against kept YELLOW 50 and GOOD 94: 3 of 4 pairs
    assert overall.score_auc.value == 0.75
    # legacy totals keep the same order (BAD 20, YELLOW 40, WEAK 61, GOOD 100)
    assert overall.legacy_auc.value == 0.75
    mid = next(r for r in m.ranking if r.scope == "mid_market")
    assert mid.score_auc.value == 0.75
    smb = next(r for r in m.ranking if r.scope == "smb")
    assert (smb.n, smb.score_auc.value, smb.score_auc.reason) == (0, None, "no outcomes")

    bands = {r.group: (r.n, r.churned, r.rate) for r in m.churn_by_band}
    assert bands == {"green": (2, 1, 0.5), "yellow": (1, 0, 0.0), "red": (1, 1, 1.0)}
    tiers = {r.group: (r.n, r.churned) for r in m.churn_by_tier}
    assert tiers == {"thriving": (1, 0), "healthy": (0, 0), "steady": (1, 1), "at_risk": (2, 1)}
    mid_bands = next(x for x in m.churn_by_segment if x.segment == "mid_market").churn_by_band
    assert {r.group: (r.n, r.churned) for r in mid_bands} == {
        g: (n, c) for g, (n, c, _) in bands.items()
    }
    legacy = {r.group: (r.n, r.churned) for r in m.churn_by_legacy_band}
    assert legacy == {"Healthy": (1, 0), "Needs attention": (1, 1), "At risk": (2, 1)}

    # flagged = BAD (red) and YELLOW (tier at_risk); YELLOW renewed
    assert (m.errors.false_positives.count, m.errors.false_positives.n) == (1, 2)
    # green = GOOD and WEAK; WEAK downgraded, which counts as churn by default
    assert (m.errors.missed_risks.count, m.errors.missed_risks.n) == (1, 2)
    assert (m.errors.legacy_missed_risks.count, m.errors.legacy_missed_risks.n) == (0, 1)


def test_each_outcome_meets_the_assessment_live_before_it(history, tmp_path: Path):
    connection, _, _ = history
    connection.execute("DELETE FROM outcomes")
    import_outcomes(
        connection,
        write_outcomes(
            tmp_path / "o.csv",
            [
                ("WEAK", "churned", "2026-11-20"),  # between the runs: week 1's GOOD-like 95
                ("BAD", "churned", WEEK_2.isoformat()),  # same day as week 2: week 1's
                ("GOOD", "renewed", "2026-11-10"),  # before any assessment: unmatched
            ],
        ),
    )
    m = measure(connection, POLICY, as_of=AS_OF)
    assert (m.outcomes.matched, m.outcomes.unmatched) == (2, 1)
    bands = {r.group: (r.n, r.churned) for r in m.churn_by_band}
    assert bands["green"] == (1, 1) and bands["red"] == (1, 1)
    assert m.ranking[0].score_auc.reason == "no kept (non-churned) outcome"
    assert any("1 of 3 outcomes" in note for note in m.notes)


def test_outcomes_after_as_of_are_left_out(history):
    connection, _, _ = history
    m = measure(connection, POLICY, as_of=date(2026, 12, 1))
    assert m.outcomes.recorded == 0
    assert m.notes[0] == "no outcomes dated on or before 2026-12-01"
    assert m.outcomes_after.count > 0 and m.notes[1] == m.outcomes_after.note
    assert f"pass --as-of {m.outcomes_after.latest}" in m.notes[1]


def test_follow_through_and_reviewed_score_changes(history):
    connection, _, _ = history
    pending = connection.execute(
        "SELECT action_key FROM actions WHERE state = 'pending' ORDER BY action_key"
    ).fetchall()
    assert len(pending) >= 3
    connection.execute("UPDATE actions SET state = 'approved' WHERE action_key = ?", pending[0])
    connection.execute("UPDATE actions SET state = 'rejected' WHERE action_key = ?", pending[1])
    open_count = len(pending) - 2
    due_dates = connection.execute(
        "SELECT due_date FROM actions WHERE state = 'pending'"
    ).fetchall()
    day = date(2026, 11, 25)
    overdue = sum(d < day.isoformat() for (d,) in due_dates)

    f = measure(connection, POLICY, as_of=day).follow_through
    assert (f.approved, f.rejected, f.open, f.overdue) == (1, 1, open_count, overdue)
    assert f.needing_decision == open_count + 2
    assert sum(r.open for r in f.by_owner) == open_count

    # WEAK fell from 95 (week 1) to 76 (week 2): a material change, without a review task.
    s = measure(connection, POLICY, as_of=AS_OF).score_changes
    assert (s.material_changes, s.drops, s.rises, s.with_review_task) == (1, 1, 0, 0)
    tasks = connection.execute(
        "SELECT COUNT(*) FROM review_tasks WHERE state != 'superseded'"
    ).fetchone()[0]
    assert s.review_tasks == tasks and s.review_tasks_open == tasks
    connection.execute("UPDATE review_tasks SET state = 'done' WHERE account_id = 'BAD'")
    s = measure(connection, POLICY, as_of=AS_OF).score_changes
    assert s.review_tasks_done == 2  # BAD had a task in both weeks


def test_churn_outcomes_come_from_the_policy(history, tmp_path: Path):
    connection, _, _ = history
    override = tmp_path / "p.yaml"
    override.write_text("measurement:\n  churn_outcomes: [churned]\n", encoding="utf-8")
    m = measure(connection, load_policy(override), as_of=AS_OF)
    assert m.churn_outcomes == ["churned"]
    assert m.ranking[0].churned == 1
    assert m.errors.missed_risks.count == 0  # WEAK downgraded: not churn now


def test_markdown_states_the_numbers_and_their_n(history):
    connection, _, _ = history
    text = render_markdown(measure(connection, POLICY, as_of=AS_OF))
    for heading in (
        "## How well the score ranks churn (ROC AUC)",
        "## Churn rate by band, tier and legacy band",
        "## False positives and missed risks",
        "## Owner follow-through",
        "## Score changes reviewed",
    ):
        assert heading in text
    assert "| all | 4 | 2 | 50.0% | 0.750 | 0.750 |" in text
    assert "| band | all | smb | mid_market | enterprise |" in text
    assert "| red | 1/1 (100.0%) | 0/0 | 1/1 (100.0%) | 0/0 |" in text
    assert "| green | 1/2 (50.0%) | 0/0 | 1/2 (50.0%) | 0/0 |" in text
    assert "| smb | 0 | 0 | n/a | n/a (no outcomes) | n/a (no outcomes) |" in text
    assert (
        "| false positives | band red or tier at_risk, then kept | 1 of 2 flagged | 50.0% |" in text
    )


def test_cli_measure_json(history, tmp_path: Path):
    result = CliRunner().invoke(
        app,
        [
            "measure",
            "--db",
            str(tmp_path / "history.sqlite3"),
            "--as-of",
            "2027-03-31",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ranking"][0]["score_auc"]["value"] == 0.75
    assert data["errors"]["missed_risks"]["count"] == 1


def test_cli_measure_without_a_database_exits_2(tmp_path: Path):
    result = CliRunner().invoke(app, ["measure", "--db", str(tmp_path / "none.sqlite3")])
    assert result.exit_code == 2
    assert "no history database" in result.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_a_decided_action_counts_as_a_reviewed_change(history):
    connection, _, _ = history
    for account_id in ("WEAK", "BAD"):
        key = connection.execute(
            "SELECT action_key FROM actions WHERE account_id = ? AND last_proposed = ? "
            "AND state = 'pending' ORDER BY action_key LIMIT 1",
            (account_id, WEEK_2.isoformat()),
        ).fetchone()
        connection.execute("UPDATE actions SET state = 'approved' WHERE action_key = ?", key)
    s = measure(connection, POLICY, as_of=AS_OF).score_changes
    assert (s.material_changes, s.with_review_task, s.reviewed) == (1, 0, 1)
    assert s.review_tasks_decided == 1  # BAD's week-2 task; WEAK has none


# -- the verdict: is the score good enough here? --------------------------------------

# Every band churns half the time: the score ranks churn no better than a coin (AUC 0.5).
AT_CHANCE = [(t, o, 1) for t in (BAD, YELLOW, WEAK, GOOD) for o in ("churned", "renewed")]
# Red churns, yellow half, green renews: AUC well above 0.6, bands in order.
RANKS_WELL = [(BAD, "churned", 4), (YELLOW, "churned", 1), (YELLOW, "renewed", 1),
              (GOOD, "renewed", 4)]  # fmt: skip
# Red churns, yellow renews, half the green (WEAK) churns: AUC 0.778, but green > yellow.
GREEN_ABOVE_YELLOW = [(BAD, "churned", 4), (YELLOW, "renewed", 4), (WEAK, "churned", 2),
                      (GOOD, "renewed", 2)]  # fmt: skip


def small_policy(tmp_path: Path, min_band_outcomes: int = 2):
    """Judges from 8 outcomes with 2 churned, comparing bands of `min_band_outcomes`."""
    path = tmp_path / "small.yaml"
    path.write_text(
        "measurement:\n  min_outcomes: 8\n  min_churned: 2\n"
        f"  min_band_outcomes: {min_band_outcomes}\n",
        encoding="utf-8",
    )
    return load_policy(path)


def first_line(connection, policy) -> str:
    return render_markdown(measure(connection, policy, as_of=AS_OF)).splitlines()[0]


def test_a_score_ranking_churn_at_chance_is_called_weak_on_the_first_line(tmp_path: Path):
    connection = record_outcomes(tmp_path / "h.sqlite3", AT_CHANCE)
    assert first_line(connection, small_policy(tmp_path)) == (
        "The health score does not rank churn well here: AUC 0.500 on 8 outcomes "
        "(below 0.60). Run `account-health calibrate` to fit the weights to your own outcomes."
    )


def test_a_score_ranking_churn_at_chance_has_a_weak_verdict_in_json(tmp_path: Path):
    connection = record_outcomes(tmp_path / "h.sqlite3", AT_CHANCE)
    m = measure(connection, small_policy(tmp_path), as_of=AS_OF)
    verdict = m.model_dump(mode="json")["verdict"]
    assert verdict["status"] == "weak"
    assert verdict["reasons"] == ["AUC 0.500 on 8 outcomes (below 0.60)"]
    assert (verdict["outcomes"], verdict["churned"], verdict["auc"]) == (8, 4, 0.5)


def test_a_score_that_ranks_churn_well_gets_no_warning(tmp_path: Path):
    connection = record_outcomes(tmp_path / "h.sqlite3", RANKS_WELL)
    policy = small_policy(tmp_path)
    assert measure(connection, policy, as_of=AS_OF).verdict.status == "ok"
    line = first_line(connection, policy)
    assert line.startswith("The health score ranks churn well enough here: AUC ")
    assert "calibrate" not in line


def test_too_few_outcomes_is_not_enough_to_judge_rather_than_a_warning(history):
    connection, _, _ = history
    line = first_line(connection, POLICY)
    assert line == (
        "Not enough outcomes to judge the health score yet: 4 outcomes with 2 churned; "
        "judging needs at least 60 with 10 churned. "
        "Import more with `account-health outcomes import`."
    )
    assert measure(connection, POLICY, as_of=AS_OF).verdict.status == "insufficient_data"


def test_band_churn_rates_out_of_order_are_named(tmp_path: Path):
    connection = record_outcomes(tmp_path / "h.sqlite3", GREEN_ABOVE_YELLOW)
    policy = small_policy(tmp_path)
    verdict = measure(connection, policy, as_of=AS_OF).verdict
    assert verdict.status == "weak"
    assert verdict.reasons == [
        "green accounts churned more than yellow ones (50.0% of 4 vs 0.0% of 4)"
    ]
    assert "green accounts churned more than yellow ones" in first_line(connection, policy)


def test_bands_with_too_few_outcomes_are_not_compared(tmp_path: Path):
    connection = record_outcomes(tmp_path / "h.sqlite3", GREEN_ABOVE_YELLOW)
    policy = small_policy(tmp_path, min_band_outcomes=5)  # every band has 4
    verdict = measure(connection, policy, as_of=AS_OF).verdict
    assert verdict.status == "ok"
    assert "too few bands with 5 outcomes to compare churn rates" in verdict.summary


def test_cli_measure_prints_the_verdict_first(history, tmp_path: Path):
    result = CliRunner().invoke(
        app, ["measure", "--db", str(tmp_path / "history.sqlite3"), "--as-of", "2027-03-31"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Not enough outcomes to judge the health score yet")
