"""What every CLI command module shares: messages, the `--db` option, plain tables.

Kept free of anything heavier than typer, so importing it costs `assess` nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import sqlite3

EXIT_USAGE = 2


class ListFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


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
    typer.Option("--format", "-f", help="table (default on a terminal) or json."),
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


def open_history(db: Path | None, *, must_exist: bool = False) -> sqlite3.Connection:
    """The history database at `db` (default path otherwise), migrated.

    `must_exist`: commands that only read refuse to start an empty database.
    """
    from skill.store.db import connect, default_db_path

    path = Path(db) if db is not None else default_db_path()
    if must_exist and not path.is_file():
        raise fail(
            f"no history database at {path}; record assessments into it first (or pass --db PATH)"
        )
    try:
        return connect(path)
    except Exception as exc:  # sqlite3.DatabaseError, OSError: not a usable database
        raise fail(f"cannot open the history database {path}: {exc}") from None


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
