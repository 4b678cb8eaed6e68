"""`account-health mcp`: the tools through the SDK's own client, in-process and over stdio.

In-process tests connect `mcp.Client` straight to the server object (the SDK's
direct dispatcher; `mode="legacy"` goes through JSON-RPC over memory streams with
the initialize handshake). One end-to-end test starts `python -m skill mcp` as a
subprocess and talks to it over real stdin/stdout.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the mcp extra provides the SDK (make test installs it)")

import anyio
from account_templates import demo_as_seen_on
from mcp import Client, StdioServerParameters, stdio_client
from mcp.client.stdio import PROCESS_TERMINATION_TIMEOUT
from mcp.types import CallToolResult
from typer.testing import CliRunner

import skill
from skill.assessment import AssessmentRun
from skill.briefing import BriefRun, EmailDraftOut
from skill.cli import MCP_EXTRA_HINT, app
from skill.mcp_server import build_server
from skill.policy import default_policy, load_policy
from skill.record import Segment
from skill.render.markdown import render_policy_matrix
from skill.vocabulary import AutomationLevel

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "assets" / "demo" / "accounts.json"
AS_OF = "2026-11-23"
HISTORY_TOOLS = {"approval_queue", "review_queue", "measure_score", "portfolio_report"}
TOOLS = {
    "assess_accounts",
    "explain_policy",
    "list_actions",
    "draft_brief",
    "draft_checkin_email",
    *HISTORY_TOOLS,
}


@pytest.fixture(scope="module")
def server():
    return build_server()


@pytest.fixture(scope="module")
def accounts() -> list[dict[str, Any]]:
    return json.loads(DEMO.read_text(encoding="utf-8"))["accounts"]


def call(server, name: str, arguments: dict[str, Any] | None = None, mode: str = "auto"):
    async def go() -> CallToolResult:
        async with Client(server, mode=mode) as client:
            return await client.call_tool(name, arguments or {})

    return anyio.run(go)


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def as_run(structured: dict[str, Any]) -> AssessmentRun:
    """The CLI's `assess --format json` document: the tool's result less its `warnings`."""
    document = dict(structured)
    assert isinstance(document.pop("warnings"), list)
    return AssessmentRun.model_validate(document)


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(block, "text", "") for block in result.content)


def error(result: CallToolResult) -> dict[str, Any]:
    """A tool error's structured content; no text of it carries a validation dump."""
    assert result.is_error
    assert result.structured_content is not None
    assert set(result.structured_content) == {"code", "field", "value", "message"}
    text = error_text(result)
    assert text == result.structured_content["message"]
    for blob in (text, json.dumps(result.structured_content)):
        assert "pydantic" not in blob and "errors.pydantic.dev" not in blob
        assert "validation error" not in blob.lower() and "http" not in blob
    return result.structured_content


