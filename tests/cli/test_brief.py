"""`brief` and `email` without an API key: complete, and saying so."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from skill.cli import app
from skill.demo import demo_file

DEMO = str(demo_file())


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_brief_without_a_key_uses_templates_and_says_so() -> None:
    result = run("brief", DEMO, "--as-of", "2026-11-23", "--format", "md")
    assert result.exit_code == 0
    assert result.stdout.count("_Prose from templates (no LLM)._") == 5
    assert "prose from templates (ANTHROPIC_API_KEY is not set)" in result.stderr


def test_brief_json_records_the_template_source() -> None:
    result = run("brief", DEMO, "--as-of", "2026-11-23", "--format", "json", "--llm", "off")
    data = json.loads(result.stdout)
    assert data["drafting"] == {
        "source": "template",
        "model": None,
        "why": "--llm off",
        "usage": None,
    }
    assert {b["texts"]["draft_source"] for b in data["briefs"]} == {"template"}


def test_llm_anthropic_without_a_key_is_a_usage_error() -> None:
    result = run("brief", DEMO, "--llm", "anthropic")
    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in result.stderr


def test_brief_statuses_equal_the_assessment() -> None:
    brief = json.loads(run("brief", DEMO, "--as-of", "2026-11-23", "-f", "json").stdout)
    assess = json.loads(run("assess", DEMO, "--as-of", "2026-11-23", "-f", "json").stdout)
    assert [b["assessment"] for b in brief["briefs"]] == assess["assessments"]


def test_email_is_marked_as_a_draft_needing_approval() -> None:
    result = run("email", DEMO, "--account", "ACC-1004", "--as-of", "2026-11-23", "-f", "md")
    assert result.exit_code == 0
    assert "**Draft: needs approval before sending. Nothing has been sent.**" in result.stdout
    assert "**To:** Elena Vasquez <elena.vasquez@silverpeak.example>" in result.stdout
    assert "Morgan Lee" in result.stdout


def test_email_never_mentions_commercial_terms_from_notes() -> None:
    result = run("email", DEMO, "--account", "ACC-1001", "--as-of", "2026-11-23", "-f", "json")
    body = json.loads(result.stdout)["email"]["body"].lower()
    assert "pricing" not in body
    assert "discount" not in body


def test_email_requires_an_account() -> None:
    assert run("email", DEMO).exit_code == 2


def test_email_kind_advocacy_drafts_the_ask_for_a_thriving_customer() -> None:
    args = ("--kind", "advocacy", "--as-of", "2026-11-23", "-f", "md")
    result = run("email", DEMO, "--account", "ACC-1005", *args)
    assert result.exit_code == 0, result.stderr
    assert "## Advocacy request draft: Lumen Retail Group" in result.stdout
    assert "Policy status for `request_advocacy`: `approval_required`" in result.stdout
    assert "case study" in result.stdout


def test_email_kind_advocacy_for_an_account_in_trouble_says_do_not_send() -> None:
    args = ("--kind", "advocacy", "--as-of", "2026-11-23", "-f", "md")
    result = run("email", DEMO, "--account", "ACC-1003", *args)
    assert result.exit_code == 0, result.stderr
    assert "**Blocked by policy: do not send.**" in result.stdout
    assert "no opportunity play" in result.stdout


def test_email_kind_engagement_carries_the_engagement_status() -> None:
    args = ("--kind", "engagement", "--as-of", "2026-11-23", "-f", "json")
    draft = json.loads(run("email", DEMO, "--account", "ACC-1005", *args).stdout)
    assert (draft["kind"], draft["action"]) == ("engagement", "send_engagement_email")
    assert draft["policy_status"] == "approval_required"
    assert draft["recommended_by_engine"] is False  # Lumen is thriving, not steady


def test_email_kind_defaults_to_a_check_in() -> None:
    draft = json.loads(run("email", DEMO, "--account", "ACC-1004", "-f", "json").stdout)
    assert (draft["kind"], draft["action"]) == ("checkin", "send_checkin_email")


def test_email_refuses_an_unknown_kind() -> None:
    result = run("email", DEMO, "--account", "ACC-1005", "--kind", "upsell")
    assert result.exit_code == 2
    assert "--kind 'upsell': expected checkin, engagement or advocacy" in result.stderr
