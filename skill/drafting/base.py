"""The contract between the engine's frozen assessment and the words around it."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from skill.assessment import Assessment


class DraftSource(StrEnum):
    LLM = "llm"
    LLM_RETRY = "llm_retry"
    TEMPLATE = "template"

    @property
    def rank(self) -> int:
        return {"llm": 0, "llm_retry": 1, "template": 2}[self.value]


def overall_source(sources: dict[str, DraftSource]) -> DraftSource:
    """The weakest part decides: one template part makes the whole draft `template`."""
    return max(sources.values(), key=lambda s: s.rank, default=DraftSource.TEMPLATE)


class Texts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    draft_source: DraftSource = Field(description="llm, llm_retry, or template if any part is.")
    part_sources: dict[str, DraftSource] = Field(description="Where each part's text came from.")
    reasons: list[str] = Field(description="Why parts fell back to templates, or were retried.")


class AccountTexts(Texts):
    """Text only: no status, priority or owner, so a draft cannot carry a decision."""

    summary_line: str
    narrative: str
    rationales: dict[str, str] = Field(description="One per engine action id.")


class EmailTexts(Texts):
    """A check-in email draft. Always a draft: a person approves it and sends it."""

    to_name: str | None
    to_email: str | None
    from_name: str | None
    subject: str
    body: str


class Drafter(Protocol):
    def draft(self, assessment: Assessment) -> AccountTexts: ...

    def draft_email(self, assessment: Assessment) -> EmailTexts: ...
