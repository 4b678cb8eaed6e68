"""Seed 003's measurement plan: how well did the score predict what happened?

    report = measure(connection, policy, as_of=date(2026, 12, 31))
    print(render_markdown(report))

Every outcome (``outcomes`` table, with ``outcome_date`` on or before `as_of`) is
joined with the latest assessment of the same account recorded strictly before
the outcome date: the prediction that was live when it happened. An outcome with
no earlier assessment is counted as ``unmatched`` and left out of every figure.
An account with several outcomes (a renewal one year, churn the next) counts once
per outcome.

Churn is an outcome in ``measurement.churn_outcomes`` (default churned and
downgraded); every other outcome is "kept" (renewed, expanded).

- ROC AUC: the probability that a churned account had a lower score than a kept
  one (ties count one half), from the rank-sum (Mann-Whitney U) formula with
  average ranks for ties. 0.5 is a coin toss, 1.0 is perfect. Computed for the
  contextual score and for seed 000's legacy additive total (both: lower means
  riskier), overall and per segment. Undefined (null, with the reason) when a
  group has no churned or no kept outcome.
- Churn rate by band, by tier and by legacy band: churned / outcomes, overall
  and per segment.
- False positives: accounts flagged as at risk (band red or tier at_risk) that
  were kept. Legacy: the lowest legacy band ("At risk") and kept.
- Missed risks: green accounts that churned. Legacy: the highest legacy band
  ("Healthy") and churned.
- Owner follow-through, from the action outbox (actions recorded on or before
  `as_of`): approved, rejected, open (``pending``: waiting for a decision) and
  overdue (pending with a due date before `as_of`), overall and per owner.
- Score changes reviewed: material score changes (at least
  ``history.score_drop_points`` up or down since the account's previous
  assessment) and how many had an owner review task, done or with a decided
  action; and the review tasks themselves: open, overdue, done, decided.

Every figure carries the number of outcomes (or actions, or tasks) behind it.
No clock: `as_of` is an argument.

The verdict (`judge_score`) says in one sentence whether the score is good
enough here, so nobody has to read the tables to find out: ``insufficient_data``
below ``measurement.min_outcomes`` matched outcomes or ``min_churned`` churned
(or with no kept outcome); ``weak`` when the health score's AUC is below
``measurement.min_auc``, or when churn rates by band are out of order (among the
bands with at least ``min_band_outcomes`` outcomes, red must churn at least as
much as yellow and yellow at least as much as green); ``ok`` otherwise. The
weekly report repeats the same verdict through `score_verdict`.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from itertools import pairwise
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from skill.policy import MeasurementConfig, Policy
from skill.record import Segment
from skill.vocabulary import Band, OpportunityCode, Tier

__all__ = [
    "AucResult",
    "Measurement",
    "Observation",
    "Verdict",
    "judge_score",
    "load_observations",
    "measure",
    "render_markdown",
    "roc_auc",
    "score_verdict",
]


# -- observations -------------------------------------------------------------------


class Observation(NamedTuple):
    """One outcome with the assessment that was live before it."""

    account_id: str
    outcome: str
    outcome_date: str
    assessed_on: str
    segment: str
    score: int | None  # null: the assessment had no data (band no_data)
    band: str
    tier: str
    legacy_total: int
    legacy_band: str
    dimensions: str | None  # JSON {dimension: score}, when asked for


# The live assessment's date per outcome first, then one primary-key lookup each.
_OBSERVATIONS = """
SELECT o.account_id, o.outcome, o.outcome_date, a.as_of, a.segment, a.score, a.band, a.tier,
       a.legacy_total, a.legacy_band, {dimensions}
FROM (SELECT account_id, outcome, outcome_date,
             (SELECT MAX(b.as_of) FROM assessments AS b
              WHERE b.account_id = outcomes.account_id AND b.as_of < outcomes.outcome_date) AS live
      FROM outcomes WHERE outcome_date <= ?) AS o
