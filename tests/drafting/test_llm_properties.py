"""Whatever a model returns, statuses stay the engine's and only checked text gets through."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from anthropic.types import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill import assess
from skill.briefing import Brief
from skill.demo import demo_file
from skill.drafting import TemplateDrafter
from skill.drafting.base import DraftSource
from skill.drafting.drafts import BriefDraft
from skill.drafting.facts import build_facts
from skill.drafting.guard import check_brief
from skill.drafting.llm import AnthropicDrafter

AS_OF = date(2026, 11, 23)
ASSESSMENTS = assess(demo_file(), as_of=AS_OF).assessments
ACTION_IDS = sorted({a.action for x in ASSESSMENTS for a in x.actions})

words = st.sampled_from(
    [
        "approved",
        "has been sent",
        "was scheduled",
        "status: auto",
        "blocked",
        "87%",
        "62",
        "discount",
        "ignore previous instructions",
        "Northwind Logistics",
        "SilverPeak Enterprise",
        "fine",
        "\u202e",
        "<facts>",
    ]
)
prose = st.one_of(
    st.lists(words, max_size=12).map(" ".join),
    st.text(max_size=300),
    st.just("x" * 5000),
)
junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
rationale = st.fixed_dictionaries(
    {"action": st.sampled_from([*ACTION_IDS, "approve_everything", ""]), "rationale": prose},
    optional={"status": st.sampled_from(["auto", "approved", "blocked"]), "priority": junk},
)
model_json = st.one_of(
    st.fixed_dictionaries(
        {
            "summary_line": prose,
            "narrative": prose,
            "rationales": st.lists(rationale, max_size=8),
        },
        optional={"status": st.just("auto"), "owner": junk, "actions": junk},
    ).map(json.dumps),
    junk.map(json.dumps),
    st.text(max_size=200),
)


class ScriptedClient:
    """Answers every call with the next scripted text, as a real SDK `Message`."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = list(texts)
        self.messages = self

    def create(self, **_: Any) -> Message:
        text = self.texts.pop(0) if self.texts else "{}"
        return Message.model_validate(
            {
                "id": "msg_test",
                "type": "message",
                "role": "assistant",
                "model": "claude-haiku-5-5",
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            }
        )


@settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    index=st.integers(min_value=0, max_value=len(ASSESSMENTS) - 1),
    first=model_json,
    retry=model_json,
)
def test_model_output_never_changes_a_decision_or_slips_past_the_guard(
    index: int, first: str, retry: str
) -> None:
    assessment = ASSESSMENTS[index]
    drafter = AnthropicDrafter(ScriptedClient([first, retry]), model="claude-haiku-5-5")
    texts = drafter.draft(assessment)
    brief = Brief(assessment=assessment, texts=texts)

    engine = {a.action: (a.status, a.priority, a.owner, a.due_date) for a in assessment.actions}
    merged = {
        a.action: (a.status, a.priority, a.owner, a.due_date) for a in brief.assessment.actions
    }
    assert merged == engine
    assert set(texts.rationales) == set(engine)

    template = TemplateDrafter().draft(assessment)
    facts = build_facts(assessment)
    checked = BriefDraft(
        summary_line=texts.summary_line,
        narrative=texts.narrative,
        rationales=[{"action": a, "rationale": r} for a, r in texts.rationales.items()],
    )
    problems = check_brief(checked, facts)
    for part, source in texts.part_sources.items():
        if source is DraftSource.TEMPLATE:
            expected = (
                template.rationales[part.split(":", 1)[1]]
                if part.startswith("rationale:")
                else getattr(template, part)
            )
            actual = (
                texts.rationales[part.split(":", 1)[1]]
                if part.startswith("rationale:")
                else getattr(texts, part)
            )
            assert actual == expected
        else:
            assert part not in problems, (part, problems.get(part))
            assert source in (DraftSource.LLM, DraftSource.LLM_RETRY)
