"""Stages 2-4: composite score, confidence, guard-rail caps, bands and tiers."""

from __future__ import annotations

from skill.assessment import DimensionScore, MissingData, ScoreCap, SourceStatus
from skill.engine.conditions import first_match
from skill.engine.context import AccountContext
from skill.engine.dimensions import round_half_up
from skill.policy import Scoring
from skill.vocabulary import Band, Confidence, RiskFlagCode, Tier


def composite(dimensions: list[DimensionScore]) -> int:
    """Weighted mean of the dimensions present; their weights are already renormalised."""
    total = sum(d.weight for d in dimensions)
    return round_half_up(sum(d.score * d.weight for d in dimensions) / total)


def assess_confidence(
    ctx: AccountContext,
    scoring: Scoring,
    missing: list[MissingData],
    sources: list[SourceStatus],
) -> tuple[Confidence, list[str]]:
    weights = scoring.weights[ctx.record.segment]
    total = sum(weights.values())
    coverage = sum(weights[d] for d in ctx.dimension_scores) / total
    stale = [s for s in sources if s.stale]
    reasons = [f"{round_half_up(coverage * 100)}% of the score's weight has data"]
    if missing:
        reasons.append("missing: " + ", ".join(m.dimension.value for m in missing))
    if stale:
        reasons.append("stale: " + ", ".join(s.source.value for s in stale))
    level = Confidence.LOW
    for name in ("high", "medium"):
        rule = scoring.confidence[name]
        if coverage >= rule.min_coverage and len(stale) <= rule.max_stale_sources:
            level = Confidence(name)
            break
    if RiskFlagCode.CONFLICTING_EVIDENCE in ctx.flags and level is not Confidence.LOW:
        level = Confidence.MEDIUM if level is Confidence.HIGH else Confidence.LOW
        reasons.append("signals conflict")
    return level, reasons


def apply_guard_rails(
    raw: int, ctx: AccountContext, scoring: Scoring
) -> tuple[int, list[ScoreCap]]:
    """Caps that actually held the score down, each named, tightest last."""
    caps = []
    for rail in scoring.guard_rails:
        if rail.cap < raw and first_match(rail, ctx) is not None:
            caps.append(ScoreCap(code=rail.id, cap=rail.cap, reason=rail.reason))
    caps.sort(key=lambda c: (-c.cap, c.code))
    return (min(c.cap for c in caps) if caps else raw), caps


def band_for(score: int, scoring: Scoring) -> Band:
    return next(t.band for t in scoring.bands if score >= t.min)


def tier_for(ctx: AccountContext, score: int, scoring: Scoring) -> tuple[Tier, str]:
    """Seed 004's tiers read the mean of weekly activity; the score stands in without it."""
    activity = ctx.record.weekly_activity
    if activity:
        basis_value, basis = sum(activity) / len(activity), "weekly_activity"
    else:
        basis_value, basis = float(score), "score"
    return next(t.tier for t in scoring.tiers if basis_value >= t.min), basis
