"""What happened to each account: renewed, churned, expanded or downgraded, and when.

    result = import_outcomes(connection, "outcomes.csv")
    result.imported, result.updated, result.unchanged, result.rejected

Input is CSV (header row), JSON (a list, or ``{"outcomes": [...]}``) or JSONL,
chosen like `skill.ingest` chooses: the explicit format, else the extension, else
sniffed from the first non-blank line. Each row has three fields:

    account_id    the account's id, as in the assessed records
    outcome       renewed, churned, expanded or downgraded; common spellings are
                  accepted (``Churn``, ``cancelled``, ``Renewal``, ``upsell``,
                  ``contraction`` ...), see `OUTCOME_ALIASES`
    date          ISO 8601 (``2026-12-31``; a time after the date is ignored);
                  ``outcome_date`` is accepted as the column name too

Column names are matched after lowercasing and turning spaces and hyphens into
underscores (``Outcome Date`` -> ``outcome_date``); see `COLUMN_ALIASES`.

A row that fails validation becomes a `skill.ingest.Rejection` naming the row,
the field, the value and what was expected; the other rows are still imported.
Importing is idempotent: a row is keyed by (account_id, date), so importing the
same file again changes nothing, and a corrected outcome for the same account
and date replaces the old one (counted as ``updated``). Account ids that no
recorded assessment knows are imported anyway and counted in
``unknown_accounts``: the outcome may arrive before the account is recorded.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterator
from datetime import date as Date
from pathlib import Path
from typing import Annotated, Any, TextIO

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from skill.ingest import (
    FieldError,
    InputError,
    Rejection,
    normalise_name,
    rejection_for_row,
    sniff_format,
)
from skill.record import LenientEnum
from skill.store.db import now_utc

__all__ = [
    "COLUMN_ALIASES",
    "OUTCOME_ALIASES",
    "OutcomeImport",
    "OutcomeKind",
    "OutcomeRow",
    "import_outcomes",
    "outcome_count",
    "read_outcomes",
]

BATCH_SIZE = 1000
_SHOW_MAX = 60
_EXAMPLES = 5


class OutcomeKind(LenientEnum):
    RENEWED = "renewed"
    CHURNED = "churned"
    EXPANDED = "expanded"
    DOWNGRADED = "downgraded"

    @classmethod
    def _aliases(cls) -> dict[str, LenientEnum]:
        return {key: cls(value) for key, value in OUTCOME_ALIASES.items()}


#: Spellings (already lowercased, non-alphanumerics as ``_``) and the outcome they mean.
OUTCOME_ALIASES: dict[str, str] = {
    "renew": "renewed",
    "renewal": "renewed",
    "renews": "renewed",
    "retained": "renewed",
    "closed_won": "renewed",
    "churn": "churned",
    "churns": "churned",
    "cancel": "churned",
    "cancelled": "churned",
    "canceled": "churned",
    "cancellation": "churned",
    "lost": "churned",
    "closed_lost": "churned",
    "terminated": "churned",
    "expand": "expanded",
    "expansion": "expanded",
    "upsell": "expanded",
    "upsold": "expanded",
    "upgrade": "expanded",
    "upgraded": "expanded",
    "downgrade": "downgraded",
    "downsell": "downgraded",
    "downsold": "downgraded",
    "contraction": "downgraded",
    "contracted": "downgraded",
}

#: Column/key names (normalised) and the field they mean.
COLUMN_ALIASES: dict[str, str] = {
    "account": "account_id",
    "accountid": "account_id",
    "customer_id": "account_id",
    "outcome_date": "date",
    "event_date": "date",
    "closed_date": "date",
    "close_date": "date",
    "result": "outcome",
    "status": "outcome",
    "outcome_type": "outcome",
}

_FIELDS = ("account_id", "outcome", "date")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXPECTED = {
    "account_id": "the account's id, as in the assessed records",
    "outcome": "renewed, churned, expanded or downgraded",
    "date": "an ISO 8601 date, YYYY-MM-DD",
}


def _iso_date(value: Any) -> Any:
    """ISO 8601 only: ``12/31/2026`` is ambiguous and a bare number is not a date."""
    if isinstance(value, bool | int | float):
        raise ValueError("a number is not a date")
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_DATE.fullmatch(text[:10]) or (len(text) > 10 and text[10] not in "T "):
            raise ValueError("not an ISO 8601 date")
        return text[:10]
    return value


def _outcome(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        try:
            return OutcomeKind(value)
        except ValueError:
            raise ValueError("not a known outcome") from None
    return value


class OutcomeRow(BaseModel):
    """One outcome: what happened to one account on one date."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    account_id: str = Field(min_length=1, max_length=200, description=_EXPECTED["account_id"])
    outcome: Annotated[OutcomeKind, BeforeValidator(_outcome)] = Field(
        description=_EXPECTED["outcome"]
    )
    date: Annotated[Date, BeforeValidator(_iso_date)] = Field(description=_EXPECTED["date"])


