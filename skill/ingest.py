"""Read account records from CSV, JSON or JSONL, one validated record at a time.

    reader = read_accounts("accounts.csv", on_warning=lambda m: print(f"warning: {m}"))
    with RejectsWriter("rejects.jsonl") as rejects:
        for item in reader:
            if item.rejection is not None:
                rejects.write(item.rejection)
            else:
                use(item.record)

Formats
    ``csv``    header row, then one account per row. Streamed. The delimiter is
               comma, semicolon or tab, detected from the header line or given.
    ``xlsx``   an Excel workbook: its first sheet, or the one named; the first
               non-empty row is the header. Streamed (`skill.workbook`).
    ``json``   one document: a list of objects, or ``{"accounts": [...]}``. Loaded whole.
    ``jsonl``  one JSON object per line (``.ndjson`` too). Streamed.
The format is the explicit ``input_format`` if given, else the file extension
(.csv, .xlsx, .json, .jsonl, .ndjson), else it is sniffed from the first non-blank line:
``[`` -> json; ``{`` that is a whole object on its own -> jsonl (unless it is
``{"accounts": [...]}``); ``{`` that continues on later lines -> json; else csv.
The path ``-`` means standard input.

Names
    CSV headers and JSON keys are matched to `AccountRecord` fields after stripping
    whitespace, lowercasing and turning runs of spaces/hyphens into one underscore
    (``"Account ID"`` -> ``account_id``), then through `ALIASES`. Unknown names are
    reported once per input as a warning. A column-mapping file (``ReadOptions.columns``)
    names headers for fields first, and its ``constants`` give a field one value in
    every record. When several names map to the same field, a mapped name beats an
    exact field name, which beats an alias, then the first one wins (header order, or key
    order within a JSON record), and a warning says so. A CSV without a column for a
    required field is an `InputError`.

Row numbers
    ``row`` is the 1-based number of the data record: for CSV the first row after the
    header is row 1; for JSON the first element of the list is row 1; for JSONL the
    first non-blank line is row 1. Blank lines and all-empty CSV rows are skipped and
    take no number. ``line`` is the physical line where the record starts (CSV and
    JSONL; ``None`` for JSON). In a workbook both are the row number the
    spreadsheet shows, so the header is usually row 1 and the first account row 2.

Values
    An empty CSV cell means "not known" and is dropped before validation, so it
    becomes ``None``, never zero. JSON values are passed through as given. Numbers
    and dates written as text are read as `skill.dialect` says: strict unless
    ``ReadOptions`` give a decimal mark or a date format.

First pass
    `AccountReader.groups_with_values` answers, before the records are read,
    which groups of fields have a value in at least one record (the pipeline asks
    it which sources the input has). It reads the input once more, keeping only
    the answer, and stops as soon as every group has a value. A file is simply
    reopened; a stream that cannot seek (standard input, a pipe) is first copied
    to a temporary file, in memory while small, and the records are then read
    from that copy. Rows it cannot parse are skipped there: the main pass reports
    them.

Bad rows never stop the others: each becomes a `Rejection`. Usage-level problems
(missing file, unknown format, a JSON document of the wrong shape, text that is not
valid in its encoding, named by line; UTF-8 with or without a byte-order mark unless
``ReadOptions.encoding`` says otherwise) raise `InputError`. No clock, no randomness:
the same input gives the same rows, warnings and rejections.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from functools import lru_cache
from itertools import chain, compress, islice
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, TextIO, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from skill.dialect import DialectError, ReadOptions, decoded_lines, detect_delimiter
from skill.record import CELL_LIMIT, INPUT_FIELDS, AccountRecord, has_value, record_validator

__all__ = [
    "ALIASES",
    "FORMATS",
    "AccountReader",
    "CsvLines",
    "FieldError",
    "IngestedRow",
    "InputError",
    "Rejection",
    "RejectsWriter",
    "field_for_name",
    "normalise_name",
    "read_accounts",
    "rejection_for_row",
    "rejection_from_error",
    "write_rejects",
]

FORMATS: tuple[str, ...] = ("csv", "json", "jsonl", "xlsx")

#: Common CRM column names (already normalised) and the field they mean.
ALIASES: dict[str, str] = {
    "accountid": "account_id",
    "customer_id": "account_id",
    "account_name": "name",
    "company": "name",
    "company_name": "name",
    "customer_name": "name",
    "csm": "owner",
    "csm_name": "owner",
    "account_owner": "owner",
    "owner_name": "owner",
    "customer_segment": "segment",
    "annual_recurring_revenue": "arr",
    "contract_end_date": "renewal_date",
    "contract_length": "contract_term",
    "subscription_term": "contract_term",
    "csat_score": "csat",
    "nps_score": "nps",
}

_FORMAT_NAMES = {"csv": "csv", "json": "json", "jsonl": "jsonl", "ndjson": "jsonl", "xlsx": "xlsx"}
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
}
_EXPECTED: dict[str, str | None] = {
    name: info.description for name, info in AccountRecord.model_fields.items()
}
_REQUIRED: tuple[str, ...] = tuple(
    name for name, info in AccountRecord.model_fields.items() if info.is_required()
)
_NOT_AN_OBJECT = "one JSON object per account"
_VALID_RECORD = "a record the validator can check; please report this as a bug"
_CSV_ROW = "one cell per header column, quoted if it contains the delimiter"
_SHOW_MAX = 60
# A stream that cannot seek is copied to a temporary file for the first pass;
# up to this many characters stay in memory.
SPOOL_IN_MEMORY = 8 * 1024 * 1024

# A cell past the record's CELL_LIMIT is refused by the validator, naming the
# account and field; the csv module's own 128 KiB limit would refuse it first,
# with a message that names neither.
csv.field_size_limit(max(csv.field_size_limit(), 64 * CELL_LIMIT))

WarningCallback = Callable[[str], None]
Validator = Callable[[dict[str, Any]], AccountRecord]
K = TypeVar("K")


class InputError(Exception):
    """The input as a whole cannot be read; the message names the source and the problem."""


class FieldError(BaseModel):
    """One problem in one row.

    ``field`` is the record field (``None`` when the row is not an object at all, or is
    malformed as a whole); ``value`` is the raw input value as given (a string for CSV,
    the JSON scalar for JSON, lists/objects as JSON text; ``None`` when absent);
    ``message`` is the validator's message; ``expected`` the field's description.
    """

    model_config = ConfigDict(frozen=True)

    field: str | None
    value: str | int | float | bool | None
    message: str
    expected: str | None


class Rejection(BaseModel):
    """A row that did not become an `AccountRecord`, and why.

    ``row`` is the 1-based data record number, ``line`` the physical line where it
    starts (``None`` for JSON), ``account_id`` the raw id if one was readable.
    ``reason`` is one human line, e.g. ``row 7 (account_id 'ACME-7'): csat = '9':
    Input should be less than or equal to 5; expected CSAT score from 1 to 5.``
    Values in ``reason`` are shown with ``repr`` (control characters escaped, safe for
    a terminal) and cut at 60 characters; ``errors`` keeps them whole.
    """

    model_config = ConfigDict(frozen=True)

    row: int
    line: int | None
    account_id: str | None
    reason: str
    errors: tuple[FieldError, ...]


class IngestedRow(NamedTuple):
    """One input record: exactly one of ``record`` and ``rejection`` is set."""

    row: int
    record: AccountRecord | None
    rejection: Rejection | None


# IngestedRow(row, record, None) without a call into Python (the row loop makes one per row).
_ingested = tuple.__new__


class PendingRow(NamedTuple):
    """One input record read and mapped to field names, not yet validated.

    `AccountReader.pending_rows` gives these, so that validation can happen
    elsewhere (another process); `validated_row` turns one into an `IngestedRow`.
    """

    row: int
    line: int | None
    data: dict[str, Any]


class PendingCells(NamedTuple):
    """A CSV row's text cells, not yet validated: what worker processes are sent for
    a CSV row that is not in a block of lines (`CsvLines`), instead of a `PendingRow`.

    Cells pickle in half the time a dict of them does, and the worker reads them
    through the validator's shortcut for CSV rows, as one process does. `fields` is
    each column's field (None: ignored), one tuple shared by every row; `id_at` is
    the account_id column, -1 when there is none.
    """

    row: int
    line: int | None
    cells: list[str]
    fields: tuple[str | None, ...]
    id_at: int

    def account_id(self) -> str | None:
        """The row's account_id cell as read, None when empty or absent."""
        return (self.cells[self.id_at] or None) if 0 <= self.id_at < len(self.cells) else None

    def as_pending_row(self) -> PendingRow:
        """The same row as the dict of its non-empty cells that `PendingRow` holds."""
        data = dict(compress(zip(self.fields, self.cells, strict=False), self.cells))
        data.pop(None, None)  # type: ignore[call-overload]
        return PendingRow(self.row, self.line, data)


