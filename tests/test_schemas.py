"""JSON Schemas: committed files match the models, the CLI prints them, outputs validate.

When a model changes, `assets/schemas/` must be regenerated with `make schemas`
(`account-health schema all --write assets/schemas`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from skill.assessment import Assessment, AssessmentRun
from skill.briefing import BriefRun, EmailDraftOut
from skill.cli import SCHEMA_NAMES, app
from skill.paths import assets_dir
from skill.policy import Policy
from skill.record import AccountRecord
from skill.schemas import DIALECT, SCHEMAS, schema_file, schema_json, write_schemas

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "assets" / "schemas"
DEMO = ROOT / "assets" / "demo" / "accounts.json"
AS_OF = "2026-11-23"
REGENERATE = "run `make schemas` (account-health schema all --write assets/schemas)"
#: Every output schema but the first five is a history command's; each is validated below.
HISTORY_OUTPUTS = set(SCHEMAS) - {"input", "assessment", "brief", "policy", "email"}


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def validator(name: str, ref: str | None = None):
    """A draft 2020-12 validator for a committed schema, or one of its `$defs`."""
    jsonschema = pytest.importorskip("jsonschema")
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / schema_file(name)).read_text())
    if ref is not None:
        schema = {"$defs": schema["$defs"], "$ref": f"#/$defs/{ref}"}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def assert_valid(name: str, document: Any, ref: str | None = None) -> None:
    errors = sorted(validator(name, ref).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:10])


# -- the committed files ------------------------------------------------------


def test_schema_names():
    assert list(SCHEMAS)[:5] == ["input", "assessment", "brief", "policy", "email"]
    assert tuple(SCHEMAS) == SCHEMA_NAMES, (
        "skill/cli/schema.py SCHEMA_NAMES must list skill.schemas"
    )
    assert SCHEMAS["input"] is AccountRecord
    assert SCHEMAS["assessment"] is AssessmentRun
    assert SCHEMAS["brief"] is BriefRun
    assert SCHEMAS["policy"] is Policy
    assert SCHEMAS["email"] is EmailDraftOut


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_committed_schema_matches_model(name: str):
    path = SCHEMA_DIR / schema_file(name)
    assert path.is_file(), f"{path} is missing: {REGENERATE}"
    assert path.read_text(encoding="utf-8") == schema_json(name), (
        f"{path.relative_to(ROOT)} is out of date with {SCHEMAS[name].__name__}: {REGENERATE}"
    )


def test_no_stray_schema_files():
    committed = {p.name for p in SCHEMA_DIR.iterdir()}
    assert committed == {schema_file(n) for n in SCHEMAS}, REGENERATE


def test_schema_text_is_deterministic():
    for name in SCHEMAS:
        text = schema_json(name)
        assert text == schema_json(name)
        assert text.endswith("}\n")
        document = json.loads(text)
        assert document["$schema"] == DIALECT
        assert json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n" == text


def test_assets_dir_holds_the_schemas():
    """The wheel carries assets/, so an installed skill has its schemas too."""
    assert (assets_dir() / "schemas" / "assessment.schema.json").is_file()


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_schemas_are_valid_json_schema(name: str):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(json.loads(schema_json(name)))


def test_input_schema_requires_only_id_and_segment():
    schema = json.loads(schema_json("input"))
    assert sorted(schema["required"]) == ["account_id", "segment"]
    assert set(schema["properties"]) == set(AccountRecord.model_fields)


# -- the CLI ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_cli_prints_the_committed_text(name: str):
    result = invoke("schema", name)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (SCHEMA_DIR / schema_file(name)).read_text(encoding="utf-8")
    assert result.stderr == ""


def test_cli_all_prints_one_object_keyed_by_name():
    result = invoke("schema", "all")
    assert result.exit_code == 0, result.stderr
    combined = json.loads(result.stdout)
    assert sorted(combined) == sorted(SCHEMAS)
    assert combined["assessment"] == json.loads(schema_json("assessment"))


def test_cli_write(tmp_path: Path):
    result = invoke("schema", "all", "--write", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    for name in SCHEMAS:
        assert (tmp_path / "out" / schema_file(name)).read_text() == schema_json(name)
        assert schema_file(name) in result.stderr
    one = invoke("schema", "policy", "--write", str(tmp_path / "one"))
    assert one.exit_code == 0
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["policy.schema.json"]


def test_write_schemas_returns_paths(tmp_path: Path):
    paths = write_schemas(tmp_path, ["email"])
    assert paths == [tmp_path / "email.schema.json"]


def test_cli_unknown_name_exits_2_naming_the_choices():
    result = invoke("schema", "accounts")
    assert result.exit_code == 2
    assert result.stdout == ""
    for name in SCHEMAS:
        assert name in result.stderr
    with pytest.raises(KeyError, match="input"):
        schema_json("accounts")


# -- real outputs validate ----------------------------------------------------


@pytest.fixture(scope="module")
def demo_run() -> dict[str, Any]:
    result = invoke("demo", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_demo_json_validates_against_assessment_schema(demo_run: dict[str, Any]):
    assert_valid("assessment", demo_run)


def test_demo_json_round_trips_through_the_model(demo_run: dict[str, Any]):
    """Without jsonschema too: the model parses the output and the required keys are there."""
    run = AssessmentRun.model_validate(demo_run)
    assert run.model_dump(mode="json") == demo_run
    schema = json.loads(schema_json("assessment"))
    assert set(schema["required"]) <= set(demo_run)
    required = set(schema["$defs"]["Assessment"]["required"])
    for assessment in demo_run["assessments"]:
        assert required <= set(assessment)


def test_jsonl_lines_validate_against_the_assessment_def():
    result = invoke(
        "assess",
        str(DEMO),
        "--as-of",
        AS_OF,
        "--format",
        "jsonl",
        "--automation-level",
        "aggressive",
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    for line in lines:
        Assessment.model_validate_json(line)
        assert_valid("assessment", json.loads(line), ref="Assessment")


def test_rejections_validate():
    stdin = "account_id,segment,csat\nA-1,smb,4.5\nA-2,smb,9\n"
    result = CliRunner().invoke(
        app, ["assess", "-", "--as-of", AS_OF, "--format", "json"], input=stdin
    )
    assert result.exit_code == 3
    document = json.loads(result.stdout)
    assert len(document["rejected"]) == 1
    assert_valid("assessment", document)


def test_brief_json_validates():
    result = invoke(
        "brief", str(DEMO), "--as-of", AS_OF, "--llm", "off", "--format", "json", "--no-cache"
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    BriefRun.model_validate(document)
    assert_valid("brief", document)


def test_email_json_validates():
    result = invoke(
        "email", str(DEMO), "--as-of", AS_OF, "--account", "ACC-1004", "--llm", "off",
        "--format", "json", "--no-cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    EmailDraftOut.model_validate(document)
    assert_valid("email", document)


def test_policy_json_validates():
    result = invoke("policy", "show", "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    Policy.model_validate(document)
    assert_valid("policy", document)


def test_normalised_demo_records_validate_against_the_input_schema():
    """The schema describes the normalised record; CRM spellings are the tool's extra."""
    accounts = json.loads(DEMO.read_text())["accounts"]
    for raw in accounts:
        record = AccountRecord.model_validate(raw)
        assert_valid("input", record.model_dump(mode="json", exclude_none=True))


