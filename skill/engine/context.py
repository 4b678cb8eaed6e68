"""What the engine knows about one account while it works through the stages."""

from __future__ import annotations

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


class AccountContext:
    """Mutable scratchpad filled stage by stage; the output models are built from it.

    A slotted class with its own `__init__` rather than a dataclass: one is made per
    account, and the dataclass's default factories cost a call each.
    """

    __slots__ = (
        "account_evidence",
        "as_of",
        "band",
        "confidence",
        "days_to_renewal",
        "dimension_scores",
        "flags",
        "notes_lower",
        "opportunities",
        "record",
        "renewal_window",
        "signal_scores",
        "themes",
        "tier",
    )

    def __init__(
        self,
        record: AccountRecord,
        as_of: date,
        days_to_renewal: int | None,
        renewal_window: int | None,
        notes_lower: str = "",
    ) -> None:
        self.record = record
        self.as_of = as_of
        self.days_to_renewal = days_to_renewal
        # Days before renewal that count as soon for this contract term; None: never.
        self.renewal_window = renewal_window
        self.notes_lower = notes_lower
        self.dimension_scores: dict[Dimension, int] = {}
        # The scores of the signals a later stage reads by name (conflicting evidence).
        self.signal_scores: dict[str, int] = {}
        self.flags: set[RiskFlagCode] = set()
        self.themes: set[str] = set()
        self.opportunities: set[OpportunityCode] = set()
        self.band: Band | None = None
        self.tier: Tier | None = None
        self.confidence: Confidence | None = None
        self.account_evidence: Confidence | None = None


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