JOIN assessments AS a ON a.account_id = o.account_id AND a.as_of = o.live
ORDER BY o.account_id, o.outcome_date
"""


def load_observations(
    connection: sqlite3.Connection, as_of: date, *, with_dimensions: bool = False
) -> tuple[list[Observation], int]:
    """The matched outcomes, and how many outcomes up to `as_of` there are in all."""
    sql = _OBSERVATIONS.format(dimensions="a.dimensions" if with_dimensions else "NULL")
    day = as_of.isoformat()
    rows = list(map(Observation._make, connection.execute(sql, (day,))))
    total = connection.execute(
        "SELECT COUNT(*) FROM outcomes WHERE outcome_date <= ?", (day,)
    ).fetchone()[0]
    return rows, int(total)


class OutcomesAfter(BaseModel):
    """Outcomes dated after the date a command counts up to: left out, and said so.

    `measure`, `report` and `calibrate` share the date rule (`default_as_of`)
    and this count, so the three agree on what they left out.
    """

    count: int = Field(description="Outcomes dated after as_of: not counted.")
    latest: date | None = Field(description="The latest of them; --as-of it includes them all.")
    note: str | None = Field(description="What was left out and how to include it; null if none.")


def default_as_of(connection: sqlite3.Connection, today: date) -> date:
    """The date `measure`, `report` and `calibrate` count up to without --as-of.

    Today; or the latest recorded assessment date when the history runs ahead
    of the clock (dates recorded in advance), so the latest run always counts.
    """
    row = connection.execute("SELECT MAX(as_of) FROM assessments").fetchone()
    latest = date.fromisoformat(row[0]) if row and row[0] else None
    return max(today, latest) if latest else today


def outcomes_after(connection: sqlite3.Connection, as_of: date) -> OutcomesAfter:
    count, latest = connection.execute(
        "SELECT COUNT(*), MAX(outcome_date) FROM outcomes WHERE outcome_date > ?",
        (as_of.isoformat(),),
    ).fetchone()
    if not count:
        return OutcomesAfter(count=0, latest=None, note=None)
    return OutcomesAfter(
        count=count,
        latest=latest,
        note=f"{count} outcome(s) dated after {as_of.isoformat()} are not counted; "
        f"pass --as-of {latest} to include them",
    )


# -- ROC AUC ------------------------------------------------------------------------


class AucResult(BaseModel):
    value: float | None = Field(description="ROC AUC, 3 decimals; null when undefined.")
    reason: str | None = Field(default=None, description="Why the AUC is undefined.")
    n: int
    churned: int


def roc_auc(scores: Sequence[float], churned: Sequence[bool]) -> AucResult:
    """ROC AUC of a health score for churn, lower score meaning higher risk.

    Rank-sum formula: rank every outcome by risk (average ranks for ties), then
    AUC = (R - n1 (n1 + 1) / 2) / (n1 n0), R the sum of the churned outcomes' ranks.
    """
    positives: Counter[float] = Counter()
    negatives: Counter[float] = Counter()
    for score, is_churn in zip(scores, churned, strict=True):
        (positives if is_churn else negatives)[score] += 1
    n1, n0 = sum(positives.values()), sum(negatives.values())
    n = n1 + n0
    if n == 0:
        return AucResult(value=None, reason="no outcomes", n=0, churned=0)
    if n1 == 0:
        return AucResult(value=None, reason="no churned outcome", n=n, churned=0)
    if n0 == 0:
        return AucResult(value=None, reason="no kept (non-churned) outcome", n=n, churned=n1)
    rank_sum = 0.0
    below = 0  # outcomes ranked below (less risky than) this score
    for score in sorted(set(positives) | set(negatives), reverse=True):  # least risky first
        tied = positives[score] + negatives[score]
        average_rank = below + (tied + 1) / 2
        rank_sum += positives[score] * average_rank
        below += tied
    auc = (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)
    return AucResult(value=round(auc, 3), n=n, churned=n1)


# -- the report model ---------------------------------------------------------------


class Rate(BaseModel):
    group: str
    n: int = Field(description="Outcomes in the group.")
    churned: int
    rate: float | None = Field(description="churned / n, 3 decimals; null when n is 0.")


class Ranking(BaseModel):
    scope: str = Field(description="all, or a segment.")
    n: int
    churned: int
    churn_rate: float | None
    score_auc: AucResult
    legacy_auc: AucResult
    without_score: int = Field(
        default=0,
        description="Outcomes whose assessment had no data (null score, band no_data): "
        "counted in n, churned and the no_data band, left out of the health score AUC.",
    )


class Miss(BaseModel):
    """`count` of the `n` accounts in the rule's population."""

    rule: str
    n: int
    count: int
    share: float | None


class ErrorCounts(BaseModel):
    false_positives: Miss
    missed_risks: Miss
    legacy_false_positives: Miss
    legacy_missed_risks: Miss


class OwnerFollowThrough(BaseModel):
    owner: str
    approved: int
    rejected: int
    open: int
    overdue: int


class FollowThrough(BaseModel):
    needing_decision: int = Field(description="Actions that took a decision: the sum of the rest.")
    approved: int
    rejected: int
    open: int = Field(description="pending: no decision yet.")
    overdue: int = Field(description="pending with due_date before as_of.")
    decided_share: float | None
    other_states: dict[str, int] = Field(
        description="ready, recommended, blocked, superseded: no decision (superseded: "
        "pending until a newer assessment stopped proposing it)."
    )
    by_owner: list[OwnerFollowThrough]


