"""Commands that read history never create a database, and a bad `--db` is one line (exit 2).

Also `run --format json` when the run was recorded before: still a document.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skill.cli import app

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo" / "accounts.json"

READERS = [
    ["actions", "list"],
    ["actions", "approve", "0123456789ab", "--by", "Dana"],
    ["actions", "reject", "0123456789ab", "--by", "Dana", "--reason", "no"],
    ["actions", "export"],
    ["review", "list"],
    ["review", "done", "ACC-1", "--by", "Dana"],
    ["measure"],
    ["report"],
    ["calibrate"],
    ["db", "stats"],
    ["db", "prune", "--before", "2026-11-23"],
    ["db", "prune", "--before", "2026-11-23", "--dry-run"],
    ["db", "vacuum"],
]


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_reading_command_refuses_a_missing_database(tmp_path: Path, command: list[str]):
    missing = tmp_path / "typo.db"
    result = invoke(*command, "--db", missing)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: no history database at {missing}; "
        f"create one with `account-health run FILE --db {missing}`"
    )
    assert not missing.exists()


@pytest.mark.parametrize("kind", ["directory", "text", "empty"])
@pytest.mark.parametrize(
    "command",
    [*READERS, ["run", str(DEMO), "--as-of", "2026-11-23"], ["outcomes", "import", str(DEMO)]],
    ids=" ".join,
)
def test_a_path_that_is_not_a_database_is_one_line(tmp_path: Path, command: list[str], kind):
    path = tmp_path / "history.db"
    if kind == "directory":
        path.mkdir()
        why = "it is a directory"
    elif kind == "text":
        path.write_text("account_id,outcome\nA,churned\n", encoding="utf-8")
        why = "not a SQLite file"
    else:
        path.write_bytes(b"")
        if command[0] in ("run", "outcomes"):
            pytest.skip("an empty file is where run and outcomes import may start a database")
        why = "the file is empty"
    result = invoke(*command, "--db", path)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {path} is not a usable history database: {why}"]
    assert "Traceback" not in result.output


def test_a_sqlite_database_of_something_else_is_refused(tmp_path: Path):
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE notes (body TEXT)")
    result = invoke("run", DEMO, "--as-of", "2026-11-23", "--db", path)
    assert result.exit_code == 2
    assert "a SQLite file of something else" in result.stderr
    with sqlite3.connect(path) as other:
        tables = {r[0] for r in other.execute("SELECT name FROM sqlite_master")}
    assert tables == {"notes"}


def test_run_and_outcomes_import_create_the_database(tmp_path: Path):
    db = tmp_path / "new" / "history.db"
    assert invoke("run", DEMO, "--as-of", "2026-11-23", "--db", db, "-f", "json").exit_code == 0
    assert db.is_file()
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("account_id,outcome,date\nACC-1001,renewed,2026-12-01\n")
    other = tmp_path / "other.db"
    assert invoke("outcomes", "import", outcomes, "--db", other).exit_code == 0
    assert other.is_file()


def test_run_json_twice_prints_a_document_both_times(tmp_path: Path):
    db = tmp_path / "history.db"
    args = ("run", DEMO, "--as-of", "2026-11-23", "--db", db, "--format", "json")
    first = invoke(*args)
    second = invoke(*args)
    assert first.exit_code == second.exit_code == 0
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert one["already_recorded"] is False and one["recorded"] == 5 and one["unchanged"] == 0
    assert two["already_recorded"] is True
    assert (two["recorded"], two["unchanged"]) == (0, 5)
    assert two["run_id"] == one["run_id"] and two["as_of"] == "2026-11-23"
    assert two["trends"] == [] and two["rejected"] == []
    assert "already recorded; nothing to do" in second.stderr
