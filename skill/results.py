"""What a shell returns for a call that reads account records: the CLI's JSON document
plus the warnings the CLI prints on stderr (unknown columns, sources not connected,
drafting fallbacks), so a caller without a terminal still reads them.

The MCP tools and the browser workspace's JSON API return these same models.
"""

from __future__ import annotations

from pydantic import Field

from skill.assessment import AssessmentRun
from skill.briefing import BriefRun, EmailDraftOut

WARNINGS_FIELD = Field(
    default_factory=list,
    description="Warnings about the input, as the CLI prints them on stderr (unknown "
    "columns, sources not connected, drafting fallbacks); empty when there were none.",
)


class AssessmentResult(AssessmentRun):
    """`assess_accounts`' result: the CLI's `assess --format json` document plus `warnings`."""

    warnings: list[str] = WARNINGS_FIELD


class BriefResult(BriefRun):
    """`draft_brief`'s result: the CLI's `brief --format json` document plus `warnings`."""

    warnings: list[str] = WARNINGS_FIELD


class EmailDraftResult(EmailDraftOut):
    """`draft_checkin_email`'s result: the CLI's `email --format json` draft plus `warnings`."""

    warnings: list[str] = WARNINGS_FIELD
