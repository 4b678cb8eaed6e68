"""What every CLI command module shares: messages, options, the policy, dates, plain tables.

Kept free of anything heavier than typer, so importing it costs `assess` nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from skill.vocabulary import AutomationLevel

if TYPE_CHECKING:
    import sqlite3

    from pydantic import BaseModel

EXIT_USAGE = 2


class ListFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"


class TextFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="History database (default: $ACCOUNT_HEALTH_DB, else "
        "~/.local/share/account-health/history.sqlite3).",
    ),
]

ListFormatOption = Annotated[
    ListFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="table (default on a terminal), json (one document), or jsonl (one item a "
        "line, streamed: for large queues).",
    ),
]
AsOfFilterOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Only items of the assessments of this date (YYYY-MM-DD)."),
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="Only items assessed on or after this date (YYYY-MM-DD)."),
]
LimitOption = Annotated[
    int | None, typer.Option("--limit", min=0, help="At most this many items (default: all).")
]
OffsetOption = Annotated[
    int, typer.Option("--offset", min=0, help="Skip this many items first (with --limit: pages).")
]
AccountFilterOption = Annotated[str | None, typer.Option("--account", help="Only this account id.")]


def err(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")


def fail(message: str) -> typer.Exit:
    """Say what is wrong on stderr; the caller raises the returned exit (code 2)."""
    err(f"error: {message}")
    return typer.Exit(EXIT_USAGE)


def is_tty() -> bool:
    return sys.stdout.isatty()


def parse_day(option: str, value: str | None) -> date | None:
    """A date option, or exit 2 naming the option and the value."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date; expected YYYY-MM-DD") from None


def write_list(
    items: Iterable[BaseModel],
    fmt: ListFormat,
    *,
    limit: int | None,
    offset: int,
    document: Callable[[list[Any], int | None], BaseModel],
    table: Callable[[list[Any]], str],
) -> None:
    """A queue listing: jsonl streams item by item in flat memory; json and table hold
    the page. Pass `items` read with limit + 1: the extra one says whether more
    follow (`next_offset` in json, a line on stderr otherwise)."""
    shown = 0
    more = False
    if fmt is ListFormat.JSONL:
        for item in items:
            if limit is not None and shown >= limit:
                more = True
                break
            sys.stdout.write(item.model_dump_json() + "\n")
            shown += 1
        if more:
            err(f"more items follow; continue with --offset {offset + shown}")
        return
    page = list(items)
    if limit is not None and len(page) > limit:
        page, more = page[:limit], True
    next_offset = offset + len(page) if more else None
    if fmt is ListFormat.JSON:
        sys.stdout.write(document(page, next_offset).model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(table(page))
        if more:
            err(f"more items follow; continue with --offset {next_offset}")


def open_history(db: Path | None, *, must_exist: bool = True) -> sqlite3.Connection:
    """The history database at `db` (default path otherwise), migrated.

    `must_exist` (all but `outcomes import`): a command that reads history
    refuses a missing database rather than starting an empty one. A directory
    or a file that is not a history database is refused either way (exit 2).
    """
    from skill.store.db import DatabaseUnavailable, connect, default_db_path

    path = Path(db) if db is not None else default_db_path()
    try:
        return connect(path, create=not must_exist)
    except DatabaseUnavailable as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot open the history database {path}: {exc.strerror or exc}") from None


def text_table(columns: Sequence[str], rows: Sequence[Sequence[str]], footer: str) -> str:
    """Left-aligned columns under a dashed rule, for a person at a terminal."""
    lines_in = [tuple(columns), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in lines_in) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in lines_in
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines) + f"\n{footer}\n"


# -- how an input file is read: shared by every command that reads accounts or outcomes

