"""The deterministic engine: one account record in, one frozen assessment out.

Pure: no I/O, no clock (`as_of` is an argument), no randomness, no LLM. It
imports nothing from drafting, store, render or cli.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from skill.assessment import Assessment, UntrustedText
from skill.engine.actions import plan_actions
from skill.engine.context import AccountContext, days_between
from skill.engine.dimensions import missing_dimensions, score_dimensions, source_statuses
from skill.engine.flags import detect_flags, detect_themes
from skill.engine.gate import PolicyGate
from skill.engine.legacy import legacy_score
from skill.engine.review import measurement_event, review_task
from skill.engine.scoring import (
    apply_guard_rails,
    assess_confidence,
    band_for,
    composite,
    tier_for,
)
from skill.policy import Policy
from skill.record import AccountRecord
from skill.vocabulary import AutomationLevel

__all__ = ["NoSignalsError", "PolicyGate", "assess_account", "assess_records"]


class NoSignalsError(ValueError):
    """The record has no signal any dimension can score."""


def assess_account(
    record: AccountRecord,
    policy: Policy,
    as_of: date,
    level: AutomationLevel = AutomationLevel.BALANCED,
    gate: PolicyGate | None = None,
) -> Assessment:
    """Assess one account. `as_of` is the record's own date when it has one."""
    as_of = record.as_of or as_of
    scoring = policy.scoring
    ctx = AccountContext(
        record=record,
        as_of=as_of,
        days_to_renewal=None
        if record.renewal_date is None
        else -days_between(record.renewal_date, as_of),
        notes_lower=" ".join(t for t in (record.notes, record.blocker_note) if t).lower(),
    )
    dimensions = score_dimensions(ctx, scoring)
    if not dimensions:
        raise NoSignalsError(
            "no health signals: give at least one usage, adoption, support, sentiment, "
            "commercial, relationship or outcome field"
        )
    sources = source_statuses(record, as_of, scoring.stale_after_days)
    missing = missing_dimensions(ctx, scoring, sources)
    flags = detect_flags(ctx, policy.risk, scoring.signals, sources)
    confidence, confidence_reasons = assess_confidence(ctx, scoring, missing, sources)
    ctx.confidence = confidence
    themes = detect_themes(ctx, policy.risk)
    raw = composite(dimensions)
    score, caps = apply_guard_rails(raw, ctx, scoring)
    band = band_for(score, scoring)
    ctx.band = band
    tier, tier_basis = tier_for(ctx, score, scoring)
    legacy = legacy_score(scoring.legacy, ctx)
    gate = gate or PolicyGate(policy.gate, level)
    actions = plan_actions(policy.actions, gate, ctx)
    return Assessment(
        account_id=record.account_id,
        name=record.display_name,
        segment=record.segment,
        lifecycle=record.lifecycle,
        owner=record.owner,
        arr=record.arr,
        renewal_date=record.renewal_date,
        days_to_renewal=ctx.days_to_renewal,
        as_of=as_of,
        automation_level=gate.level,
        score=score,
        raw_score=raw,
        band=band,
        tier=tier,
        tier_basis=tier_basis,
        confidence=confidence,
        confidence_reasons=confidence_reasons,
        dimensions=dimensions,
        missing_data=missing,
        sources=sources,
        caps=caps,
        flags=flags,
        themes=themes,
        legacy=legacy,
        actions=actions,
        review_task=review_task(policy.actions.review_task, ctx),
        measurement_event=measurement_event(
            ctx,
            score=score,
            band=band,
            tier=tier,
            confidence=confidence,
            legacy_total=legacy.total,
            legacy_band=legacy.band,
            flags=[f.code for f in flags],
            actions=actions,
            level=gate.level,
            policy_version=policy.version,
        ),
        untrusted_text=UntrustedText(
            notes=record.notes,
            blocker_note=record.blocker_note,
            contact_name=record.contact_name,
            contact_email=record.contact_email,
        ),
    )


def assess_records(
    records: Iterable[AccountRecord],
    policy: Policy,
    as_of: date,
    level: AutomationLevel = AutomationLevel.BALANCED,
) -> Iterator[Assessment]:
    gate = PolicyGate(policy.gate, level)
    for record in records:
        yield assess_account(record, policy, as_of, level, gate)
