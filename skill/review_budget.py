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

from array import array
from collections.abc import Iterable
from datetime import date

from skill.assessment import AlsoAtRisk, Assessment, ReviewBudgetSummary
from skill.policy import ReviewBudget

# A task as the budget ranks and reports it: (not exempt, no score, -value, -risk,
# account_id, as_of, score, arr, reasons). Plain tuples pickle without a Python call
# (worker processes send these) and sort by rank (no two share an account and date).
Candidate = tuple[bool, bool, float, int, str, date, int | None, float | None, tuple[str, ...]]


def budget_candidate(assessment: Assessment, budget: ReviewBudget | None) -> Candidate | None:
    """The assessment's task as the budget ranks it; None without a task (or a budget)."""
    task = assessment.review_task
    if task is None or budget is None:
        return None
    score, arr = assessment.score, assessment.arr
    if score is None:
        # No score, no known risk: after every scored account, by ARR.
        risk, value = 0, arr or 0.0
    else:
        risk = 100 - score
        value = risk * (arr or 0.0) if budget.rank_by == "risk_x_arr" else risk
    return (
        not task.budget_exempt,
        score is None,
        -value,
        -risk,
        assessment.account_id,
        assessment.as_of,
        score,
        arr,
        tuple(task.reasons),
    )


def budget_limit(budget: ReviewBudget, accounts: int) -> int:
    """max_share x accounts, rounded down, but at least `min_tasks` (and never above accounts)."""
    return min(accounts, max(budget.min_tasks, int(budget.max_share * accounts)))


class ReviewBudgeter:
    """Collects a run's review tasks as assessments stream past; `decide` at the end.

    Memory grows with the accounts that have a task, held column by column (about
    50 bytes a task beside the account id, which the run holds anyway), not with the
    assessments: a million-account run keeps hundreds of thousands of tasks.
    """

    def __init__(self, budget: ReviewBudget) -> None:
        self.budget = budget
        self.accounts = 0
        # One column per part of a task (see `Candidate`); the rank's float in an array.
        self._not_exempt = bytearray()
        self._unknown = bytearray()
        self._minus_value = array("d")
        self._minus_risk = array("h")  # risk is 0 to 100
        self._account_ids: list[str] = []
        self._dates: list[date] = []
        self._scores: list[int | None] = []
        self._arrs: list[float | None] = []
        self._reason_index = array("I")
        # Runs share a handful of reason lists: one tuple each, stored once.
        self._reasons: dict[tuple[str, ...], int] = {}
        self._reason_lists: list[tuple[str, ...]] = []

    def add(self, assessment: Assessment) -> None:
        """One more account of the run; with its review task, if it has one."""
        self.accounts += 1
        candidate = budget_candidate(assessment, self.budget)
        if candidate is not None:
            self.add_candidate(candidate)

    def add_candidate(self, candidate: Candidate) -> None:
        """A task of an account already counted (`add_accounts`)."""
        not_exempt, unknown, minus_value, minus_risk, account_id, as_of, score, arr, reasons = (
            candidate
        )
        index = self._reasons.get(reasons)
        if index is None:
            index = self._reasons[reasons] = len(self._reason_lists)
            self._reason_lists.append(reasons)
        self._not_exempt.append(not_exempt)
        self._unknown.append(unknown)
        self._minus_value.append(minus_value)
        self._minus_risk.append(minus_risk)
        self._account_ids.append(account_id)
        self._dates.append(as_of)
        self._scores.append(score)
        self._arrs.append(arr)
        self._reason_index.append(index)

    def add_accounts(self, count: int) -> None:
        """`count` more accounts of the run, their tasks added with `add_candidate`."""
        self.accounts += count

    def _ranked(self) -> list[int]:
        """The tasks' positions by rank. A task added again for the same account and date
        replaces the earlier one."""
        ids, dates = self._account_ids, self._dates
        positions: Iterable[int] = range(len(ids))
        if len(set(ids)) < len(ids):  # an account twice: keep its last task per date
            pairs = enumerate(zip(ids, dates, strict=True))
            last = {account: at for at, account in pairs}
            positions = sorted(last.values())
        ne, unknown, value, risk = (
            self._not_exempt,
            self._unknown,
            self._minus_value,
            self._minus_risk,
        )
        return sorted(
            positions, key=lambda at: (ne[at], unknown[at], value[at], risk[at], ids[at], dates[at])
        )

    def kept(self) -> list[tuple[str, date]]:
        """(account_id, as_of) of the tasks the budget keeps open, by rank."""
        ranked = self._ranked()
        return [
            (self._account_ids[at], self._dates[at]) for at in ranked[: self._kept_count(ranked)]
        ]

    def _kept_count(self, ranked: list[int]) -> int:
        limit = budget_limit(self.budget, self.accounts)
        exempt = self._not_exempt
        return max(limit, sum(not exempt[at] for at in ranked))

    def decide(self) -> ReviewBudgetSummary:
        ranked = self._ranked()
        limit = budget_limit(self.budget, self.accounts)
        exempt = sum(not self._not_exempt[at] for at in ranked)
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
                    account_id=self._account_ids[at],
                    as_of=self._dates[at],
                    score=self._scores[at],
                    arr=self._arrs[at],
                    rank=rank,
                    reasons=list(self._reason_lists[self._reason_index[at]]),
                )
                for rank, at in enumerate(ranked[kept:], start=kept + 1)
            ],
        )
