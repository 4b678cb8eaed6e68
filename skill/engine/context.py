"""What the engine knows about one account while it works through the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any, TypeVar

from pydantic import BaseModel

from skill.record import AccountRecord, truncated_of
from skill.vocabulary import Band, Confidence, Dimension, OpportunityCode, RiskFlagCode, Tier


class RecordView:
    """An AccountRecord's values, read as plain attributes.

    The engine reads a record's fields a few hundred times per account; a pydantic
    model routes each read through its own lookup hook, a plain object does not. The
    view holds the record's own field values (not a copy) and is only read.
    """

    __slots__ = ("__dict__", "truncated")  # `truncated` beside the fields, not among them

    def __init__(self, record: AccountRecord) -> None:
        self.__dict__ = record.__dict__
        self.truncated = truncated_of(record)  # `record.truncated`, without its property

    @property
    def display_name(self) -> str:
        return self.name or self.account_id  # type: ignore[attr-defined, no-any-return]


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


M = TypeVar("M", bound=BaseModel)


def plain_copy(model: M) -> M:
    """The policy model's field values (models among them copied too) on a plain object.

    Reading a pydantic model's attribute goes through its lookup hook, several times
    the cost of a plain attribute; the stages read their thresholds a few dozen
    times per account. Only for rules read by attribute: the copy has no methods.
    """
    values: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        values[name] = plain_copy(value) if isinstance(value, BaseModel) else value
    return SimpleNamespace(**values)  # type: ignore[return-value]


def days_between(earlier: date | None, later: date) -> int | None:
    return None if earlier is None else (later - earlier).days