def statuses(run: AssessmentRun) -> dict[str, dict[str, str]]:
    return {
        a.account_id: {action.action: action.status.value for action in a.actions}
        for a in run.assessments
    }


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_list_tools_shows_every_tool_with_schemas(server, mode: str) -> None:
    async def go():
        async with Client(server, mode=mode) as client:
            return await client.list_tools()

    tools = {tool.name: tool for tool in anyio.run(go).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None
        assert "must not carry out an `approval_required`, `recommend_only`" in (
            tool.description or ""
        )
    assess = tools["assess_accounts"].input_schema
    assert set(assess["required"]) == {"accounts", "as_of"}
    assert assess["properties"]["accounts"]["type"] == "array"
    assert "csat" in assess["properties"]["accounts"]["items"]["properties"]
    assert assess["properties"]["automation_level"]["enum"] == [
        "conservative",
        "balanced",
        "aggressive",
    ]
    assert set(tools["draft_checkin_email"].input_schema["required"]) == {
        "accounts",
        "account_id",
        "as_of",
    }
    assert tools["list_actions"].input_schema.get("required", []) == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_assess_accounts_matches_the_library(server, accounts, mode: str) -> None:
    result = call(server, "assess_accounts", {"accounts": accounts, "as_of": AS_OF}, mode=mode)
    run = as_run(ok(result))
    library = skill.assess(DEMO, as_of=date.fromisoformat(AS_OF))
    assert len(run.assessments) == 5
    assert run.rejected == []
    assert statuses(run) == statuses(library)
    assert run == library


def test_assess_accounts_honours_the_automation_level(server, accounts) -> None:
    args = {"accounts": accounts, "as_of": AS_OF, "automation_level": "conservative"}
    run = as_run(ok(call(server, "assess_accounts", args)))
    library = skill.assess(DEMO, as_of=date.fromisoformat(AS_OF), level="conservative")
    assert run.automation_level is AutomationLevel.CONSERVATIVE
    assert statuses(run) == statuses(library)


def test_assess_accounts_reads_a_decimal_comma_and_a_date_format(server, accounts) -> None:
    european = [dict(accounts[0], arr="45000,50", renewal_date="15.03.2027"), *accounts[1:]]
    args = {"accounts": european, "as_of": AS_OF, "decimal": "comma", "date_format": "%d.%m.%Y"}
    run = as_run(ok(call(server, "assess_accounts", args)))
    assert run.rejected == []
    assert len(run.assessments) == 5


def test_assess_accounts_rejects_a_decimal_comma_it_was_not_told_of(server, accounts) -> None:
    european = [dict(accounts[0], arr="45000,50"), *accounts[1:]]
    args = {"accounts": european, "as_of": AS_OF}
    run = as_run(ok(call(server, "assess_accounts", args)))
    [rejection] = run.rejected
    assert "ambiguous number" in rejection.reason


def test_a_bad_record_is_rejected_and_the_others_assessed(server, accounts) -> None:
    bad = [dict(accounts[0], csat=9), *accounts[1:]]
    run = as_run(ok(call(server, "assess_accounts", {"accounts": bad, "as_of": AS_OF})))
    assert [a.account_id for a in run.assessments] == [a["account_id"] for a in accounts[1:]]
    [rejection] = run.rejected
    assert rejection.account_id == accounts[0]["account_id"]
    assert rejection.row == 1
    assert "csat" in rejection.reason


def test_a_row_that_is_not_an_object_is_rejected_on_its_own(server, accounts) -> None:
    rows = [*accounts[:2], "ACC-9", accounts[2]]
    run = as_run(ok(call(server, "assess_accounts", {"accounts": rows, "as_of": AS_OF})))
    assert len(run.assessments) == 3
    [rejection] = run.rejected
    assert rejection.row == 3
    assert "expected a JSON object" in rejection.reason


def _cli_message(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2
    return result.stderr


# (CLI arguments, the CLI's flag, tool, tool arguments, the tool's argument name)
BAD_INPUTS = [
    (
        ["assess", str(DEMO), "--automation-level", "sometimes"],
        "--automation-level",
        "assess_accounts",
        {"as_of": AS_OF, "automation_level": "sometimes"},
        "automation_level",
    ),
    (
        ["assess", str(DEMO), "--as-of", "2026-13-01"],
        "--as-of",
        "assess_accounts",
        {"as_of": "2026-13-01"},
        "as_of",
    ),
    (
        ["brief", str(DEMO), "--llm", "maybe"],
        "--llm",
        "draft_brief",
        {"as_of": AS_OF, "llm": "maybe"},
        "llm",
    ),
    (
        ["policy", "show", "--segment", "galactic"],
        "--segment",
        "explain_policy",
        {"segment": "galactic"},
        "segment",
    ),
]


@pytest.mark.parametrize(
    ("cli_args", "flag", "tool", "arguments", "name"),
    BAD_INPUTS,
    ids=["automation_level", "as_of", "llm", "segment"],
)
def test_a_bad_argument_is_a_tool_error_with_the_cli_message(
    server, accounts, cli_args, flag, tool, arguments, name
) -> None:
    if tool != "explain_policy":
        arguments = {"accounts": accounts, **arguments}
    text = error_text(call(server, tool, arguments))
    cli = _cli_message(*cli_args)
    if flag == "--automation-level":  # Click's wording: "Invalid value for ...: Value error, X"
        expected = re.search(r"('sometimes' is not one of [^\n]+)", cli).group(1)
        assert f"Invalid value for '{name}'" in text
    else:  # ours: "error: --flag 'value': ..."
        expected = cli.removeprefix("error: ").strip().replace(flag, name, 1)
    assert expected in text


def test_explain_policy_for_enterprise_balanced(server) -> None:
    args = {"segment": "Enterprise", "automation_level": "balanced"}
    explained = ok(call(server, "explain_policy", args))
    policy = default_policy()
    assert explained["policy_version"] == policy.version
    assert explained["segments"] == ["enterprise"]
    assert list(explained["automation_levels"]) == ["balanced"]
    # The cells of `account-health policy show --segment enterprise --automation-level balanced`
    table = render_policy_matrix(policy, [Segment.ENTERPRISE], [AutomationLevel.BALANCED])
    shown = dict(re.findall(r"\(`(\w+)`\) \| \w+ \| (\w+) \|", table))
    baseline = {a["action"]: a["baseline"]["enterprise"]["balanced"] for a in explained["actions"]}
    assert baseline == shown
    assert len(baseline) == 14
    assert baseline["send_checkin_email"] != "auto"
    for row in explained["actions"]:
        entry = policy.actions.catalogue[row["action"]]
        assert (row["sensitivity"], row["kind"]) == (entry.sensitivity, entry.kind)
    assert [r["id"] for r in explained["stop_rules"]] == [r.id for r in policy.gate.stop_rules]
    assert [r["id"] for r in explained["signal_overrides"]] == [
        r.id for r in policy.gate.signal_overrides
    ]
    assert all(r["layer"] == "stop_rule" for r in explained["stop_rules"])


def test_explain_policy_defaults_to_every_segment_and_level(server) -> None:
    explained = ok(call(server, "explain_policy"))
    assert explained["segments"] == [s.value for s in Segment]
    for row in explained["actions"]:
        assert set(row["baseline"]) == {s.value for s in Segment}
        assert all(set(levels) == set(AutomationLevel) for levels in row["baseline"].values())


def test_list_actions_is_the_catalogue(server) -> None:
    catalogue = ok(call(server, "list_actions"))
    policy = default_policy()
    assert len(catalogue["actions"]) == 14
    assert [a["id"] for a in catalogue["actions"]] == list(policy.actions.catalogue)
    for action in catalogue["actions"]:
        entry = policy.actions.catalogue[action["id"]]
        assert (action["label"], action["owner"]) == (entry.label, entry.owner)
        assert action["purpose"] == entry.purpose
        assert (action["sensitivity"], action["kind"]) == (entry.sensitivity, entry.kind)


def test_draft_brief_with_llm_off_uses_templates(server, accounts) -> None:
    args = {"accounts": accounts, "as_of": AS_OF, "llm": "off"}
    run = BriefRun.model_validate(ok(call(server, "draft_brief", args)))
    assert run.drafting.source == "template"
    assert len(run.briefs) == 5
    assert {b.texts.draft_source.value for b in run.briefs} == {"template"}
    assert all(b.texts.summary_line and b.texts.narrative for b in run.briefs)
    library = skill.assess(DEMO, as_of=date.fromisoformat(AS_OF))
    assert [b.assessment for b in run.briefs] == library.assessments


def test_draft_brief_for_one_account(server, accounts) -> None:
    args = {"accounts": accounts, "as_of": AS_OF, "llm": "off", "account_id": "ACC-1003"}
    run = BriefRun.model_validate(ok(call(server, "draft_brief", args)))
    assert [b.assessment.account_id for b in run.briefs] == ["ACC-1003"]
    unknown = dict(args, account_id="ACC-NOPE")
    assert "no account matched account_id ACC-NOPE" in error_text(
        call(server, "draft_brief", unknown)
    )


def test_draft_checkin_email_is_always_a_draft(server, accounts) -> None:
    args = {"accounts": accounts, "account_id": "ACC-1001", "as_of": AS_OF, "llm": "off"}
    draft = EmailDraftOut.model_validate(ok(call(server, "draft_checkin_email", args)))
    assert draft.is_draft is True
    assert draft.requires_approval is True
    assert draft.policy_status.value != "auto"
    assert draft.email.to_email == accounts[0]["contact_email"]
    assert draft.email.draft_source.value == "template"


def test_draft_email_of_kind_advocacy_carries_its_action_status(server, accounts) -> None:
    args = {"accounts": accounts, "as_of": AS_OF, "llm": "off", "kind": "advocacy"}
    lumen = EmailDraftOut.model_validate(
        ok(call(server, "draft_checkin_email", dict(args, account_id="ACC-1005")))
    )
    assert (lumen.kind.value, lumen.action) == ("advocacy", "request_advocacy")
    assert lumen.policy_status.value == "approval_required" and lumen.recommended_by_engine
    assert "case study" in lumen.email.body


def test_draft_email_of_kind_advocacy_is_blocked_for_an_account_in_trouble(
    server, accounts
) -> None:
    args = {"accounts": accounts, "as_of": AS_OF, "llm": "off", "kind": "advocacy"}
    harborview = EmailDraftOut.model_validate(
        ok(call(server, "draft_checkin_email", dict(args, account_id="ACC-1003")))
    )
    assert harborview.policy_status.value == "blocked"
    assert harborview.recommended_by_engine is False


def test_draft_email_refuses_an_unknown_kind(server, accounts) -> None:
    args = {"accounts": accounts, "account_id": "ACC-1005", "as_of": AS_OF, "kind": "upsell"}
    found = error(call(server, "draft_checkin_email", args))
    assert (found["code"], found["field"], found["value"]) == ("invalid_argument", "kind", "upsell")


def test_draft_checkin_email_errors(server, accounts) -> None:
    args = {"accounts": accounts, "account_id": "ACC-NOPE", "as_of": AS_OF, "llm": "off"}
    assert "no account matched account_id ACC-NOPE" in error_text(
        call(server, "draft_checkin_email", args)
    )
    bad = [dict(accounts[0], csat=9)]
    rejected = dict(args, accounts=bad, account_id=accounts[0]["account_id"])
    assert "csat" in error_text(call(server, "draft_checkin_email", rejected))
    twice = dict(args, accounts=[accounts[0], accounts[0]], account_id=accounts[0]["account_id"])
    assert "appears again (first at row 1)" in error_text(
        call(server, "draft_checkin_email", twice)
    )


# -- the history tools ------------------------------------------------------------


@pytest.fixture(scope="module")
def history_db(tmp_path_factory) -> Path:
    """The demo recorded on two dates; ACC-1003 reviewed; one outcome per account."""
    db = tmp_path_factory.mktemp("history") / "history.sqlite3"
    runner = CliRunner()
    for day in ("2026-11-16", AS_OF):
        source = DEMO if day == AS_OF else demo_as_seen_on(day, db.parent)
        result = runner.invoke(app, ["run", str(source), "--as-of", day, "--db", str(db)])
        assert result.exit_code == 0, result.stderr
    done = runner.invoke(app, ["review", "done", "ACC-1003", "--by", "Priya", "--db", str(db)])
    assert done.exit_code == 0, done.stderr
    outcomes = db.parent / "outcomes.csv"
    outcomes.write_text(
        "account_id,outcome,date\nACC-1001,churned,2026-12-01\nACC-1002,renewed,2026-12-01\n"
        "ACC-1003,renewed,2026-12-01\nACC-1004,renewed,2026-12-01\n",
        encoding="utf-8",
    )
    imported = runner.invoke(app, ["outcomes", "import", str(outcomes), "--db", str(db)])
    assert imported.exit_code == 0, imported.stderr
    return db


@pytest.fixture(scope="module")
def history_server(history_db: Path):
    return build_server(db_path=history_db)


def cli_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_approval_queue_is_the_cli_pending_list(history_server, history_db: Path) -> None:
    queue = ok(call(history_server, "approval_queue", {}))

    expected = cli_json("actions", "list", "--state", "pending", "--db", str(history_db))
    assert queue == expected
    assert queue["count"] > 0
    assert {a["state"] for a in queue["actions"]} == {"pending"}


def test_approval_queue_filters_by_account_and_owner(history_server) -> None:
    queue = ok(call(history_server, "approval_queue", {"state": None, "account_id": "ACC-1004"}))
    owned = ok(call(history_server, "approval_queue", {"state": None, "owner": "Morgan Lee"}))

    assert queue["count"] > 0 and {a["account_id"] for a in queue["actions"]} == {"ACC-1004"}
    assert owned["count"] > 0 and {a["owner_name"] for a in owned["actions"]} == {"Morgan Lee"}


def test_review_queue_lists_open_tasks_and_who_closed_the_others(history_server) -> None:
    open_tasks = ok(call(history_server, "review_queue", {}))
    done = ok(call(history_server, "review_queue", {"state": "done"}))

    assert {t["account_id"] for t in open_tasks["tasks"]} == {"ACC-1001", "ACC-1004"}
    assert {(t["account_id"], t["done_by"]) for t in done["tasks"]} == {("ACC-1003", "Priya")}


def test_measure_score_is_the_cli_measure(history_server, history_db: Path) -> None:
    measured = ok(call(history_server, "measure_score", {"as_of": "2026-12-02"}))

    cli = cli_json("measure", "--as-of", "2026-12-02", "--db", str(history_db))
    assert measured == cli
    assert (measured["outcomes"]["recorded"], measured["outcomes"]["matched"]) == (4, 4)


def test_portfolio_report_is_the_cli_report(history_server, history_db: Path) -> None:
    report = ok(call(history_server, "portfolio_report", {"as_of": AS_OF}))

    assert report == cli_json("report", "--as-of", AS_OF, "--db", str(history_db))
    assert report["as_of"] == AS_OF


def test_portfolio_report_has_the_opportunity_side(history_server) -> None:
    report = ok(call(history_server, "portfolio_report", {"as_of": AS_OF}))
    [lumen] = report["advocacy_shortlist"]["advocates"]
    assert (lumen["account_id"], lumen["ask_status"]) == ("ACC-1005", "approval_required")
    green_any = next(
        c
        for c in report["risk_opportunity_matrix"]["cells"]
        if (c["band"], c["opportunity"]) == ("green", "any")
    )
    assert (green_any["accounts"], green_any["arr"]) == (1, 156000.0)
    assert report["executive_briefing"]["rule"] == "band red"


def test_assess_accounts_with_history_reads_the_servers_database(history_server, accounts) -> None:
    later = {"accounts": accounts, "as_of": "2026-11-30"}

    with_history = ok(call(history_server, "assess_accounts", {**later, "use_history": True}))
    without = ok(call(history_server, "assess_accounts", later))

    assert {a["trend"]["previous_as_of"] for a in with_history["assessments"]} == {AS_OF}
    assert {a["trend"] is None for a in without["assessments"]} == {True}


def test_assess_accounts_with_history_and_no_database_is_a_tool_error(
    tmp_path: Path, accounts
) -> None:
    server = build_server(db_path=tmp_path / "none.sqlite3")
    arguments = {"accounts": accounts, "as_of": AS_OF, "use_history": True}

    assert "no history database at" in error_text(call(server, "assess_accounts", arguments))


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("approval_queue", {"state": "waiting"}, "state 'waiting': expected one of ready"),
        ("review_queue", {"state": "closed"}, "state 'closed': expected one of open, done"),
        ("measure_score", {"as_of": "soon"}, "as_of 'soon' is not a date"),
        ("portfolio_report", {"as_of": "2020-01-01"}, "nothing to report"),
    ],
)
def test_history_tool_errors_say_what_is_wrong(history_server, tool, arguments, message) -> None:
    assert message in error_text(call(history_server, tool, arguments))


