"""The input contract: the spellings a CRM export uses are accepted, bad values are not."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from skill.record import (
    INPUT_FIELDS,
    AccountRecord,
    Blocker,
    Champion,
    ContractTerm,
    PaymentStatus,
    Segment,
)


def record(**fields: Any) -> AccountRecord:
    return AccountRecord.model_validate({"account_id": "ACC-1", "segment": "smb", **fields})


@pytest.mark.parametrize(
    "spelling", ["Mid-market", "mid_market", "Mid Market", "MID-MARKET", " mid market "]
)
def test_mid_market_spellings(spelling: str) -> None:
    assert record(segment=spelling).segment is Segment.MID_MARKET


@pytest.mark.parametrize(
    ("spelling", "segment"),
    [("SMB", Segment.SMB), ("smb", Segment.SMB), ("Enterprise", Segment.ENTERPRISE)],
)
def test_other_segment_spellings(spelling: str, segment: Segment) -> None:
    assert record(segment=spelling).segment is segment


@pytest.mark.parametrize(
    ("spelling", "term"),
    [
        ("Monthly", ContractTerm.MONTHLY),
        ("month-to-month", ContractTerm.MONTHLY),
        ("Quarterly", ContractTerm.QUARTERLY),
        ("Annual", ContractTerm.ANNUAL),
        ("yearly", ContractTerm.ANNUAL),
        ("12 months", ContractTerm.ANNUAL),
        ("Multi-year", ContractTerm.MULTI_YEAR),
        ("3 years", ContractTerm.MULTI_YEAR),
    ],
)
def test_contract_term_spellings(spelling: str, term: ContractTerm) -> None:
    assert record(contract_term=spelling).contract_term is term


def test_numbers_with_unambiguous_separators_and_currency_signs() -> None:
    account = record(arr="$1,248,000", licensed_seats="1,200.00", logins_30d=" 12 ")
    assert account.arr == 1248000
    assert account.licensed_seats == 1200
    assert account.logins_30d == 12


def test_a_comma_that_could_be_a_decimal_mark_is_refused_naming_both_readings() -> None:
    with pytest.raises(ValidationError, match=r"48 with a decimal comma.*48000 with a decimal"):
        record(arr="$48,000")


def test_the_decimal_mark_comes_from_the_validation_context() -> None:
    point = AccountRecord.model_validate(
        {"account_id": "A", "segment": "smb", "arr": "$48,000"},
        context={"decimal": "point", "date_format": ""},
    )
    comma = AccountRecord.model_validate(
        {"account_id": "A", "segment": "smb", "arr": "48.000,50"},
        context={"decimal": "comma", "date_format": ""},
    )
    assert (point.arr, comma.arr) == (48000, 48000.5)


def test_a_list_with_commas_and_semicolons_is_refused_without_a_decimal_mark() -> None:
    with pytest.raises(ValidationError, match="ambiguous list"):
        record(weekly_activity="42,5;55,0")


def test_the_date_format_comes_from_the_validation_context() -> None:
    account = AccountRecord.model_validate(
        {"account_id": "A", "segment": "smb", "renewal_date": "3/15/2027"},
        context={"decimal": "", "date_format": "%m/%d/%Y"},
    )
    assert account.renewal_date == date(2027, 3, 15)


@pytest.mark.parametrize("cell", ["40;50;60", "[40, 50, 60]", "40|50|60", "40 50 60"])
def test_weekly_activity_from_a_csv_cell(cell: str) -> None:
    assert record(weekly_activity=cell).weekly_activity == [40, 50, 60]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("yes", True), ("Yes", True), ("y", True), ("true", True), ("no", False), ("N", False)],
)
def test_booleans_from_yes_no(cell: str, expected: bool) -> None:
    assert record(expansion_signal=cell).expansion_signal is expected


@pytest.mark.parametrize("cell", ["", "n/a", "NA", "null", "-", "  "])
def test_blank_cells_are_missing_not_zero(cell: str) -> None:
    account = record(csat=cell, open_tickets=cell, renewal_date=cell, payment_status=cell)
    assert account.csat is None
    assert account.open_tickets is None
    assert account.renewal_date is None
    assert account.payment_status is None


@pytest.mark.parametrize("field", sorted(INPUT_FIELDS - {"account_id", "segment"}))
def test_json_null_is_missing_for_every_optional_field(field: str) -> None:
    assert getattr(record(**{field: None}), field) is None


def test_none_is_a_value_for_champion_and_blocker() -> None:
    account = record(champion="None", blocker="none")
    assert account.champion is Champion.NONE
    assert account.blocker is Blocker.NONE


def test_payment_status_aliases() -> None:
    assert record(payment_status="Past due").payment_status is PaymentStatus.OVERDUE
    assert record(payment_status="paid").payment_status is PaymentStatus.CURRENT


def test_iso_dates() -> None:
    assert record(renewal_date="2027-01-12").renewal_date == date(2027, 1, 12)


def test_numeric_account_id_becomes_text() -> None:
    assert record(account_id=1001).account_id == "1001"


def test_name_defaults_to_account_id() -> None:
    assert record().display_name == "ACC-1"
    assert record(name="Northwind").display_name == "Northwind"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("csat", 9),
        ("csat", 0),
        ("licensed_seats", -5),
        ("licensed_seats", "-5"),
        ("segment", "giant"),
        ("renewal_date", "2026-13-45"),
        ("renewal_date", "next spring"),
        ("nps", 150),
        ("nps_response", 11),
        ("weekly_activity", "40;abc"),
        ("weekly_activity", "40;120"),
        ("champion", "lukewarm"),
        ("contract_term", "semi-annual"),
        ("contract_term", "6 months"),
        ("expansion_signal", "maybe"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        record(**{field: value})
    assert field in str(caught.value)


def test_a_long_note_is_cut_to_the_limit_not_rejected() -> None:
    long = record(notes="x" * 10_200)
    assert len(long.notes or "") == 5000
    assert long.truncated == (("notes", 10_200),)


def test_a_cell_past_the_hard_cap_is_refused_naming_the_field_and_size() -> None:
    with pytest.raises(ValidationError, match=r"blocker_note[\s\S]*1,200,000 bytes of text"):
        record(blocker_note="x" * 1_200_000)


def test_segment_is_required() -> None:
    with pytest.raises(ValidationError, match="segment"):
        AccountRecord.model_validate({"account_id": "ACC-1"})
    with pytest.raises(ValidationError, match="segment"):
        AccountRecord.model_validate({"account_id": "ACC-1", "segment": ""})


def test_unknown_columns_are_ignored() -> None:
    assert record(favourite_colour="teal").account_id == "ACC-1"


# -- the validated fast path: the same records, the same errors ----------------------

# Values as exports write them, good and bad, per kind of field. Text first (a CSV cell
# is always text), then what a JSON document may hold.
CELLS: dict[str, list[Any]] = {
    "id": [
        "ACC-1",
        " ACC-2 ",
        "null",
        "n/a",
        "-",
        "x" * 200,
        "x" * 201,
        "ACC\t3",
        "Zoë-7",
        "\x1cA",
        "A\u00a0",
        "A\u2028",
        " ",
        "",
        12,
        1.5,
        True,
    ],
    "text": [
        "Dana Reyes",
        "  padded  ",
        "trailing ",
        "null",
        "NULL",
        "N/A",
        "-",
        "none",
        "None",
        " na ",
        "x" * 120,
        "x" * 121,
        "x" * 5000,
        "x" * 5001,
        "x" * 6000,
        "Zoë",
        "tab\tinside",
        "\x1f",
        "\x00",
        "a\u2028b",
        "\u3000wide\u3000",
        "",
        12,
    ],
    "email": [
        "dana@x.example",
        "DANA@X.EXAMPLE",
        "no-at",
        "a b@x.io",
        "a@b",
        "a@b.c",
        "<a@b.c>",
        "ä@b.c",
        "a@b.c ",
        " a@b.c",
        "a@b.c\n",
        "N/A",
        "x" * 250 + "@b.co",
        "x" * 251 + "@b.co",
        "a@@b.c",
        *("a@.b", "a@b.", "a.b@c.d", "@b.c", "a@b..c", "a@.", "a@b.c.d", "a@...", "a@.."),
        *("a@b<c.d", "a>@b.c", "a@b.c@d", "a\t@b.c", "a@b\x1f.c", "null@x.io"),
        "",
        7,
    ],
    "count": [
        "3",
        " 12 ",
        "0012",
        "0",
        "00",
        "-1",
        "+5",
        "1_000",
        "1,200",
        "1,200.00",
        "3.0",
        "3.5",
        "x",
        "",
        "n/a",
        "٣",
        "²",
        "1" * 15,
        "1" * 16,
        "9" * 4400,
        7,
        True,
    ],
    "money": [
        "84000",
        "0012",
        "$84,000.00",
        "84,000.00",
        "84.000,50",
        "1,234",
        "-5",
        "nan",
        "inf",
        "1e3",
        "1" * 15,
        "1" * 16,
        "1" * 400,
        "-0",
        "$3,200.00",
        "3,200.5",
        "1,234,567.891234",
        "1,234,567.8912345",
        "12,345,678,901,234.00",
        "0,123.00",
        "$ 3,200.00",
        "3,200.00$",
        "",
        1e3,
    ],
    "score": [
        *("4.5", "9", "0", "-0", "-0.0", "1e1", "4,5", "-40", "-100", "-101", "100", "101"),
        *("5", "007", "-007", "1,000.00", "", "none", 3, -0.0),
    ],
    "date": [
        "2026-11-20",
        "2026-11-20T10:00",
        "2026-11-20 10:00",
        " 2026-11-20",
        "2026-02-30",
        "0000-01-01",
        "2026-1-2",
        "２０２６-11-20",
        "20/11/2026",
        "11/20/2026",
        "0",
        "",
        0,
    ],
    "flag": ["yes", "N", "TRUE", "maybe", "", "1", 1, False],
    "enum": ["SMB", "Mid Market", "enterprise", "big", "", "none", "None", "past due", 5],
    "list": [
        "42;55;61",
        "100;0",
        "101",
        "0012;7",
        ";5",
        "5;",
        "5;;6",
        "[42, 55, 61]",
        "42,5;55",
        "1|2,3",
        "a;b",
        "²;3",
        "1" * 20,
        "0" * 20 + "100",
        ";".join(["5"] * 520),
        ";".join(["5"] * 521),
        "",
        [42, 55],
    ],
}
KIND_OF = {
    "account_id": "id",
    "name": "text",
    "segment": "enum",
    "lifecycle": "enum",
    "owner": "text",
    "contact_name": "text",
    "contact_email": "email",
    "arr": "money",
    "renewal_date": "date",
    "as_of": "date",
    "active_users": "count",
    "licensed_seats": "count",
    "logins_30d": "count",
    "weekly_activity": "list",
    "csat": "score",
    "nps": "score",
    "nps_response": "score",
    "last_survey_date": "date",
    "payment_status": "enum",
    "days_overdue": "count",
    "expansion_signal": "flag",
    "champion": "enum",
    "blocker": "enum",
    "notes": "text",
    "blocker_note": "text",
    "crm_synced_at": "date",
}
CONTEXTS = [
    None,
    {"date_format": "%d/%m/%Y", "decimal": ""},
    {"date_format": "%Y-%d-%m", "decimal": ""},
    {"date_format": "", "decimal": "comma"},
    {"date_format": "", "decimal": "point"},
]
CONTEXT_IDS = ["plain", "day-first", "year-day-month", "decimal-comma", "decimal-point"]


def messy_records(seed: int, count: int, text_only: bool) -> list[dict[str, Any]]:
    """`count` raw records: a valid id and segment, then a few fields with values drawn
    from CELLS (the id and segment themselves sometimes messy too)."""
    import random

    rng = random.Random(seed)
    records = []
    for _ in range(count):
        data: dict[str, Any] = {"account_id": f"ACC-{rng.randint(1, 99)}", "segment": "smb"}
        for field in rng.sample(sorted(KIND_OF), rng.randint(1, 10)):
            choices = CELLS[KIND_OF[field]]
            if text_only:
                choices = [c for c in choices if isinstance(c, str)]
            data[field] = rng.choice(choices)
        if not text_only and rng.random() < 0.2:
            data["favourite_colour"] = rng.choice(["teal", 3, None])  # no field: ignored
        records.append(data)
    return records


def assert_same_record(got: AccountRecord, expected: AccountRecord) -> None:
    """Equal in every way a reader of the record could tell: values, their types and
    order, the fields given, private and extra state, JSON."""
    assert type(got) is AccountRecord
    assert list(got.__dict__.items()) == list(expected.__dict__.items())
    assert [type(v) for v in got.__dict__.values()] == [type(v) for v in expected.__dict__.values()]
    assert repr(got) == repr(expected)  # -0.0 and 0.0 are equal; their repr is not
    assert got.model_fields_set == expected.model_fields_set
    assert got.__pydantic_private__ == expected.__pydantic_private__
    assert got.__pydantic_extra__ == expected.__pydantic_extra__
    assert got.truncated == expected.truncated
    assert got.model_dump_json() == expected.model_dump_json()


@pytest.mark.parametrize("context", CONTEXTS, ids=CONTEXT_IDS)
def test_the_fast_validator_gives_what_model_validate_gives(context: dict | None) -> None:
    from skill.record import record_validator

    fast = record_validator(context)
    outcomes = set()
    # Twice over the same records: values worked out, then values remembered.
    for data in messy_records(7, 2000, text_only=False) * 2:
        try:
            expected = AccountRecord.model_validate(data, context=context)
        except ValidationError as exc:
            with pytest.raises(ValidationError) as raised:
                fast(data)
            assert raised.value.errors(include_context=False) == exc.errors(include_context=False)
            assert str(raised.value) == str(exc)
            outcomes.add("rejected")
            continue
        assert_same_record(fast(data), expected)
        outcomes.add("accepted")
    assert outcomes == {"accepted", "rejected"}


@pytest.mark.parametrize("context", CONTEXTS, ids=CONTEXT_IDS)
def test_a_csv_row_read_from_its_cells_is_the_record_model_validate_makes(
    context: dict | None,
) -> None:
    """The CSV form (`for_columns`): a row's cells, empty ones "not known", give the
    record `model_validate` makes of its non-empty cells, or nothing (the row is then
    validated by field); never a record for a row `model_validate` refuses."""
    import random

    from skill.record import record_validator

    rng = random.Random(11)
    fast = record_validator(context)
    columns = ["favourite_colour", *sorted(KIND_OF)]
    outcomes = set()
    for round_ in range(6):
        rng.shuffle(columns)
        fields = tuple(None if c == "favourite_colour" else c for c in columns)
        record_of = fast.for_columns(fields)
        assert record_of is not None
        for data in messy_records(round_, 500, text_only=True) * 2:
            cells = [data.get(c, "") if c in data else "" for c in columns]
            cells[columns.index("favourite_colour")] = "teal"
            given = {c: v for c, v in zip(columns, cells, strict=True) if v != "" and c in KIND_OF}
            got = record_of(cells)
            try:
                expected = AccountRecord.model_validate(given, context=context)
            except ValidationError:
                assert got is None
                outcomes.add("refused")
                continue
            if got is None:
                assert expected.truncated  # a note cut to the limit: the full path says so
                outcomes.add("left to the full path")
                continue
            assert_same_record(got, expected)
            outcomes.add("read")
    assert outcomes == {"read", "refused", "left to the full path"}


def test_a_csv_row_with_cells_missing_or_extra_is_left_to_the_full_path() -> None:
    from skill.record import record_validator

    record_of = record_validator().for_columns(("account_id", "segment", "arr"))
    assert record_of is not None
    assert record_of(["A-1", "smb", "5"]) is not None
    assert record_of(["A-1", "smb"]) is None
    assert record_of(["A-1", "smb", "5", ""]) is None


def test_remembered_values_stay_bounded_per_field() -> None:
    from skill.record import CLEANED_PER_FIELD, record_validator

    validate = record_validator()
    for number in range(CLEANED_PER_FIELD + 500):
        validate({"account_id": f"A-{number}", "segment": "smb", "logins_30d": str(number)})
    assert len(validate.known["account_id"]) == CLEANED_PER_FIELD
    assert len(validate.known["logins_30d"]) == CLEANED_PER_FIELD
    assert len(validate.known["weekly_activity"]) == 0  # lists are never shared


def test_records_never_share_a_weekly_activity_list() -> None:
    from skill.record import record_validator

    validate = record_validator()
    first, second = (
        validate({"account_id": f"A-{n}", "segment": "smb", "weekly_activity": "5;6"})
        for n in (1, 2)
    )
    assert first.weekly_activity == second.weekly_activity == [5.0, 6.0]
    assert first.weekly_activity is not second.weekly_activity


def test_every_short_address_is_read_as_the_schema_reads_it() -> None:
    """All texts up to five characters over the characters that matter to the address
    pattern: accepted, or refused, exactly as `model_validate` does."""
    from itertools import product

    from skill.record import record_validator

    known = record_validator().known["contact_email"]
    for length in range(6):
        for letters in product("a@.< ", repeat=length):
            text = "".join(letters)
            try:
                expected = AccountRecord.model_validate(
                    {"account_id": "A", "segment": "smb", "contact_email": text}
                ).contact_email
            except ValidationError:
                with pytest.raises(ValidationError):
                    known[text]
                continue
            assert known[text] == expected