# -- the history commands' outputs validate ----------------------------------


@pytest.fixture(scope="module")
def history_outputs(tmp_path_factory) -> dict[str, Any]:
    """Each history command run once on the demo, two weeks recorded; name -> parsed output."""
    folder = tmp_path_factory.mktemp("history")
    db = str(folder / "history.sqlite3")
    found: dict[str, Any] = {}

    def json_of(name: str, *args: str, lines: bool = False) -> None:
        result = invoke(*args, "--db", db)
        assert result.exit_code == 0, f"{args}: {result.stderr}"
        text = result.stdout
        found[name] = [json.loads(x) for x in text.splitlines()] if lines else json.loads(text)

    invoke("run", str(DEMO), "--as-of", "2026-11-16", "--db", db)
    json_of("run", "run", str(DEMO), "--as-of", AS_OF, "--format", "json")
    json_of("trend", "run", str(DEMO), "--as-of", "2026-11-30", "--format", "jsonl", lines=True)
    json_of("actions", "actions", "list", "--state", "pending", "--format", "json")
    key = found["actions"]["actions"][0]["action_key"]
    json_of("action", "actions", "approve", key, "--by", "Dana Reyes", "--format", "json")
    json_of("export", "actions", "export", lines=True)
    json_of("review", "review", "done", "ACC-1001", "--by", "Dana Reyes", "--format", "json")
    json_of("reviews", "review", "list", "--format", "json")
    outcomes = folder / "outcomes.csv"
    outcomes.write_text(
        "account_id,outcome,date\nACC-1001,churned,2026-12-01\nACC-1004,renewed,2026-12-01\n",
        encoding="utf-8",
    )
    json_of("outcomes", "outcomes", "import", str(outcomes), "--format", "json")
    json_of("measure", "measure", "--as-of", "2026-12-02", "--format", "json")
    json_of("calibrate", "calibrate", "--as-of", "2026-12-02", "--format", "json")
    json_of("report", "report", "--format", "json")
    return found


@pytest.mark.parametrize("name", sorted(HISTORY_OUTPUTS))
def test_history_output_validates(history_outputs: dict[str, Any], name: str):
    output = history_outputs[name]
    documents = output if isinstance(output, list) else [output]
    assert documents, f"{name}: the command printed nothing to validate"
    for document in documents:
        assert_valid(name, document)
        SCHEMAS[name].model_validate(document)