class CsvLines(NamedTuple):
    """Whole lines of CSV text, each one record, not yet split: what worker processes
    are sent for most of a CSV input, so that the reading process only finds where
    records end (`simple_csv_lines`) and the workers split and validate them.

    `row` is the number of rows before the first line, `line` the first line's
    number; `count` the lines, each a row (no blank one among them).
    """

    row: int
    line: int
    count: int
    text: str
    fields: tuple[str | None, ...]
    id_at: int
    delimiter: str

    def items(self) -> Iterator[IngestedRow | PendingRow | PendingCells]:
        """Each line as `AccountReader.pending_rows` gives a row, read the same way; one
        at a time (a row's cells are made as it is taken, while they are in the cache)."""
        pieces = self.text.split("\n")
        lines = [piece + "\n" for piece in pieces[:-1]]
        if pieces[-1]:
            lines.append(pieces[-1])
        row, first = self.row, self.line - 1
        for start, cells in _csv_cells(iter(lines), self.delimiter):
            item, row = _pending_cells_row(first + start, cells, row, self.fields, self.id_at)
            if item is not None:
                yield item
        if row - self.row != self.count:  # `simple_csv_lines` promised one row a line
            raise RuntimeError(
                f"a block of {self.count} CSV lines from line {self.line} "
                f"read as {row - self.row} rows"
            )


# The last (validator, fields, shortcut) `validated_item` used: a chunk's rows share
# their fields tuple, so the shortcut is made once per chunk. One tuple, replaced whole,
# so threads running at once never read a mix of two.
_LAST_SHORTCUT: tuple[object, object, Callable[[list[str]], AccountRecord | None] | None] = (
    None,
    None,
    None,
)


def validated_item(
    item: IngestedRow | PendingRow | PendingCells,
    validate: Callable[[dict[str, Any]], AccountRecord],
) -> IngestedRow:
    """Any row `pending_rows` gives, validated; never raises (see `validated_row`)."""
    kind = type(item)
    if kind is PendingCells:
        global _LAST_SHORTCUT
        last = _LAST_SHORTCUT
        if last[0] is validate and last[1] is item.fields:
            record_of = last[2]
        else:
            for_columns = getattr(validate, "for_columns", None)
            record_of = None if for_columns is None else for_columns(item.fields)
            _LAST_SHORTCUT = (validate, item.fields, record_of)
        if record_of is not None:
            made = record_of(item.cells)
            if made is not None:
                return _ingested(IngestedRow, (item.row, made, None))
        return validated_row(item.as_pending_row(), validate)
    if kind is PendingRow:
        return validated_row(item, validate)  # type: ignore[arg-type]
    return item  # type: ignore[return-value]


def validated_row(
    pending: PendingRow, validate: Callable[[dict[str, Any]], AccountRecord]
) -> IngestedRow:
    """The record, or the rejection naming each field and value; never raises."""
    row, line, data = pending
    try:
        return IngestedRow(row, validate(data), None)
    except ValidationError as exc:
        return IngestedRow(row, None, rejection_from_error(row, line, data, exc))
    except Exception as exc:  # a validator bug must not stop the other rows
        return IngestedRow(row, None, _crashed(row, line, data, exc))


def normalise_name(name: str) -> str:
    """``" Renewal - Date "`` -> ``renewal_date``: strip, lowercase, spaces/hyphens -> ``_``."""
    key = name.replace("\ufeff", "").strip().lower()
    return "_".join(key.replace("-", " ").split())


def field_for_name(name: str) -> str | None:
    """The `AccountRecord` field a column/key name means, or ``None`` if unknown."""
    key = normalise_name(name)
    if key in INPUT_FIELDS:
        return key
    return ALIASES.get(key)


def _is_alias(name: str) -> bool:
    return normalise_name(name) not in INPUT_FIELDS


