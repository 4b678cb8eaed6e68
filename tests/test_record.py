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

# Cells as exports write them, good and bad, per kind of field.
CELLS: dict[str, list[Any]] = {
    "count": ["3", " 12 ", "0", "-1", "1,200", "3.0", "3.5", "x", "", "n/a", "٣", "²", 7, True],
    "money": ["84000", "$84,000.00", "84.000,50", "1,234", "-5", "nan", "inf", "", 1e3],
    "score": ["4.5", "9", "0", "-0", "-0.0", "1e1", "4,5", "", "none", 3, -0.0],
    "date": [
        "2026-11-20",
        "2026-11-20T10:00",
        "20/11/2026",
        "11/20/2026",
        "0",
        "",
        0,
        "2026-02-30",
    ],
    "flag": ["yes", "N", "TRUE", "maybe", "", "1", 1, False],
    "enum": ["SMB", "Mid Market", "enterprise", "big", "", "none", "None", "past due", 5],
    "text": ["Dana Reyes", "  padded  ", "", "null", "x" * 6000, "\x00", 12],
    "list": ["42;55;61", "[42, 55, 61]", "42,5;55", "101", "a;b", "", "1|2,3"],
}
KIND_OF = {
    "account_id": "text",
    "name": "text",
    "segment": "enum",
    "lifecycle": "enum",
    "owner": "text",
    "contact_email": "text",
    "arr": "money",
    "renewal_date": "date",
    "as_of": "date",
    "active_users": "count",
    "licensed_seats": "count",
    "weekly_activity": "list",
    "csat": "score",
    "nps": "score",
    "nps_response": "score",
    "last_survey_date": "date",
    "payment_status": "enum",
    "expansion_signal": "flag",
    "champion": "enum",
    "blocker": "enum",
    "notes": "text",
    "blocker_note": "text",
}
CONTEXTS = [
    None,
    {"date_format": "%d/%m/%Y", "decimal": ""},
    {"date_format": "", "decimal": "comma"},
]


@pytest.mark.parametrize("context", CONTEXTS, ids=["plain", "day-first", "decimal-comma"])
def test_the_fast_validator_gives_what_model_validate_gives(context: dict | None) -> None:
    import random

    from skill.record import record_validator

    fast = record_validator(context)
    rng = random.Random(7)
    outcomes = set()
    for _ in range(3000):
        data = {"account_id": "ACC-1", "segment": "smb"}
        for field in rng.sample(sorted(KIND_OF), rng.randint(1, 8)):
            data[field] = rng.choice(CELLS[KIND_OF[field]])
        try:
            expected = AccountRecord.model_validate(data, context=context)
        except ValidationError as exc:
            with pytest.raises(ValidationError) as raised:
                fast(data)
            assert raised.value.errors(include_context=False) == exc.errors(include_context=False)
            assert str(raised.value) == str(exc)
            outcomes.add("rejected")
            continue
        got = fast(data)
        assert type(got) is AccountRecord
        assert list(got.__dict__.items()) == list(expected.__dict__.items())
        assert [type(v) for v in got.__dict__.values()] == [
            type(v) for v in expected.__dict__.values()
        ]
        assert repr(got) == repr(expected)  # -0.0 and 0.0 are equal; their repr is not
        assert got.model_fields_set == expected.model_fields_set
        assert got.truncated == expected.truncated
        outcomes.add("accepted")
    assert outcomes == {"accepted", "rejected"}
