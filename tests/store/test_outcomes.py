"""Importing outcomes: formats, lenient spellings, bad rows, idempotency, unknown ids, CLI."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from insights_support import GOOD, WEEK_2, record, write_outcomes  # noqa: E402

from skill.cli import app  # noqa: E402
from skill.ingest import InputError  # noqa: E402
from skill.store.db import connect  # noqa: E402
from skill.store.outcomes import OutcomeKind, import_outcomes, read_outcomes  # noqa: E402


@pytest.fixture
def connection(tmp_path: Path):
    conn = connect(tmp_path / "history.sqlite3")
    yield conn
    conn.close()


def stored(connection) -> list[tuple[str, str, str]]:
    return [
        tuple(row)
        for row in connection.execute(
            "SELECT account_id, outcome, outcome_date FROM outcomes ORDER BY 1, 3"
        )
    ]


@pytest.mark.parametrize(
    ("spelling", "outcome"),
    [
        ("renewed", "renewed"),
        ("Renewal", "renewed"),
        ("CHURN", "churned"),
        ("cancelled", "churned"),
        ("Closed Lost", "churned"),
        ("upsell", "expanded"),
        ("Expansion", "expanded"),
        ("downgrade", "downgraded"),
        ("contraction", "downgraded"),
    ],
)
def test_outcome_spellings_are_lenient(spelling: str, outcome: str):
    assert OutcomeKind(spelling).value == outcome


def test_csv_with_crm_headers_imports_every_good_row(connection, tmp_path: Path):
    path = tmp_path / "outcomes.csv"
    path.write_text(
        "Account ID,Outcome,Outcome Date\n"
        "A-1,Churn,2026-12-01\n"
        "A-2,renewal,2026-12-02T09:30:00\n"
        "\n"
        "A-3,expanded,2026-12-03\n",
        encoding="utf-8",
    )
    result = import_outcomes(connection, path)
    assert (result.rows, result.imported, result.rejected) == (3, 3, [])
    assert stored(connection) == [
        ("A-1", "churned", "2026-12-01"),
        ("A-2", "renewed", "2026-12-02"),
        ("A-3", "expanded", "2026-12-03"),
    ]


@pytest.mark.parametrize("kind", ["json", "json_wrapped", "jsonl"])
def test_json_and_jsonl(connection, tmp_path: Path, kind: str):
    rows = [
        {"account_id": "A-1", "outcome": "churned", "date": "2026-12-01"},
        {"customer_id": "A-2", "status": "Renewed", "outcome_date": "2026-12-02"},
    ]
    if kind == "jsonl":
        path = tmp_path / "outcomes.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        path = tmp_path / "outcomes.json"
        document = {"outcomes": rows} if kind == "json_wrapped" else rows
        path.write_text(json.dumps(document), encoding="utf-8")
    result = import_outcomes(connection, path)
    assert result.imported == 2 and not result.rejected
    assert stored(connection) == [
        ("A-1", "churned", "2026-12-01"),
        ("A-2", "renewed", "2026-12-02"),
    ]


def test_a_stream_is_sniffed():
    items = list(
        read_outcomes(
            io.StringIO('{"account_id": "A", "outcome": "churn", "date": "2026-12-01"}\n')
        )
    )
    assert items[0][2].outcome == OutcomeKind.CHURNED


def test_bad_rows_are_rejected_by_row_field_and_value_and_the_rest_imported(
    connection, tmp_path: Path
):
    path = write_outcomes(
        tmp_path / "outcomes.csv",
        [
            ("A-1", "churned", "2026-12-01"),
            ("A-2", "maybe", "2026-12-02"),
            ("A-3", "renewed", "12/03/2026"),
            ("", "renewed", "2026-12-04"),
            ("A-5", "renewed", "2026-12-05"),
        ],
    )
    result = import_outcomes(connection, path)
    assert result.imported == 2
    reasons = {r.row: r.reason for r in result.rejected}
    assert set(reasons) == {2, 3, 4}
    assert "row 2 (account_id 'A-2'): outcome = 'maybe'" in reasons[2]
    assert "renewed, churned, expanded or downgraded" in reasons[2]
    assert "row 3 (account_id 'A-3'): date = '12/03/2026'" in reasons[3]
    assert "YYYY-MM-DD" in reasons[3]
    assert reasons[4].startswith("row 4: account_id")
    fields = {r.row: r.errors[0].field for r in result.rejected}
    assert fields == {2: "outcome", 3: "date", 4: "account_id"}
    assert result.rejected[0].line == 3  # the header is line 1


def test_reimport_changes_nothing_and_a_correction_updates(connection, tmp_path: Path):
    path = write_outcomes(
        tmp_path / "outcomes.csv",
        [("A-1", "churned", "2026-12-01"), ("A-2", "renewed", "2026-12-02")],
    )
    first = import_outcomes(connection, path)
    again = import_outcomes(connection, path)
    assert (first.imported, again.imported, again.unchanged, again.updated) == (2, 0, 2, 0)
    assert again.outcomes_recorded == 2
    corrected = write_outcomes(tmp_path / "fix.csv", [("A-2", "expanded", "2026-12-02")])
    fix = import_outcomes(connection, corrected)
    assert (fix.imported, fix.updated, fix.outcomes_recorded) == (0, 1, 2)
    assert ("A-2", "expanded", "2026-12-02") in stored(connection)


def test_unknown_accounts_are_imported_and_counted(connection, tmp_path: Path):
    record(connection, [GOOD], WEEK_2)
    path = write_outcomes(
        tmp_path / "outcomes.csv",
        [
            ("GOOD", "renewed", "2026-12-01"),
            ("NOPE-1", "churned", "2026-12-01"),
            ("NOPE-2", "churned", "2026-12-01"),
        ],
    )
    result = import_outcomes(connection, path)
    assert result.imported == 3
    assert result.unknown_accounts == 2
    assert result.unknown_account_examples == ["NOPE-1", "NOPE-2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("account_id,date\nA,2026-12-01\n", "no column for outcome"),
        ("", "empty"),
        ('{"outcomes": 3}', "expected a JSON list"),
    ],
)
def test_file_level_problems_raise_input_error(tmp_path: Path, text: str, message: str):
    path = tmp_path / ("outcomes.json" if text.startswith("{") else "outcomes.csv")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        list(read_outcomes(path))


# -- CLI ---------------------------------------------------------------------------------


def test_cli_import_reports_rejections_and_exits_3(tmp_path: Path):
    db = tmp_path / "history.sqlite3"
    path = write_outcomes(
        tmp_path / "outcomes.csv",
        [("A-1", "churned", "2026-12-01"), ("A-2", "maybe", "2026-12-02")],
    )
    rejects = tmp_path / "rejects.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "outcomes",
            "import",
            str(path),
            "--db",
            str(db),
            "--format",
            "json",
            "--rejects",
            str(rejects),
        ],
    )
    assert result.exit_code == 3, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["imported"], len(summary["rejected"]), summary["unknown_accounts"]) == (1, 1, 1)
    assert "error: row 2 (account_id 'A-2'): outcome = 'maybe'" in result.stderr
    assert "1 account id(s) have no recorded assessment" in result.stderr
    assert json.loads(rejects.read_text())["row"] == 2


def test_cli_import_of_a_clean_file_exits_0_and_is_idempotent(tmp_path: Path):
    db = tmp_path / "history.sqlite3"
    path = write_outcomes(tmp_path / "outcomes.csv", [("A-1", "churned", "2026-12-01")])
    runner = CliRunner()
    first = runner.invoke(app, ["outcomes", "import", str(path), "--db", str(db)])
    second = runner.invoke(app, ["outcomes", "import", str(path), "--db", str(db)])
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert "1 imported" in first.stdout
    assert "0 imported, 0 updated, 1 unchanged" in second.stdout


def test_cli_import_of_a_missing_file_exits_2(tmp_path: Path):
    result = CliRunner().invoke(
        app, ["outcomes", "import", str(tmp_path / "nope.csv"), "--db", str(tmp_path / "h.db")]
    )
    assert result.exit_code == 2
    assert "no such file" in result.stderr