def test_history_tools_without_a_database_say_how_to_make_one(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    server = build_server(db_path=missing)

    text = error_text(call(server, "approval_queue", {}))

    assert f"no history database at {missing}" in text
    assert "account-health run" in text and "--db PATH" in text
    assert not missing.exists()


def test_llm_anthropic_without_a_key_is_a_tool_error(server, accounts, monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    args = {"accounts": accounts, "account_id": "ACC-1001", "as_of": AS_OF, "llm": "anthropic"}
    assert "needs ANTHROPIC_API_KEY" in error_text(call(server, "draft_checkin_email", args))


def test_a_policy_file_holds_for_the_server(tmp_path: Path) -> None:
    override = tmp_path / "policy.yaml"
    override.write_text(
        "gate:\n  matrix:\n    schedule_checkpoint: {smb: blocked}\n", encoding="utf-8"
    )
    policy = load_policy(override)
    explained = ok(call(build_server(policy), "explain_policy", {"segment": "smb"}))
    assert explained["policy_version"] == policy.version != default_policy().version
    row = next(a for a in explained["actions"] if a["action"] == "schedule_checkpoint")
    assert set(row["baseline"]["smb"].values()) == {"blocked"}


def test_mcp_command_without_the_sdk_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "skill.mcp_server", raising=False)
    for name in [m for m in sys.modules if m.split(".")[0] == "mcp"]:
        monkeypatch.setitem(sys.modules, name, None)  # None: "import mcp..." fails
    result = CliRunner().invoke(app, ["mcp"])
    assert result.exit_code == 2
    assert MCP_EXTRA_HINT in result.stderr
    assert MCP_EXTRA_HINT == "install the mcp extra: pip install 'account-health-skill[mcp]'"


def test_mcp_help_has_an_example() -> None:
    result = CliRunner().invoke(app, ["mcp", "--help"])
    assert result.exit_code == 0
    assert "Example: account-health mcp" in result.stdout


def test_the_cli_does_not_import_the_sdk() -> None:
    code = (
        "import sys, skill.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'mcp'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_end_to_end_over_stdio(accounts, tmp_path: Path) -> None:
    """`python -m skill mcp` as a subprocess: initialize, two calls, clean shutdown."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "skill", "mcp"], cwd=ROOT)
    errlog_path = tmp_path / "server-stderr.txt"

    async def go() -> tuple[Any, CallToolResult, CallToolResult, float]:
        with errlog_path.open("w", encoding="utf-8") as errlog, anyio.fail_after(20):
            client = Client(stdio_client(params, errlog=errlog), mode="legacy")
            async with client:
                info = client.server_info
                listed = await client.call_tool("list_actions")
                assessed = await client.call_tool(
                    "assess_accounts", {"accounts": accounts, "as_of": AS_OF}
                )
                started = time.monotonic()
            return info, listed, assessed, time.monotonic() - started

    info, listed, assessed, shutdown = anyio.run(go)
    assert info is not None and info.name == "account-health"
    assert len(ok(listed)["actions"]) == 14
    run = as_run(ok(assessed))
    library = skill.assess(DEMO, as_of=date.fromisoformat(AS_OF))
    assert statuses(run) == statuses(library)
    # The server exits by itself when stdin closes, before the SDK would terminate it.
    assert shutdown < PROCESS_TERMINATION_TIMEOUT
    assert "Traceback" not in errlog_path.read_text(encoding="utf-8")


# -- structured errors and warnings ---------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments", "cli_args", "field", "value"),
    [
        (
            "approval_queue",
            {"limit": "many"},
            ["actions", "list", "--limit", "many"],
            "limit",
            "many",
        ),
        ("portfolio_report", {"as_of": AS_OF, "limit": 0}, ["report", "--limit", "0"], "limit", 0),
    ],
    ids=["not-an-integer", "out-of-range"],
)
def test_a_bad_argument_type_is_structured_in_the_cli_wording(
    server, tool, arguments, cli_args, field, value
) -> None:
    failure = error(call(server, tool, arguments))
    cli = _cli_message(*cli_args)

    assert failure["code"] == "invalid_argument"
    assert (failure["field"], failure["value"]) == (field, value)
    flag = cli_args[-2]
    expected = re.search(r"(Invalid value for '[^']+': [^\n]+)", cli)
    assert expected is not None, cli
    assert failure["message"] == expected.group(1).strip().replace(flag, field)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_argument_validation_errors_carry_no_validation_dump(server, accounts, mode) -> None:
    not_a_list = error(call(server, "assess_accounts", {"accounts": "ACC-1", "as_of": AS_OF}, mode))
    not_a_bool = error(
        call(
            server,
            "assess_accounts",
            {"accounts": accounts, "as_of": AS_OF, "use_history": "perhaps"},
            mode,
        )
    )
    missing = error(call(server, "assess_accounts", {"accounts": accounts}, mode))
    unknown = error(call(server, "no_such_tool", {}, mode))

    assert not_a_list == {
        "code": "invalid_argument",
        "field": "accounts",
        "value": "ACC-1",
        "message": "Invalid value for 'accounts': Input should be a valid list",
    }
    assert not_a_bool["field"] == "use_history"
    assert not_a_bool["message"].startswith(
        "Invalid value for 'use_history': Input should be a valid boolean"
    )
    assert missing == {
        "code": "missing_argument",
        "field": "as_of",
        "value": None,
        "message": "Missing argument 'as_of'.",
    }
    assert unknown["code"] == "unknown_tool" and unknown["value"] == "no_such_tool"


def test_a_bad_date_is_structured(server, accounts, history_server) -> None:
    bad = error(call(server, "assess_accounts", {"accounts": accounts, "as_of": "2026-13-01"}))
    since = error(call(history_server, "approval_queue", {"since": "last week"}))
    cli = _cli_message("assess", str(DEMO), "--as-of", "2026-13-01")

    assert bad == {
        "code": "invalid_date",
        "field": "as_of",
        "value": "2026-13-01",
        "message": cli.removeprefix("error: ").strip().replace("--as-of", "as_of"),
    }
    assert (since["code"], since["field"], since["value"]) == ("invalid_date", "since", "last week")


def test_an_unknown_account_is_structured(server, accounts) -> None:
    args = {"accounts": accounts, "account_id": "ACC-NOPE", "as_of": AS_OF, "llm": "off"}
    email = error(call(server, "draft_checkin_email", args))
    brief = error(call(server, "draft_brief", dict(args)))

    for failure in (email, brief):
        assert failure == {
            "code": "unknown_account",
            "field": "account_id",
            "value": "ACC-NOPE",
            "message": "no account matched account_id ACC-NOPE",
        }


def test_a_bad_row_is_structured_in_the_words_assess_prints(server, accounts, tmp_path) -> None:
    bad = [accounts[0], dict(accounts[1], csat=9)]
    args = {"accounts": bad, "account_id": accounts[1]["account_id"], "as_of": AS_OF, "llm": "off"}
    failure = error(call(server, "draft_checkin_email", args))
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    cli = CliRunner().invoke(app, ["assess", str(path), "--as-of", AS_OF, "--format", "json"])

    assert failure["code"] == "invalid_record"
    assert (failure["field"], failure["value"]) == ("accounts[1].csat", 9)
    assert f"error: {failure['message']}" in cli.stderr.splitlines()


@pytest.mark.parametrize("kind", ["missing", "directory", "text"])
def test_a_missing_or_invalid_database_is_structured(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "history.sqlite3"
    if kind == "directory":
        path.mkdir()
    elif kind == "text":
        path.write_text("not a database\n", encoding="utf-8")
    server = build_server(db_path=path)
    cli = _cli_message("actions", "list", "--db", str(path)).removeprefix("error: ").strip()

    for tool, arguments in [("approval_queue", {}), ("measure_score", {"as_of": AS_OF})]:
        failure = error(call(server, tool, arguments))
        assert (failure["code"], failure["field"], failure["value"]) == (
            "no_database",
            "db",
            str(path),
        )
        if kind == "missing":  # the CLI's words, then how to point the server at one
            assert failure["message"].startswith(f"no history database at {path}; ")
        else:
            assert failure["message"] == cli
    assert kind != "missing" or not path.exists()


def test_unknown_columns_come_back_as_warnings(server, accounts, tmp_path: Path) -> None:
    extra = [dict(accounts[0], favourite_colour="teal"), *accounts[1:]]
    args = {"accounts": extra, "as_of": AS_OF}
    result = ok(call(server, "assess_accounts", args))
    brief = ok(call(server, "draft_brief", {**args, "llm": "off"}))
    email = ok(
        call(
            server,
            "draft_checkin_email",
            {**args, "account_id": accounts[0]["account_id"], "llm": "off"},
        )
    )
    clean = ok(call(server, "assess_accounts", {"accounts": accounts, "as_of": AS_OF}))
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(extra), encoding="utf-8")
    cli = CliRunner().invoke(app, ["assess", str(path), "--as-of", AS_OF, "--format", "json"])

    warning = "ignoring unknown keys: favourite_colour"
    assert warning in result["warnings"]
    assert warning in brief["warnings"] and warning in email["warnings"]
    assert warning not in clean["warnings"]
    assert {f"warning: {w}" for w in result["warnings"]} <= set(cli.stderr.splitlines())
    assert as_run(result).assessments == as_run(clean).assessments
