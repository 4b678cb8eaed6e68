"""The agent-facing docs cannot drift from the code and the data.

- SKILL.md's front matter follows the Agent Skills rules.
- REFERENCE.md's generated tables equal `skill.reference`'s rendering, and,
  checked independently, every action id, flag code, weight and matrix cell
  in them equals the loaded `assets/` policy.
- Exit codes read the same in README.md and REFERENCE.md.
- Every fenced shell command in SKILL.md and README.md that runs the tool
  exits as documented (0 unless the line ends with a comment like `# exit 2`).
- Every command's `--help` exits 0 and shows an example; none prompts.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from skill import reference
from skill.cli import app
from skill.pipeline import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from skill.policy import load_policy
from skill.record import AccountRecord, Segment
from skill.schemas import SCHEMAS, schema_file
from skill.vocabulary import Dimension, OpportunityCode, RiskFlagCode, Sensitivity

ROOT = Path(__file__).resolve().parents[1]
SKILL_MD = ROOT / "SKILL.md"
REFERENCE_MD = ROOT / "REFERENCE.md"
README_MD = ROOT / "README.md"
POLICY = load_policy()
REGENERATE = "run `make reference` (python -m skill.reference --write REFERENCE.md)"

# -- SKILL.md front matter ------------------------------------------------------

ALLOWED_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    assert text.startswith("---\n"), "SKILL.md must start with a YAML front matter block"
    end = text.index("\n---\n", 4)
    data = yaml.safe_load(text[4:end])
    assert isinstance(data, dict), "the front matter must be a YAML mapping"
    return data, text[end + len("\n---\n") :]


@pytest.fixture(scope="module")
def skill_md() -> tuple[dict[str, Any], str]:
    return split_front_matter(SKILL_MD.read_text(encoding="utf-8"))


def test_front_matter_keys(skill_md):
    meta, _ = skill_md
    assert set(meta) <= ALLOWED_KEYS, f"keys the spec does not allow: {set(meta) - ALLOWED_KEYS}"
    assert {"name", "description"} <= set(meta)


def test_front_matter_name(skill_md):
    name = skill_md[0]["name"]
    assert isinstance(name, str)
    assert NAME_RE.match(name), "lowercase letters, digits and single hyphens only"
    assert 1 <= len(name) <= 64
    assert name == "account-health", "the name must equal the folder the skill is installed in"


def test_front_matter_description(skill_md):
    description = skill_md[0]["description"]
    assert isinstance(description, str)
    assert 1 <= len(description.strip()) <= 1024
    assert "<" not in description and ">" not in description
    assert "Use when" in description, "say when to use the skill"


def test_front_matter_optional_keys(skill_md):
    meta, _ = skill_md
    if "license" in meta:
        assert isinstance(meta["license"], str) and meta["license"].strip()
    if "compatibility" in meta:
        assert isinstance(meta["compatibility"], str)
        assert 1 <= len(meta["compatibility"]) <= 500
    if "metadata" in meta:
        assert isinstance(meta["metadata"], dict)
        for key, value in meta["metadata"].items():
            assert isinstance(key, str) and isinstance(value, str), f"metadata.{key}: strings only"
    if "allowed-tools" in meta:
        assert isinstance(meta["allowed-tools"], str), "a space-delimited string"


def test_skill_body(skill_md):
    _, body = skill_md
    assert len(body.splitlines()) < 500
    for status in ("auto", "approval_required", "recommend_only", "blocked"):
        assert f"`{status}`" in body
    flat = " ".join(body.split())
    assert "must not carry out an `approval_required`, `recommend_only` or `blocked` action" in flat
    assert "account-health mcp" in body
    for pointer in ("REFERENCE.md", "assets/schemas/", "assets/policy/", "README.md"):
        assert pointer in body


def test_skill_mentions_every_command(skill_md):
    _, body = skill_md
    for name in top_level_commands():
        assert f"account-health {name}" in body, f"SKILL.md does not mention `{name}`"


def test_readme_points_to_the_agent_interface():
    readme = " ".join(README_MD.read_text(encoding="utf-8").split())
    for pointer in ("SKILL.md", "REFERENCE.md", "account-health schema"):
        assert pointer in readme
    assert "folder must be named `account-health`" in readme


# -- REFERENCE.md -----------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_text() -> str:
    return REFERENCE_MD.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def blocks(reference_text: str) -> dict[str, str]:
    return reference.blocks_in(reference_text)


def test_reference_has_every_block(blocks):
    assert set(blocks) == set(reference.BLOCKS), REGENERATE


@pytest.mark.parametrize("name", list(reference.BLOCKS))
def test_reference_block_is_current(blocks, name: str):
    assert blocks.get(name) == reference.render_block(name, POLICY), (
        f"REFERENCE.md block {name!r} is out of date with assets/: {REGENERATE}"
    )


def parse_tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table in the text, as rows keyed by header, backticks stripped."""
    tables: list[list[dict[str, str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            headers = split_row(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(dict(zip(headers, split_row(lines[i]), strict=True)))
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables


def split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [c.strip().replace("\\|", "|") for c in cells]


def bare(value: str) -> str:
    return value.strip().strip("`")


def keyed(rows: list[dict[str, str]], column: str) -> dict[str, dict[str, str]]:
    result = {bare(r[column]): r for r in rows}
    assert len(result) == len(rows), f"duplicate {column} rows"
    return result


def only_table(blocks: dict[str, str], name: str) -> list[dict[str, str]]:
    tables = parse_tables(blocks[name])
    assert tables, f"no table in block {name!r}"
    return tables[0]


def test_reference_actions(blocks):
    rows = keyed(only_table(blocks, "catalogue"), "action")
    catalogue = POLICY.actions.catalogue
    assert set(rows) == set(catalogue)
    for action_id, entry in catalogue.items():
        row = rows[action_id]
        assert row["label"] == entry.label
        assert row["sensitivity"] == entry.sensitivity.value
        assert row["kind"] == entry.kind.value
        assert row["owner"] == entry.owner
    due = keyed(parse_tables(blocks["catalogue"])[1], "priority")
    for priority, days in POLICY.actions.due_days_by_priority.items():
        assert int(due[priority.value]["due after (days)"]) == days


def test_reference_triggers(blocks):
    rows = only_table(blocks, "triggers")
    documented = sorted((bare(r["action"]), r["priority"], r["reason"]) for r in rows)
    expected = sorted((t.action, t.priority.value, t.reason) for t in POLICY.actions.triggers)
    assert documented == expected


def test_reference_flags(blocks):
    rows = keyed(only_table(blocks, "flags"), "code")
    assert set(rows) == {c.value for c in RiskFlagCode}
    assert set(rows) == set(type(POLICY.risk.flags).model_fields)
    for flag in RiskFlagCode:
        rule = getattr(POLICY.risk.flags, flag.value)
        row = rows[flag.value]
        assert row["label"] == rule.label
        assert row["severity"] == rule.severity.value
        assert row["action hint"] == rule.hint
        for key, value in rule.model_dump(exclude={"label", "severity", "hint"}).items():
            values = value if isinstance(value, list) else [value]
            if isinstance(value, dict):  # a window per contract term; null is never
                values = [f"{term} {'never' if v is None else v}" for term, v in value.items()]
            for item in values:
                shown = f"{item:g}" if isinstance(item, int | float) else str(item)
                assert shown in row["raised when"], f"{flag.value}.{key} = {item} not shown"


def test_reference_seed_002_flags_are_all_there(blocks):
    """Seed 002's table: usage drop, support spike, NPS detractor, payment issue,
    renewal soon (90 days), no executive touch (90+ days), escalation in 90 days."""
    rows = keyed(only_table(blocks, "flags"), "code")
    for code in (
        "usage_drop",
        "support_spike",
        "nps_detractor",
        "payment_issue",
        "renewal_soon",
        "no_exec_touch",
        "recent_escalation",
    ):
        assert rows[code]["action hint"]
    assert "90 days" in rows["renewal_soon"]["raised when"]
    assert "90+ days" in rows["no_exec_touch"]["raised when"]


def test_reference_weights(blocks):
    rows = keyed(only_table(blocks, "weights"), "dimension")
    for dimension in Dimension:
        for segment in Segment:
            documented = float(rows[dimension.value][segment.value])
            assert documented == POLICY.scoring.weights[segment].get(dimension, 0.0), (
                f"weight {segment.value}/{dimension.value}"
            )


def test_reference_signals(blocks):
    rows = keyed(only_table(blocks, "signals"), "signal")
    assert set(rows) == set(POLICY.scoring.signals)
    for name, rule in POLICY.scoring.signals.items():
        assert rows[name]["dimension"] == rule.dimension.value
        assert float(rows[name]["weight"]) == rule.weight


def test_reference_thresholds(blocks):
    bands, tiers, confidence, scalars = parse_tables(blocks["thresholds"])
    assert {r["band"]: float(r["score at least"]) for r in bands} == {
        b.band.value: b.min for b in POLICY.scoring.bands
    }
    tier_rows = {r["tier"]: float(r["mean weekly activity (or score) at least"]) for r in tiers}
    assert tier_rows == {t.tier.value: t.min for t in POLICY.scoring.tiers}
    for row in confidence:
        rule = POLICY.scoring.confidence[row["confidence"]]
        assert float(row["weight coverage at least"]) == rule.min_coverage
        assert int(row["stale sources at most"]) == rule.max_stale_sources
    values = {bare(r["setting"]): int(r["value"]) for r in scalars}
    assert values["stale_after_days"] == POLICY.scoring.stale_after_days
    assert values["positive_factor_min"] == POLICY.scoring.positive_factor_min


def test_reference_guard_rails(blocks):
    rows = keyed(only_table(blocks, "guard-rails"), "id")
    assert set(rows) == {r.id for r in POLICY.scoring.guard_rails}
    for rail in POLICY.scoring.guard_rails:
        assert int(rows[rail.id]["cap"]) == rail.cap
        assert rows[rail.id]["reason"] == rail.reason


def test_reference_themes(blocks):
    rows = keyed(only_table(blocks, "themes"), "theme")
    assert {k: r["label"] for k, r in rows.items()} == {
        k: t.label for k, t in POLICY.risk.themes.items()
    }


def test_reference_opportunities(blocks):
    rows = keyed(only_table(blocks, "opportunities"), "code")
    assert set(rows) == {c.value for c in OpportunityCode}
    assert set(rows) == set(type(POLICY.opportunity.flags).model_fields)
    for code in OpportunityCode:
        rule = getattr(POLICY.opportunity.flags, code.value)
        row = rows[code.value]
        assert (row["label"], row["hint"]) == (rule.label, rule.hint)
        assert row["bands"] == ", ".join(b.value for b in rule.bands)
        assert row["tiers"] == ", ".join(t.value for t in rule.tiers)
        for key, value in rule.model_dump(exclude={"label", "hint", "bands", "tiers"}).items():
            for item in value if isinstance(value, list) else [value]:
                shown = f"{item:g}" if isinstance(item, int | float) else str(item)
                assert shown in row["raised when"], f"{code.value}.{key} = {item} not shown"


def test_reference_matrix(blocks):
    rows = keyed(only_table(blocks, "matrix"), "action")
    assert set(rows) == set(POLICY.gate.matrix)
    for action_id, cells in POLICY.gate.matrix.items():
        row = rows[action_id]
        assert row["sensitivity"] == POLICY.actions.catalogue[action_id].sensitivity.value
        for segment in Segment:
            assert row[segment.value] == cells[segment].value, f"matrix {action_id}/{segment}"


def test_reference_automation_levels(blocks):
    rows = keyed(only_table(blocks, "levels"), "level")
    assert set(rows) == {level.value for level in POLICY.gate.automation_levels}
    for level, config in POLICY.gate.automation_levels.items():
        row = rows[level.value]
        assert row["description"] == config.description
        for sensitivity in Sensitivity:
            assert row[f"{sensitivity.value} sensitivity"] == config.caps[sensitivity].value


@pytest.mark.parametrize("block", ["overrides", "stop-rules"])
def test_reference_gate_rules(blocks, block: str):
    rules = POLICY.gate.signal_overrides if block == "overrides" else POLICY.gate.stop_rules
    rows = keyed(only_table(blocks, block), "id")
    assert list(rows) == [r.id for r in rules]
    for rule in rules:
        assert rows[rule.id]["status"] == rule.status.value
        assert rows[rule.id]["reason"] == rule.reason
        for action in rule.applies_to.actions:
            assert action in rows[rule.id]["applies to"]


def test_reference_input_fields(blocks):
    rows = keyed(only_table(blocks, "input-fields"), "field")
    assert list(rows) == list(AccountRecord.model_fields)
    for name, row in rows.items():
        example = json.loads(bare(row["example"]))
        record = AccountRecord.model_validate({"account_id": "X", "segment": "smb", name: example})
        assert getattr(record, name) is not None, f"{name}: example {example!r} was not read"
    required = {n for n, info in AccountRecord.model_fields.items() if info.is_required()}
    assert {n for n, r in rows.items() if "required" in r["type"]} == required


def test_reference_schemas(blocks):
    rows = keyed(only_table(blocks, "schemas"), "name")
    assert list(rows) == list(SCHEMAS)
    for name in SCHEMAS:
        assert bare(rows[name]["file"]) == f"assets/schemas/{schema_file(name)}"


def test_reference_mentions_every_command(reference_text: str):
    for name in top_level_commands():
        assert f"`account-health {name}" in reference_text


def test_reference_sections(reference_text: str):
    headings = set(re.findall(r"^#+ (.+)$", reference_text, re.MULTILINE))
    for heading in (
        "Input",
        "Scoring",
        "Dimensions and default weights per segment",
        "Thresholds",
        "Risk flags",
        "Risk themes",
        "Actions",
        "Policy gate",
        "Automation levels",
        "Signal overrides",
        "Stop rules",
        "Output",
        "JSON Schemas",
        "Exit codes",
    ):
        assert heading in headings, f"REFERENCE.md lacks the section {heading!r}"


def test_reference_renderer_check_mode(tmp_path: Path):
    stale = tmp_path / "REFERENCE.md"
    stale.write_text(
        REFERENCE_MD.read_text(encoding="utf-8").replace("| `usage_drop` |", "| `usage_dip` |", 1)
    )
    assert reference.main(["--check", str(stale)]) == 1
    assert reference.main(["--write", str(stale)]) == 0
    assert stale.read_text() == REFERENCE_MD.read_text(encoding="utf-8")


# -- exit codes ---------------------------------------------------------------------


def exit_code_table(text: str) -> dict[int, str]:
    tables = [t for t in parse_tables(text) if t and set(t[0]) == {"code", "meaning"}]
    assert len(tables) == 1, "expected exactly one `| code | meaning |` table"
    return {int(r["code"]): r["meaning"] for r in tables[0]}


def test_exit_codes_agree():
    readme = exit_code_table(README_MD.read_text(encoding="utf-8"))
    section = REFERENCE_MD.read_text(encoding="utf-8").split("\n## Exit codes\n", 1)[1]
    documented = exit_code_table(section)
    for code in (EXIT_OK, EXIT_USAGE, EXIT_REJECTED):
        assert code in readme and code in documented
        assert readme[code] == documented[code], f"exit {code} reads differently"
    assert (EXIT_OK, EXIT_USAGE, EXIT_REJECTED) == (0, 2, 3)


# -- runnable examples ------------------------------------------------------------------

FENCE_RE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
SHELLS = {"sh", "bash", "console", "shell"}
TOOL_RE = re.compile(r"(?<![\w./-])(?:\.venv/bin/)?account-health(?![\w-])")
EXPECT_RE = re.compile(r"#\s*exits?\s+(\d+)")
SETUP_COMMANDS = {"printf", "echo", "mkdir", "cp"}


@dataclass(frozen=True)
class Example:
    where: str
    setup: tuple[str, ...]
    command: str
    expected: int


def examples_in(path: Path) -> list[Example]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE_RE.finditer(text):
        language, body = match.group(1), match.group(2)
        if language not in SHELLS:
            continue
        first_line = text.count("\n", 0, match.start()) + 2
        setup: list[str] = []
        for offset, line in enumerate(body.splitlines()):
            if language == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"{path.name}:{first_line + offset}"
            if TOOL_RE.search(line):
                expected = EXPECT_RE.search(line)
                found.append(
                    Example(where, tuple(setup), line, int(expected.group(1)) if expected else 0)
                )
            elif line.split()[0] in SETUP_COMMANDS:
                setup.append(line)
    return found


EXAMPLES = examples_in(SKILL_MD) + examples_in(README_MD)


def tool_command() -> str:
    script = Path(sys.executable).parent / "account-health"
    if script.is_file():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m skill"


def test_examples_were_found():
    assert sum(e.where.startswith("SKILL.md") for e in EXAMPLES) >= 10
    assert sum(e.where.startswith("README.md") for e in EXAMPLES) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.where for e in EXAMPLES])
def test_documented_example_runs(example: Example, tmp_path: Path):
    command = example.command
    if re.search(r"\baccount-health\s+mcp\b", command):
        pytest.skip("`account-health mcp` is a stdio server; tests/test_mcp*.py cover it")
    if re.search(r"\baccount-health\s+serve\b", command):
        pytest.skip("`account-health serve` runs until stopped; tests/web cover it")
    assert "--llm anthropic" not in command or example.expected == EXIT_USAGE, (
        f"{example.where}: examples must not need an API key (use --llm off)"
    )
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # brief/email never touch ~/.cache
    replaced = TOOL_RE.sub(lambda _: tool_command(), command)
    script = "set -o pipefail\n" + "\n".join((*example.setup, replaced))
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == example.expected, (
        f"{example.where}: `{command}` exited {proc.returncode}, "
        f"documented {example.expected}\nstderr:\n{proc.stderr[-2000:]}"
    )
    if "|" in command.split("#")[0].split("account-health", 1)[-1]:
        return  # output piped onwards: nothing of ours to check
    if re.search(r"--format\s+json\b", command) and proc.returncode in (EXIT_OK, EXIT_REJECTED):
        json.loads(proc.stdout)
    if re.search(r"--format\s+jsonl\b", command) and proc.returncode == EXIT_OK:
        for line in proc.stdout.splitlines():
            json.loads(line)
    if re.search(r"\bschema\s+\w+\s*(#|$)", command):
        json.loads(proc.stdout)


# -- --help everywhere ------------------------------------------------------------------


def all_commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every command and group of the CLI with its path (typer may vendor its own Click)."""
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def command_paths() -> list[tuple[str, ...]]:
    return [path for path, _ in all_commands()]


def top_level_commands() -> list[str]:
    return [p[0] for p in command_paths() if len(p) == 1]


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "account-health")
def test_help_has_an_example(path: tuple[str, ...]):
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout, f"`account-health {' '.join(path)} --help` has no example"
    assert "account-health" in result.stdout.split("Example:", 1)[1]


def test_help_covers_every_command():
    paths = command_paths()
    assert len(paths) >= 9, paths
    assert {("assess",), ("brief",), ("email",), ("demo",), ("schema",)} <= set(paths)
    assert {("policy",), ("policy", "show"), ("policy", "check")} <= set(paths)


def test_no_command_prompts():
    for path, command in all_commands():
        for param in command.params:
            assert not getattr(param, "prompt", None), f"{' '.join(path)} {param.name} prompts"
            assert not getattr(param, "confirmation_prompt", False)
            assert not getattr(param, "hide_input", False)


def test_every_command_is_documented_in_help_listing():
    result = CliRunner().invoke(app, ["--help"])
    for name in top_level_commands():
        assert name in result.stdout