class ScoreChanges(BaseModel):
    threshold_points: int
    material_changes: int = Field(description="Score moved at least threshold_points.")
    drops: int
    rises: int
    with_review_task: int
    reviewed: int = Field(description="Its review task is done, or an action was decided.")
    review_tasks: int
    review_tasks_done: int
    review_tasks_decided: int = Field(description="Open or done, with an approved/rejected action.")
    review_tasks_open: int
    review_tasks_overdue: int


class OutcomeCounts(BaseModel):
    recorded: int = Field(description="Outcomes dated on or before as_of.")
    matched: int = Field(description="With an assessment recorded before the outcome date.")
    unmatched: int
    by_outcome: dict[str, int]


class SegmentRates(BaseModel):
    segment: str
    churn_by_band: list[Rate]
    churn_by_tier: list[Rate]
    churn_by_legacy_band: list[Rate]


VerdictStatus = Literal["ok", "weak", "insufficient_data"]


class Verdict(BaseModel):
    """Whether the health score ranks churn well enough on these outcomes."""

    status: VerdictStatus
    summary: str = Field(
        description="One plain sentence: the first line of `measure` and of the weekly "
        "report's calibration section."
    )
    reasons: list[str] = Field(
        description="weak: each problem found; insufficient_data: what is missing; ok: empty."
    )
    outcomes: int = Field(description="Matched outcomes judged.")
    churned: int
    auc: float | None = Field(description="The health score's ROC AUC over all outcomes.")
    min_auc: float = Field(description="measurement.min_auc: a lower AUC is weak.")


EXPANDED = "expanded"


class ExpansionAuc(BaseModel):
    value: float | None = Field(description="ROC AUC, 3 decimals; null when undefined.")
    reason: str | None = Field(default=None, description="Why the AUC is undefined.")
    n: int
    expanded: int


class ExpansionRate(BaseModel):
    n: int = Field(description="Outcomes in the group.")
    expanded: int
    rate: float | None = Field(description="expanded / n, 3 decimals; null when n is 0.")


class FlagExpansion(BaseModel):
    flag: str
    with_flag: ExpansionRate
    without_flag: ExpansionRate
    lift: float | None = Field(
        description="Rate with the flag over rate without, 2 decimals; null when undefined."
    )
    auc: ExpansionAuc = Field(
        description="The flag as a yes/no ranking: 0.5 tells nothing, 1.0 every expanded "
        "account had it and no other did."
    )


class ExpansionMeasurement(BaseModel):
    outcomes: int = Field(
        description="Matched outcomes whose assessment had opportunity flags read."
    )
    expanded: int
    rate: float | None
    not_evaluated: int = Field(
        description="Matched outcomes whose assessment was recorded before opportunity flags "
        "existed: left out of every figure here."
    )
    flag_count_auc: ExpansionAuc = Field(
        description="The number of opportunity flags as the ranking (more flags, likelier to "
        "expand)."
    )
    score_auc: ExpansionAuc = Field(
        description="The health score as the ranking (higher score, likelier to expand), "
        "for comparison."
    )
    by_flag: list[FlagExpansion]


_EXPANSION = """
SELECT o.outcome, a.score, a.opportunities
FROM (SELECT account_id, outcome, outcome_date,
             (SELECT MAX(b.as_of) FROM assessments AS b
              WHERE b.account_id = outcomes.account_id AND b.as_of < outcomes.outcome_date) AS live
      FROM outcomes WHERE outcome_date <= ?) AS o
JOIN assessments AS a ON a.account_id = o.account_id AND a.as_of = o.live
"""

_REASONS = {
    "no churned outcome": "no expanded outcome",
    "no kept (non-churned) outcome": "every outcome expanded",
}


def expansion_auc(higher_first: Sequence[float], expanded: Sequence[bool]) -> ExpansionAuc:
    """ROC AUC with a higher value meaning likelier to expand (ties count one half)."""
    result = roc_auc([-x for x in higher_first], expanded)
    return ExpansionAuc(
        value=result.value,
        reason=_REASONS.get(result.reason or "", result.reason),
        n=result.n,
        expanded=result.churned,
    )


def _expansion_rate(n: int, expanded: int) -> ExpansionRate:
    return ExpansionRate(n=n, expanded=expanded, rate=round(expanded / n, 3) if n else None)