ColumnsOption = Annotated[
    Path | None,
    typer.Option(
        "--columns",
        help="Column-mapping YAML: contract field -> your header, constants (segment: smb), "
        "and any of the reading options below. Propose one with `account-health columns FILE`.",
    ),
]
DateFormatOption = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="How the file writes dates, e.g. %m/%d/%Y or %d.%m.%Y (default: ISO YYYY-MM-DD).",
    ),
]
DecimalOption = Annotated[
    str | None,
    typer.Option(
        "--decimal",
        help="Decimal mark of numbers: comma (45000,50) or point (84,000.50). Without it a "
        "number that reads two ways is rejected.",
    ),
]
DelimiterOption = Annotated[
    str | None,
    typer.Option("--delimiter", help="CSV delimiter: comma, semicolon or tab (default: detected)."),
]
EncodingOption = Annotated[
    str | None,
    typer.Option("--encoding", help="Text encoding, e.g. latin-1 (default: UTF-8, BOM or not)."),
]
SheetOption = Annotated[
    str | None,
    typer.Option("--sheet", help="Worksheet of an .xlsx workbook (default: the first)."),
]


def read_options(
    columns: Path | None,
    date_format: str | None,
    decimal: str | None,
    delimiter: str | None,
    encoding: str | None,
    sheet: str | None,
    fields: frozenset[str] | None = None,
):
    """The `ReadOptions` for a command: the mapping file's, with the flags given winning."""
    from skill.dialect import DialectError, ReadOptions

    base = ReadOptions()
    if columns is not None:
        from skill.columns import MappingError, load_mapping

        try:
            base = load_mapping(columns) if fields is None else load_mapping(columns, fields)
        except MappingError as exc:
            raise fail(f"--columns {exc}") from None
    try:
        return base.merged(
            date_format=date_format,
            decimal=decimal,
            delimiter=delimiter,
            encoding=encoding,
            sheet=sheet,
        )
    except DialectError as exc:
        raise fail(str(exc)) from None


class OutputFormat(StrEnum):
    MD = "md"
    JSON = "json"
    JSONL = "jsonl"
    TABLE = "table"


class InputFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"
    XLSX = "xlsx"


def load_policy_or_exit(path: Path | None):
    """The policy, with a warning per default list the file replaces and per floor it needs."""
    from skill.policy import (
        PolicyError,
        load_policy,
        override_notes,
        read_override,
        replaced_list_warning,
    )

    try:
        loaded = load_policy(path)
    except PolicyError as exc:
        raise fail(f"invalid policy:\n{exc}") from None
    if path is not None:
        notes = override_notes(read_override(path), loaded)
        for key in notes.replaced_lists:
            err(f"warning: {path}: {replaced_list_warning(key)}")
        for problem in notes.needs_floor:
            err(f"warning: {path}: {problem}; the floor applies")
    return loaded


def default_format() -> OutputFormat:
    return OutputFormat.MD if sys.stdout.isatty() else OutputFormat.JSON


PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="YAML file merged over the default policy in assets/."),
]
LevelOption = Annotated[
    AutomationLevel,
    typer.Option("--automation-level", help="How much may run without a person."),
]
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option("--format", "-f", help="md (default on a terminal) or json (default when piped)."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Assessment date, YYYY-MM-DD (default: today)."),
]
InputFormatOption = Annotated[
    InputFormat | None,
    typer.Option("--input-format", help="Override the format implied by the extension."),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="Processes to assess with (default: the number of cores; 1: this process "
        "only). The output is the same whatever the number; a small input always stays "
        "in one process.",
    ),
]
RejectsOption = Annotated[
    Path | None,
    typer.Option("--rejects", help="Write rejected records here as JSONL, with the reason."),
]


def resolve_workers(value: int | None) -> int:
    """--workers: at least 1; by default the cores this process may use."""
    if value is None:
        if hasattr(os, "sched_getaffinity"):
            return max(1, len(os.sched_getaffinity(0)))
        return max(1, os.cpu_count() or 1)
    if value < 1:
        raise fail(f"--workers {value}: expected 1 or more")
    return value


def parse_as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"--as-of {value!r} is not a date; expected YYYY-MM-DD") from None
