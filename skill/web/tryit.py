"""The Try it page: the demo accounts as an editable table, assessed as a JSON file of them.

The form holds one text input per contract field and account (`a{row}.{field}`),
starting from the bundled demo accounts. Every value goes to the library as
text, as a CSV cell would, so the library's reading rules and its messages
apply unchanged: a bad value comes back as the CLI's rejection line, shown next
to the field it names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from skill.assessment import Assessment
from skill.demo import demo_as_of, demo_file
from skill.ingest import Rejection
from skill.record import AccountRecord
from skill.results import AssessmentResult

MAX_ROWS = 25

#: Seed 000's input columns, each with the contract fields it edits.
SEED_COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Account", ("name",), "Account name"),
    ("Segment", ("segment",), "smb, mid_market or enterprise"),
    ("Lifecycle", ("lifecycle",), "onboarding, adoption, active or renewal"),
    ("Renewal", ("renewal_date",), "Renewal date, YYYY-MM-DD"),
    ("Usage", ("active_users", "licensed_seats"), "Active users of licensed seats"),
    ("Adoption", ("features_adopted", "features_total"), "Key features in use of available"),
    ("Issues", ("open_tickets",), "Open support tickets"),
    ("CSAT", ("csat",), "CSAT, 1 to 5"),
    ("Blocker", ("blocker",), "none, minor or major"),
)
SEED_FIELDS = frozenset(f for _, fields, _ in SEED_COLUMNS for f in fields)
#: Every other contract field, in the contract's order, for the "all fields" panel.
OTHER_FIELDS: tuple[str, ...] = tuple(f for f in AccountRecord.model_fields if f not in SEED_FIELDS)
LONG_TEXT = frozenset({"notes", "blocker_note"})
#: Values offered as suggestions (the inputs stay free text, as an export is).
SUGGESTIONS: dict[str, tuple[str, ...]] = {
    "segment": ("smb", "mid_market", "enterprise"),
    "lifecycle": ("onboarding", "adoption", "active", "renewal"),
    "blocker": ("none", "minor", "major"),
    "champion": ("strong", "weak", "none", "departed"),
    "payment_status": ("current", "overdue", "failed"),
    "contract_term": ("monthly", "quarterly", "annual", "multi_year"),
}


def field_help(name: str) -> str:
    info = AccountRecord.model_fields.get(name)
    return (info.description or name) if info is not None else name


def as_text(value: Any) -> str:
    """A demo value as the text a person would type (and a CSV cell would hold)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(as_text(v) for v in value)
    if isinstance(value, int | float):
        return json.dumps(value)
    return str(value)


def demo_rows() -> list[dict[str, str]]:
    with open(demo_file(), encoding="utf-8") as handle:
        accounts = json.load(handle)["accounts"]
    return [
        {k: as_text(v) for k, v in account.items() if k in AccountRecord.model_fields}
        for account in accounts
    ]


def default_as_of() -> date:
    return demo_as_of()


def rows_from_form(form: Mapping[str, Any]) -> list[dict[str, str]]:
    """The table as the form sent it: `a{row}.{field}` inputs, blank ones left out."""
    try:
        count = int(str(form.get("rows", "0")))
    except ValueError:
        count = 0
    count = max(0, min(count, MAX_ROWS))
    rows: list[dict[str, str]] = [{} for _ in range(count)]
    for key, value in form.items():
        if not isinstance(value, str) or not key.startswith("a") or "." not in key:
            continue
        index_text, name = key[1:].split(".", 1)
        if not index_text.isdigit() or name not in AccountRecord.model_fields:
            continue
        index = int(index_text)
        if index < count:
            rows[index][name] = value
    return rows


def records(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """What the library reads: each row's non-blank values, as text."""
    return [{k: v.strip() for k, v in row.items() if v.strip()} for row in rows]


@dataclass
class TryOutcome:
    """One assessment of the table: per row, its assessment or its rejection."""

    result: AssessmentResult
    assessed: dict[int, Assessment] = field(default_factory=dict)
    rejected: dict[int, Rejection] = field(default_factory=dict)

    @classmethod
    def of(cls, result: AssessmentResult, rows: int) -> TryOutcome:
        rejected = {r.row - 1: r for r in result.rejected}
        valid = [i for i in range(rows) if i not in rejected]
        return cls(result, dict(zip(valid, result.assessments, strict=True)), rejected)

    def field_errors(self) -> dict[str, str]:
        """Input name -> the CLI's line for that row, for each field a rejection names."""
        errors: dict[str, str] = {}
        for index, rejection in self.rejected.items():
            for error in rejection.errors:
                if error.field is not None:
                    errors[f"a{index}.{error.field}"] = rejection.reason
        return errors

    def row_errors(self) -> dict[int, str]:
        """Rows rejected as a whole (no field to point at), with the CLI's line."""
        return {
            index: rejection.reason
            for index, rejection in self.rejected.items()
            if not any(e.field for e in rejection.errors)
        }
