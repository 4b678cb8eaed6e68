"""The review budget: at most a share of a run's accounts keep an open review task.

The engine sees one account at a time, so it marks a review task on every
account a reason holds for. A queue that flags most accounts is not worked, so
over a whole run this keeps the highest-ranked tasks within the policy's
`review_task.budget` and lists the rest as "also at risk". It reads only the
assessments, so the same run always gives the same decision, whatever the order
of its records.

The limit is max_share x the run's accounts, rounded down, but at least
`min_tasks`. Rank: risk x ARR, risk being 100 - score. An account without an ARR counts as
ARR 0: it ranks after every account with one, by risk. Ties go to the higher
risk, then the account id and date. Tasks matching `never_cut` are kept first
and count against the limit (they may exceed it).

An account with no data (null score, band `no_data`) has no known risk: it is
not ranked as if it were the riskiest, which would let unconnected tools crowd
out accounts known to be at risk. It ranks after every account with a score,
by ARR, and when the budget cuts it, it is listed as "also at risk" like any
other deferred task.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from skill.assessment import AlsoAtRisk, Assessment, ReviewBudgetSummary
from skill.policy import ReviewBudget


class _Candidate(NamedTuple):
    """One task; tuples of these sort by rank (no two share an account and date)."""

    not_exempt: bool
    unknown: bool
    minus_value: float
    minus_risk: int
    account: tuple[str, date]
    score: int | None
    arr: float | None
    reasons: tuple[str, ...]


class BudgetEntry(NamedTuple):
    """What the budget reads of an assessment with a review task (a worker sends this)."""

    account_id: str
    as_of: date
    score: int | None
    arr: float | None
    reasons: list[str]
    exempt: bool


def budget_entry(assessment: Assessment) -> BudgetEntry | None:
    """The assessment's entry for the budget; None when it has no review task."""
    task = assessment.review_task
    if task is None:
        return None
    return BudgetEntry(
        assessment.account_id,
        assessment.as_of,
        assessment.score,
        assessment.arr,
        task.reasons,
        task.budget_exempt,
    )


def budget_limit(budget: ReviewBudget, accounts: int) -> int:
    """max_share x accounts, rounded down, but at least `min_tasks` (and never above accounts)."""
    return min(accounts, max(budget.min_tasks, int(budget.max_share * accounts)))


class ReviewBudgeter:
    """Collects a run's review tasks as assessments stream past; `decide` at the end.

    Memory grows with the accounts that have a task, a few small values each,
    not with the assessments.
    """

    def __init__(self, budget: ReviewBudget) -> None:
        self.budget = budget
        self.accounts = 0
        self._candidates: dict[tuple[str, date], _Candidate] = {}
        # Runs share a handful of reason lists: one tuple each, not one list per task.
        self._reasons: dict[tuple[str, ...], tuple[str, ...]] = {}

    def add(self, assessment: Assessment) -> None:
        self.add_entry(budget_entry(assessment))

    def add_entry(self, entry: BudgetEntry | None) -> None:
        """One more account of the run; with its review task, if it has one."""
        self.accounts += 1
        if entry is None:
            return
        account_id, as_of, score, arr, reasons, exempt = entry
        unknown = score is None
        if score is None:
            # No score, no known risk: after every scored account, by ARR.
            risk, value = 0, arr or 0.0
        else:
            risk = 100 - score
            value = risk * (arr or 0.0) if self.budget.rank_by == "risk_x_arr" else risk
        shared = tuple(reasons)
        shared = self._reasons.setdefault(shared, shared)
        account = (account_id, as_of)
        self._candidates[account] = _Candidate(
            not exempt, unknown, -value, -risk, account, score, arr, shared
        )

    def kept(self) -> list[tuple[str, date]]:
        """(account_id, as_of) of the tasks the budget keeps open, by rank."""
        ranked = sorted(self._candidates.values())
        return [c.account for c in ranked[: self._kept_count(ranked)]]

    def _kept_count(self, ranked: list[_Candidate]) -> int:
        limit = budget_limit(self.budget, self.accounts)
        return max(limit, sum(not c.not_exempt for c in ranked))

    def decide(self) -> ReviewBudgetSummary:
        ranked = sorted(self._candidates.values())
        limit = budget_limit(self.budget, self.accounts)
        exempt = sum(not c.not_exempt for c in ranked)
        kept = self._kept_count(ranked)
        return ReviewBudgetSummary(
            max_share=self.budget.max_share,
            rank_by=self.budget.rank_by,
            accounts=self.accounts,
            limit=limit,
            flagged=len(ranked),
            kept=min(kept, len(ranked)),
            never_cut=exempt,
            also_at_risk=[
                AlsoAtRisk(
                    account_id=c.account[0],
                    as_of=c.account[1],
                    score=c.score,
                    arr=c.arr,
                    rank=rank,
                    reasons=list(c.reasons),
                )
                for rank, c in enumerate(ranked[kept:], start=kept + 1)
            ],
        )
