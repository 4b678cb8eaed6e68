"""`account-health db stats`, `db prune` and `db vacuum` on a recorded history.

(A missing database, a directory and a text file: tests/cli/test_history_paths.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from weekly_history import record_weeks, weeks

from skill.cli import app
from skill.store.db import connect

DATES = weeks(3)
ACCOUNTS = 70


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "history.sqlite3"
    connection = connect(path)
    record_weeks(connection, ACCOUNTS, DATES)
    connection.close()
    return path


@pytest.fixture
def db(recorded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "history.sqlite3"
    copy.write_bytes(recorded.read_bytes())
    return copy


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_stats_json_adds_up_to_the_file(db: Path) -> None:
    result = invoke("db", "stats", "--db", db, "--format", "json")

    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["database_bytes"] == db.stat().st_size
    assert (
        sum(t["bytes"] for t in stats["tables"]) + stats["other_bytes"] + stats["free_bytes"]
        == stats["database_bytes"]
    )
    assert [(d["as_of"], d["accounts"]) for d in stats["dates"]] == [
        (day.isoformat(), ACCOUNTS) for day in DATES
    ]


def test_stats_text_shows_each_table_and_each_date(db: Path) -> None:
    result = invoke("db", "stats", "--db", db)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"{3 * ACCOUNTS:,} assessments recorded (accounts x dates)" in lines[1]
    table_rows = {line.split()[0] for line in lines if line and not line.startswith("-")}
    assert {"assessments", "snapshots", "actions", "document_bases"} <= table_rows
    for day in DATES:
        assert any(line.startswith(day.isoformat()) and "kept" in line for line in lines)


def test_prune_says_what_it_dropped_and_what_it_freed(db: Path) -> None:
    size = db.stat().st_size

    result = invoke("db", "prune", "--before", DATES[1], "--db", db)

    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"Before {DATES[1]}: dropped {ACCOUNTS} snapshots, ")
    assert "freed" in result.stdout.splitlines()[-1]
    assert db.stat().st_size < size
    stats = json.loads(invoke("db", "stats", "--db", db, "-f", "json").stdout)
    assert stats["dates"][0]["documents"] < ACCOUNTS
    assert stats["dates"][1]["documents"] == ACCOUNTS


def test_prune_dry_run_leaves_the_file_alone(db: Path) -> None:
    content = db.read_bytes()

    result = invoke("db", "prune", "--before", DATES[1], "--db", db, "--dry-run", "-f", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["snapshots"] == ACCOUNTS
    assert db.read_bytes() == content


@pytest.mark.parametrize(
    ("before", "message"),
    [
        ("2027-01-01", f"after the newest recorded date ({DATES[-1]})"),
        ("last week", "--before 'last week' is not a date; expected YYYY-MM-DD"),
    ],
)
def test_prune_refuses_a_cut_off_it_cannot_use(db: Path, before: str, message: str) -> None:
    result = invoke("db", "prune", "--before", before, "--db", db)

    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_actions_list_and_measure_still_work_after_pruning(db: Path) -> None:
    listed = invoke("actions", "list", "--db", db, "--format", "json").stdout

    assert invoke("db", "prune", "--before", DATES[2], "--db", db).exit_code == 0

    assert invoke("actions", "list", "--db", db, "--format", "json").stdout == listed
    measured = invoke("measure", "--db", db, "--as-of", "2026-12-31", "--format", "json")
    reported = invoke("report", "--db", db, "--as-of", "2026-12-31", "--format", "json")
    assert measured.exit_code == 0 and reported.exit_code == 0, measured.output


def test_vacuum_gives_the_free_pages_back(db: Path) -> None:
    connection = connect(db)
    connection.execute("DELETE FROM snapshots")
    connection.close()
    size = db.stat().st_size

    result = invoke("db", "vacuum", "--db", db)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"vacuumed {db}: ")
    assert db.stat().st_size < size