def measure_expansion(connection: sqlite3.Connection, as_of: date) -> ExpansionMeasurement:
    """Expansion figures over every outcome up to `as_of`, as `measure` joins them."""
    evaluated: list[tuple[bool, int | None, set[str]]] = []
    not_evaluated = 0
    for outcome, score, opportunities in connection.execute(_EXPANSION, (as_of.isoformat(),)):
        if opportunities is None:
            not_evaluated += 1
            continue
        evaluated.append((outcome == EXPANDED, score, set(json.loads(opportunities))))
    expanded = [e for e, _, _ in evaluated]
    by_flag = []
    for code in (o.value for o in OpportunityCode):
        has = [code in found for _, _, found in evaluated]
        with_n, without_n = sum(has), len(has) - sum(has)
        with_e = sum(e and h for e, h in zip(expanded, has, strict=True))
        without_e = sum(expanded) - with_e
        with_rate, without_rate = (
            _expansion_rate(with_n, with_e),
            _expansion_rate(without_n, without_e),
        )
        lift = None
        if with_n and without_n and without_e:
            lift = round((with_e / with_n) / (without_e / without_n), 2)
        by_flag.append(
            FlagExpansion(
                flag=code,
                with_flag=with_rate,
                without_flag=without_rate,
                lift=lift,
                auc=expansion_auc([float(h) for h in has], expanded),
            )
        )
    scored = [(e, s) for e, s, _ in evaluated if s is not None]
    return ExpansionMeasurement(
        outcomes=len(evaluated),
        expanded=sum(expanded),
        rate=_expansion_rate(len(evaluated), sum(expanded)).rate,
        not_evaluated=not_evaluated,
        flag_count_auc=expansion_auc([float(len(f)) for _, _, f in evaluated], expanded),
        score_auc=expansion_auc([float(s) for _, s in scored], [e for e, _ in scored]),
        by_flag=by_flag,
    )


class Measurement(BaseModel):
    verdict: Verdict = Field(description="Is the score good enough here? Read this first.")
    as_of: date
    policy_version: str
    churn_outcomes: list[str]
    outcomes: OutcomeCounts
    ranking: list[Ranking] = Field(description="all first, then each segment.")
    churn_by_band: list[Rate]
    churn_by_tier: list[Rate]
    churn_by_legacy_band: list[Rate]
    churn_by_segment: list[SegmentRates] = Field(description="The same three, per segment.")
    errors: ErrorCounts
    follow_through: FollowThrough
    score_changes: ScoreChanges
    expansion: ExpansionMeasurement = Field(
        description="How well the opportunity flags ranked expansions (outcome expanded), "
        "beside the churn figures."
    )
    notes: list[str]
    outcomes_after: OutcomesAfter


# -- computing ----------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _rates(groups: Iterable[str], observations: list[Observation], key, churn) -> list[Rate]:
    n: Counter[str] = Counter()
    churned: Counter[str] = Counter()
    for o in observations:
        group = key(o)
        n[group] += 1
        churned[group] += churn(o)
    ordered = list(groups) + sorted(set(n) - set(groups))
    return [
        Rate(group=g, n=n[g], churned=churned[g], rate=_share(churned[g], n[g])) for g in ordered
    ]


# no_data (an account with no signal) is listed only when it has outcomes: its
# row is then counted like any band, and empty it would only be noise.
_BANDS = [b.value for b in Band if b is not Band.NO_DATA]
_TIERS = [t.value for t in Tier if t is not Tier.NO_DATA]


def _ranking(scope: str, observations: list[Observation], churn) -> Ranking:
    flags = [churn(o) for o in observations]
    n, churned = len(flags), sum(flags)
    return Ranking(
        scope=scope,
        n=n,
        churned=churned,
        churn_rate=_share(churned, n),
        # An outcome without a score is counted but cannot be ranked by it.
        score_auc=roc_auc(
            [o.score for o in observations if o.score is not None],
            [f for o, f in zip(observations, flags, strict=True) if o.score is not None],
        ),
        legacy_auc=roc_auc([o.legacy_total for o in observations], flags),
        without_score=sum(o.score is None for o in observations),
    )


def _miss(rule: str, population: list[bool], hits: list[bool]) -> Miss:
    n = sum(population)
    count = sum(p and h for p, h in zip(population, hits, strict=True))
    return Miss(rule=rule, n=n, count=count, share=_share(count, n))


