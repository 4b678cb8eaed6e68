"""The contract between the engine's frozen assessment and the words around it."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from skill.assessment import Assessment


class EmailKind(StrEnum):
    """Which customer email to draft, each for the catalogue action it serves."""

    CHECKIN = "checkin"  # send_checkin_email: a remedy when something needs attention
    ENGAGEMENT = "engagement"  # send_engagement_email: enablement for a steady account
    ADVOCACY = "advocacy"  # request_advocacy: a case study, testimonial or referral

    @property
    def action(self) -> str:
        """The catalogue action whose policy status the draft carries."""
        return _EMAIL_ACTIONS[self]


_EMAIL_ACTIONS = {
    EmailKind.CHECKIN: "send_checkin_email",
    EmailKind.ENGAGEMENT: "send_engagement_email",
    EmailKind.ADVOCACY: "request_advocacy",
}


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
    """A customer email draft (check-in, engagement or advocacy). Always a draft: a person
    approves it and sends it."""

    to_name: str | None
    to_email: str | None
    from_name: str | None
    subject: str
    body: str


class Drafter(Protocol):
    def draft(self, assessment: Assessment) -> AccountTexts: ...

    def draft_email(
        self, assessment: Assessment, kind: EmailKind = EmailKind.CHECKIN
    ) -> EmailTexts: ...
