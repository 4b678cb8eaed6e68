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
