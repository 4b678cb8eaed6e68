"""`brief` and `email`: the engine's assessment plus validated words.

Statuses, priorities, owners and due dates come only from the engine's frozen
assessment; a drafter contributes text keyed by action id, nothing else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, ConfigDict, Field

from skill.assessment import SCHEMA_VERSION, Assessment
from skill.drafting import AccountTexts, EmailKind, EmailTexts, TemplateDrafter
from skill.drafting.cache import DraftCache, Usage
from skill.drafting.templates import deciding_reason
from skill.ingest import Rejection
from skill.pipeline import AssessmentStream
from skill.policy import Policy, PolicyError
from skill.render.markdown import render_assessment
from skill.vocabulary import ActionStatus, AutomationLevel

ErrorSink = Callable[[str], None]
CHECKIN_ACTION = EmailKind.CHECKIN.action
ON_REQUEST = (
    "Drafted on request: a person asked for this email; the gate decides it as any proposal."
)

EMAIL_TITLES = {
    EmailKind.CHECKIN: "Check-in email draft",
    EmailKind.ENGAGEMENT: "Engagement email draft",
    EmailKind.ADVOCACY: "Advocacy request draft",
}


class LlmMode(StrEnum):
    AUTO = "auto"
    ANTHROPIC = "anthropic"
    OFF = "off"


class DraftingInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    model: str | None
    why: str
    usage: dict[str, int] | None = None


class Brief(BaseModel):
    """One account: the engine's decisions and the words around them, merged by action id."""

    model_config = ConfigDict(frozen=True)

    assessment: Assessment
    texts: AccountTexts


class BriefRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: str = SCHEMA_VERSION
    as_of: date
    automation_level: AutomationLevel
    policy_version: str
    drafting: DraftingInfo
    briefs: list[Brief]
    rejected: list[Rejection]


class EmailDraftOut(BaseModel):
    """A customer email draft (check-in, engagement or advocacy). Never sent by this tool;
    a person approves and sends it."""

    model_config = ConfigDict(frozen=True)

    schema_version: str = SCHEMA_VERSION
    account_id: str
    account_name: str
    kind: EmailKind = Field(
        default=EmailKind.CHECKIN, description="checkin, engagement or advocacy."
    )
    action: str = Field(
        default=CHECKIN_ACTION,
        description="The catalogue action the email serves; policy_status is its status.",
    )
    is_draft: bool = True
    requires_approval: bool = True
    policy_status: ActionStatus = Field(
        description="The action's status for this account, never looser than "
        "approval_required. blocked: do not send."
    )
    policy_reason: str
    recommended_by_engine: bool = Field(
        description="The engine proposed the action for this account on its own (not only "
        "because this draft was asked for)."
    )
    drafting: DraftingInfo
    email: EmailTexts


class DrafterChoice:
    """Which drafter a run uses, and why, so the output can say it."""

    def __init__(
        self,
        mode: LlmMode,
        *,
        model: str | None,
        cache_dir: Path | None,
        use_cache: bool,
        err: ErrorSink,
        client: object | None = None,
    ) -> None:
        self.usage = Usage()
        self.model: str | None = None
        has_key = bool(os.environ.get("ANTHROPIC_API_KEY"))
        if mode is LlmMode.OFF:
            self.drafter, self.why = TemplateDrafter(), "--llm off"
            return
        if mode is LlmMode.AUTO and not has_key and client is None:
            self.drafter, self.why = TemplateDrafter(), "ANTHROPIC_API_KEY is not set"
            return
        if not has_key and client is None:
            raise ValueError("--llm anthropic needs ANTHROPIC_API_KEY in the environment")
        from skill.drafting.llm import AnthropicDrafter, make_client

        self.drafter = AnthropicDrafter(
            client if client is not None else make_client(),
            model=model,
            cache=DraftCache(cache_dir) if use_cache else None,
            usage=self.usage,
            warn=err,
        )
        self.model = self.drafter.model
        self.why = "Anthropic API"

    @property
    def info(self) -> DraftingInfo:
        if self.model is None:
            return DraftingInfo(source="template", model=None, why=self.why)
        return DraftingInfo(
            source="anthropic", model=self.model, why=self.why, usage=self.usage.as_dict()
        )


def write_briefs(
    stream: AssessmentStream,
    choice: DrafterChoice,
    *,
    output_format: str,
    out: TextIO,
    policy: Policy,
    as_of: date,
    level: AutomationLevel,
    batch: bool = False,
    resume_batch_id: str | None = None,
    poll_interval: float = 10.0,
    err: ErrorSink,
) -> int:
    if choice.model is None:
        err(f"note: prose from templates ({choice.why}); statuses are the engine's either way")
    assessments: list[Assessment] = []
    texts: dict[str, AccountTexts] = {}
    if batch and choice.model is not None:
        assessments = list(stream)
        texts = _batch(choice, assessments, resume_batch_id, poll_interval, err)
    count = 0
    briefs: list[Brief] = []
    source = assessments if assessments else stream
    for assessment in source:
        drafted = texts.get(assessment.account_id) or choice.drafter.draft(assessment)
        if output_format == "json":
            briefs.append(Brief(assessment=assessment, texts=drafted))
        else:
            if count:
                out.write("\n---\n\n")
            out.write(render_assessment(assessment, drafted, policy, choice.model))
        count += 1
    if output_format == "json":
        run = BriefRun(
            as_of=as_of,
            automation_level=level,
            policy_version=policy.version,
            drafting=choice.info,
            briefs=briefs,
            rejected=stream.rejected,
        )
        out.write(run.model_dump_json(indent=2) + "\n")
    if choice.model is not None:
        err(choice.usage.line())
    return count


