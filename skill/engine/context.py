"""What the engine knows about one account while it works through the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from skill.record import AccountRecord
from skill.vocabulary import Band, Confidence, Dimension, OpportunityCode, RiskFlagCode, Tier


@dataclass(slots=True)
class AccountContext:
    """Mutable scratchpad filled stage by stage; the output models are built from it."""

    record: AccountRecord
    as_of: date
    days_to_renewal: int | None
    # Days before renewal that count as soon for this contract term; None: never.
    renewal_window: int | None
    dimension_scores: dict[Dimension, int] = field(default_factory=dict)
    signal_scores: dict[str, int] = field(default_factory=dict)
    flags: set[RiskFlagCode] = field(default_factory=set)
    themes: set[str] = field(default_factory=set)
    band: Band | None = None
    tier: Tier | None = None
    opportunities: set[OpportunityCode] = field(default_factory=set)
    confidence: Confidence | None = None
    account_evidence: Confidence | None = None
    notes_lower: str = ""


def days_between(earlier: date | None, later: date) -> int | None:
    return None if earlier is None else (later - earlier).days
