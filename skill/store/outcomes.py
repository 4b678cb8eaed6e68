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
    date          ISO 8601 (``2026-12-31``; a time after the date is ignored), or
                  as ``ReadOptions.date_format`` says (``%m/%d/%Y``);
                  ``outcome_date`` is accepted as the column name too

`skill.dialect.ReadOptions` say how the file is written, as for accounts: the
date format, the CSV delimiter (detected by default) and encoding (UTF-8 by
default; a bad byte is refused naming its line), the sheet of an ``.xlsx``
workbook, and a column mapping (``columns``: field -> header; ``constants``:
one value for every row, e.g. ``outcome: churned`` for a list of churned
accounts).

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

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
)

from skill.dialect import DialectError, ReadOptions, decoded_lines, detect_delimiter, read_date
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
    "OUTCOME_FIELDS",
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
#: The fields a column-mapping file for outcomes may name.
OUTCOME_FIELDS = frozenset(_FIELDS)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXPECTED = {
    "account_id": "the account's id, as in the assessed records",
    "outcome": "renewed, churned, expanded or downgraded",
    "date": "an ISO 8601 date, YYYY-MM-DD",
}


def _iso_date(value: Any, info: ValidationInfo) -> Any:
    """ISO 8601, or the context's date format: ``12/31/2026`` alone is ambiguous and a
    bare number is not a date."""
    if isinstance(value, bool | int | float):
        raise ValueError("a number is not a date")
    if isinstance(value, str):
        text = value.strip()
        if info.context and info.context["date_format"]:
            parsed = read_date(text, info.context["date_format"])
            if not isinstance(parsed, str):
                return parsed
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


class _Names:
    """Column/key name -> field: the mapping file's headers first, then the known names."""

    def __init__(self, options: ReadOptions) -> None:
        self.mapped = {normalise_name(h): f for f, h in options.columns.items()}
        self.constants = dict(options.constants)
        self.context = {"date_format": options.date_format or ""}

    def field(self, name: Any) -> str | None:
        if not isinstance(name, str):
            return None
        key = normalise_name(name)
        if key in self.mapped:
            return self.mapped[key]
        if key in _FIELDS:
            return key
        return COLUMN_ALIASES.get(key)

    def rank(self, name: str) -> int:
        key = normalise_name(name)
        return 0 if key in self.mapped else 1 if key in _FIELDS else 2


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


_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
    ".xls": "xlsx",
}
_FORMATS = {"csv": "csv", "json": "json", "jsonl": "jsonl", "ndjson": "jsonl", "xlsx": "xlsx"}

Item = tuple[int, int | None, OutcomeRow | Rejection]


def read_outcomes(
    source: str | os.PathLike[str] | TextIO,
    input_format: str | None = None,
    options: ReadOptions | None = None,
) -> Iterator[Item]:
    """Yield ``(row, line, OutcomeRow or Rejection)``; `InputError` for a file-level problem."""
    options = options or ReadOptions()
    names = _Names(options)
    fmt = None
    if input_format is not None:
        fmt = _FORMATS.get(input_format.strip().lower())
        if fmt is None:
            raise InputError(
                f"unknown input format {input_format!r}; expected csv, json, jsonl or xlsx"
            )
    binary: Any = None
    if isinstance(source, str | os.PathLike):
        if os.fspath(source) == "-":
            name = "<stdin>"
            binary = getattr(sys.stdin, "buffer", None)
            text = sys.stdin.read() if binary is None else ""
        else:
            path = Path(source)
            name = str(source)
            if not path.is_file():
                raise InputError(f"{name}: no such file")
            fmt = fmt or _EXTENSIONS.get(path.suffix.lower())
            if fmt == "xlsx":
                return _sheet_items(name, path, options, names)
            binary = io.BytesIO(path.read_bytes())
    else:
        name, text = str(getattr(source, "name", "<stream>")), source.read()
    if fmt == "xlsx":
        return _sheet_items(name, binary, options, names)
    if binary is not None:
        try:
            text = "".join(decoded_lines(binary, options.encoding, name))
        except DialectError as exc:
            raise InputError(str(exc)) from None
    text = text.lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise InputError(f"{name}: the input is empty")
    fmt = fmt or sniff_format(first, "outcomes")
    if fmt == "csv":
        try:
            delimiter = options.delimiter_char or detect_delimiter(first, name)
        except DialectError as exc:
            raise InputError(str(exc)) from None
        rows = _csv_rows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        return _table_items(name, rows, names)
    if fmt == "jsonl":
        return _jsonl_items(text, names)
    return _json_items(name, text, names)