def _errors(observations: list[Observation], churn, policy: Policy) -> ErrorCounts:
    churned = [churn(o) for o in observations]
    kept = [not c for c in churned]
    legacy = sorted(policy.scoring.legacy.bands, key=lambda b: b.min)
    lowest, highest = legacy[0].label, legacy[-1].label
    flagged = [o.band == Band.RED or o.tier == Tier.AT_RISK for o in observations]
    green = [o.band == Band.GREEN for o in observations]
    return ErrorCounts(
        false_positives=_miss("band red or tier at_risk, then kept", flagged, kept),
        missed_risks=_miss("band green, then churned", green, churned),
        legacy_false_positives=_miss(
            f"legacy band {lowest!r}, then kept",
            [o.legacy_band == lowest for o in observations],
            kept,
        ),
        legacy_missed_risks=_miss(
            f"legacy band {highest!r}, then churned",
            [o.legacy_band == highest for o in observations],
            churned,
        ),
    )


# Measured as of a date, a queue item superseded only after it was still live then.
_STATE_THEN = "CASE WHEN state = 'superseded' AND superseded_by > ? THEN 'pending' ELSE state END"
_TASK_OPEN_THEN = "state = 'open' OR (state = 'superseded' AND superseded_by > ?)"
_TASK_LIVE_THEN = "NOT (state = 'superseded' AND superseded_by <= ?)"


def _follow_through(connection: sqlite3.Connection, day: str, top: int) -> FollowThrough:
    states: Counter[str] = Counter(
        {
            state: count
            for state, count in connection.execute(
                f"SELECT {_STATE_THEN} AS state_then, COUNT(*) FROM actions WHERE as_of <= ? "
                "GROUP BY state_then",
                (day, day),
            )
        }
    )
    owners: dict[str, Counter[str]] = defaultdict(Counter)
    for owner, state, overdue, count in connection.execute(
        f"SELECT COALESCE(owner_name, owner), {_STATE_THEN}, "
        f"{_STATE_THEN} = 'pending' AND due_date < ?, COUNT(*) "
        "FROM actions WHERE state IN ('approved', 'rejected', 'pending', 'superseded') "
        "AND as_of <= ? GROUP BY 1, 2, 3",
        (day, day, day, day),
    ):
        owners[owner][state] += count
        if overdue:
            owners[owner]["overdue"] += count
    approved, rejected, pending = states["approved"], states["rejected"], states["pending"]
    overdue = sum(c["overdue"] for c in owners.values())
    by_owner = [
        OwnerFollowThrough(
            owner=owner,
            approved=c["approved"],
            rejected=c["rejected"],
            open=c["pending"],
            overdue=c["overdue"],
        )
        for owner, c in owners.items()
    ]
    by_owner.sort(key=lambda r: (-r.overdue, -r.open, r.owner))
    return FollowThrough(
        needing_decision=approved + rejected + pending,
        approved=approved,
        rejected=rejected,
        open=pending,
        overdue=overdue,
        decided_share=_share(approved + rejected, approved + rejected + pending),
        other_states={
            s: c for s, c in sorted(states.items()) if s not in ("approved", "rejected", "pending")
        },
        by_owner=by_owner[:top],
    )


def _score_changes(connection: sqlite3.Connection, day: str, threshold: int) -> ScoreChanges:
    decided = {
        (account_id, as_of)
        for account_id, as_of in connection.execute(
            # A carried-over action was proposed by each date from as_of to last_proposed;
            # its decision reviews the first and the last of them.
            "SELECT account_id, as_of FROM actions "
            "WHERE state IN ('approved', 'rejected') AND as_of <= ? "
            "UNION SELECT account_id, COALESCE(last_proposed, as_of) FROM actions "
            "WHERE state IN ('approved', 'rejected') AND COALESCE(last_proposed, as_of) <= ?",
            (day, day),
        )
    }
    drops = rises = with_task = reviewed = 0
    for account_id, as_of, delta, state in connection.execute(
        "SELECT c.account_id, c.as_of, c.delta, r.state FROM (SELECT account_id, as_of, "
        "score - LAG(score) OVER (PARTITION BY account_id ORDER BY as_of) AS delta "
        "FROM assessments WHERE as_of <= ?) AS c LEFT JOIN review_tasks AS r "
        "ON r.account_id = c.account_id AND r.as_of = c.as_of WHERE abs(c.delta) >= ?",
        (day, threshold),
    ):
        if delta < 0:
            drops += 1
        else:
            rises += 1
        with_task += state is not None
        reviewed += state == "done" or (account_id, as_of) in decided
    total, done, open_, overdue = connection.execute(
        "SELECT COUNT(*), COALESCE(SUM(state = 'done'), 0), "
        f"COALESCE(SUM({_TASK_OPEN_THEN}), 0), "
        f"COALESCE(SUM(({_TASK_OPEN_THEN}) AND due_date < ?), 0) FROM review_tasks "
        f"WHERE as_of <= ? AND {_TASK_LIVE_THEN}",
        (day, day, day, day, day),
    ).fetchone()
    tasks_decided = 0
    if decided:
        tasks_decided = sum(
            (account_id, as_of) in decided
            for account_id, as_of in connection.execute(
                "SELECT account_id, as_of FROM review_tasks "
                f"WHERE as_of <= ? AND {_TASK_LIVE_THEN}",
                (day, day),
            )
        )
    return ScoreChanges(
        threshold_points=threshold,
        material_changes=drops + rises,
        drops=drops,
        rises=rises,
        with_review_task=with_task,
        reviewed=reviewed,
        review_tasks=total,
        review_tasks_done=done,
        review_tasks_decided=tasks_decided,
        review_tasks_open=open_,
        review_tasks_overdue=overdue,
    )