class ColumnNames:
    """Column or key name -> field for one input: mapped names first, then `field_for_name`.

    ``constants`` are fields with one value for every record; a column for one of
    them is ignored (and said so once).
    """

    def __init__(self, options: ReadOptions) -> None:
        self.mapped = {normalise_name(header): f for f, header in options.columns.items()}
        self.constants = dict(options.constants)

    def field(self, name: str) -> str | None:
        key = normalise_name(name)
        mapped = self.mapped.get(key)
        if mapped is not None:
            return mapped
        return key if key in INPUT_FIELDS else ALIASES.get(key)

    def rank(self, name: str) -> int:
        """Which of several names for one field wins: mapped 0, exact 1, alias 2."""
        key = normalise_name(name)
        if key in self.mapped:
            return 0
        return 1 if key in INPUT_FIELDS else 2

    def missing_mapped(self, names: Iterable[str]) -> list[str]:
        """Mapped headers that none of `names` is (compared as `normalise_name` does)."""
        seen = {normalise_name(n) for n in names}
        return [h for h in self.mapped if h not in seen]


def read_accounts(
    source: str | os.PathLike[str] | TextIO,
    input_format: str | None = None,
    *,
    on_warning: WarningCallback | None = None,
    options: ReadOptions | None = None,
) -> AccountReader:
    """Open ``source`` (a path, ``"-"`` for stdin, or a text stream) for reading accounts.

    ``options``: date format, decimal mark, delimiter, encoding, sheet and column
    mapping (`skill.dialect.ReadOptions`). Raises `InputError` at once for an
    unknown format or a missing file. The file is opened when iteration starts;
    iterate the result once.
    """
    return AccountReader(source, input_format, on_warning=on_warning, options=options)


