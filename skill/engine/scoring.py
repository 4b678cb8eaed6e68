"""Stages 2-4: composite score, confidence, guard-rail caps, bands and tiers."""

from __future__ import annotations

from skill.assessment import DimensionScore, MissingData, ScoreCap, SourceStatus
from skill.engine.conditions import CompiledRule, compile_rule, match
from skill.engine.context import AccountContext
from skill.engine.dimensions import round_half_up
from skill.engine.shared import SharedPieces
from skill.policy import GuardRail, Scoring
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
        reasons.append("missing: " + ", ".join(m.dimension for m in missing))
    if stale:
        reasons.append("stale: " + ", ".join(s.source for s in stale))
    level = Confidence.LOW
    for candidate in (Confidence.HIGH, Confidence.MEDIUM):
        rule = scoring.confidence[candidate]
        if coverage >= rule.min_coverage and len(stale) <= rule.max_stale_sources:
            level = candidate
            break
    if RiskFlagCode.CONFLICTING_EVIDENCE in ctx.flags and level is not Confidence.LOW:
        level = Confidence.MEDIUM if level is Confidence.HIGH else Confidence.LOW
        reasons.append("signals conflict")
    return level, reasons


GuardRails = tuple[tuple[GuardRail, CompiledRule], ...]


def compile_guard_rails(scoring: Scoring) -> GuardRails:
    return tuple((rail, compile_rule(rail)) for rail in scoring.guard_rails)


def apply_guard_rails(
    raw: int, ctx: AccountContext, rails: GuardRails, shared: SharedPieces
) -> tuple[int, list[ScoreCap]]:
    """Caps that actually held the score down, each named, tightest last."""
    caps = []
    for rail, rule in rails:
        if rail.cap < raw and match(rule, ctx) is not None:
            caps.append(shared.get(ScoreCap, rail.id, rail.cap, rail.reason))
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
