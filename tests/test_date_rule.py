"""`measure`, `report` and `calibrate` count up to the same date, and say what lies after it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from skill.cli import app
from skill.insights.measure import default_as_of
from skill.store.db import connect

DEMO = Path(__file__).resolve().parent.parent / "assets" / "demo" / "accounts.json"


def cli(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_default_date_is_today_or_the_latest_recorded_date(tmp_path: Path):
    db = tmp_path / "history.sqlite3"
    assert cli("run", DEMO, "--db", db, "--as-of", "2026-11-23", "-f", "json").exit_code == 0
    connection = connect(db)
    assert default_as_of(connection, date(2026, 11, 1)) == date(2026, 11, 23)
    assert default_as_of(connection, date(2026, 12, 9)) == date(2026, 12, 9)
    connection.close()


def test_outcomes_after_the_date_are_counted_alike_and_named(tmp_path: Path):
    db = tmp_path / "history.sqlite3"
    far = "2999-01-01"  # after today and after every recorded date
    assert cli("run", DEMO, "--db", db, "--as-of", "2026-11-23", "-f", "json").exit_code == 0
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text(
        f"account_id,outcome,date\nACC-1001,renewed,{far}\nACC-1002,churned,2998-06-01\n",
        encoding="utf-8",
    )
    assert cli("outcomes", "import", outcomes, "--db", db).exit_code == 0

    measured = cli("measure", "--db", db, "-f", "json")
    reported = cli("report", "--db", db, "-f", "json")
    calibrated = cli("calibrate", "--db", db, "-f", "json", "--out", tmp_path / "c.yaml")

    after = [
        json.loads(measured.stdout)["outcomes_after"],
        json.loads(reported.stdout)["calibration"]["outcomes_after"],
        json.loads(calibrated.stdout)["outcomes_after"],
    ]
    assert after[0] == after[1] == after[2]
    assert (after[0]["count"], after[0]["latest"]) == (2, far)
    for result in (measured, reported, calibrated):
        assert result.exit_code == 0, result.stderr
        assert f"2 outcome(s) dated after {date.today()}" in result.stderr
        assert f"pass --as-of {far} to include them" in result.stderr
    assert json.loads(measured.stdout)["outcomes"]["recorded"] == 0
    assert json.loads(reported.stdout)["calibration"]["outcomes"] == 0
    assert json.loads(calibrated.stdout)["outcomes"] == 0

    included = [
        json.loads(cli("measure", "--db", db, "--as-of", far, "-f", "json").stdout),
        json.loads(cli("report", "--db", db, "--as-of", far, "-f", "json").stdout),
    ]
    assert included[0]["outcomes"]["matched"] == included[1]["calibration"]["outcomes"] == 2
    assert included[0]["outcomes_after"]["count"] == 0