class OutcomeImport(BaseModel):
    """The result of one import. ``rows`` counts data rows read, good or bad."""

    source: str
    rows: int
    imported: int = Field(description="New (account_id, date) rows.")
    updated: int = Field(description="Rows whose outcome changed for an existing account/date.")
    unchanged: int = Field(description="Rows already recorded exactly so.")
    rejected: list[Rejection]
    unknown_accounts: int = Field(description="Distinct imported account ids never assessed.")
    unknown_account_examples: list[str]
    outcomes_recorded: int = Field(description="Outcomes in the database after the import.")


# -- reading ------------------------------------------------------------------------


def _field_for(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    key = normalise_name(name)
    if key in _FIELDS:
        return key
    return COLUMN_ALIASES.get(key)


def _show(value: Any) -> str:
    shown = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return shown if len(shown) <= _SHOW_MAX else shown[: _SHOW_MAX - 1] + "…"


def _scalar(value: Any) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, default=str)


def _rejection(row: int, line: int | None, raw: dict[str, Any], exc: ValidationError) -> Rejection:
    errors: list[FieldError] = []
    parts: list[str] = []
    for err in exc.errors(include_url=False, include_context=False):
        field = err["loc"][0] if err["loc"] and isinstance(err["loc"][0], str) else None
        message = str(err["msg"]).removeprefix("Value error, ")
        present = field is not None and field in raw
        value = raw[field] if present else None
        expected = _EXPECTED.get(field or "")
        errors.append(
            FieldError(field=field, value=_scalar(value), message=message, expected=expected)
        )
        part = f"{field or 'record'}" + (f" = {_show(value)}" if present else "")
        part += f": {message}" + (f"; expected {expected}" if expected else "")
        parts.append(part)
    account = raw.get("account_id")
    readable = account.strip() if isinstance(account, str) and account.strip() else None
    prefix = f"row {row}" + (f" (account_id {_show(readable)})" if readable else "")
    return Rejection(
        row=row,
        line=line,
        account_id=readable,
        reason=f"{prefix}: {'; '.join(parts)}.",
        errors=tuple(errors),
    )


_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_FORMATS = {"csv": "csv", "json": "json", "jsonl": "jsonl", "ndjson": "jsonl"}

Item = tuple[int, int | None, OutcomeRow | Rejection]


def read_outcomes(
    source: str | os.PathLike[str] | TextIO, input_format: str | None = None
) -> Iterator[Item]:
    """Yield ``(row, line, OutcomeRow or Rejection)``; `InputError` for a file-level problem."""
    fmt = None
    if input_format is not None:
        fmt = _FORMATS.get(input_format.strip().lower())
        if fmt is None:
            raise InputError(f"unknown input format {input_format!r}; expected csv, json or jsonl")
    if isinstance(source, str | os.PathLike):
        if os.fspath(source) == "-":
            name, text = "<stdin>", sys.stdin.read()
        else:
            path = Path(source)
            name = str(source)
            if not path.is_file():
                raise InputError(f"{name}: no such file")
            fmt = fmt or _EXTENSIONS.get(path.suffix.lower())
            try:
                text = path.read_text(encoding="utf-8-sig")
            except UnicodeDecodeError as exc:
                raise InputError(f"{name}: not UTF-8 text ({exc.reason})") from None
    else:
        name, text = str(getattr(source, "name", "<stream>")), source.read()
    text = text.lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise InputError(f"{name}: the input is empty")
    fmt = fmt or sniff_format(first, "outcomes")
    if fmt == "csv":
        return _csv_items(name, text)
    if fmt == "jsonl":
        return _jsonl_items(text)
    return _json_items(name, text)


def _mapped(item: dict[str, Any]) -> dict[str, Any]:
    """Known keys to fields; an exact field name beats an alias, then the first one wins."""
    record: dict[str, Any] = {}
    exact: set[str] = set()
    for key, value in item.items():
        field = _field_for(key)
        if field is None:
            continue
        is_exact = isinstance(key, str) and normalise_name(key) == field
        if field not in record or (is_exact and field not in exact):
            record[field] = value
            if is_exact:
                exact.add(field)
    return record


def _validate(row: int, line: int | None, raw: dict[str, Any]) -> Item:
    record = {k: v for k, v in raw.items() if not (isinstance(v, str) and not v.strip())}
    try:
        return row, line, OutcomeRow.model_validate(record)
    except ValidationError as exc:
        return row, line, _rejection(row, line, raw, exc)


