"""`brief` and `email` on the command line with the API, replayed from cassettes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from llm_standin import STANDIN_URL
from typer.testing import CliRunner

from skill.cli import app
from skill.demo import demo_file

MODEL = "claude-haiku-5-5"


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    """Two demo accounts under ids the stand-in answers with valid drafts."""
    records = json.loads(demo_file().read_text(encoding="utf-8"))["accounts"]
    chosen = [dict(records[0], account_id="ok-cli-1"), dict(records[3], account_id="ok-cli-2")]
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(chosen), encoding="utf-8")
    return path


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch, standin: Any, tmp_path: Path) -> None:
    """The CLI builds its own SDK client from the environment, as a user's would."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-not-a-secret")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", STANDIN_URL)
    monkeypatch.setenv("ACCOUNT_HEALTH_MODEL", MODEL)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def run(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.vcr
@pytest.mark.llm_real
def test_brief_uses_the_api_and_reports_usage(api_env: None, accounts_file: Path) -> None:
    result = run("brief", accounts_file, "--as-of", "2026-11-23", "--format", "md")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count(f"_Prose drafted by {MODEL} and checked against the facts._") == 2
    assert "drafting: 2 request(s), 0 cache hit(s)" in result.stderr


@pytest.mark.vcr
@pytest.mark.llm_real
def test_brief_json_merges_texts_by_action_id(api_env: None, accounts_file: Path) -> None:
    result = run("brief", accounts_file, "--as-of", "2026-11-23", "--format", "json")
    assert result.exit_code == 0, result.stderr
    run_json = json.loads(result.stdout)
    assert run_json["drafting"]["source"] == "anthropic"
    for brief in run_json["briefs"]:
        action_ids = [a["action"] for a in brief["assessment"]["actions"]]
        assert list(brief["texts"]["rationales"]) == action_ids
        assert brief["texts"]["draft_source"] == "llm"


@pytest.mark.vcr
@pytest.mark.llm_real
def test_a_second_run_is_served_from_the_draft_cache(api_env: None, accounts_file: Path) -> None:
    first = run("brief", accounts_file, "--as-of", "2026-11-23", "--format", "json")
    second = run("brief", accounts_file, "--as-of", "2026-11-23", "--format", "json")
    assert first.exit_code == second.exit_code == 0
    assert "drafting: 0 request(s), 2 cache hit(s)" in second.stderr
    assert json.loads(first.stdout)["briefs"] == json.loads(second.stdout)["briefs"]


@pytest.mark.vcr
@pytest.mark.llm_real
def test_batch_brief_drafts_every_account(api_env: None, accounts_file: Path) -> None:
    result = run(
        "brief",
        accounts_file,
        "--as-of",
        "2026-11-23",
        "--format",
        "json",
        "--batch",
        "--poll-interval",
        "0",
    )
    assert result.exit_code == 0, result.stderr
    assert "--resume-batch msgbatch_" in result.stderr
    sources = [b["texts"]["draft_source"] for b in json.loads(result.stdout)["briefs"]]
    assert sources == ["llm", "llm"]


@pytest.mark.vcr
@pytest.mark.llm_real
def test_email_is_a_draft_that_needs_approval(api_env: None, accounts_file: Path) -> None:
    result = run(
        "email", accounts_file, "--account", "ok-cli-2", "--as-of", "2026-11-23", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    draft = json.loads(result.stdout)
    assert (draft["is_draft"], draft["requires_approval"]) == (True, True)
    assert draft["policy_status"] == "approval_required"
    assert draft["email"]["draft_source"] == "llm"
    assert "Morgan Lee" in draft["email"]["body"]
