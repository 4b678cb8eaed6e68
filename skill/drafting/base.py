"""The contract between the engine's frozen assessment and the words around it."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from skill.assessment import Assessment


class DraftSource(StrEnum):
    LLM = "llm"
    LLM_RETRY = "llm_retry"
    TEMPLATE = "template"


class AccountTexts(BaseModel):
    """Text only: no status, priority or owner, so a draft cannot carry a decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    summary_line: str
    narrative: str
    rationales: dict[str, str]
    draft_source: DraftSource
    notes: list[str] = []


class Drafter(Protocol):
    def draft(self, assessment: Assessment) -> AccountTexts: ...