class AccountReader:
    """A single-pass iterable of `IngestedRow` over one input.

    ``format`` is the resolved format (``None`` until iteration starts if it must be
    sniffed). ``warnings`` holds input-level warnings (unknown columns, duplicate
    columns), each also passed to ``on_warning`` once, as soon as it is known: for
    CSV after the header, for JSON after loading, for JSONL at the end of the input.
    ``unknown_fields`` is the sorted list of ignored column/key names seen so far.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | TextIO,
        input_format: str | None = None,
        *,
        on_warning: WarningCallback | None = None,
        options: ReadOptions | None = None,
    ) -> None:
        self.options = options or ReadOptions()
        self._names = ColumnNames(self.options)
        self._constant_warned = False
        self.warnings: list[str] = []
        self._on_warning = on_warning
        self._unknown: set[str] = set()
        self._started = False
        self._path: Path | None = None
        self._stream: TextIO | None = None
        self._copy: TextIO | None = None
        self._stdin_start: int | None = None
        self.delimiter: str | None = None
        self.format: str | None = None
        if input_format is not None:
            fmt = _FORMAT_NAMES.get(input_format.strip().lower())
            if fmt is None:
                raise InputError(
                    f"unknown input format {input_format!r}; expected one of: csv, json, jsonl"
                )
            self.format = fmt

        if isinstance(source, str | os.PathLike):
            if os.fspath(source) == "-":
                self.name = "<stdin>"
            else:
                path = Path(source)
                self.name = str(source)
                if not path.exists():
                    raise InputError(f"{self.name}: no such file")
                if path.is_dir():
                    raise InputError(f"{self.name}: is a directory, not a file")
                self._path = path
                if self.format is None:
                    self.format = _EXTENSIONS.get(path.suffix.lower())
        else:
            self._stream = source
            self.name = str(getattr(source, "name", None) or "<stream>")

    @property
    def unknown_fields(self) -> list[str]:
        return sorted(self._unknown)

    def __iter__(self) -> Iterator[IngestedRow]:
        self._start()
        return self._iterate(record_validator(self.options.context))  # type: ignore[return-value]

    def pending_rows(
        self, blocks: bool = False
    ) -> Iterator[IngestedRow | PendingRow | PendingCells | CsvLines]:
        """The input's records in order, before validation: a `PendingRow` for each record
        to validate, an `IngestedRow` with its rejection for a row that cannot be one
        (unreadable, too many cells, not an object). Iterate once, like the reader.

        `blocks`: a CSV input's lines mostly come as `CsvLines`, many rows each.
        """
        self._start()
        return self._iterate(None, blocks)

    def _start(self) -> None:
        if self._started:
            raise RuntimeError("an AccountReader can be iterated only once")
        self._started = True

    @property
    def on_warning(self) -> WarningCallback | None:
        """Where input-level warnings go as they are found (they are also in `warnings`)."""
        return self._on_warning

    @on_warning.setter
    def on_warning(self, callback: WarningCallback | None) -> None:
        self._on_warning = callback

    def groups_with_values(self, groups: Mapping[K, Collection[str]]) -> frozenset[K]:
        """The keys of `groups` (each a set of record fields) with a value in any record.

        A first pass, before iterating (see "First pass" in the module docstring).
        An empty input gives the empty set here; the main pass reports it.
        """
        if self._started:
            raise RuntimeError("groups_with_values must be called before iterating")
        if self._path is None:
            self._make_rereadable()
        found = frozenset(
            k for k, fields in groups.items() if set(fields) & self._names.constants.keys()
        )
        if self._workbook():
            try:
                return found | _scan_table(self._sheet_rows(), groups, self._names)
            except InputError:
                return found  # the main pass says what is wrong
        handle, lines = self._open()
        stream = self._stream if handle is None else None
        start = stream.tell() if stream is not None else 0
        try:
            return found | self._scan(lines, groups)
        except DialectError as exc:
            raise InputError(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise InputError(self._not_decodable(exc)) from None
        finally:
            if handle is not None:
                handle.close()
            if stream is not None:
                stream.seek(start)
            if self._stdin_start is not None:
                sys.stdin.buffer.seek(self._stdin_start)

    def header(self, limit: int = 1000) -> list[str]:
        """The input's names without validating a record: a CSV or sheet header, or the
        keys of the first `limit` JSON records in the order first seen. For
        `account-health columns`; ``delimiter`` is set for a CSV."""
        if self._workbook():
            for _, cells in self._sheet_rows():
                if any(str(c).strip() for c in cells):
                    return [str(c) for c in cells]
            return []
        handle, lines = self._open()
        try:
            head, first = self._first_line(lines)
            if not first:
                return []
            self.format = self.format or sniff_format(first)
            if self.format == "csv":
                self.delimiter = self._delimiter(first)
                for _, cells in _csv_cells(chain(head, lines), self.delimiter):
                    if isinstance(cells, list) and any(c.strip() for c in cells):
                        return cells
                return []
            if self.format == "jsonl":
                items: Iterable[Any] = islice(_json_lines(chain(head, lines)), limit)
            else:
                document = json.loads("".join(chain(head, lines)))
                if isinstance(document, dict):
                    document = document.get("accounts")
                items = document[:limit] if isinstance(document, list) else []
            keys: dict[str, None] = {}
            for item in items:
                if isinstance(item, dict):
                    keys.update(dict.fromkeys(str(k) for k in item))
            return list(keys)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{self.name}: not valid JSON (line {exc.lineno}: {exc.msg})"
            ) from None
        except DialectError as exc:
            raise InputError(str(exc)) from None
        finally:
            if handle is not None:
                handle.close()

    # -- opening and dispatch ------------------------------------------------

    def _not_decodable(self, exc: UnicodeDecodeError) -> str:
        return (
            f"{self.name}: not {exc.encoding} text ({exc.reason});"
            " pass --encoding or re-save it as UTF-8"
        )

    def _workbook(self) -> bool:
        return self.format == "xlsx"

    def _sheet_rows(self) -> Iterator[tuple[int, list[Any]]]:
        from skill.workbook import WorkbookError, sheet_rows

        if self._path is not None:
            source: Any = self._path
        else:
            if self._copy is None:
                self._copy_workbook()
            assert self._copy is not None
            self._copy.seek(0)
            source = self._copy
        try:
            yield from sheet_rows(source, self.options.sheet, self.name)
        except WorkbookError as exc:
            raise InputError(str(exc)) from None

    def _copy_workbook(self) -> None:
        """A workbook from a stream is read whole (a zip file needs to seek), kept spooled."""
        stream: Any = self._stream if self._stream is not None else sys.stdin
        binary = getattr(stream, "buffer", stream)
        copy: Any = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        data = binary.read()
        if isinstance(data, str):
            copy.close()
            raise InputError(f"{self.name}: a workbook must be read as bytes, not text")
        copy.write(data)
        self._copy = copy

    def _open(self) -> tuple[Any, Iterator[str]]:
        """The input's lines, and the handle to close when this reader opened one."""
        encoding = self.options.encoding
        if self._path is not None:
            try:
                handle = open(self._path, "rb")  # noqa: SIM115
            except OSError as exc:
                raise InputError(f"{self.name}: cannot open ({exc.strerror})") from None
            return handle, decoded_lines(handle, encoding, self.name)
        if self._stream is not None:
            return None, iter(self._stream)
        binary = getattr(sys.stdin, "buffer", None)
        if binary is None:
            return None, iter(sys.stdin)
        return None, decoded_lines(binary, encoding, self.name)

    def _make_rereadable(self) -> None:
        """Copy a stream that cannot seek (stdin, a pipe) so it can be read twice."""
        if self._workbook():
            self._copy_workbook()
            return
        if self._stream is not None:
            stream: Any = self._stream
        else:
            stream = getattr(sys.stdin, "buffer", None) or sys.stdin
        try:
            if stream.seekable():
                start = stream.tell()
                if self._stream is None and stream is not sys.stdin:
                    self._stdin_start = start
                else:
                    self._stream = stream
                return
        except (OSError, ValueError):
            pass
        copy = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed with the reader
            max_size=SPOOL_IN_MEMORY, mode="w+", encoding="utf-8", newline=""
        )
        lines = (
            iter(stream)
            if stream is sys.stdin or self._stream is not None
            else decoded_lines(stream, self.options.encoding, self.name)
        )
        try:
            for text in lines:
                copy.write(text)
        except DialectError as exc:
            copy.close()
            raise InputError(str(exc)) from None
        except UnicodeDecodeError as exc:
            copy.close()
            raise InputError(self._not_decodable(exc)) from None
        copy.seek(0)
        self._stream = copy
        self._copy = copy

    def _iterate(
        self, validate: Validator | None, blocks: bool = False
    ) -> Iterator[IngestedRow | PendingRow]:
        """Every row: validated with `validate` when given, else left pending."""
        if self._workbook():
            try:
                yield from _validated(self._table_rows(self._sheet_rows(), by_sheet=True), validate)
            finally:
                if self._copy is not None:
                    self._copy.close()
            return
        handle, lines = self._open()
        try:
            yield from self._dispatch(lines, validate, blocks)
        except DialectError as exc:
            raise InputError(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise InputError(self._not_decodable(exc)) from None
        finally:
            if handle is not None:
                handle.close()
            if self._copy is not None:
                self._copy.close()

    def _first_line(self, lines: Iterator[str]) -> tuple[list[str], str]:
        """The lines up to the first non-blank one, and that line ("" for an empty input)."""
        head: list[str] = []
        for text in lines:
            if not head:
                text = text.lstrip("\ufeff")
            head.append(text)
            if text.strip():
                return head, text
        return head, ""

    def _delimiter(self, first: str) -> str:
        return self.options.delimiter_char or detect_delimiter(first, self.name)

    def _dispatch(
        self, lines: Iterator[str], validate: Validator | None, blocks: bool = False
    ) -> Iterator[IngestedRow | PendingRow]:
        head, first = self._first_line(lines)
        if not first:
            raise InputError(f"{self.name}: the input is empty")
        if self.format is None:
            self.format = sniff_format(first)
        if self.format == "csv":
            self.delimiter = self._delimiter(first)
            if blocks and validate is None and not self._names.constants:
                return self._csv_blocks(chain(head, lines), self.delimiter)
            cells = _csv_cells(chain(head, lines), self.delimiter)
            return self._table_rows(cells, validate=validate)
        if self.format == "jsonl":
            return _validated(self._jsonl_rows(chain(head, lines)), validate)
        return _validated(self._json_rows("".join(chain(head, lines))), validate)

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def _constant_overrides(self, names: Iterable[str]) -> None:
        """Say once that a column for a field with a constant value is ignored."""
        if self._constant_warned:
            return
        for name in names:
            field = self._names.field(name)
            if field in self._names.constants:
                self._constant_warned = True
                self._warn(
                    f"column {name!r} ignored: the column mapping gives {field}"
                    f" the value {self._names.constants[field]!r} in every record"
                )

    # -- CSV and workbooks -------------------------------------------------------

    def _csv_columns(self, header: list[str]) -> tuple[str | None, ...]:
        """Map each header cell to a field (or ``None``: ignored); warn; check required."""
        header = [str(raw) for raw in header]
        labels = [
            raw.replace("\ufeff", "").strip() or f"(unnamed column {position})"
            for position, raw in enumerate(header, 1)
        ]
        names = self._names
        absent = names.missing_mapped(header)
        if absent:
            mapping = {names.mapped[h]: h for h in absent}
            listed = ", ".join(f"{f}: {h!r}" for f, h in mapping.items())
            raise InputError(
                f"{self.name}: the column mapping names column(s) the header does not have"
                f" ({listed}); header has: {', '.join(labels) or '(none)'}"
            )
        candidates: dict[str, list[int]] = {}
        for index, raw in enumerate(header):
            field = names.field(raw)
            if field is None:
                self._unknown.add(labels[index])
            elif field in names.constants:
                self._constant_overrides([raw])
            else:
                candidates.setdefault(field, []).append(index)
        columns: list[str | None] = [None] * len(header)
        duplicates: list[str] = []
        for field, indexes in candidates.items():
            chosen = _chosen_column(header, indexes, names)
            columns[chosen] = field
            if len(indexes) > 1:
                others = " and ".join(repr(labels[i]) for i in indexes if i != chosen)
                quantifier = "both" if len(indexes) == 2 else "all"
                duplicates.append(
                    f"columns {labels[chosen]!r} and {others} {quantifier} map to {field};"
                    f" using {labels[chosen]!r}"
                )
        if self._unknown:
            self._warn(f"ignoring unknown columns: {', '.join(self.unknown_fields)}")
        for message in duplicates:
            self._warn(message)
        missing = [n for n in _REQUIRED if n not in candidates and n not in names.constants]
        if missing:
            found = ", ".join(labels) or "(none)"
            raise InputError(
                f"{self.name}: no column for required field(s) {', '.join(missing)};"
                f" header has: {found} (map a column, or give a constant, with --columns)"
            )
        return tuple(columns)

    def _table_rows(
        self, rows: Iterator[_Cells], by_sheet: bool = False, validate: Validator | None = None
    ) -> Iterator[IngestedRow | PendingRow]:
        """Records from a header row and data rows (CSV lines, or a sheet's numbered rows).

        ``rows`` yields ``(line, cells)``, with a `csv.Error` for cells when the
        line cannot be read. A CSV row is numbered from 1 after the header; a
        workbook row keeps the spreadsheet's number. With `validate`, each row is
        validated here (a CSV row of text cells straight from its cells, when the
        validator offers that); else it is left pending.
        """
        fields = self._table_header(rows)
        width = len(fields)
        has_ignored = None in fields
        constants = self._names.constants
        # A CSV row's cells are all text, each empty one "not known": the validator can
        # take the row as it is (a sheet's cells are numbers and dates too).
        for_columns = getattr(validate, "for_columns", None)
        record_of = (
            for_columns(fields)
            if for_columns is not None and not by_sheet and not constants
            else None
        )
        # Left to a worker process: a CSV row of text cells goes as its cells.
        as_cells = validate is None and not by_sheet and not constants
        id_at = fields.index("account_id") if "account_id" in fields else -1
        row = 0
        for start, cells in rows:
            if as_cells:
                item, row = _pending_cells_row(start, cells, row, fields, id_at)
                if item is not None:
                    yield item
                continue
            if type(cells) is list and record_of is not None:
                made = record_of(cells)
                if made is not None:
                    row += 1
                    yield _ingested(IngestedRow, (row, made, None))
                    continue
            if isinstance(cells, csv.Error):
                row = start if by_sheet else row + 1
                message = f"unreadable CSV row: {cells}"
                yield IngestedRow(
                    row, None, rejection_for_row(row, start, None, message, None, _CSV_ROW)
                )
                continue
            if by_sheet:
                record = {f: v for f, v in zip(fields, cells, strict=False) if v != ""}
            else:  # text cells: the non-empty ones are the true ones
                record = dict(compress(zip(fields, cells, strict=False), cells))
            if has_ignored:
                record.pop(None, None)
            if not record and not any(c != "" for c in cells):
                continue  # blank line or a row of empty cells
            row = start if by_sheet else row + 1
            if constants:
                record.update(constants)
            if len(cells) > width and any(c != "" for c in cells[width:]):
                message = (
                    f"has {len(cells)} cells but the header has {width} columns"
                    " (an unquoted delimiter in a value?)"
                )
                yield IngestedRow(
                    row,
                    None,
                    rejection_for_row(
                        row, start, record.get("account_id"), message, None, _CSV_ROW
                    ),
                )
                continue
            pending = PendingRow(row, start, record)
            yield pending if validate is None else validated_row(pending, validate)

    def _table_header(self, rows: Iterator[_Cells]) -> tuple[str | None, ...]:
        """The first row with a cell that is not blank, as each column's field."""
        for start, cells in rows:
            if isinstance(cells, csv.Error):
                raise InputError(f"{self.name}, line {start}: bad CSV header: {cells}")
            if any(str(cell).strip() for cell in cells):
                return self._csv_columns(cells)
        raise InputError(f"{self.name}: the input is empty")

    def _csv_blocks(
        self, lines: Iterator[str], delimiter: str
    ) -> Iterator[IngestedRow | PendingRow | PendingCells | CsvLines]:
        """A CSV input's rows, mostly as blocks of whole lines (`CsvLines`).

        A block of lines each of which is surely one record that is not blank
        (`simple_csv_lines`) goes as it is; any other block is read here record by
        record, as `pending_rows` reads every row, until its last line is read (a
        record may go on past it). Lines before one that is not valid text come first.
        """
        counted = _Counted(lines)
        fields = self._table_header(_csv_cells(counted, delimiter))
        number = counted.count  # lines read so far
        id_at = fields.index("account_id") if "account_id" in fields else -1
        simple = simple_csv_lines(delimiter)
        limit = csv.field_size_limit()
        row = 0
        while True:
            block: list[str] = []
            failure: Exception | None = None
            try:
                block.extend(islice(lines, CSV_BLOCK_LINES))
            except (DialectError, UnicodeDecodeError) as exc:
                failure = exc
            if block:
                text = "".join(block)
                if len(text) < limit and simple.match(text).end() == len(text):  # type: ignore[union-attr]
                    yield CsvLines(row, number + 1, len(block), text, fields, id_at, delimiter)
                    row += len(block)
                    number += len(block)
                else:
                    rest = _raising(failure) if failure is not None else lines
                    feed = _Counted(chain(block, rest))
                    for start, cells in _csv_cells(feed, delimiter):
                        item, row = _pending_cells_row(number + start, cells, row, fields, id_at)
                        if item is not None:
                            yield item
                        if feed.count >= len(block):
                            break  # a record's end at or past the block's last line
                    number += feed.count
            if failure is not None:
                raise failure
            if len(block) < CSV_BLOCK_LINES:
                return

    # -- the first pass ----------------------------------------------------------

    def _scan(self, lines: Iterator[str], groups: Mapping[K, Collection[str]]) -> frozenset[K]:
        head, first = self._first_line(lines)
        if not first:
            return frozenset()
        fmt = self.format or sniff_format(first)
        rest = chain(head, lines)
        if fmt == "csv":
            return _scan_table(_csv_cells(rest, self._delimiter(first)), groups, self._names)
        if fmt == "jsonl":
            return _scan_objects(_json_lines(rest), groups, self._names)
        try:
            document = json.loads("".join(rest))
        except json.JSONDecodeError:
            return frozenset()  # the main pass says what is wrong
        if isinstance(document, dict):
            document = document.get("accounts")
        return _scan_objects(document if isinstance(document, list) else [], groups, self._names)

    # -- JSON and JSONL ----------------------------------------------------------

    def _json_rows(self, text: str) -> Iterator[IngestedRow | PendingRow]:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{self.name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        if isinstance(document, dict) and isinstance(document.get("accounts"), list):
            items = document["accounts"]
        elif isinstance(document, list):
            items = document
        else:
            got = (
                'an object without an "accounts" list'
                if isinstance(document, dict)
                else _json_kind(document)
            )
            raise InputError(
                f'{self.name}: expected a JSON list of accounts or {{"accounts": [...]}}, got {got}'
            )
        keys = _KeyMap(self._names)
        for item in items:
            if isinstance(item, dict):
                keys.learn(item)
        self._key_warnings(keys)
        for row, item in enumerate(items, 1):
            yield self._object_row(row, None, item, keys)

    def _jsonl_rows(self, lines: Iterator[str]) -> Iterator[IngestedRow | PendingRow]:
        keys = _KeyMap(self._names)
        row = 0
        for line, text in enumerate(lines, 1):
            if not text.strip():
                continue
            row += 1
            try:
                item = json.loads(text)
            except json.JSONDecodeError as exc:
                message = f"not valid JSON ({exc.msg} at column {exc.colno})"
                rejection = rejection_for_row(
                    row, line, None, message, text.strip(), _NOT_AN_OBJECT
                )
                yield IngestedRow(row, None, rejection)
                continue
            yield self._object_row(row, line, item, keys)
        self._key_warnings(keys)

    def _object_row(
        self,
        row: int,
        line: int | None,
        item: Any,
        keys: _KeyMap,
    ) -> IngestedRow | PendingRow:
        if not isinstance(item, dict):
            message = f"expected a JSON object, got {_json_kind(item)}"
            if not isinstance(item, list):
                message += f" ({_show(item)})"
            rejection = rejection_for_row(row, line, None, message, item, _NOT_AN_OBJECT)
            return IngestedRow(row, None, rejection)
        record = keys.map(item)
        constants = self._names.constants
        if constants:
            overridden = [k for k in item if isinstance(k, str) and keys.fields.get(k) in constants]
            self._constant_overrides(overridden)
            record = {**record, **constants}
        return PendingRow(row, line, record)

    def _key_warnings(self, keys: _KeyMap) -> None:
        self._unknown.update(keys.unknown)
        if keys.unknown:
            self._warn(f"ignoring unknown keys: {', '.join(sorted(keys.unknown))}")
        for field, names in sorted(keys.sources.items()):
            if len(names) > 1:
                listed = " and ".join(repr(n) for n in names)
                quantifier = "both" if len(names) == 2 else "all"
                self._warn(
                    f"keys {listed} {quantifier} map to {field}; using the mapped key, else"
                    " the exact field name if present, else the first one in each record"
                )


# A CSV line or sheet row: where it starts, and its cells (or why they cannot be read).
_Cells = tuple[int, "list[Any] | csv.Error"]


def _csv_cells(lines: Iterator[str], delimiter: str) -> Iterator[_Cells]:
    """``(first physical line, cells)`` per CSV record; a `csv.Error` instead of cells.

    The usual line is read here (`_split_line`), the same cells the csv module makes
    of it for a fraction of the work; any other line (a quoted cell that goes on to
    the next line, a stray quote, a blank line) is read by the csv module, with the
    lines after it that it needs.
    """
    feed = _Feed(lines)
    reader = csv.reader(feed, delimiter=delimiter)
    limit = csv.field_size_limit()
    number = 0  # physical lines read so far
    for text in lines:
        number += 1
        cells = _split_line(text, delimiter, limit)
        if cells is not None:
            yield number, cells
            continue
        start = number
        feed.line = text
        before = reader.line_num
        try:
            read: list[str] | csv.Error = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            read = exc
        number = start + reader.line_num - before - 1
        yield start, read


def _split_line(text: str, delimiter: str, limit: int) -> list[str] | None:
    """The cells of one CSV line as the csv module (its default dialect) reads them, or
    None for a line this does not read: one with a carriage return but its ending, a
    NUL, a quote anywhere but around a whole cell, a quoted cell not closed on this
    line, or as long as the csv module's field limit."""
    body = text[:-1] if text[-1:] == "\n" else text
    if body[-1:] == "\r":
        body = body[:-1]
    if not body or "\r" in body or "\0" in body or len(body) >= limit:
        return None
    if '"' not in body:
        return body.split(delimiter)
    # Between quotes, every other piece is inside a quoted cell; an empty piece between
    # two inside ones is a doubled quote ("" within the cell stands for ").
    pieces = body.split('"')
    last = len(pieces) - 1
    if last % 2:
        return None  # a quote not closed on this line (or a stray one)
    cells = pieces[0].split(delimiter)
    if cells.pop():
        return None  # a quote inside an unquoted cell
    at = 1
    while True:
        cell = pieces[at]
        at += 1
        while at < last and not pieces[at]:
            cell += '"' + pieces[at + 1]
            at += 2
        cells.append(cell)
        rest = pieces[at].split(delimiter)
        if rest[0]:
            return None  # text right after a closing quote
        if at == last:
            cells += rest[1:]
            return cells
        if rest.pop():
            return None  # a quote inside an unquoted cell
        cells += rest[1:]
        at += 1


class _Feed:
    """The lines the csv module reads: the line handed to it, then any more it asks for
    (a quoted cell that spans lines), from the same lines the caller reads."""

    __slots__ = ("line", "lines")

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.line: str | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = self.line
        if line is None:
            return next(self.lines)
        self.line = None
        return line


class _Counted:
    """Lines, counting those read."""

    __slots__ = ("count", "lines")

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.count = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.count += 1
        return line


def _raising(error: Exception) -> Iterator[str]:
    """No more lines: `error` when one is asked for."""
    raise error
    yield ""  # a generator: raises when iterated, not when made


CSV_BLOCK_LINES = 500  # lines in a block of CSV text (`CsvLines`)


@lru_cache(maxsize=4)
def simple_csv_lines(delimiter: str) -> re.Pattern[str]:
    """A pattern whose match covers a text exactly when each of its lines is one CSV
    record, as the csv module reads it, that is not blank.

    Each quote opens a cell (at a line's start or after the delimiter) and closes on
    the same line, before the delimiter or the line's end; a doubled quote stands
    for one inside. No line starts with the delimiter, a line ending or an empty
    quoted cell (a record of empty cells is blank: it takes no row number). No
    carriage return but before a newline, and no NUL. Anything else may make a
    record span lines or read otherwise: such text is read record by record.
    """
    d = re.escape(delimiter)
    plain = r'[^"\r\n\0]*+'
    quoted = r'"[^"\r\n\0]*+(?:""[^"\r\n\0]*+)*+"'
    line = rf'(?![{d}\r\n]|""){plain}(?:(?<![^{d}\n]){quoted}(?=[{d}\r\n]|\Z){plain})*+'
    return re.compile(rf"(?:{line}\r?\n)*+(?:{line})?")


def _pending_cells_row(
    start: int, cells: list[str] | csv.Error, row: int, fields: tuple[str | None, ...], id_at: int
) -> tuple[IngestedRow | PendingRow | PendingCells | None, int]:
    """One CSV record of text cells left for a worker, and the row number it took:
    `PendingCells`, a `PendingRow` (more cells than columns, the extra ones empty), an
    `IngestedRow` with its rejection, or None for a blank record (no number)."""
    width = len(fields)
    if type(cells) is list and len(cells) <= width:
        if not any(cells):
            return None, row  # blank line or a row of empty cells
        row += 1
        return PendingCells(row, start, cells, fields, id_at), row
    if isinstance(cells, csv.Error):
        row += 1
        message = f"unreadable CSV row: {cells}"
        return IngestedRow(
            row, None, rejection_for_row(row, start, None, message, None, _CSV_ROW)
        ), row
    record = dict(compress(zip(fields, cells, strict=False), cells))
    record.pop(None, None)  # type: ignore[call-overload]
    if not record and not any(c != "" for c in cells):
        return None, row
    row += 1
    if any(c != "" for c in cells[width:]):
        message = (
            f"has {len(cells)} cells but the header has {width} columns"
            " (an unquoted delimiter in a value?)"
        )
        rejection = rejection_for_row(row, start, record.get("account_id"), message, None, _CSV_ROW)
        return IngestedRow(row, None, rejection), row
    return PendingRow(row, start, record), row


def _validated(
    items: Iterator[IngestedRow | PendingRow], validate: Validator | None
) -> Iterator[IngestedRow | PendingRow]:
    """Each pending row validated with `validate`; the rows unchanged without one."""
    if validate is None:
        return items
    return (validated_item(i, validate) for i in items)


def _chosen_column(header: list[str], indexes: list[int], names: ColumnNames) -> int:
    """Of several columns for one field: mapped, then exact field name, then alias; then first."""
    return min(indexes, key=lambda i: (names.rank(header[i]), i))


def _scan_table(
    rows: Iterator[_Cells], groups: Mapping[K, Collection[str]], names: ColumnNames
) -> frozenset[K]:
    """Groups with a non-blank cell in a column of theirs; stops once each such group has one."""
    header: list[str] = []
    for _, cells in rows:
        if isinstance(cells, csv.Error):
            return frozenset()
        if any(str(cell).strip() for cell in cells):
            header = [str(cell) for cell in cells]
            break
    candidates: dict[str, list[int]] = {}
    for index, raw in enumerate(header):
        field = names.field(raw)
        if field is not None and field not in names.constants:
            candidates.setdefault(field, []).append(index)
    columns = {
        field: _chosen_column(header, indexes, names) for field, indexes in candidates.items()
    }
    pending = {
        key: [(columns[f], f) for f in fields if f in columns] for key, fields in groups.items()
    }
    pending = {key: cells for key, cells in pending.items() if cells}
    found: set[K] = set()
    for _, cells in rows:
        if not pending:
            break
        if isinstance(cells, csv.Error):
            continue  # the main pass rejects the row
        width = len(cells)
        for key, wanted in list(pending.items()):
            if any(i < width and has_value(f, cells[i]) for i, f in wanted):
                found.add(key)
                del pending[key]
    return frozenset(found)


def _json_lines(lines: Iterator[str]) -> Iterator[Any]:
    for text in lines:
        if text.strip():
            try:
                yield json.loads(text)
            except json.JSONDecodeError:
                continue  # the main pass rejects the line


def _scan_objects(
    items: Iterable[Any], groups: Mapping[K, Collection[str]], names: ColumnNames
) -> frozenset[K]:
    """Groups with a value under a key of theirs; stops once every group has one."""
    owners: dict[str, list[K]] = {}
    for key, fields in groups.items():
        for field in fields:
            owners.setdefault(field, []).append(key)
    fields_of: dict[Any, str | None] = {}
    found: set[K] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        for raw, value in item.items():
            field = fields_of.get(raw, "")
            if field == "":
                field = fields_of[raw] = names.field(raw) if isinstance(raw, str) else None
            if field is not None and field in owners and has_value(field, value):
                found.update(owners.pop(field))
        if len(found) == len(groups):
            break
    return frozenset(found)


class _KeyMap:
    """Raw JSON key -> field (``None``: unknown), learned as keys are first seen."""

    def __init__(self, names: ColumnNames) -> None:
        self.names = names
        self.fields: dict[str, str | None] = {}
        self.unknown: set[str] = set()
        self.sources: dict[str, list[str]] = {}
        self.ranks: dict[str, int] = {}
        self.contested = False
        self.identity = True

    def learn(self, item: dict[str, Any]) -> None:
        fields = self.fields
        for key in item:
            if key in fields:
                continue
            field = self.names.field(key) if isinstance(key, str) else None
            fields[key] = field
            if field != key:
                self.identity = False
            if field is None:
                self.unknown.add(key)
                continue
            self.ranks[key] = self.names.rank(key)
            names = self.sources.setdefault(field, [])
            names.append(key)
            if len(names) > 1:
                self.contested = True

    def map(self, item: dict[str, Any]) -> dict[str, Any]:
        fields = self.fields
        if not item.keys() <= fields.keys():
            self.learn(item)
        if self.identity:
            return item  # every key seen so far is an exact field name
        if self.contested:
            return self._first_wins(item)
        record = {fields[k]: v for k, v in item.items()}
        record.pop(None, None)
        return record

    def _first_wins(self, item: dict[str, Any]) -> dict[str, Any]:
        """Several keys for one field: mapped, then exact field name, then alias; then first."""
        record: dict[str, Any] = {}
        rank_of: dict[str, int] = {}
        for key, value in item.items():
            field = self.fields[key]
            if field is None:
                continue
            rank = self.ranks[key]
            if field not in record or rank < rank_of[field]:
                record[field] = value
                rank_of[field] = rank
        return record


# -- rejections --------------------------------------------------------------


def sniff_format(first_line: str, wrapper: str = "accounts") -> str:
    """csv, json or jsonl from a file's first line; `{"<wrapper>": [...]}` on one line is json."""
    text = first_line.strip()
    if text.startswith("["):
        return "json"
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return "json"  # an object spread over several lines
        if isinstance(value, dict) and isinstance(value.get(wrapper), list):
            return "json"
        return "jsonl"
    return "csv"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _scalar(value: Any) -> str | int | float | bool | None:
    """The raw value as given: JSON scalars kept, anything else as JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _show(value: Any) -> str:
    shown = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    if len(shown) > _SHOW_MAX:
        shown = shown[: _SHOW_MAX - 1] + "…"
    return shown


def _readable_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _prefix(row: int, account_id: str | None) -> str:
    if account_id is None:
        return f"row {row}"
    return f"row {row} (account_id {_show(account_id)})"


def rejection_from_error(
    row: int, line: int | None, raw: dict[str, Any], exc: ValidationError
) -> Rejection:
    """The rejection for a record that failed validation, naming each field and value."""
    errors: list[FieldError] = []
    parts: list[str] = []
    for err in exc.errors(include_url=False, include_context=False):
        loc = err["loc"]
        field = loc[0] if loc and isinstance(loc[0], str) else None
        message = err["msg"]
        if len(loc) > 1:
            where = loc[1] + 1 if isinstance(loc[1], int) else loc[1]
            message = f"entry {where} ({_show(err['input'])}): {message}"
        present = field is not None and field in raw
        value = raw[field] if present else None
        expected = _EXPECTED.get(field) if field is not None else None
        errors.append(
            FieldError(field=field, value=_scalar(value), message=message, expected=expected)
        )
        part = f"{field or 'record'}"
        if present:
            part += f" = {_show(value)}"
        part += f": {message}"
        if expected:
            part += f"; expected {expected.rstrip('.')}"
        parts.append(part)
    account_id = _readable_id(raw.get("account_id"))
    reason = f"{_prefix(row, account_id)}: {'; '.join(parts)}."
    return Rejection(row=row, line=line, account_id=account_id, reason=reason, errors=tuple(errors))


def rejection_for_row(
    row: int, line: int | None, account_id: Any, message: str, value: Any, expected: str
) -> Rejection:
    """A row that is not an account object at all, or is broken as a whole."""
    readable = _readable_id(account_id)
    reason = f"{_prefix(row, readable)}: {message}; expected {expected}."
    error = FieldError(field=None, value=_scalar(value), message=message, expected=expected)
    return Rejection(row=row, line=line, account_id=readable, reason=reason, errors=(error,))


def _crashed(row: int, line: int | None, raw: dict[str, Any], exc: Exception) -> Rejection:
    """The validator raised something other than a ValidationError (a bug, not bad data)."""
    message = f"could not be validated ({type(exc).__name__}: {exc})"
    return rejection_for_row(row, line, raw.get("account_id"), message, None, _VALID_RECORD)


# -- rejects file --------------------------------------------------------------


class RejectsWriter:
    """Streams rejections to a JSONL file, one object per line.

    Each line is ``{"row", "line", "account_id", "reason", "errors": [{"field",
    "value", "message", "expected"}]}``. The file is created (or truncated) when the
    writer is constructed, so it always reflects this run only; raises `InputError`
    if it cannot be. Use it as a context manager or call `close`. ``count`` is the
    number written.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.count = 0
        try:
            self._handle: TextIO | None = open(  # noqa: SIM115
                self.path, "w", encoding="utf-8", newline="\n"
            )
        except OSError as exc:
            raise InputError(f"{self.path}: cannot write rejects file ({exc.strerror})") from None

    def __enter__(self) -> RejectsWriter:
        return self

    def write(self, rejection: Rejection) -> None:
        if self._handle is None:
            raise RuntimeError(f"{self.path}: rejects file already closed")
        self._handle.write(rejection.model_dump_json())
        self._handle.write("\n")
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_rejects(rejections: Iterable[Rejection], path: str | os.PathLike[str]) -> int:
    """Write ``rejections`` to ``path`` as JSONL (see `RejectsWriter`); return the count."""
    with RejectsWriter(path) as writer:
        for rejection in rejections:
            writer.write(rejection)
        return writer.count
