"""`account-health assess`: inputs, rejections, exit codes and the four output formats."""

from __future__ import annotations

import json
import sys

import pytest
from cli_support import (
    ACCOUNTS,
    AS_OF,
    BLOCKED,
    HEALTHY,
    NO_PRODUCT,
    jsonl_text,
    run_module,
    run_module_on_terminal,
)

ASSESSMENT_KEYS = {
    "account_id",
    "name",
    "segment",
    "score",
    "band",
    "tier",
    "confidence",
    "dimensions",
    "flags",
    "themes",
    "legacy",
    "actions",
    "review_task",
    "measurement_event",
    "missing_data",
}
ACTION_KEYS = {
    "action",
    "kind",
    "sensitivity",
    "owner",
    "priority",
    "due_date",
    "status",
    "policy_trace",
    "evidence",
}


def assess_json(cli, *args):
    result = cli("assess", *args, "--as-of", AS_OF, "--format", "json")
    return result, json.loads(result.stdout) if result.stdout else None


def with_bad(field, value, account_id="ACC-BAD"):
    return [HEALTHY, {**HEALTHY, "account_id": account_id, "name": "Bad Row", field: value}]


# -- inputs --------------------------------------------------------------------


def test_every_input_format_gives_the_same_assessments(cli, write_input):
    runs = {}
    for kind in ("csv", "json", "json_wrapped", "jsonl"):
        path = write_input(ACCOUNTS, kind, name=f"{kind}-accounts.{kind.split('_')[0]}")
        result, data = assess_json(cli, path)
        assert result.exit_code == 0, result.stderr
        runs[kind] = data["assessments"]
    assert len(runs["csv"]) == 3
    assert runs["json"] == runs["csv"]
    assert runs["json_wrapped"] == runs["csv"]
    assert runs["jsonl"] == runs["csv"]


def test_input_format_flag_overrides_the_extension(cli, tmp_path):
    path = tmp_path / "export.txt"
    path.write_text(jsonl_text([HEALTHY]), encoding="utf-8")
    result, data = assess_json(cli, path, "--input-format", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert [a["account_id"] for a in data["assessments"]] == ["ACC-1"]


def test_dash_reads_stdin_in_process(cli):
    result = cli("assess", "-", "--as-of", AS_OF, "--format", "json", input=jsonl_text(ACCOUNTS))
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["assessments"]) == 3


