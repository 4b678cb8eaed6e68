"""Stage 10: the owner review task and the measurement event (seed 003)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from skill.assessment import Action, MeasurementEvent, ReviewTask, trusted
from skill.engine.conditions import holds
from skill.engine.context import AccountContext
from skill.policy import ReviewConfig
from skill.vocabulary import AutomationLevel, Band, Confidence, RiskFlagCode, Tier


_new_review_task = trusted(ReviewTask)
_new_measurement_event = trusted(MeasurementEvent)


def review_task(config: ReviewConfig, ctx: AccountContext) -> ReviewTask | None:
    """The task when any reason holds; whether the run's budget may defer it is marked too."""
    reasons = [reason for reason, cond in config.reasons.items() if holds(cond, ctx)]
    if not reasons:
        return None
    budget = config.budget
    return _new_review_task(
        owner=ctx.record.owner or "unassigned",
        owner_role=config.owner_role,
        due_date=ctx.as_of + timedelta(days=config.due_days),
        reasons=reasons,
        checklist=config.checklist,
        budget_exempt=budget is not None and any(holds(c, ctx) for c in budget.never_cut),
    )


def measurement_event(
    ctx: AccountContext,
    *,
    score: int | None,
    band: Band,
    tier: Tier,
    confidence: Confidence,
    legacy_total: int,
    legacy_band: str,
    flags: list[RiskFlagCode],
    actions: list[Action],
    level: AutomationLevel,
    policy_version: str,
) -> MeasurementEvent:
    """A deterministic id, so the same assessment logged twice is the same event."""
    key = f"{ctx.record.account_id}|{ctx.as_of.isoformat()}|{level}|{policy_version}"
    return _new_measurement_event(
        event_id=hashlib.sha256(key.encode()).hexdigest()[:16],
        event_type="health_assessed",
        account_id=ctx.record.account_id,
        as_of=ctx.as_of,
        score=score,
        band=band,
        tier=tier,
        confidence=confidence,
        legacy_total=legacy_total,
        legacy_band=legacy_band,
        flags=flags,
        action_statuses={a.action: a.status for a in actions},
        policy_version=policy_version,
    )
