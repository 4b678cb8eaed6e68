"""Stages 2-4: composite score, confidence, guard-rail caps, bands and tiers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import mul
from typing import Any

from skill.assessment import MissingData, ScoreCap, SourceStatus
from skill.engine.conditions import Matches, compile_rules
from skill.engine.context import AccountContext
from skill.engine.dimensions import DIMENSION_SOURCE, SOURCE_LABEL, round_half_up
from skill.engine.shared import SharedPieces
from skill.policy import GuardRail, Scoring
from skill.vocabulary import Band, Confidence, RiskFlagCode, Tier


def composite(scores: Iterable[int], weights: Sequence[float]) -> int:
    """Weighted mean of the dimensions present (their scores and weights, in dimension
    order); the weights are already renormalised. Summed in dimension order from 0."""
    return round_half_up(sum(map(mul, scores, weights)) / sum(weights))


def assess_confidence(
    ctx: AccountContext,
    scoring: Scoring,
    missing: list[MissingData],
    sources: list[SourceStatus],
) -> tuple[Confidence, Confidence, list[str]]:
    """Confidence over every dimension, and the account's own evidence level.

    The account's evidence leaves out the dimensions of sources that have no data
    anywhere in the input: that gap is the input's, the same for every account, so
    it lowers confidence but is not a reason to look at this account. Without
    knowing the input's sources the two are the same.
    """
    weights = scoring.weights[ctx.record.segment]
    covered: float = sum(weights[d] for d in ctx.dimension_scores)
    weight_total: float = sum(weights.values())
    coverage = covered / weight_total
    stale = [s for s in sources if s.stale]
    conflicting = RiskFlagCode.CONFLICTING_EVIDENCE in ctx.flags
    reasons = [f"{round_half_up(coverage * 100)}% of the score's weight has data"]
    if missing:
        reasons.append("missing: " + ", ".join(m.dimension for m in missing))
    if stale:
        reasons.append("stale: " + ", ".join(s.source for s in stale))
    level = _level(coverage, len(stale), scoring)
    absent = {s.source for s in sources if s.in_input is False}
    account = level
    if absent:
        reasons += [f"{SOURCE_LABEL[s]} not connected in this input" for s in sorted(absent)]
        expected: float = sum(w for d, w in weights.items() if DIMENSION_SOURCE[d] not in absent)
        own = covered / expected if expected else 0.0
        account = _level(own, len(stale), scoring)
    if conflicting:
        account = _lowered(account)
        if level is not Confidence.LOW:
            level = _lowered(level)
            reasons.append("signals conflict")
    if absent:
        reasons.append(
            f"account evidence {account}: {round_half_up(own * 100)}% of the weight of the "
            "sources in this input has data"
        )
    return level, account, reasons


def _level(coverage: float, stale: int, scoring: Scoring) -> Confidence:
    """The first level whose coverage and stale-source limits hold, else low."""
    for candidate in (Confidence.HIGH, Confidence.MEDIUM):
        rule = scoring.confidence[candidate]  # type: ignore[index]  # equal to its value
        if coverage >= rule.min_coverage and stale <= rule.max_stale_sources:
            return candidate
    return Confidence.LOW


def _lowered(level: Confidence) -> Confidence:
    """Conflicting evidence lowers a level one step."""
    return Confidence.MEDIUM if level is Confidence.HIGH else Confidence.LOW


# The rails, each as its cap and the rail (read only when it holds), and all their
# conditions compiled into one function: which rails hold on an account.
GuardRails = tuple[tuple[tuple[int, GuardRail], ...], Callable[[AccountContext], Matches]]


def compile_guard_rails(scoring: Scoring) -> GuardRails:
    rails = scoring.guard_rails
    return tuple((rail.cap, rail) for rail in rails), compile_rules(rails)


def apply_guard_rails(
    raw: int, ctx: AccountContext, rails: GuardRails, shared: SharedPieces
) -> tuple[int, list[ScoreCap]]:
    """Caps that actually held the score down, each named, tightest last."""
    caps = []
    capped, holding = rails
    for index, _, _ in holding(ctx):  # one call for every rail's conditions
        cap, rail = capped[index]
        if cap < raw:
            caps.append(shared.get(ScoreCap, rail.id, cap, rail.reason))
    if not caps:
        return raw, caps
    caps.sort(key=lambda c: (-c.cap, c.code))
    return min(c.cap for c in caps), caps


# (minimum, label) pairs, best first: the policy's bands or tiers as plain values,
# read on every account (a policy model's attribute read costs several plain ones).
Thresholds = tuple[tuple[float, str], ...]


def band_thresholds(scoring: Scoring) -> Thresholds:
    return tuple((threshold.min, threshold.band) for threshold in scoring.bands)


def tier_thresholds(scoring: Scoring) -> Thresholds:
    return tuple((threshold.min, threshold.tier) for threshold in scoring.tiers)


def first_reached(value: float, thresholds: Thresholds) -> Any:
    """The label of the first threshold `value` reaches."""
    for least, label in thresholds:
        if value >= least:
            return label
    raise StopIteration  # as next() over no band would: the policy has no lowest one


def band_for(score: int, scoring: Scoring) -> Band:
    return first_reached(score, band_thresholds(scoring))  # type: ignore[no-any-return]


def tier_for(ctx: AccountContext, score: int, tiers: Thresholds) -> tuple[Tier, str]:
    """Seed 004's tiers read the mean of weekly activity; the score stands in without it.

    `tiers`: `tier_thresholds(scoring)`, worked out once per run."""
    activity = ctx.record.weekly_activity
    if activity:
        return first_reached(sum(activity) / len(activity), tiers), "weekly_activity"
    return first_reached(float(score), tiers), "score"
