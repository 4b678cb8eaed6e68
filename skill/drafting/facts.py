"""The facts a drafter may use: a reduction of the engine's frozen assessment.

Everything a model is allowed to say comes from here, and the guard checks its
prose against the same object. Untrusted free text is kept apart so prompts
can fence it off as data.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from pydantic import BaseModel, ConfigDict

from skill.assessment import Assessment
from skill.drafting.templates import STATUS_WORDS, deciding_reason


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ActionFacts(Frozen):
    action: str
    label: str
    kind: str
    status: str
    status_words: str
    status_reason: str
    priority: str
    owner: str
    due_date: date
    evidence: list[str]


class FlagFacts(Frozen):
    code: str
    label: str
    severity: str
    evidence: str


class OpportunityFacts(Frozen):
    code: str
    label: str
    evidence: str


class DraftFacts(Frozen):
    """Facts only, no free text: safe to place in a prompt as the source of truth."""

    account_id: str
    account_name: str
    owner_name: str | None
    segment: str
    lifecycle: str | None
    as_of: date
    renewal_date: date | None
    days_to_renewal: int | None
    score: int | None  # null: no signal at all (band no_data)
    raw_score: int | None
    band: str
    tier: str
    confidence: str
    caps: list[str]
    flags: list[FlagFacts]
    themes: list[str]
    opportunities: list[OpportunityFacts]
    dimensions: dict[str, int]
    missing_data: list[str]
    legacy_total: int
    legacy_band: str
    actions: list[ActionFacts]
    review_reasons: list[str]


class UntrustedNotes(Frozen):
    """CRM and ticket text: quoted as data inside delimiters, never obeyed."""

    notes: str | None
    blocker_note: str | None


def build_facts(a: Assessment) -> DraftFacts:
    return DraftFacts(
        account_id=a.account_id,
        account_name=a.name,
        owner_name=a.owner,
        segment=a.segment.value,
        lifecycle=a.lifecycle.value if a.lifecycle else None,
        as_of=a.as_of,
        renewal_date=a.renewal_date,
        days_to_renewal=a.days_to_renewal,
        score=a.score,
        raw_score=a.raw_score,
        band=a.band.value,
        tier=a.tier.value,
        confidence=a.confidence.value,
        caps=[f"{c.code}: {c.reason}" for c in a.caps],
        flags=[
            FlagFacts(
                code=f.code.value, label=f.label, severity=f.severity.value, evidence=f.evidence
            )
            for f in a.flags
        ],
        themes=[t.label for t in a.themes],
        opportunities=[
            OpportunityFacts(code=o.code.value, label=o.label, evidence=o.evidence)
            for o in a.opportunities
        ],
        dimensions={d.dimension.value: d.score for d in a.dimensions},
        missing_data=[f"{m.dimension.value}: {m.reason}" for m in a.missing_data],
        legacy_total=a.legacy.total,
        legacy_band=a.legacy.band,
        actions=[
            ActionFacts(
                action=x.action,
                label=x.label,
                kind=x.kind.value,
                status=x.status.value,
                status_words=STATUS_WORDS[x.status],
                status_reason=deciding_reason(x),
                priority=x.priority.value,
                owner=x.owner_name or x.owner,
                due_date=x.due_date,
                evidence=x.evidence,
            )
            for x in a.actions
        ],
        review_reasons=a.review_task.reasons if a.review_task else [],
    )


def untrusted_notes(a: Assessment) -> UntrustedNotes:
    return UntrustedNotes(notes=a.untrusted_text.notes, blocker_note=a.untrusted_text.blocker_note)


def facts_hash(*parts: str) -> str:
    """Stable key for the draft cache: facts, notes, prompt templates and model."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def canonical_json(model: BaseModel) -> str:
    return json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
