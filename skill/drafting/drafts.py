"""What a model may return: text only, validated before anything uses it.

There is no status, priority, owner or due-date field anywhere here, so a
draft cannot carry a decision; rationales are keyed by the engine's action ids.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DraftModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RationaleDraft(DraftModel):
    action: str = Field(description="The engine's action id this rationale explains.")
    rationale: str = Field(description="One or two sentences: why, and what the status means.")


class BriefDraft(DraftModel):
    """The model's words for a health brief."""

    summary_line: str = Field(description="One-line interpretation of the score.")
    narrative: str = Field(description="A short paragraph for the account owner.")
    rationales: list[RationaleDraft] = Field(description="Exactly one per action id given.")


class EmailDraft(DraftModel):
    """A check-in email draft in the owner's voice; a person approves and sends it."""

    subject: str
    body: str
