"""Deterministic prose from Jinja2 templates: the offline default and the LLM's fallback."""

from __future__ import annotations

from functools import cache

import jinja2

from skill.assessment import Action, Assessment
from skill.drafting.base import AccountTexts, DraftSource, EmailKind, EmailTexts
from skill.paths import prompts_dir
from skill.vocabulary import ActionStatus, GateLayer

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
    """The reason of the strictest layer: the one that set the final status.

    The floor is named only when it alone held the action back: when the
    policy itself already said as much, the policy's reason is the useful one.
    """
    deciding = [d for d in action.policy_trace if d.status is action.status]
    from_policy = [d for d in deciding if d.layer is not GateLayer.FLOOR]
    return (from_policy or deciding)[-1].reason


def _render(name: str, **context: object) -> str:
    text = environment().get_template(name).render(**context)
    return " ".join(text.split())


def _render_paragraphs(name: str, **context: object) -> str:
    """Keeps blank-line paragraph breaks; collapses whitespace inside each paragraph."""
    text = environment().get_template(name).render(**context)
    paragraphs = [
        "\n".join(" ".join(line.split()) for line in p.strip().splitlines())
        for p in text.split("\n\n")
    ]
    return "\n\n".join(p for p in paragraphs if p)


# Themes a neutral check-in may offer help with; commercial ones stay with a person.
EMAIL_TOPICS = {
    "onboarding_friction": "getting set up",
    "adoption_gap": "getting more from the product",
    "support_strain": "the open support issues",
    "outcome": "the goals in your success plan",
}


def template_summary_line(a: Assessment) -> str:
    return _render("fallback/summary_line.j2", a=a)


def template_narrative(a: Assessment) -> str:
    return _render("fallback/narrative.j2", a=a)


def template_rationale(action: Action) -> str:
    return _render(
        "fallback/rationale.j2",
        action=action,
        status_words=STATUS_WORDS[action.status],
        deciding_reason=deciding_reason(action),
    )


# The fallback templates per email kind: (subject, body) under prompts/fallback/.
EMAIL_TEMPLATES = {
    EmailKind.CHECKIN: ("fallback/email_subject.j2", "fallback/email_body.j2"),
    EmailKind.ENGAGEMENT: (
        "fallback/email_subject_engagement.j2",
        "fallback/email_body_engagement.j2",
    ),
    EmailKind.ADVOCACY: ("fallback/email_subject_advocacy.j2", "fallback/email_body_advocacy.j2"),
}


def template_email(a: Assessment, kind: EmailKind = EmailKind.CHECKIN) -> tuple[str, str]:
    topics = [EMAIL_TOPICS[t.code] for t in a.themes if t.code in EMAIL_TOPICS]
    recipient = a.untrusted_text.contact_name or f"{a.name} team"
    subject, body = EMAIL_TEMPLATES[kind]
    text = _render_paragraphs(
        body,
        a=a,
        recipient=recipient,
        topics=" and ".join(topics[:2]),
        sender=a.owner or "Your customer success team",
    )
    return _render(subject, a=a), text


class TemplateDrafter:
    """Same facts in, same words out: no network, no randomness."""

    def draft(self, assessment: Assessment) -> AccountTexts:
        rationales = {a.action: template_rationale(a) for a in assessment.actions}
        parts = ["summary_line", "narrative", *(f"rationale:{a}" for a in rationales)]
        return AccountTexts(
            account_id=assessment.account_id,
            summary_line=template_summary_line(assessment),
            narrative=template_narrative(assessment),
            rationales=rationales,
            draft_source=DraftSource.TEMPLATE,
            part_sources=dict.fromkeys(parts, DraftSource.TEMPLATE),
            reasons=[],
        )

    def draft_email(
        self, assessment: Assessment, kind: EmailKind = EmailKind.CHECKIN
    ) -> EmailTexts:
        subject, body = template_email(assessment, kind)
        return EmailTexts(
            account_id=assessment.account_id,
            to_name=assessment.untrusted_text.contact_name,
            to_email=assessment.untrusted_text.contact_email,
            from_name=assessment.owner,
            subject=subject,
            body=body,
            draft_source=DraftSource.TEMPLATE,
            part_sources={"subject": DraftSource.TEMPLATE, "body": DraftSource.TEMPLATE},
            reasons=[],
        )