# -- the verdict --------------------------------------------------------------------

_CALIBRATE = "Run `account-health calibrate` to fit the weights to your own outcomes."
_IMPORT = "Import more with `account-health outcomes import`."
_RISKIER_FIRST = (Band.RED.value, Band.YELLOW.value, Band.GREEN.value)


def _band_order_problems(rates: list[Rate], min_outcomes: int) -> tuple[list[str], int]:
    """Each pair of neighbouring bands (among those with enough outcomes) whose churn
    runs the wrong way, and how many bands were compared."""
    by_band = {r.group: r for r in rates}
    compared = [by_band[b] for b in _RISKIER_FIRST if b in by_band and by_band[b].n >= min_outcomes]
    problems = [
        f"{safer.group} accounts churned more than {riskier.group} ones "
        f"({pct(safer.rate)} of {safer.n:,} vs {pct(riskier.rate)} of {riskier.n:,})"
        for riskier, safer in pairwise(compared)
        if safer.churned * riskier.n > riskier.churned * safer.n
    ]
    return problems, len(compared)


def judge_score(overall: Ranking, by_band: list[Rate], config: MeasurementConfig) -> Verdict:
    """The verdict on the health score from its overall ranking and churn by band."""
    n, churned, auc = overall.n, overall.churned, overall.score_auc.value
    floor = f"{config.min_auc:.2f}"

    def verdict(status: VerdictStatus, summary: str, reasons: list[str]) -> Verdict:
        return Verdict(
            status=status,
            summary=summary,
            reasons=reasons,
            outcomes=n,
            churned=churned,
            auc=auc,
            min_auc=config.min_auc,
        )

    too_few = n < config.min_outcomes or churned < config.min_churned
    if too_few or auc is None:
        missing = (
            f"{n:,} outcomes with {churned:,} churned; judging needs at least "
            f"{config.min_outcomes:,} with {config.min_churned:,} churned"
            if too_few
            else f"{n:,} outcomes but {overall.score_auc.reason}"
        )
        summary = f"Not enough outcomes to judge the health score yet: {missing}. {_IMPORT}"
        return verdict("insufficient_data", summary, [missing])
    problems = []
    if auc < config.min_auc:
        problems.append(f"AUC {auc:.3f} on {n:,} outcomes (below {floor})")
    order, compared = _band_order_problems(by_band, config.min_band_outcomes)
    problems += order
    if problems:
        summary = f"The health score does not rank churn well here: {'; '.join(problems)}."
        return verdict("weak", f"{summary} {_CALIBRATE}", problems)
    bands = (
        "churn rates by band are in order"
        if compared >= 2
        else f"too few bands with {config.min_band_outcomes:,} outcomes to compare churn rates"
    )
    summary = (
        f"The health score ranks churn well enough here: AUC {auc:.3f} on {n:,} outcomes "
        f"({floor} or more), and {bands}."
    )
    return verdict("ok", summary, [])


def score_verdict(observations: list[Observation], policy: Policy) -> Verdict:
    """`judge_score` straight from matched outcomes, for readers that need only the verdict."""
    churn_set = frozenset(policy.measurement.churn_outcomes)

    def churn(o: Observation) -> bool:
        return o.outcome in churn_set

    by_band = _rates(_BANDS, observations, lambda o: o.band, churn)
    return judge_score(_ranking("all", observations, churn), by_band, policy.measurement)