def _csv_items(name: str, text: str) -> Iterator[Item]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] = []
    for cells in reader:
        if any(c.strip() for c in cells):
            header = cells
            break
    fields = [_field_for(cell) for cell in header]
    missing = [f for f in _FIELDS if f not in fields]
    if missing:
        raise InputError(
            f"{name}: no column for {', '.join(missing)}; header has: {', '.join(header)}"
            " (expected account_id, outcome, date)"
        )
    row = 0
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row += 1
            yield (
                row,
                start,
                rejection_for_row(
                    row, start, None, f"unreadable CSV row: {exc}", None, "one cell per column"
                ),
            )
            continue
        if not any(c.strip() for c in cells):
            continue
        row += 1
        raw: dict[str, Any] = {}
        for field, cell in zip(fields, cells, strict=False):
            if field is not None and field not in raw:
                raw[field] = cell
        yield _validate(row, start, raw)


def _object_item(row: int, line: int | None, item: Any) -> Item:
    if not isinstance(item, dict):
        message = "expected a JSON object with account_id, outcome and date"
        return row, line, rejection_for_row(row, line, None, message, item, "one object per row")
    return _validate(row, line, _mapped(item))


def _json_items(name: str, text: str) -> Iterator[Item]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(document, dict) and isinstance(document.get("outcomes"), list):
        document = document["outcomes"]
    if not isinstance(document, list):
        raise InputError(f'{name}: expected a JSON list of outcomes or {{"outcomes": [...]}}')
    for row, item in enumerate(document, 1):
        yield _object_item(row, None, item)


def _jsonl_items(text: str) -> Iterator[Item]:
    row = 0
    for line, content in enumerate(text.splitlines(), 1):
        if not content.strip():
            continue
        row += 1
        try:
            item = json.loads(content)
        except json.JSONDecodeError as exc:
            message = f"not valid JSON ({exc.msg} at column {exc.colno})"
            yield (
                row,
                line,
                rejection_for_row(
                    row, line, None, message, content.strip(), "one JSON object per line"
                ),
            )
            continue
        yield _object_item(row, line, item)


# -- writing ------------------------------------------------------------------------


def import_outcomes(
    connection: sqlite3.Connection,
    source: str | os.PathLike[str] | TextIO,
    input_format: str | None = None,
    *,
    on_rejection: Any = None,
) -> OutcomeImport:
    """Read `source` and upsert every good row; see the module docstring."""
    items = read_outcomes(source, input_format)
    name = "<stdin>" if source == "-" else str(getattr(source, "name", source))
    rows = imported = updated = unchanged = 0
    rejected: list[Rejection] = []
    seen: set[str] = set()
    batch: list[OutcomeRow] = []

    def flush() -> None:
        nonlocal imported, updated, unchanged
        if not batch:
            return
        stamp = now_utc()
        connection.execute("BEGIN IMMEDIATE")
        try:
            for outcome in batch:
                key = (outcome.account_id, outcome.date.isoformat())
                old = connection.execute(
                    "SELECT outcome FROM outcomes WHERE account_id = ? AND outcome_date = ?", key
                ).fetchone()
                if old is None:
                    imported += 1
                elif old[0] == outcome.outcome.value:
                    unchanged += 1
                    continue
                else:
                    updated += 1
                connection.execute(
                    "INSERT INTO outcomes (account_id, outcome, outcome_date, imported_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (account_id, outcome_date) DO UPDATE SET "
                    "outcome = excluded.outcome, imported_at = excluded.imported_at",
                    (outcome.account_id, outcome.outcome.value, key[1], stamp),
                )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        batch.clear()

    for _, _, item in items:
        rows += 1
        if isinstance(item, Rejection):
            rejected.append(item)
            if on_rejection is not None:
                on_rejection(item)
            continue
        seen.add(item.account_id)
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            flush()
    flush()

    unknown = sorted(seen - _known_accounts(connection, seen))
    total = connection.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0]
    return OutcomeImport(
        source=name,
        rows=rows,
        imported=imported,
        updated=updated,
        unchanged=unchanged,
        rejected=rejected,
        unknown_accounts=len(unknown),
        unknown_account_examples=unknown[:_EXAMPLES],
        outcomes_recorded=int(total),
    )


def _known_accounts(connection: sqlite3.Connection, ids: set[str]) -> set[str]:
    """The ids among `ids` with at least one recorded assessment."""
    known: set[str] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        marks = ",".join("?" * len(chunk))
        known.update(
            row[0]
            for row in connection.execute(
                f"SELECT DISTINCT account_id FROM assessments WHERE account_id IN ({marks})",
                chunk,
            )
        )
    return known


def outcome_count(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0])
