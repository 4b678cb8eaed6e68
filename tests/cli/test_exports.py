"""Real exports in: US and European number and date formats, delimiters, encodings,
workbooks and column mappings, each from a small fixture file in tests/fixtures/exports."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import Result
from openpyxl import Workbook

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
AS_OF = ("--as-of", "2026-11-23", "--format", "json")

Cli = Callable[..., Result]


def assessed(result: Result) -> dict[str, dict]:
    return {a["account_id"]: a for a in json.loads(result.stdout)["assessments"]}


def rejected(result: Result) -> list[dict]:
    return json.loads(result.stdout)["rejected"]


def test_us_dates_are_refused_without_a_date_format(cli: Cli) -> None:
    result = cli("assess", EXPORTS / "us-export.csv", *AS_OF, "--decimal", "point")
    assert result.exit_code == 3
    assert "renewal_date = '3/15/2027'" in result.stderr
    assert "--date-format" in result.stderr


def test_us_export_reads_with_a_date_format_and_decimal_point(cli: Cli) -> None:
    result = cli(
        "assess",
        EXPORTS / "us-export.csv",
        *AS_OF,
        "--date-format",
        "%m/%d/%Y",
        "--decimal",
        "point",
    )
    assert result.exit_code == 0, result.stderr
    assert set(assessed(result)) == {"US-1", "US-2"}
    assert not rejected(result)


def test_us_renewal_date_becomes_the_right_day() -> None:
    from skill.api import assess
    from skill.dialect import ReadOptions

    run = assess(
        EXPORTS / "us-export.csv",
        as_of=date(2026, 11, 23),
        options=ReadOptions(date_format="%m/%d/%Y", decimal="point"),
    )
    (renewal,) = [f for f in run.assessments[1].flags if f.code == "renewal_soon"]
    assert "2026-12-01" in renewal.evidence


def test_european_semicolon_export_with_bom_and_decimal_commas(cli: Cli) -> None:
    result = cli(
        "assess",
        EXPORTS / "eu-semicolon-bom.csv",
        *AS_OF,
        "--decimal",
        "comma",
        "--date-format",
        "%d.%m.%Y",
    )
    assert result.exit_code == 0, result.stderr
    assert set(assessed(result)) == {"EU-1", "EU-2"}
    assert assessed(result)["EU-1"]["name"] == "Müller GmbH"


def test_european_numbers_are_read_as_written(tmp_path: Path) -> None:
    from skill.dialect import ReadOptions
    from skill.ingest import read_accounts

    options = ReadOptions(decimal="comma", date_format="%d.%m.%Y")
    rows = list(read_accounts(EXPORTS / "eu-semicolon-bom.csv", options=options))
    first, second = (row.record for row in rows)
    assert (first.arr, first.csat, str(first.renewal_date)) == (45000.5, 4.5, "2027-03-15")
    assert second.arr == 1_250_000


def test_european_export_without_decimal_is_rejected_never_guessed(cli: Cli) -> None:
    result = cli("assess", EXPORTS / "eu-semicolon-bom.csv", *AS_OF, "--date-format", "%d.%m.%Y")
    assert result.exit_code == 3
    assert "arr = '45.000,50'" in result.stderr
    assert "--decimal comma" in result.stderr


def test_45000_50_is_never_read_as_4500050(cli: Cli) -> None:
    result = cli("assess", EXPORTS / "arr-decimal-comma.csv", *AS_OF)
    assert result.exit_code == 3
    (rejection,) = rejected(result)
    assert rejection["errors"][0]["field"] == "arr"
    assert "45000.5 with a decimal comma" in rejection["reason"]
    assert "4500050 with a decimal point" in rejection["reason"]
    assert "4500050" not in json.dumps(assessed(result))


def test_45000_50_with_decimal_comma_is_45000_point_5() -> None:
    from skill.dialect import ReadOptions
    from skill.ingest import read_accounts

    reader = read_accounts(EXPORTS / "arr-decimal-comma.csv", options=ReadOptions(decimal="comma"))
    (row,) = list(reader)
    assert row.record is not None and row.record.arr == 45000.5


def test_latin1_file_is_refused_naming_the_line_without_encoding(cli: Cli) -> None:
    result = cli("assess", EXPORTS / "latin1.csv", *AS_OF)
    assert result.exit_code == 2
    assert "latin1.csv, line 2: not valid UTF-8" in result.stderr
    assert "--encoding" in result.stderr


def test_latin1_file_reads_with_encoding(cli: Cli) -> None:
    result = cli("assess", EXPORTS / "latin1.csv", *AS_OF, "--encoding", "latin-1")
    assert result.exit_code == 0, result.stderr
    assert assessed(result)["FR-1"]["name"] == "Société Générale"


def test_hubspot_header_with_a_mapping_and_a_constant_segment(cli: Cli) -> None:
    result = cli(
        "assess",
        EXPORTS / "hubspot-companies.csv",
        *AS_OF,
        "--columns",
        EXPORTS / "hubspot-mapping.yaml",
    )
    assert result.exit_code == 0, result.stderr
    accounts = assessed(result)
    assert set(accounts) == {"9001", "9002"}
    assert {a["segment"] for a in accounts.values()} == {"smb"}
    assert accounts["9001"]["name"] == "Northwind"
    assert "ignoring unknown columns: Create Date, Industry" in result.stderr


def test_hubspot_header_without_a_mapping_names_the_missing_fields(cli: Cli) -> None:
    result = cli("assess", EXPORTS / "hubspot-companies.csv", *AS_OF)
    assert result.exit_code == 2
    assert "no column for required field(s) account_id, segment" in result.stderr
    assert "--columns" in result.stderr


def test_columns_proposes_a_mapping_that_reads_the_file(cli: Cli, tmp_path: Path) -> None:
    proposal = cli("columns", EXPORTS / "hubspot-companies.csv")
    assert proposal.exit_code == 0, proposal.stderr
    text = proposal.stdout
    assert 'account_id: "Record ID"' in text
    assert 'owner: "Company owner"' in text
    assert '"Industry": no field of the contract' in text
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(text.replace("  # segment: smb", "  segment: smb"), encoding="utf-8")
    result = cli("assess", EXPORTS / "hubspot-companies.csv", *AS_OF, "--columns", mapping)
    assert result.exit_code == 0, result.stderr
    assert len(assessed(result)) == 2


def test_columns_json_lists_unmatched_headers(cli: Cli) -> None:
    result = cli("columns", EXPORTS / "hubspot-companies.csv", "--format", "json")
    document = json.loads(result.stdout)
    assert document["columns"]["account_id"] == "Record ID"
    assert document["missing_required"] == ["segment"]
    assert [u["header"] for u in document["unmatched"]] == ["Industry", "Create Date"]


def test_a_mapping_that_names_an_absent_header_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  arr: Contract Value\n", encoding="utf-8")
    result = cli("assess", EXPORTS / "us-export.csv", *AS_OF, "--columns", mapping)
    assert result.exit_code == 2
    assert "arr: 'contract_value'" in result.stderr


def test_the_mapping_file_can_set_date_format_and_decimal(cli: Cli, tmp_path: Path) -> None:
    mapping = tmp_path / "us.yaml"
    mapping.write_text('date_format: "%m/%d/%Y"\ndecimal: point\n', encoding="utf-8")
    result = cli("assess", EXPORTS / "us-export.csv", *AS_OF, "--columns", mapping)
    assert result.exit_code == 0, result.stderr


def test_an_invalid_decimal_option_is_a_usage_error(cli: Cli) -> None:
    result = cli("assess", EXPORTS / "us-export.csv", *AS_OF, "--decimal", "dot")
    assert result.exit_code == 2
    assert "expected comma or point" in result.stderr


def _workbook(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Summary"
    data = workbook.create_sheet("Accounts")
    data.append(["Account ID", "Segment", "ARR", "Renewal Date", "CSAT"])
    data.append([1001, "smb", 48000.0, datetime(2027, 3, 15), 4.5])
    data.append([])
    data.append(["X-2", "smb", "45000,50", None, 4.0])
    workbook.save(path)
    return path


def test_xlsx_reads_the_named_sheet(cli: Cli, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "accounts.xlsx")
    result = cli("assess", path, *AS_OF, "--sheet", "Accounts", "--decimal", "comma")
    assert result.exit_code == 0, result.stderr
    assert set(assessed(result)) == {"1001", "X-2"}


def test_xlsx_rejections_carry_the_spreadsheet_row_number(cli: Cli, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "accounts.xlsx")
    result = cli("assess", path, *AS_OF, "--sheet", "Accounts")
    assert result.exit_code == 3
    (rejection,) = rejected(result)
    assert (rejection["row"], rejection["line"], rejection["account_id"]) == (4, 4, "X-2")


def test_xlsx_unknown_sheet_names_the_sheets(cli: Cli, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "accounts.xlsx")
    result = cli("assess", path, *AS_OF, "--sheet", "Nope")
    assert result.exit_code == 2
    assert "no sheet named 'Nope'; the workbook has 'Summary', 'Accounts'" in result.stderr


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_delimiter_is_detected(cli: Cli, tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        delimiter.join(["account_id", "segment", "csat"])
        + "\n"
        + delimiter.join(["A-1", "smb", "4.5"])
        + "\n",
        encoding="utf-8",
    )
    result = cli("assess", path, *AS_OF)
    assert result.exit_code == 0, result.stderr
    assert set(assessed(result)) == {"A-1"}


def test_run_records_the_us_export_with_its_date_format(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "run",
        EXPORTS / "us-export.csv",
        "--db",
        tmp_path / "h.sqlite3",
        *AS_OF,
        "--date-format",
        "%m/%d/%Y",
        "--decimal",
        "point",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["recorded"] == 2


def test_outcomes_import_reads_us_dates_with_a_date_format(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    refused = cli("outcomes", "import", EXPORTS / "us-outcomes.csv", "--db", db)
    assert refused.exit_code == 3
    result = cli(
        "outcomes",
        "import",
        EXPORTS / "us-outcomes.csv",
        "--db",
        db,
        "--date-format",
        "%m/%d/%Y",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["imported"] == 2
