"""Deterministic prose from Jinja2 templates: the offline default and the LLM's fallback."""

from __future__ import annotations

from functools import cache

import jinja2

from skill.assessment import Action, Assessment
from skill.drafting.base import AccountTexts, DraftSource
from skill.paths import prompts_dir
from skill.vocabulary import ActionStatus

STATUS_WORDS = {
    ActionStatus.AUTO: "Runs automatically",
    ActionStatus.APPROVAL_REQUIRED: "Needs approval",
    ActionStatus.RECOMMEND_ONLY: "Recommendation only",
    ActionStatus.BLOCKED: "Blocked",
}


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(prompts_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def deciding_reason(action: Action) -> str:
    """The reason of the strictest layer: the one that set the final status."""
    deciding = [d for d in action.policy_trace if d.status is action.status]
    return deciding[-1].reason


def _render(name: str, **context: object) -> str:
    text = environment().get_template(name).render(**context)
    return " ".join(text.split())


class TemplateDrafter:
    """Same facts in, same words out: no network, no randomness."""

    def draft(self, assessment: Assessment) -> AccountTexts:
        return AccountTexts(
            account_id=assessment.account_id,
            summary_line=_render("fallback/summary_line.j2", a=assessment),
            narrative=_render("fallback/narrative.j2", a=assessment),
            rationales={
                action.action: _render(
                    "fallback/rationale.j2",
                    action=action,
                    status_words=STATUS_WORDS[action.status],
                    deciding_reason=deciding_reason(action),
                )
                for action in assessment.actions
            },
            draft_source=DraftSource.TEMPLATE,
        )