def test_dash_reads_stdin_in_a_real_process():
    proc = run_module(
        "assess", "-", "--as-of", AS_OF, "--format", "json", input=jsonl_text([HEALTHY])
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["assessments"][0]["account_id"] == "ACC-1"


def test_piped_stdout_defaults_to_json(write_input):
    proc = run_module("assess", write_input([HEALTHY]), "--as-of", AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["assessments"][0]["name"] == "Acme Health"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_terminal_stdout_defaults_to_markdown(write_input):
    code, out = run_module_on_terminal("assess", write_input([HEALTHY]), "--as-of", AS_OF)
    assert code == 0
    assert out.startswith("## Health: Acme Health\n")


def test_unknown_column_is_warned_once_naming_it(cli, write_input):
    records = [{**r, "favourite_colour": "teal"} for r in ACCOUNTS]
    result, _ = assess_json(cli, write_input(records, "csv"))
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "favourite_colour" in warnings[0]


@pytest.mark.parametrize("kind", ["json", "jsonl"])
def test_unknown_json_key_is_warned_once_naming_it(cli, write_input, kind):
    records = [{**r, "favourite_colour": "teal"} for r in ACCOUNTS]
    result, _ = assess_json(cli, write_input(records, kind))
    assert result.exit_code == 0
    assert result.stderr.count("favourite_colour") == 1


# -- exit codes ------------------------------------------------------------------


def test_exit_0_when_every_record_is_assessed(cli, write_input):
    result, data = assess_json(cli, write_input(ACCOUNTS))
    assert result.exit_code == 0
    assert data["rejected"] == []


def test_exit_3_when_some_rows_are_rejected_and_the_rest_still_assessed(cli, write_input):
    result, data = assess_json(cli, write_input(with_bad("csat", 9)))
    assert result.exit_code == 3
    assert [a["account_id"] for a in data["assessments"]] == ["ACC-1"]
    assert [r["account_id"] for r in data["rejected"]] == ["ACC-BAD"]


def test_a_bad_contract_term_is_rejected_and_the_other_records_assessed(cli, write_input):
    result, data = assess_json(cli, write_input(with_bad("contract_term", "6 months")))
    assert result.exit_code == 3
    assert [a["account_id"] for a in data["assessments"]] == ["ACC-1"]
    [rejected] = data["rejected"]
    assert (rejected["errors"][0]["field"], rejected["errors"][0]["value"]) == (
        "contract_term",
        "6 months",
    )
    assert "contract_term = '6 months'" in rejected["reason"]


def test_unknown_flag_exits_2(cli, write_input):
    result = cli("assess", write_input([HEALTHY]), "--no-such-flag")
    assert result.exit_code == 2
    assert "--no-such-flag" in result.stderr


def test_missing_file_exits_2_naming_it(cli, tmp_path):
    missing = tmp_path / "nope.csv"
    result = cli("assess", missing, "--format", "json")
    assert result.exit_code == 2
    assert "nope.csv" in result.stderr
    assert result.stdout == ""


def test_invalid_policy_file_exits_2_naming_the_key(cli, write_input, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("gate:\n  automation_levels:\n    balanced:\n      caps: {high: sometimes}\n")
    result = cli("assess", write_input([HEALTHY]), "--policy", policy)
    assert result.exit_code == 2
    assert "gate.automation_levels.balanced.caps.high" in result.stderr
    assert "sometimes" in result.stderr


def test_bad_as_of_exits_2(cli, write_input):
    result = cli("assess", write_input([HEALTHY]), "--as-of", "2026-13-01")
    assert result.exit_code == 2
    assert "2026-13-01" in result.stderr


def test_unknown_automation_level_exits_2(cli, write_input):
    result = cli("assess", write_input([HEALTHY]), "--automation-level", "reckless")
    assert result.exit_code == 2


def test_empty_input_exits_2_with_nothing_on_stdout(cli, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result, _ = assess_json(cli, empty)
    assert result.exit_code == 2
    assert "empty" in result.stderr
    assert result.stdout == ""


# -- rejections --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("segment", "gold", "smb, mid_market or enterprise"),
        ("csat", "9", "less than or equal to 5"),
        ("renewal_date", "soon", "ISO 8601"),
        ("contract_term", "semi-annual", "monthly, quarterly, annual or multi_year"),
        ("licensed_seats", "-3", "greater than or equal to 0"),
    ],
)
def test_rejected_row_names_row_account_field_value_and_expectation(
    cli, write_input, field, value, expected
):
    result, _ = assess_json(cli, write_input(with_bad(field, value)))
    assert result.exit_code == 3
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "row 2" in error
    assert "ACC-BAD" in error
    assert f"{field} = '{value}'" in error
    assert "expected" in error
    assert expected in error


def test_rejected_json_element_is_named_by_its_position(cli, write_input):
    result, data = assess_json(cli, write_input(with_bad("csat", 9), "json"))
    assert result.exit_code == 3
    assert "error: row 2 (account_id 'ACC-BAD'): csat = 9:" in result.stderr
    [error] = data["rejected"][0]["errors"]
    assert (error["field"], error["value"]) == ("csat", 9)
    assert "1 to 5" in error["expected"]


def test_rejects_file_holds_each_rejected_record_with_its_reason(cli, write_input, tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    records = [HEALTHY, {**BLOCKED, "csat": 9}, {**NO_PRODUCT, "segment": "gold"}]
    result, _ = assess_json(cli, write_input(records), "--rejects", rejects)
    assert result.exit_code == 3
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["row"], r["account_id"]) for r in lines] == [(2, "ACC-2"), (3, "ACC-3")]
    assert [r["errors"][0]["field"] for r in lines] == ["csat", "segment"]
    assert all(r["reason"].startswith(f"row {r['row']} ") for r in lines)


def test_rejects_file_is_empty_when_nothing_is_rejected(cli, write_input, tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    result, _ = assess_json(cli, write_input([HEALTHY]), "--rejects", rejects)
    assert result.exit_code == 0
    assert rejects.read_text() == ""


# -- options -----------------------------------------------------------------------


def test_account_filter_keeps_only_the_named_accounts(cli, write_input):
    path = write_input(ACCOUNTS)
    result, data = assess_json(cli, path, "--account", "ACC-3", "--account", "ACC-1")
    assert result.exit_code == 0
    assert [a["account_id"] for a in data["assessments"]] == ["ACC-1", "ACC-3"]


def test_account_filter_that_matches_nothing_exits_2(cli, write_input):
    result, _ = assess_json(cli, write_input(ACCOUNTS), "--account", "ACC-404")
    assert result.exit_code == 2
    assert "ACC-404" in result.stderr


def test_automation_level_defaults_to_balanced(cli, write_input):
    _, data = assess_json(cli, write_input([HEALTHY]))
    assert data["automation_level"] == "balanced"


def test_conservative_level_runs_nothing_automatically(cli, write_input):
    path = write_input(ACCOUNTS)
    _, data = assess_json(cli, path, "--automation-level", "conservative")
    assert data["automation_level"] == "conservative"
    statuses = {a["status"] for x in data["assessments"] for a in x["actions"]}
    assert statuses
    assert "auto" not in statuses


def test_as_of_is_the_assessment_date(cli, write_input):
    result = cli("assess", write_input([HEALTHY]), "--as-of", "2027-01-02", "--format", "json")
    data = json.loads(result.stdout)
    assert data["as_of"] == "2027-01-02"
    assert data["assessments"][0]["as_of"] == "2027-01-02"


# -- JSON, JSONL, table --------------------------------------------------------------


def test_json_has_the_documented_top_level_keys(cli, write_input):
    _, data = assess_json(cli, write_input(ACCOUNTS))
    assert {"schema_version", "as_of", "automation_level", "assessments", "rejected"} <= set(data)
    assert data["as_of"] == AS_OF


def test_each_json_assessment_has_the_required_keys(cli, write_input):
    _, data = assess_json(cli, write_input([BLOCKED]))
    [assessment] = data["assessments"]
    assert set(assessment) >= ASSESSMENT_KEYS
    assert {"total", "band", "rows"} <= set(assessment["legacy"])
    assert assessment["flags"]
    for flag in assessment["flags"]:
        assert {"code", "severity", "evidence"} <= set(flag)
    assert assessment["actions"]
    for action in assessment["actions"]:
        assert set(action) >= ACTION_KEYS
        assert action["policy_trace"]


def test_jsonl_writes_one_assessment_per_line(cli, write_input):
    result = cli("assess", write_input(ACCOUNTS), "--as-of", AS_OF, "--format", "jsonl")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [json.loads(line)["account_id"] for line in lines] == ["ACC-1", "ACC-2", "ACC-3"]


def test_table_has_one_row_per_account(cli, write_input):
    result = cli("assess", write_input(ACCOUNTS), "--as-of", AS_OF, "--format", "table")
    assert result.exit_code == 0
    rows = [line for line in result.stdout.splitlines() if "(ACC-" in line]
    assert len(rows) == 3
    assert ["ACC-1" in rows[0], "ACC-2" in rows[1], "ACC-3" in rows[2]] == [True] * 3


# -- Markdown ---------------------------------------------------------------------------


def markdown_for(cli, write_input, record):
    result = cli("assess", write_input([record]), "--as-of", AS_OF, "--format", "md")
    assert result.exit_code == 0, result.stderr
    return result.stdout


def positions(text, markers):
    found = [text.find(marker) for marker in markers]
    assert -1 not in found, dict(zip(markers, found, strict=True))
    return found


def test_markdown_for_a_green_account_puts_score_before_risk_flags(cli, write_input):
    text = markdown_for(cli, write_input, HEALTHY)
    markers = [
        "## Health: Acme Health",
        "**Score:** ",
        "### Risk Flags",
        "### Factors",
        "**Positive:**",
        "**Negative:**",
        "**Missing data:**",
        "### Inputs Used",
    ]
    assert "Band **green**" in text
    assert positions(text, markers) == sorted(positions(text, markers))


def test_markdown_for_a_yellow_account_puts_risk_flags_first(cli, write_input):
    text = markdown_for(cli, write_input, BLOCKED)
    markers = ["## Health: Blocked Builders", "### Risk Flags", "**Score:** ", "### Factors"]
    assert "Band **yellow**" in text
    assert positions(text, markers) == sorted(positions(text, markers))


def test_markdown_score_line_has_the_score_and_an_interpretation(cli, write_input):
    text = markdown_for(cli, write_input, BLOCKED)
    [line] = [x for x in text.splitlines() if x.startswith("**Score:** ")]
    score, interpretation = line.removeprefix("**Score:** ").split(" — ", 1)
    assert score.isdigit()
    assert interpretation.strip()


def test_markdown_ends_with_the_legacy_table_then_the_actions_table(cli, write_input):
    text = markdown_for(cli, write_input, BLOCKED)
    markers = [
        "### Inputs Used",
        "| Field | Value | Points |",
        "| **Total** |",
        "| Kind | Action | Owner | Priority | Status | Rationale |",
    ]
    assert positions(text, markers) == sorted(positions(text, markers))


def test_markdown_says_not_connected_for_an_absent_source(cli, write_input):
    text = markdown_for(cli, write_input, NO_PRODUCT)
    assert "- Product analytics: Not connected" in text
    assert "- CRM: " in text
    assert "- Support platform: Not connected" not in text


def test_markdown_separates_accounts(cli, write_input):
    result = cli("assess", write_input(ACCOUNTS), "--as-of", AS_OF, "--format", "md")
    assert result.stdout.count("## Health: ") == 3


# -- determinism ---------------------------------------------------------------------------


def test_same_input_policy_and_date_give_byte_identical_json(cli, write_input):
    path = write_input(ACCOUNTS)
    first = cli("assess", path, "--as-of", AS_OF, "--format", "json").stdout
    second = cli("assess", path, "--as-of", AS_OF, "--format", "json").stdout
    assert first == second
    assert first


def test_input_order_does_not_change_any_account_json(cli, write_input):
    forward = assess_json(cli, write_input(ACCOUNTS, name="forward.csv"))[1]
    backward = assess_json(cli, write_input(ACCOUNTS[::-1], name="backward.csv"))[1]
    by_id = {a["account_id"]: json.dumps(a) for a in backward["assessments"]}
    assert {a["account_id"]: json.dumps(a) for a in forward["assessments"]} == by_id


# -- --db: history read, never written ---------------------------------------------------


@pytest.fixture
def recorded(cli, write_input, tmp_path):
    """HEALTHY recorded in a history database a week before AS_OF."""
    db = tmp_path / "history.sqlite3"
    earlier = write_input([HEALTHY], name="earlier.csv")
    result = cli("run", earlier, "--db", db, "--as-of", "2026-11-16", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return db


def test_db_reads_history_and_raises_trend_flags(cli, write_input, recorded):
    slipped = {**HEALTHY, "csat": 1.5, "nps": -50, "logins_30d": 400, "active_users": 30}
    path = write_input([slipped])

    result, document = assess_json(cli, path, "--db", recorded)

    assert result.exit_code == 0, result.stderr
    [a] = document["assessments"]
    assert a["trend"]["previous_as_of"] == "2026-11-16" and a["trend"]["delta"] <= -10
    assert "score_drop" in {f["code"] for f in a["flags"]}


def test_db_is_never_written(cli, write_input, recorded):
    before = recorded.read_bytes()

    result = cli("assess", write_input([HEALTHY]), "--as-of", AS_OF, "--db", recorded)

    assert result.exit_code == 0, result.stderr
    assert recorded.read_bytes() == before


def test_without_db_no_history_is_read(cli, write_input, recorded, monkeypatch):
    """Not even the default database: the same input gives the same output anywhere."""
    monkeypatch.setenv("ACCOUNT_HEALTH_DB", str(recorded))

    _, document = assess_json(cli, write_input([HEALTHY]))

    [a] = document["assessments"]
    assert a["trend"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "--db: no history database at {db}"), ("a,b\n", "--db: {db} is not a usable")],
    ids=["missing", "not-a-database"],
)
def test_db_that_is_not_a_history_database_exits_2(cli, write_input, tmp_path, content, message):
    db = tmp_path / "history.sqlite3"
    if content is not None:
        db.write_text(content, encoding="utf-8")

    result = cli("assess", write_input([HEALTHY]), "--as-of", AS_OF, "--db", db)

    assert result.exit_code == 2
    assert message.format(db=db) in result.stderr
    assert result.stdout == ""
