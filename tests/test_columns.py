"""Column-mapping files: loaded with every problem named; proposed from a header."""

from __future__ import annotations

from pathlib import Path

import pytest

from skill.columns import MappingError, load_mapping, propose, render_yaml


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_mapping_sets_columns_constants_and_reading_options(tmp_path: Path) -> None:
    options = load_mapping(
        write(
            tmp_path,
            "columns:\n  account_id: Record ID\nconstants:\n  segment: smb\n"
            'date_format: "%d.%m.%Y"\ndecimal: comma\ndelimiter: semicolon\n',
        )
    )
    assert options.columns == {"account_id": "Record ID"}
    assert options.constants == {"segment": "smb"}
    assert (options.date_format, options.decimal, options.delimiter_char) == (
        "%d.%m.%Y",
        "comma",
        ";",
    )


def test_unknown_keys_and_fields_are_each_named(tmp_path: Path) -> None:
    path = write(tmp_path, "colums: {}\ncolumns:\n  revenue: ARR\n")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert "unknown key 'colums'" in str(caught.value)
    assert "columns.revenue: not a field of the input contract" in str(caught.value)


def test_a_field_cannot_be_both_a_column_and_a_constant(tmp_path: Path) -> None:
    path = write(tmp_path, "columns:\n  segment: Tier\nconstants:\n  segment: smb\n")
    with pytest.raises(MappingError, match="segment: both a column and a constant"):
        load_mapping(path)


def test_a_bad_decimal_mark_in_the_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="expected comma or point"):
        load_mapping(write(tmp_path, "decimal: dot\n"))


def test_hubspot_and_salesforce_headers_are_proposed_and_said_so() -> None:
    proposal = propose(
        ["Record ID", "Account Name", "Account Owner", "Annual Revenue", "Renewal Date", "Fax"],
        "report.csv",
    )
    fields = {field: (header, why) for field, header, why in proposal.columns}
    assert fields["account_id"] == ("Record ID", "HubSpot record id")
    assert fields["name"][1] == "known spelling"
    assert fields["renewal_date"][1] == "exact name"
    assert "company's own revenue" in fields["arr"][1]
    assert proposal.unmatched == [("Fax", "no field of the contract")]
    assert proposal.missing_required == ["segment"]


def test_a_header_that_loses_to_a_better_match_is_listed_unmatched() -> None:
    proposal = propose(["Company owner", "owner"], "f.csv")
    assert [(f, h) for f, h, _ in proposal.columns] == [("owner", "owner")]
    assert proposal.unmatched == [("Company owner", "owner is taken by 'owner'")]


def test_the_proposal_loads_back_as_a_mapping(tmp_path: Path) -> None:
    text = render_yaml(propose(["Record ID", "Segment", "CSAT"], "f.csv", ";"))
    options = load_mapping(write(tmp_path, text))
    assert options.columns == {"account_id": "Record ID", "segment": "Segment", "csat": "CSAT"}
    assert options.delimiter_char == ";"