def _mapped(item: dict[str, Any], names: _Names) -> dict[str, Any]:
    """Known keys to fields; a mapped key, then an exact field name, then an alias; then first."""
    record: dict[str, Any] = {}
    ranks: dict[str, int] = {}
    for key, value in item.items():
        field = names.field(key)
        if field is None:
            continue
        rank = names.rank(key)
        if field not in record or rank < ranks[field]:
            record[field] = value
            ranks[field] = rank
    return record


def _validate(row: int, line: int | None, raw: dict[str, Any], names: _Names) -> Item:
    if names.constants:
        raw = {**raw, **names.constants}
    record = {k: v for k, v in raw.items() if not (isinstance(v, str) and not v.strip())}
    try:
        return row, line, OutcomeRow.model_validate(record, context=names.context)
    except ValidationError as exc:
        return row, line, _rejection(row, line, raw, exc)


def _csv_rows(reader: Any) -> Iterator[tuple[int, list[Any] | csv.Error]]:
    """``(first line, cells)`` per CSV record, a `csv.Error` for cells it cannot read."""
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, exc
            continue
        yield start, cells


def _sheet_items(name: str, source: Any, options: ReadOptions, names: _Names) -> Iterator[Item]:
    from skill.workbook import WorkbookError, sheet_rows

    if source is None:
        raise InputError(f"{name}: a workbook must be read from a file or bytes")
    try:
        yield from _table_items(name, sheet_rows(source, options.sheet, name), names, True)
    except WorkbookError as exc:
        raise InputError(str(exc)) from None


def _table_items(
    name: str,
    rows: Iterator[tuple[int, list[Any] | csv.Error]],
    names: _Names,
    by_sheet: bool = False,
) -> Iterator[Item]:
    """Outcomes from a header and data rows; a sheet's rows keep the spreadsheet's numbers."""
    header: list[str] = []
    for _, cells in rows:
        if isinstance(cells, list) and any(str(c).strip() for c in cells):
            header = [str(c) for c in cells]
            break
    fields = [names.field(cell) for cell in header]
    absent = [h for h in names.mapped if h not in {normalise_name(c) for c in header}]
    missing = [f for f in _FIELDS if f not in fields and f not in names.constants]
    if absent or missing:
        what = f"no column for {', '.join(missing)}" if missing else "the mapping names"
        if absent:
            what += ("; the mapping names " if missing else " ") + ", ".join(
                repr(h) for h in absent
            )
        raise InputError(
            f"{name}: {what}; header has: {', '.join(header)} (expected account_id, outcome, date)"
        )
    best: dict[str, int] = {}
    for index, field in enumerate(fields):
        if field is not None and (
            field not in best or names.rank(header[index]) < names.rank(header[best[field]])
        ):
            best[field] = index
    row = 0
    for start, cells in rows:
        if isinstance(cells, csv.Error):
            row = start if by_sheet else row + 1
            yield (
                row,
                start,
                rejection_for_row(
                    row, start, None, f"unreadable CSV row: {cells}", None, "one cell per column"
                ),
            )
            continue
        if not any(str(c).strip() for c in cells):
            continue
        row = start if by_sheet else row + 1
        raw = {f: cells[i] for f, i in best.items() if i < len(cells) and cells[i] != ""}
        yield _validate(row, start, raw, names)


def _object_item(row: int, line: int | None, item: Any, names: _Names) -> Item:
    if not isinstance(item, dict):
        message = "expected a JSON object with account_id, outcome and date"
        return row, line, rejection_for_row(row, line, None, message, item, "one object per row")
    return _validate(row, line, _mapped(item, names), names)


def _json_items(name: str, text: str, names: _Names) -> Iterator[Item]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(document, dict) and isinstance(document.get("outcomes"), list):
        document = document["outcomes"]
    if not isinstance(document, list):
        raise InputError(f'{name}: expected a JSON list of outcomes or {{"outcomes": [...]}}')
    for row, item in enumerate(document, 1):
        yield _object_item(row, None, item, names)


def _jsonl_items(text: str, names: _Names) -> Iterator[Item]:
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
        yield _object_item(row, line, item, names)


# -- writing ------------------------------------------------------------------------


def import_outcomes(
    connection: sqlite3.Connection,
    source: str | os.PathLike[str] | TextIO,
    input_format: str | None = None,
    *,
    on_rejection: Any = None,
    options: ReadOptions | None = None,
) -> OutcomeImport:
    """Read `source` and upsert every good row; see the module docstring."""
    items = read_outcomes(source, input_format, options)
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
