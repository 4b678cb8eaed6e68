"""Engagement and advocacy emails: one guard for every kind, templates when a draft fails it.

The LLM tests replay cassettes recorded from the local stand-in (see
tests/cassettes/README.md): `ok-…` ids get a valid draft of the kind asked for,
`free-month-…` ids an email that offers a free month on every call.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from skill import assess
from skill.assessment import Assessment
from skill.briefing import policy_for_email
from skill.cli import app
from skill.demo import demo_file
from skill.drafting import EmailKind, TemplateDrafter
from skill.drafting.base import DraftSource
from skill.drafting.drafts import EmailDraft
from skill.drafting.facts import build_facts, untrusted_notes
from skill.drafting.guard import check_email
from skill.drafting.llm import AnthropicDrafter
from skill.drafting.prompts import email_prompt
from skill.policy import default_policy

AS_OF = date(2026, 11, 23)
MODEL = "claude-haiku-5-5"
LUMEN = "ACC-1005"  # the thriving demo account


def account(account_id: str, kind: EmailKind = EmailKind.CHECKIN, base: str = LUMEN) -> Assessment:
    """A demo account under another id, assessed as `email --kind` assesses it."""
    records = json.loads(demo_file().read_text(encoding="utf-8"))["accounts"]
    record = {**next(r for r in records if r["account_id"] == base), "account_id": account_id}
    run = assess([record], as_of=AS_OF, policy=policy_for_email(default_policy(), kind))
    assert not run.rejected
    return run.assessments[0]


def drafter(client: Any) -> AnthropicDrafter:
    return AnthropicDrafter(client, model=MODEL)


# -- templates and prompts (no API) ------------------------------------------------------


@pytest.mark.parametrize("kind", list(EmailKind))
def test_each_kind_has_a_template_the_guard_accepts(kind: EmailKind) -> None:
    a = account(LUMEN, kind)
    texts = TemplateDrafter().draft_email(a, kind)
    draft = EmailDraft(subject=texts.subject, body=texts.body)
    assert check_email(draft, build_facts(a)) == {}
    assert texts.body.endswith(a.owner or "")


def test_the_kinds_say_different_things() -> None:
    a = account(LUMEN)
    bodies = {kind: TemplateDrafter().draft_email(a, kind).body for kind in EmailKind}
    assert len(set(bodies.values())) == 3
    assert "case study" in bodies[EmailKind.ADVOCACY]
    assert "guides" in bodies[EmailKind.ENGAGEMENT]


@pytest.mark.parametrize("kind", [EmailKind.ENGAGEMENT, EmailKind.ADVOCACY])
def test_the_prompt_of_an_opportunity_email_forbids_offering_anything(kind: EmailKind) -> None:
    a = account(LUMEN, kind)
    prompt = email_prompt(build_facts(a), untrusted_notes(a), "Jordan Blake", kind)
    assert "free month" in prompt and "loyalty benefit" in prompt
    assert '"opportunities"' in prompt  # the evidence the email may draw on


# -- the guard on a draft that offers a benefit ----------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "As a thank-you, your next month is a free month.",
        "We would love to offer you a loyalty benefit at renewal.",
        "In exchange for a testimonial we can add some complimentary seats.",
        "You will get three bonus months at no extra cost.",
        "Your free month has been applied to the account.",
    ],
)
def test_an_email_offering_a_benefit_is_rejected(sentence: str) -> None:
    a = account(LUMEN, EmailKind.ADVOCACY)
    draft = EmailDraft(
        subject="Would you share your story?",
        body=f"Hi Jordan,\n\nWould you be open to a case study? {sentence}\n\nBest,\nChris Adeyemi",
    )
    problems = check_email(draft, build_facts(a))["body"]
    assert any("customer-facing text mentions" in p for p in problems)


def test_an_email_saying_the_account_was_selected_is_rejected() -> None:
    a = account(LUMEN, EmailKind.ADVOCACY)
    draft = EmailDraft(
        subject="Good news",
        body="Hi Jordan,\n\nYou have been selected for our case study.\n\nBest,\nChris Adeyemi",
    )
    [problem] = check_email(draft, build_facts(a))["body"]
    assert "claims an action was carried out ('have been selected')" in problem


# -- the model's drafts, replayed ----------------------------------------------------------


@pytest.mark.vcr
@pytest.mark.parametrize("kind", [EmailKind.ENGAGEMENT, EmailKind.ADVOCACY])
def test_a_valid_draft_of_each_kind_is_used_as_written(
    anthropic_client: Any, kind: EmailKind
) -> None:
    a = account(f"ok-{kind}-1", kind)
    email = drafter(anthropic_client).draft_email(a, kind)
    assert email.draft_source is DraftSource.LLM
    assert a.owner in email.body
    assert email.body != TemplateDrafter().draft_email(a, kind).body


@pytest.mark.vcr
@pytest.mark.parametrize("kind", list(EmailKind))
def test_a_free_month_is_rejected_twice_and_the_template_is_used(
    anthropic_client: Any, kind: EmailKind
) -> None:
    a = account(f"free-month-{kind}-1", kind)
    email = drafter(anthropic_client).draft_email(a, kind)
    assert "free month" not in email.body.lower()
    # The subject passed both times: the retry's is used; the body never passed.
    assert email.part_sources == {"subject": DraftSource.LLM_RETRY, "body": DraftSource.TEMPLATE}
    assert email.body == TemplateDrafter().draft_email(a, kind).body
    assert [r.split(":")[0] for r in email.reasons] == ["draft rejected", "retry rejected"]
    assert all("'free month'" in r for r in email.reasons)


# -- the command line with the API ----------------------------------------------------------


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch, standin: Any, tmp_path: Path) -> None:
    from llm_standin import STANDIN_URL

    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-not-a-secret")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", STANDIN_URL)
    monkeypatch.setenv("ACCOUNT_HEALTH_MODEL", MODEL)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.mark.vcr
def test_email_kind_advocacy_carries_the_advocacy_status(api_env: None, tmp_path: Path) -> None:
    records = json.loads(demo_file().read_text(encoding="utf-8"))["accounts"]
    lumen = next(r for r in records if r["account_id"] == LUMEN)
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps([dict(lumen, account_id="ok-cli-advocacy")]), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            *("email", str(path), "--account", "ok-cli-advocacy", "--kind", "advocacy"),
            *("--as-of", "2026-11-23", "--format", "json"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    draft = json.loads(result.stdout)
    assert (draft["kind"], draft["action"]) == ("advocacy", "request_advocacy")
    assert draft["policy_status"] == "approval_required"
    assert draft["recommended_by_engine"] is True
    assert draft["email"]["draft_source"] == "llm"