def _batch(
    choice: DrafterChoice,
    assessments: list[Assessment],
    resume_batch_id: str | None,
    poll_interval: float,
    err: ErrorSink,
) -> dict[str, AccountTexts]:
    from rich.progress import Progress

    with Progress(transient=True, console=_stderr_console()) as progress:
        task = progress.add_task("batch", total=len(assessments))

        def submitted(batch_id: str) -> None:
            err(
                f"batch {batch_id} submitted; if interrupted, resume with --resume-batch {batch_id}"
            )

        def advanced(done: int, total: int) -> None:
            progress.update(task, completed=done, total=max(total, 1))

        return choice.drafter.draft_batch(
            assessments,
            resume_batch_id=resume_batch_id,
            poll_interval=poll_interval,
            on_progress=advanced,
            on_submitted=submitted,
        )


def _stderr_console():
    from rich.console import Console

    return Console(file=sys.stderr)


def policy_for_email(policy: Policy, kind: EmailKind) -> Policy:
    """The policy an engagement or advocacy draft is assessed under: its action is proposed
    on request for every account, so the same gate (matrix, level, overrides, stop rules,
    floor) decides it even where no trigger fired; a stop rule blocks it like any proposal.

    A check-in keeps the policy as it is (`email_policy` has its own rule for it).
    """
    if kind is EmailKind.CHECKIN:
        return policy
    data = policy.model_dump(mode="json")
    if kind.action not in data["actions"]["catalogue"]:
        raise PolicyError(
            f"actions.catalogue: email --kind {kind} needs the action {kind.action!r}"
        )
    on_request = {"action": kind.action, "priority": "low", "reason": ON_REQUEST, "when_any": []}
    data["actions"]["triggers"] = [*data["actions"]["triggers"], on_request]
    return Policy.model_validate(data)


def write_emails(
    stream: AssessmentStream,
    choice: DrafterChoice,
    *,
    output_format: str,
    out: TextIO,
    err: ErrorSink,
    kind: EmailKind = EmailKind.CHECKIN,
) -> int:
    """Drafts of `kind`; for engagement and advocacy, `stream` comes from `policy_for_email`."""
    count = 0
    for assessment in stream:
        draft = email_draft(assessment, choice, kind)
        if output_format == "json":
            out.write(draft.model_dump_json() + "\n")
        else:
            out.write(("\n---\n\n" if count else "") + render_email(draft, choice.model))
        count += 1
    if choice.model is not None:
        err(choice.usage.line())
    return count


def email_draft(
    assessment: Assessment, choice: DrafterChoice, kind: EmailKind = EmailKind.CHECKIN
) -> EmailDraftOut:
    """One account's email draft of `kind`, with that email's action status from the gate."""
    email = choice.drafter.draft_email(assessment, kind)
    status, reason = email_policy(assessment, kind)
    return EmailDraftOut(
        account_id=assessment.account_id,
        account_name=assessment.name,
        kind=kind,
        action=kind.action,
        policy_status=status,
        policy_reason=reason,
        recommended_by_engine=_proposed_by_engine(assessment, kind.action),
        drafting=choice.info,
        email=email,
    )


def _proposed_by_engine(assessment: Assessment, action_id: str) -> bool:
    action = next((a for a in assessment.actions if a.action == action_id), None)
    return action is not None and any(line != ON_REQUEST for line in action.evidence)


def email_policy(
    assessment: Assessment, kind: EmailKind = EmailKind.CHECKIN
) -> tuple[ActionStatus, str]:
    """The email's action status, never looser than approval_required.

    A check-in the engine did not recommend still needs approval (seed 000: high
    sensitivity). An engagement or advocacy email's action is always in the
    assessment under `policy_for_email`; without it (an assessment made under
    another policy) nothing says the gate would allow it, so it is blocked.
    """
    action = next((a for a in assessment.actions if a.action == kind.action), None)
    if action is None and kind is EmailKind.CHECKIN:
        return ActionStatus.APPROVAL_REQUIRED, (
            "The engine did not recommend a check-in for this account; an email is still "
            "high-sensitivity and needs approval."
        )
    if action is None:
        return ActionStatus.BLOCKED, (
            f"The gate did not decide {kind.action} for this account; do not send."
        )
    if action.status.rank < ActionStatus.APPROVAL_REQUIRED.rank:
        return ActionStatus.APPROVAL_REQUIRED, "Customer emails always need a person's approval."
    return action.status, deciding_reason(action)


def render_email(draft: EmailDraftOut, model: str | None) -> str:
    email = draft.email
    recipient = email.to_name or f"{draft.account_name} team"
    if email.to_email:
        recipient += f" <{email.to_email}>"
    warning = (
        "**Blocked by policy: do not send.**"
        if draft.policy_status is ActionStatus.BLOCKED
        else "**Draft: needs approval before sending. Nothing has been sent.**"
    )
    source = (
        "from templates (no LLM)"
        if model is None or email.draft_source.value == "template"
        else f"drafted by {model} and checked"
    )
    return "\n".join(
        [
            f"## {EMAIL_TITLES[draft.kind]}: {draft.account_name}",
            "",
            f"> {warning} Policy status for `{draft.action}`: "
            f"`{draft.policy_status.value}`. {draft.policy_reason}",
            "",
            f"**To:** {recipient}  ",
            f"**From:** {email.from_name or 'account owner'}  ",
            f"**Subject:** {email.subject}",
            "",
            email.body,
            "",
            f"_Text {source}._",
            "",
        ]
    )
