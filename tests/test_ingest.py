"""Reading accounts from CSV, JSON and JSONL: one behaviour per test."""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from skill import ingest
from skill.dialect import ReadOptions
from skill.ingest import (
    AccountReader,
    InputError,
    PendingCells,
    Rejection,
    RejectsWriter,
    read_accounts,
    validated_item,
    write_rejects,
)
from skill.record import AccountRecord, Segment, record_validator

TWO_ACCOUNTS = [
    {
        "account_id": "ACME-1",
        "name": "Acme",
        "segment": "enterprise",
        "arr": 120000,
        "renewal_date": "2025-03-31",
        "licensed_seats": 200,
        "active_users": 150,
        "csat": 4.5,
    },
    {
        "account_id": "GLOBEX-2",
        "name": "Globex",
        "segment": "smb",
        "arr": 9000,
        "renewal_date": "2025-06-30",
        "licensed_seats": 10,
        "active_users": 3,
        "csat": 2,
    },
]

TWO_ACCOUNTS_CSV = (
    "account_id,name,segment,arr,renewal_date,licensed_seats,active_users,csat\n"
    "ACME-1,Acme,enterprise,120000,2025-03-31,200,150,4.5\n"
    "GLOBEX-2,Globex,smb,9000,2025-06-30,10,3,2\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def records(reader: AccountReader) -> list[AccountRecord]:
    rows = list(reader)
    assert all(row.rejection is None for row in rows), [r.rejection for r in rows]
    return [row.record for row in rows if row.record is not None]


def rejections(reader: AccountReader) -> list[Rejection]:
    return [row.rejection for row in reader if row.rejection is not None]


def read_csv(tmp_path: Path, text: str, **kwargs: object) -> AccountReader:
    return read_accounts(write(tmp_path, "accounts.csv", text), **kwargs)  # type: ignore[arg-type]


# -- formats --------------------------------------------------------------------


def test_csv_json_jsonl_and_stdin_read_the_same_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jsonl = "".join(json.dumps(account) + "\n" for account in TWO_ACCOUNTS)
    sources = {
        "csv": read_accounts(write(tmp_path, "a.csv", TWO_ACCOUNTS_CSV)),
        "json list": read_accounts(write(tmp_path, "a.json", json.dumps(TWO_ACCOUNTS))),
        "json accounts": read_accounts(
            write(tmp_path, "b.json", json.dumps({"accounts": TWO_ACCOUNTS}, indent=2))
        ),
        "jsonl": read_accounts(write(tmp_path, "a.jsonl", jsonl)),
        "ndjson": read_accounts(write(tmp_path, "a.ndjson", jsonl)),
    }
    expected = [AccountRecord.model_validate(account) for account in TWO_ACCOUNTS]
    for label, reader in sources.items():
        assert records(reader) == expected, label

    for text in (TWO_ACCOUNTS_CSV, json.dumps(TWO_ACCOUNTS, indent=2), jsonl):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        assert records(read_accounts("-")) == expected


def test_stdin_format_is_sniffed(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {
        TWO_ACCOUNTS_CSV: "csv",
        json.dumps(TWO_ACCOUNTS): "json",
        json.dumps({"accounts": TWO_ACCOUNTS}): "json",
        json.dumps({"accounts": TWO_ACCOUNTS}, indent=2): "json",
        "\n" + "\n".join(json.dumps(a) for a in TWO_ACCOUNTS): "jsonl",
    }
    for text, expected in cases.items():
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        reader = read_accounts("-")
        assert len(list(reader)) == 2
        assert reader.format == expected


def test_explicit_format_wins_over_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "export.txt", TWO_ACCOUNTS_CSV)
    reader = read_accounts(path, "CSV")
    assert [r.account_id for r in records(reader)] == ["ACME-1", "GLOBEX-2"]
    assert reader.format == "csv"


def test_text_stream_source() -> None:
    reader = read_accounts(io.StringIO(TWO_ACCOUNTS_CSV), "csv")
    assert len(records(reader)) == 2


def test_csv_is_streamed_not_loaded_whole() -> None:
    class EndlessCSV(io.TextIOBase):
        """A stream with a header and then rows forever."""

        def __init__(self) -> None:
            self.served = 0

        def readable(self) -> bool:
            return True

        def readline(self, size: int | None = -1) -> str:
            self.served += 1
            if self.served == 1:
                return "account_id,segment\n"
            return f"A-{self.served},smb\n"

    stream = EndlessCSV()
    first = list(islice(read_accounts(stream, "csv"), 3))  # type: ignore[arg-type]
    assert [row.record.account_id for row in first if row.record] == ["A-2", "A-3", "A-4"]
    assert stream.served < 100


def test_jsonl_is_streamed_not_loaded_whole() -> None:
    class EndlessJSONL(io.TextIOBase):
        def readable(self) -> bool:
            return True

        def readline(self, size: int | None = -1) -> str:
            return '{"account_id": "A", "segment": "smb"}\n'

    first = list(islice(read_accounts(EndlessJSONL(), "jsonl"), 2))  # type: ignore[arg-type]
    assert [row.row for row in first] == [1, 2]


# -- names and values -------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["Mid-market", "mid_market", "Mid Market"])
def test_segment_spellings(tmp_path: Path, spelling: str) -> None:
    reader = read_csv(tmp_path, f"account_id,segment\nA-1,{spelling}\n")
    assert records(reader)[0].segment is Segment.MID_MARKET


def test_header_variants_map_to_fields(tmp_path: Path) -> None:
    text = (
        " Account ID ,SEGMENT,Renewal-Date,Licensed Seats,Company,CSM\n"
        "A-1,smb,2025-01-31,12,Acme Ltd,Dana\n"
    )
    reader = read_csv(tmp_path, text)
    (record,) = records(reader)
    assert record.account_id == "A-1"
    assert str(record.renewal_date) == "2025-01-31"
    assert record.licensed_seats == 12
    assert record.name == "Acme Ltd"
    assert record.owner == "Dana"
    assert reader.warnings == []


def test_json_keys_are_normalised_like_headers(tmp_path: Path) -> None:
    text = json.dumps([{"Account ID": "A-1", "Segment": "smb", "Renewal-Date": "2025-01-31"}])
    (record,) = records(read_accounts(write(tmp_path, "a.json", text)))
    assert (record.account_id, str(record.renewal_date)) == ("A-1", "2025-01-31")


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffaccount_id,segment\nA-1,smb\n".encode())
    assert records(read_accounts(path))[0].account_id == "A-1"


def test_empty_csv_cells_are_missing_not_zero(tmp_path: Path) -> None:
    reader = read_csv(tmp_path, "account_id,segment,arr,licensed_seats,csat\nA-1,smb,,,\n")
    (record,) = records(reader)
    assert record.arr is None
    assert record.licensed_seats is None
    assert record.csat is None


def test_blank_lines_are_skipped_and_take_no_row_number(tmp_path: Path) -> None:
    reader = read_csv(tmp_path, "account_id,segment\n\nA-1,smb\n,\nA-2,bogus\n")
    rows = list(reader)
    assert [row.row for row in rows] == [1, 2]
    assert rows[1].rejection is not None
    assert rows[1].rejection.line == 5


def test_exact_field_name_beats_alias(tmp_path: Path) -> None:
    reader = read_csv(tmp_path, "company,account_id,name,segment\nAcme Inc,A-1,Acme,smb\n")
    assert records(reader)[0].name == "Acme"
    assert reader.warnings == ["columns 'name' and 'company' both map to name; using 'name'"]


# -- warnings -----------------------------------------------------------------------


def test_unknown_columns_give_one_sorted_warning(tmp_path: Path) -> None:
    seen: list[str] = []
    text = "account_id,zeta,segment,Alpha Col\nA-1,1,smb,2\nA-2,3,smb,4\nA-3,5,smb,6\n"
    reader = read_csv(tmp_path, text, on_warning=seen.append)
    assert len(records(reader)) == 3
    assert seen == ["ignoring unknown columns: Alpha Col, zeta"]
    assert reader.warnings == seen
    assert reader.unknown_fields == ["Alpha Col", "zeta"]


def test_unknown_csv_columns_are_known_before_the_first_row(tmp_path: Path) -> None:
    reader = read_csv(tmp_path, "account_id,segment,extra\nA-1,smb,x\n")
    next(iter(reader))
    assert reader.unknown_fields == ["extra"]


def test_unknown_jsonl_keys_give_one_warning_across_rows(tmp_path: Path) -> None:
    text = (
        '{"account_id": "A-1", "segment": "smb", "b": 1}\n'
        '{"account_id": "A-2", "segment": "smb", "a": 1, "b": 2}\n'
    )
    seen: list[str] = []
    reader = read_accounts(write(tmp_path, "a.jsonl", text), on_warning=seen.append)
    assert len(records(reader)) == 2
    assert seen == ["ignoring unknown keys: a, b"]


# -- rejections -----------------------------------------------------------------------


BAD_CSV = (
    "account_id,segment,csat,renewal_date,licensed_seats\n"
    "OK-1,smb,4,2025-01-01,10\n"
    "BAD-SEG,galactic,4,2025-01-01,10\n"
    "BAD-CSAT,smb,9,2025-01-01,10\n"
    "BAD-DATE,smb,4,not a date,10\n"
    "BAD-SEATS,smb,4,2025-01-01,-5\n"
    "OK-2,enterprise,5,2025-02-01,20\n"
)


def test_bad_rows_are_rejected_and_the_others_come_through(tmp_path: Path) -> None:
    rows = list(read_csv(tmp_path, BAD_CSV))
    assert [row.record.account_id for row in rows if row.record] == ["OK-1", "OK-2"]
    rejected = {row.rejection.account_id: row.rejection for row in rows if row.rejection}
    assert list(rejected) == ["BAD-SEG", "BAD-CSAT", "BAD-DATE", "BAD-SEATS"]
    assert [r.row for r in rejected.values()] == [2, 3, 4, 5]
    assert [r.line for r in rejected.values()] == [3, 4, 5, 6]
    assert [[e.field for e in r.errors] for r in rejected.values()] == [
        ["segment"],
        ["csat"],
        ["renewal_date"],
        ["licensed_seats"],
    ]


def test_rejection_names_row_id_field_value_and_expected(tmp_path: Path) -> None:
    (rejection,) = [r for r in rejections(read_csv(tmp_path, BAD_CSV)) if r.row == 3]
    assert rejection.reason == (
        "row 3 (account_id 'BAD-CSAT'): csat = '9': Input should be less than or equal to 5;"
        " expected CSAT score from 1 to 5."
    )
    (error,) = rejection.errors
    assert (error.field, error.value) == ("csat", "9")
    assert error.expected == "CSAT score from 1 to 5."


@pytest.mark.parametrize(
    ("account_id", "fragment"),
    [
        ("BAD-SEG", "segment = 'galactic'"),
        ("BAD-DATE", "renewal_date = 'not a date'"),
        ("BAD-SEATS", "licensed_seats = '-5'"),
    ],
)
def test_each_bad_value_is_named_in_the_reason(
    tmp_path: Path, account_id: str, fragment: str
) -> None:
    (rejection,) = [
        r for r in rejections(read_csv(tmp_path, BAD_CSV)) if r.account_id == account_id
    ]
    assert rejection.reason.startswith(f"row {rejection.row} (account_id '{account_id}'): ")
    assert fragment in rejection.reason
    assert "; expected " in rejection.reason


def test_several_errors_in_one_row_are_joined(tmp_path: Path) -> None:
    reader = read_csv(tmp_path, "account_id,segment,csat,nps\nA-1,smb,0,500\n")
    (rejection,) = rejections(reader)
    assert [e.field for e in rejection.errors] == ["csat", "nps"]
    assert "csat = '0'" in rejection.reason
    assert "; nps = '500'" in rejection.reason


def test_missing_required_value_is_rejected(tmp_path: Path) -> None:
    (rejection,) = rejections(read_csv(tmp_path, "account_id,segment\nA-1,\n"))
    assert rejection.reason == (
        "row 1 (account_id 'A-1'): segment: Field required; expected smb, mid_market or enterprise."
    )
    assert rejection.errors[0].value is None


def test_json_value_is_kept_as_given(tmp_path: Path) -> None:
    text = json.dumps({"accounts": [{"account_id": 42, "segment": "smb", "csat": 9}]})
    (rejection,) = rejections(read_accounts(write(tmp_path, "a.json", text)))
    assert rejection.account_id == "42"
    assert rejection.errors[0].value == 9
    assert rejection.line is None
    assert "csat = 9:" in rejection.reason


def test_invalid_jsonl_line_is_rejected_and_others_kept(tmp_path: Path) -> None:
    text = (
        '{"account_id": "A-1", "segment": "smb"}\n'
        '{"account_id": "A-2", "segment": \n'
        "\n"
        '{"account_id": "A-3", "segment": "smb"}\n'
    )
    rows = list(read_accounts(write(tmp_path, "a.jsonl", text)))
    assert [row.record.account_id for row in rows if row.record] == ["A-1", "A-3"]
    (rejection,) = [row.rejection for row in rows if row.rejection]
    assert (rejection.row, rejection.line, rejection.account_id) == (2, 2, None)
    assert rejection.errors[0].field is None
    assert rejection.reason.startswith("row 2: not valid JSON")


def test_json_element_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    text = json.dumps([{"account_id": "A-1", "segment": "smb"}, 5])
    rows = list(read_accounts(write(tmp_path, "a.json", text)))
    assert rows[0].record is not None
    rejection = rows[1].rejection
    assert rejection is not None
    assert rejection.reason == (
        "row 2: expected a JSON object, got a number (5); expected one JSON object per account."
    )


def test_csv_row_with_extra_cells_is_rejected(tmp_path: Path) -> None:
    reader = read_csv(tmp_path, "account_id,segment,notes\nA-1,smb,hello, world\nA-2,smb,ok\n")
    rows = list(reader)
    assert rows[0].rejection is not None
    assert "has 4 cells but the header has 3 columns" in rows[0].rejection.reason
    assert rows[1].record is not None


# -- input errors ---------------------------------------------------------------------------


def test_missing_file_is_an_input_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(InputError, match=r"nope\.csv: no such file"):
        read_accounts(path)


def test_unknown_format_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown input format 'xml'"):
        read_accounts(write(tmp_path, "a.csv", TWO_ACCOUNTS_CSV), "xml")


def test_json_of_the_wrong_shape_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", json.dumps({"account_id": "A-1"}))
    with pytest.raises(InputError, match=r"a\.json: expected a JSON list of accounts"):
        list(read_accounts(path))


def test_broken_json_document_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"account_id": "A-1",\n')
    with pytest.raises(InputError, match=r"a\.json: not valid JSON \(line 2"):
        list(read_accounts(path))


def test_csv_without_a_required_column_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no column for required field.*segment"):
        list(read_csv(tmp_path, "account_id,name\nA-1,Acme\n"))


def test_non_utf8_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("account_id,segment,name\nA-1,smb,Société\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.csv, line 2: not valid UTF-8"):
        list(read_accounts(path))


def test_empty_input_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the input is empty"):
        list(read_csv(tmp_path, "\n  \n"))


# -- rejects file ----------------------------------------------------------------------------


def test_rejects_file_is_jsonl_with_the_reason(tmp_path: Path) -> None:
    found = rejections(read_csv(tmp_path, BAD_CSV))
    out = tmp_path / "rejects.jsonl"
    assert write_rejects(found, out) == 4
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    first = json.loads(lines[0])
    assert list(first) == ["row", "line", "account_id", "reason", "errors"]
    assert first["reason"] == found[0].reason
    assert first["errors"][0] == {
        "field": "segment",
        "value": "galactic",
        "message": found[0].errors[0].message,
        "expected": "smb, mid_market or enterprise.",
    }
    assert Rejection.model_validate_json(lines[1]) == found[1]


def test_rejects_writer_streams_and_counts(tmp_path: Path) -> None:
    out = tmp_path / "rejects.jsonl"
    out.write_text("stale\n", encoding="utf-8")
    with RejectsWriter(out) as writer:
        for rejection in rejections(read_csv(tmp_path, BAD_CSV)):
            writer.write(rejection)
    assert writer.count == 4
    assert "stale" not in out.read_text(encoding="utf-8")


def test_a_validator_crash_rejects_only_that_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    validator = ingest.record_validator

    def fragile_validator(context: object = None) -> Callable[[dict[str, object]], AccountRecord]:
        validate = validator(context)

        def fragile(data: dict[str, object]) -> AccountRecord:
            if data["account_id"] == "A-2":
                raise TypeError("boom")
            return validate(data)

        return fragile

    monkeypatch.setattr(ingest, "record_validator", fragile_validator)
    rows = list(read_csv(tmp_path, "account_id,segment\nA-1,smb\nA-2,smb\nA-3,smb\n"))
    assert [row.record.account_id for row in rows if row.record] == ["A-1", "A-3"]
    (rejection,) = [row.rejection for row in rows if row.rejection]
    assert rejection.reason.startswith("row 2 (account_id 'A-2'): could not be validated")


def test_null_and_na_counts_are_missing(tmp_path: Path) -> None:
    text = json.dumps([{"account_id": "A-1", "segment": "smb", "licensed_seats": None}])
    (record,) = records(read_accounts(write(tmp_path, "a.json", text)))
    assert record.licensed_seats is None
    (record,) = records(read_csv(tmp_path, "account_id,segment,arr\nA-1,smb,n/a\n"))
    assert record.arr is None


def test_reader_is_single_pass(tmp_path: Path) -> None:
    reader = read_csv(tmp_path, TWO_ACCOUNTS_CSV)
    assert len(list(reader)) == 2
    with pytest.raises(RuntimeError, match="only once"):
        iter(reader)


def test_rejects_writer_works_without_a_with_block(tmp_path: Path) -> None:
    out = tmp_path / "rejects.jsonl"
    writer = RejectsWriter(out)
    assert out.exists()
    writer.write(rejections(read_csv(tmp_path, BAD_CSV))[0])
    writer.close()
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_unwritable_rejects_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write rejects file"):
        RejectsWriter(tmp_path / "no-such-dir" / "rejects.jsonl")


# -- the first pass: which groups of fields have a value anywhere ------------------

GROUPS = {"support": ("open_tickets", "tickets_30d"), "crm": ("csat", "champion")}


def test_first_pass_finds_no_group_without_a_column() -> None:
    text = "account_id,segment,active_users\nA,smb,3\nB,smb,4\n"
    reader = read_accounts(io.StringIO(text), "csv")
    assert reader.groups_with_values(GROUPS) == frozenset()


def test_first_pass_finds_no_group_whose_column_is_empty_in_every_row() -> None:
    text = "account_id,segment,open_tickets,csat\nA,smb,,4\nB,smb,n/a,\n"
    reader = read_accounts(io.StringIO(text), "csv")
    assert reader.groups_with_values(GROUPS) == {"crm"}


def test_first_pass_finds_a_group_with_a_value_in_one_row_only() -> None:
    text = "account_id,segment,open_tickets\nA,smb,\nB,smb,\nC,smb,0\n"
    reader = read_accounts(io.StringIO(text), "csv")
    assert reader.groups_with_values(GROUPS) == {"support"}


def test_first_pass_counts_champion_none_as_a_value() -> None:
    reader = read_accounts(io.StringIO('{"account_id": "A", "champion": "none"}\n'), "jsonl")
    assert reader.groups_with_values(GROUPS) == {"crm"}


def test_first_pass_reads_jsonl_keys_by_their_field_names(tmp_path: Path) -> None:
    path = tmp_path / "accounts.jsonl"
    lines = [{"account_id": "A", "Open Tickets": None}, {"account_id": "B", "CSAT Score": 4}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert read_accounts(path).groups_with_values(GROUPS) == {"crm"}


def test_first_pass_reads_a_json_document() -> None:
    document = json.dumps({"accounts": [{"account_id": "A", "tickets_30d": 3}]})
    reader = read_accounts(io.StringIO(document), "json")
    assert reader.groups_with_values(GROUPS) == {"support"}


class _Pipe(io.StringIO):
    """A stream that cannot seek, as standard input from a pipe."""

    def seekable(self) -> bool:
        return False


def test_a_stream_that_cannot_seek_is_still_read_whole_after_the_first_pass() -> None:
    reader = read_accounts(_Pipe(TWO_ACCOUNTS_CSV), "csv")
    assert reader.groups_with_values(GROUPS) == {"crm"}
    assert [item.record.account_id for item in reader if item.record] == ["ACME-1", "GLOBEX-2"]


def test_a_seekable_stream_is_read_whole_after_the_first_pass() -> None:
    reader = read_accounts(io.StringIO(TWO_ACCOUNTS_CSV), "csv")
    reader.groups_with_values(GROUPS)
    assert len([item for item in reader if item.record]) == 2


# -- the fast paths: what the csv module and model_validate make of the same input ------


def _messy_csv(path: Path, rows: int, seed: int, line_end: str) -> Path:
    """Generated accounts with some cells spelled oddly or wrong (quoted, spanning
    lines, too long), and a few rows broken: short, one cell too many, blank."""
    import csv
    import random

    from synthetic import FIELDS, iter_account_rows

    rng = random.Random(seed)
    odd = [
        *("", " 12 ", "n/a", "N/A", "-", "none", "x", "1,234", "$84,000.00", "84.000,50"),
        *("2026-02-30", "2026-11-20T10:00", "20/11/2026", "٣", "101", "5;;6", "[42, 55]"),
        *('say "hi", then', "line\nbreak", "Zoë", "  padded  ", "x" * 5001, "yes", "maybe"),
        *("Mid Market", "a@b", "1" * 16, "0012", 'x"y', '"quoted"', "tab\there"),
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator=line_end)
        writer.writerow(FIELDS)
        for cells in iter_account_rows(rows, seed):
            for _ in range(rng.choice([0, 0, 1, 3])):
                cells[rng.randrange(len(cells))] = rng.choice(odd)
            shape = rng.random()
            if shape < 0.01:
                cells = cells[:10]
            elif shape < 0.02:
                cells = [*cells, "extra"]
            elif shape < 0.03:
                handle.write(line_end)
            writer.writerow(cells)
    return path


@pytest.mark.parametrize(
    ("options", "line_end"),
    [
        (ReadOptions(), "\n"),
        (ReadOptions(), "\r\n"),
        (ReadOptions(decimal="point"), "\n"),
        (ReadOptions(date_format="%d/%m/%Y"), "\r\n"),
    ],
    ids=["plain", "crlf", "decimal-point", "day-first"],
)
def test_a_csv_read_row_by_row_is_what_model_validate_makes_of_each_row(
    tmp_path: Path, options: ReadOptions, line_end: str
) -> None:
    """Each row straight from its cells (the usual path) gives what plain
    `model_validate` gives for the same row as raw values by field (the path rows
    take to worker processes): the same records, the same rejections, in order."""
    from functools import partial

    path = _messy_csv(tmp_path / "accounts.csv", 2500, seed=len(line_end), line_end=line_end)
    validate = partial(AccountRecord.model_validate, context=options.context)
    expected = [
        validated_item(item, validate)
        for item in read_accounts(path, options=options).pending_rows()
    ]
    got = list(read_accounts(path, options=options))
    assert [row.row for row in got] == [row.row for row in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.rejection == theirs.rejection
        if theirs.record is not None:
            assert mine.record is not None
            assert list(mine.record.__dict__.items()) == list(theirs.record.__dict__.items())
            assert repr(mine.record) == repr(theirs.record)
            assert mine.record.model_fields_set == theirs.record.model_fields_set
            assert mine.record.truncated == theirs.record.truncated
    assert sum(row.record is not None for row in got) > 1000
    assert sum(row.rejection is not None for row in got) > 100


def test_csv_lines_are_read_as_the_csv_module_reads_them() -> None:
    """Lines of cells, quotes (doubled, stray, unclosed), carriage returns and NULs,
    with each delimiter: the same cells, errors and line numbers as the csv module."""
    import csv
    import random

    from skill.ingest import _csv_cells

    rng = random.Random(3)
    pieces = ["a", "b", ",", ";", '"', '""', " ", "\r", "\n", "\r\n", "x y", "\t", "\x00"]
    weights = [10, 5, 8, 3, 6, 2, 2, 1, 2, 1, 2, 1, 0.2]
    for _ in range(20_000):
        text = "".join(rng.choices(pieces, weights, k=rng.randint(0, 14)))
        parts = text.split("\n")
        lines = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        for delimiter in (",", ";", "\t"):
            expected: list[tuple[int, Any]] = []
            reader = csv.reader(iter(lines), delimiter=delimiter)
            end = 0
            while True:
                start = end + 1
                try:
                    cells: Any = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    cells = f"error: {exc}"
                end = reader.line_num
                expected.append((start, cells))
            got = [
                (start, f"error: {cells}" if isinstance(cells, csv.Error) else cells)
                for start, cells in _csv_cells(iter(lines), delimiter)
            ]
            assert got == expected, (text, delimiter)


def test_a_block_of_lines_passes_only_when_each_line_is_one_record() -> None:
    """Text the block check lets through is, to the csv module, one record per line,
    none blank: so a reader counts its rows without splitting it."""
    import csv
    import random

    from skill.ingest import simple_csv_lines

    rng = random.Random(5)
    pieces = ["a", "b", ",", ";", '"', '""', " ", "\r", "\n", "\r\n", "x y", "\t", "\x00"]
    weights = [10, 5, 8, 3, 6, 2, 2, 1, 4, 1, 2, 1, 0.2]
    passed = failed = 0
    for _ in range(20_000):
        text = "".join(rng.choices(pieces, weights, k=rng.randint(1, 16)))
        parts = text.split("\n")
        lines = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        for delimiter in (",", ";", "\t"):
            if simple_csv_lines(delimiter).match(text).end() != len(text):  # type: ignore[union-attr]
                failed += 1
                continue
            passed += 1
            reader = csv.reader(iter(lines), delimiter=delimiter)
            records = list(reader)
            assert reader.line_num == len(lines) == len(records), (text, delimiter)
            assert all(any(cells) for cells in records), (text, delimiter)
    assert passed > 5_000 and failed > 5_000


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("block", [2, 7, 50])
def test_rows_read_in_blocks_are_the_rows_read_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line_end: str, block: int
) -> None:
    """Blocks of lines sent whole, and the rows read one by one between them, give the
    rows, lines, cells and rejections `pending_rows` gives row by row."""
    from skill.ingest import CsvLines

    monkeypatch.setattr(ingest, "CSV_BLOCK_LINES", block)
    path = _messy_csv(tmp_path / "accounts.csv", 1500, seed=block, line_end=line_end)
    one_by_one = list(read_accounts(path).pending_rows())
    blocks = list(read_accounts(path).pending_rows(blocks=True))
    assert sum(type(item) is CsvLines for item in blocks) > 3
    assert sum(type(item) is not CsvLines for item in blocks) > 100
    rows = [row for item in blocks for row in (item.items() if type(item) is CsvLines else [item])]
    assert rows == one_by_one


def test_rows_read_in_blocks_stop_where_the_text_does(tmp_path: Path) -> None:
    """A byte that is not valid text: every row before its line, then the error."""
    from skill.ingest import CsvLines

    path = _messy_csv(tmp_path / "accounts.csv", 1200, seed=4, line_end="\n")
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) // 2)
    path.write_bytes(data[:cut] + b"\n\xff\n" + data[cut + 1 :])
    got: list[Any] = []
    with pytest.raises(InputError, match="not valid UTF-8 text"):
        got.extend(read_accounts(path).pending_rows(blocks=True))
    expected: list[Any] = []
    with pytest.raises(InputError, match="not valid UTF-8 text"):
        expected.extend(read_accounts(path).pending_rows())
    rows = [row for item in got for row in (item.items() if type(item) is CsvLines else [item])]
    assert len(rows) > 500
    assert rows == expected


@pytest.mark.parametrize(
    "options", [ReadOptions(), ReadOptions(date_format="%d/%m/%Y")], ids=["plain", "day-first"]
)
def test_rows_sent_to_workers_validate_as_rows_read_in_one_process(
    tmp_path: Path, options: ReadOptions
) -> None:
    """CSV rows go to worker processes as their cells; validated there by the same
    validator they give the records and rejections one process gives, row for row."""
    path = _messy_csv(tmp_path / "accounts.csv", 2500, seed=3, line_end="\n")
    validate = record_validator(options.context)
    pending = list(read_accounts(path, options=options).pending_rows())
    assert sum(type(item) is PendingCells for item in pending) > 2000
    sent = [validated_item(pickle.loads(pickle.dumps(item)), validate) for item in pending]
    one_process = list(read_accounts(path, options=options))
    assert [(r.row, r.rejection) for r in sent] == [(r.row, r.rejection) for r in one_process]
    for mine, theirs in zip(sent, one_process, strict=True):
        if theirs.record is not None:
            assert mine.record is not None
            assert repr(mine.record) == repr(theirs.record)
            assert mine.record.model_fields_set == theirs.record.model_fields_set