def measure(
    connection: sqlite3.Connection, policy: Policy, *, as_of: date, owners: int = 10
) -> Measurement:
    """Seed 003's measurement over everything recorded up to `as_of`."""
    churn_set = frozenset(policy.measurement.churn_outcomes)
    observations, recorded = load_observations(connection, as_of)

    def churn(o: Observation) -> bool:
        return o.outcome in churn_set

    by_segment: dict[str, list[Observation]] = defaultdict(list)
    for o in observations:
        by_segment[o.segment].append(o)
    segments = [s.value for s in Segment] + sorted(set(by_segment) - {s.value for s in Segment})
    ranking = [_ranking("all", observations, churn)]
    ranking += [_ranking(s, by_segment.get(s, []), churn) for s in segments]
    legacy_labels = [b.label for b in sorted(policy.scoring.legacy.bands, key=lambda b: -b.min)]

    def by_band(group: list[Observation]) -> list[Rate]:
        return _rates(_BANDS, group, lambda o: o.band, churn)

    def by_tier(group: list[Observation]) -> list[Rate]:
        return _rates(_TIERS, group, lambda o: o.tier, churn)

    def by_legacy(group: list[Observation]) -> list[Rate]:
        return _rates(legacy_labels, group, lambda o: o.legacy_band, churn)

    day = as_of.isoformat()
    notes = []
    later = outcomes_after(connection, as_of)
    if recorded == 0 and not later.count:
        notes.append("no outcomes recorded yet: import them with `account-health outcomes import`")
    elif recorded == 0:
        notes.append(f"no outcomes dated on or before {day}")
    elif len(observations) < recorded:
        notes.append(
            f"{recorded - len(observations)} of {recorded} outcomes have no assessment recorded "
            "before the outcome date and are left out"
        )
    churn_by_band = by_band(observations)
    return Measurement(
        verdict=judge_score(ranking[0], churn_by_band, policy.measurement),
        as_of=as_of,
        policy_version=policy.version,
        churn_outcomes=sorted(churn_set),
        outcomes=OutcomeCounts(
            recorded=recorded,
            matched=len(observations),
            unmatched=recorded - len(observations),
            by_outcome=dict(sorted(Counter(o.outcome for o in observations).items())),
        ),
        ranking=ranking,
        churn_by_band=churn_by_band,
        churn_by_tier=by_tier(observations),
        churn_by_legacy_band=by_legacy(observations),
        churn_by_segment=[
            SegmentRates(
                segment=s,
                churn_by_band=by_band(by_segment.get(s, [])),
                churn_by_tier=by_tier(by_segment.get(s, [])),
                churn_by_legacy_band=by_legacy(by_segment.get(s, [])),
            )
            for s in segments
        ],
        errors=_errors(observations, churn, policy),
        follow_through=_follow_through(connection, day, owners),
        score_changes=_score_changes(connection, day, policy.history.score_drop_points),
        expansion=measure_expansion(connection, as_of),
        notes=notes + ([later.note] if later.note else []),
        outcomes_after=later,
    )


# -- Markdown -----------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def auc_text(result: AucResult) -> str:
    return f"n/a ({result.reason})" if result.value is None else f"{result.value:.3f}"


def _rate_cell(rate: Rate) -> str:
    return f"{rate.churned}/{rate.n} ({pct(rate.rate)})" if rate.n else "0/0"


