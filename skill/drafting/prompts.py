"""Renders the LLM prompts from `prompts/llm/` (Jinja2, StrictUndefined).

Prompts are a pure function of the facts, so the same assessment always gives
the same request body: that is what the draft cache and recorded cassettes key on.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from skill.drafting.base import EmailKind
from skill.drafting.facts import DraftFacts, UntrustedNotes, canonical_json
from skill.drafting.guard import LIMITS
from skill.drafting.templates import environment

# The user prompt for each email kind; the check-in one is the original `email.j2`.
EMAIL_PROMPTS = {
    EmailKind.CHECKIN: "llm/email.j2",
    EmailKind.ENGAGEMENT: "llm/email_engagement.j2",
    EmailKind.ADVOCACY: "llm/email_advocacy.j2",
}
TEMPLATES = ("llm/system.j2", "llm/brief.j2", *EMAIL_PROMPTS.values(), "llm/retry.j2")


def _fenced_json(value: object) -> str:
    """JSON that cannot close the tag it sits in: `<` and `>` are escaped."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def system_prompt() -> str:
    return environment().get_template("llm/system.j2").render(limits=asdict(LIMITS)).strip()


def brief_prompt(facts: DraftFacts, notes: UntrustedNotes) -> str:
    return (
        environment()
        .get_template("llm/brief.j2")
        .render(
            facts=facts,
            facts_json=_fenced_json(facts.model_dump(mode="json")),
            notes_json=_fenced_json(notes.model_dump(mode="json")),
            action_ids=[a.action for a in facts.actions],
        )
        .strip()
    )


def email_prompt(
    facts: DraftFacts,
    notes: UntrustedNotes,
    recipient: str,
    kind: EmailKind = EmailKind.CHECKIN,
) -> str:
    return (
        environment()
        .get_template(EMAIL_PROMPTS[kind])
        .render(
            facts=facts,
            facts_json=_fenced_json(facts.model_dump(mode="json")),
            notes_json=_fenced_json(notes.model_dump(mode="json")),
            recipient=recipient,
        )
        .strip()
    )


def retry_prompt(problems: list[str]) -> str:
    return environment().get_template("llm/retry.j2").render(problems=problems).strip()


def template_sources() -> str:
    """The prompt templates' text, part of the draft cache key: edit a prompt, miss the cache."""
    env = environment()
    assert env.loader is not None
    return "\n".join(env.loader.get_source(env, name)[0] for name in TEMPLATES)


def facts_key_material(facts: DraftFacts, notes: UntrustedNotes) -> str:
    return canonical_json(facts) + "\n" + canonical_json(notes)
