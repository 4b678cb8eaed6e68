"""The review budget: at most a share of a run's accounts keep an open review task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from skill.assessment import Assessment
from skill.policy import ReviewBudget
from skill.review_budget import ReviewBudgeter

Assessor = Callable[..., Assessment]  # the `assess` fixture

ESCALATED = {"escalations_90d": 1}  # the Escalation review reason, score barely moved


def decide(assessments: list[Assessment], **budget: Any):
    budgeter = ReviewBudgeter(ReviewBudget(**{"max_share": 0.25, "min_tasks": 1, **budget}))
    for assessment in assessments:
        budgeter.add(assessment)
    return budgeter.decide(), budgeter.kept()


def test_the_budget_caps_review_tasks_at_the_share_of_accounts(assess: Assessor) -> None:
    flagged = [assess(account_id=f"ACC-{i}", arr=10000 * i, **ESCALATED) for i in range(1, 9)]
    calm = [assess(account_id=f"CALM-{i}") for i in range(4)]
    summary, kept = decide(flagged + calm)
    assert (summary.accounts, summary.limit, summary.flagged, summary.kept) == (12, 3, 8, 3)
    assert len(summary.also_at_risk) == 5
    assert len(kept) == 3


def test_tasks_are_ranked_by_risk_times_arr(assess: Assessor) -> None:
    small_red = assess(account_id="SMALL-RED", arr=10000, blocker="major", **ESCALATED)
    large_green = assess(account_id="LARGE", arr=200000, **ESCALATED)
    mid = assess(account_id="MID", arr=50000, **ESCALATED)
    # risk x ARR: LARGE (100 - 93) x 200,000; SMALL-RED (100 - 60) x 10,000; MID 7 x 50,000
    assert (small_red.score, mid.score, large_green.score) == (60, 93, 93)
    summary, kept = decide([mid, small_red, large_green], max_share=0.34)
    assert [account for account, _ in kept] == ["LARGE"]
    assert [a.account_id for a in summary.also_at_risk] == ["SMALL-RED", "MID"]
    assert [a.rank for a in summary.also_at_risk] == [2, 3]


def test_an_account_without_arr_ranks_after_those_with_one_by_risk(assess: Assessor) -> None:
    no_arr_red = assess(account_id="NO-ARR-RED", arr=None, blocker="major", **ESCALATED)
    no_arr = assess(account_id="NO-ARR", arr=None, **ESCALATED)
    tiny = assess(account_id="TINY", arr=1000, **ESCALATED)
    summary, kept = decide([no_arr, no_arr_red, tiny], max_share=0.34)
    assert [account for account, _ in kept] == ["TINY"]
    assert [a.account_id for a in summary.also_at_risk] == ["NO-ARR-RED", "NO-ARR"]


def test_rank_by_risk_ignores_arr(assess: Assessor) -> None:
    red = assess(account_id="RED", arr=1000, blocker="major", **ESCALATED)
    large = assess(account_id="LARGE", arr=900000, **ESCALATED)
    _, kept = decide([large, red], max_share=0.5, rank_by="risk")
    assert [account for account, _ in kept] == ["RED"]


def test_a_task_the_policy_never_cuts_is_kept_and_counts_against_the_budget(
    assess: Assessor,
) -> None:
    exempt = assess(account_id="BLOCKED-BIG", arr=300000, blocker="major")
    assert exempt.review_task is not None and exempt.review_task.budget_exempt
    larger = assess(account_id="LARGER", arr=5000000, **ESCALATED)
    summary, kept = decide([larger, exempt], max_share=0.5)
    assert [account for account, _ in kept] == ["BLOCKED-BIG"]
    assert summary.never_cut == 1
    assert [a.account_id for a in summary.also_at_risk] == ["LARGER"]


def test_a_small_run_keeps_at_least_min_tasks(assess: Assessor) -> None:
    flagged = [assess(account_id=f"ACC-{i}", **ESCALATED) for i in range(3)]
    summary, _ = decide(flagged, min_tasks=10)
    assert (summary.limit, summary.kept, summary.also_at_risk) == (3, 3, [])


def test_the_decision_does_not_depend_on_the_order_of_accounts(assess: Assessor) -> None:
    flagged = [assess(account_id=f"ACC-{i}", arr=1000 * (i % 3), **ESCALATED) for i in range(9)]
    assert decide(flagged) == decide(flagged[::-1])


def test_an_account_counted_twice_keeps_its_last_task(assess: Assessor) -> None:
    first = assess(account_id="TWICE", arr=1000, **ESCALATED)
    again = assess(account_id="TWICE", arr=900000, blocker="major", **ESCALATED)
    other = assess(account_id="OTHER", arr=50000, **ESCALATED)
    summary, kept = decide([first, other, again], max_share=0.34)
    assert summary.flagged == 2
    assert [account for account, _ in kept] == ["TWICE"]
    assert [(a.account_id, a.rank) for a in summary.also_at_risk] == [("OTHER", 2)]