def _rate_table(
    title: str, overall: list[Rate], per_segment: list[tuple[str, list[Rate]]]
) -> list[str]:
    """Rows: the groups; columns: all, then each segment; cells: churned/outcomes (rate)."""
    names = ["all", *(name for name, _ in per_segment)]
    lines = [f"| {title} | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    columns = [{r.group: r for r in rates} for rates in (overall, *(r for _, r in per_segment))]
    for rate in overall:
        cells = [_rate_cell(c[rate.group]) if rate.group in c else "0/0" for c in columns]
        lines.append(f"| {rate.group} | " + " | ".join(cells) + " |")
    return lines


def _miss_line(label: str, miss: Miss, of: str) -> str:
    return f"| {label} | {miss.rule} | {miss.count} of {miss.n} {of} | {pct(miss.share)} |"


def render_markdown(m: Measurement) -> str:
    o = m.outcomes
    by_outcome = ", ".join(f"{k} {v}" for k, v in o.by_outcome.items()) or "none"
    lines = [
        m.verdict.summary,
        "",
        f"# Score measurement, as of {m.as_of.isoformat()}",
        "",
        f"Outcomes: {o.matched} matched to the assessment live before them "
        f"(of {o.recorded} recorded; {o.unmatched} without an earlier assessment). "
        f"By outcome: {by_outcome}. Churn means: {', '.join(m.churn_outcomes)}. "
        f"Policy {m.policy_version}.",
        "",
    ]
    lines += [f"> {note}" for note in m.notes] + ([""] if m.notes else [])
    lines += [
        "## How well the score ranks churn (ROC AUC)",
        "",
        "0.5 is a coin toss, 1.0 ranks every churned account below every kept one.",
        "",
        "| scope | outcomes | churned | churn rate | health score AUC | legacy score AUC |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in m.ranking:
        lines.append(
            f"| {r.scope} | {r.n} | {r.churned} | {pct(r.churn_rate)} | "
            f"{auc_text(r.score_auc)} | {auc_text(r.legacy_auc)} |"
        )
    unscored = sum(r.without_score for r in m.ranking if r.scope == "all")
    if unscored:
        lines += [
            "",
            f"{unscored} outcome(s) had an assessment with no data (no score): counted in "
            "outcomes, churned and the no_data band, left out of the health score AUC.",
        ]
    lines += ["", "## Churn rate by band, tier and legacy band", ""]
    lines += ["Each cell: churned / outcomes (churn rate).", ""]
    segs = m.churn_by_segment
    lines += [*_rate_table("band", m.churn_by_band, [(x.segment, x.churn_by_band) for x in segs])]
    lines.append("")
    lines += [*_rate_table("tier", m.churn_by_tier, [(x.segment, x.churn_by_tier) for x in segs])]
    lines.append("")
    legacy = [(x.segment, x.churn_by_legacy_band) for x in segs]
    lines += [*_rate_table("legacy band", m.churn_by_legacy_band, legacy), ""]
    e = m.errors
    lines += [
        "## False positives and missed risks",
        "",
        "| measure | rule | count | share |",
        "|---|---|---:|---:|",
        _miss_line("false positives", e.false_positives, "flagged"),
        _miss_line("missed risks", e.missed_risks, "green"),
        _miss_line("legacy false positives", e.legacy_false_positives, "flagged"),
        _miss_line("legacy missed risks", e.legacy_missed_risks, "healthy"),
        "",
    ]
    f = m.follow_through
    lines += [
        "## Owner follow-through",
        "",
        f"Actions that need an owner's decision: {f.needing_decision}; "
        f"decided {pct(f.decided_share)}.",
        "",
        "| approved | rejected | open | overdue |",
        "|---:|---:|---:|---:|",
        f"| {f.approved} | {f.rejected} | {f.open} | {f.overdue} |",
        "",
    ]
    if f.by_owner:
        lines += ["| owner | approved | rejected | open | overdue |", "|---|---:|---:|---:|---:|"]
        lines += [
            f"| {_cell(r.owner)} | {r.approved} | {r.rejected} | {r.open} | {r.overdue} |"
            for r in f.by_owner
        ]
        lines.append("")
    s = m.score_changes
    lines += [
        "## Score changes reviewed",
        "",
        f"Material score changes (at least {s.threshold_points} points since the previous "
        f"assessment): {s.material_changes} ({s.drops} down, {s.rises} up); "
        f"{s.with_review_task} with an owner review task, {s.reviewed} reviewed "
        "(task done or an action decided).",
        "",
        "| review tasks | done | decided | open | overdue |",
        "|---:|---:|---:|---:|---:|",
        f"| {s.review_tasks} | {s.review_tasks_done} | {s.review_tasks_decided} | "
        f"{s.review_tasks_open} | {s.review_tasks_overdue} |",
        "",
    ]
    lines += expansion_markdown(m.expansion)
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _auc(result: ExpansionAuc) -> str:
    return f"n/a ({result.reason})" if result.value is None else f"{result.value:.3f}"


def expansion_markdown(e: ExpansionMeasurement) -> list[str]:
    """`measure`'s section on expansions, beside the churn figures."""
    lines = [
        "## How well the opportunity flags ranked expansions",
        "",
        f"Outcomes with opportunity flags read: {e.outcomes}, of which {e.expanded} expanded "
        f"({pct(e.rate)}).",
    ]
    if e.not_evaluated:
        lines.append(
            f"{e.not_evaluated} outcome(s) had an assessment recorded before opportunity flags "
            "existed and are left out here."
        )
    lines += [
        "",
        f"ROC AUC (n {e.flag_count_auc.n}): number of opportunity flags "
        f"{_auc(e.flag_count_auc)}; health score {_auc(e.score_auc)} (n {e.score_auc.n}).",
        "",
        "| flag | with: expanded / n (rate) | without: expanded / n (rate) | lift | AUC |",
        "|---|---:|---:|---:|---:|",
    ]
    for f in e.by_flag:
        with_, without = f.with_flag, f.without_flag
        lift = "n/a" if f.lift is None else f"{f.lift:.2f}"
        lines.append(
            f"| {f.flag} | {with_.expanded}/{with_.n} ({pct(with_.rate)}) "
            f"| {without.expanded}/{without.n} ({pct(without.rate)}) | {lift} | {_auc(f.auc)} |"
        )
    return [*lines, ""]
