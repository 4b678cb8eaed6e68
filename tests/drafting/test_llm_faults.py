"""Transport faults the stand-in cannot record: timeouts and refused connections."""

from __future__ import annotations

from datetime import date
from typing import Any, get_args

import anthropic
import httpx2
import pytest
from anthropic.types import ModelParam

from skill import assess
from skill.demo import demo_file
from skill.drafting import TemplateDrafter
from skill.drafting.base import DraftSource
from skill.drafting.llm import DEFAULT_MODEL, MODEL_ENV, AnthropicDrafter, resolve_model

REQUEST = httpx2.Request("POST", "http://127.0.0.1:47111/v1/messages")
ACCOUNT = assess(demo_file(), as_of=date(2026, 11, 23)).assessments[0]


class FailingClient:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.messages = self

    def create(self, **_: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (anthropic.APITimeoutError(request=REQUEST), "timed out"),
        (anthropic.APIConnectionError(request=REQUEST), "could not connect"),
    ],
)
def test_transport_faults_fall_back_to_templates_with_a_warning(
    error: Exception, said: str
) -> None:
    warnings: list[str] = []
    texts = AnthropicDrafter(FailingClient(error), warn=warnings.append).draft(ACCOUNT)
    assert texts.draft_source is DraftSource.TEMPLATE
    assert texts.narrative == TemplateDrafter().draft(ACCOUNT).narrative
    assert len(warnings) == 1
    assert said in warnings[0]
    assert warnings[0].endswith("using template text")


def test_the_default_model_is_in_the_sdks_own_list() -> None:
    known = {value for arg in get_args(ModelParam) for value in get_args(arg)}
    assert DEFAULT_MODEL in known
    assert "haiku" in DEFAULT_MODEL


def test_the_model_comes_from_the_flag_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(MODEL_ENV, "claude-sonnet-5-5")
    assert resolve_model(None) == "claude-sonnet-5-5"
    assert resolve_model("claude-opus-5-5") == "claude-opus-5-5"
    monkeypatch.delenv(MODEL_ENV)
    assert resolve_model(None) == DEFAULT_MODEL
