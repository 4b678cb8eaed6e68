"""`account-health db`: how big the history database is, and keeping it small.

Registered on the main app by `skill.cli`; the store is imported only when a
command runs. Each command refuses a missing database (exit 2) rather than
creating one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from skill.cli.common import (
    DbOption,
    TextFormat,
    fail,
    open_history,
    parse_day,
    text_table,
)

if TYPE_CHECKING:
    from skill.store.maintenance import DatabaseStats, PruneResult

db_app = typer.Typer(
    help=(
        "The history database: what takes its space (stats), dropping old documents "
        "(prune), giving free space back to the disk (vacuum).\n\n"
        "Example: account-health db stats --db history.sqlite3"
    ),
    no_args_is_help=True,
)

FormatOption = Annotated[TextFormat, typer.Option("--format", "-f", help="text (default) or json.")]


def _path(db: Path | None) -> Path:
    from skill.store.db import default_db_path

    return Path(db) if db is not None else default_db_path()


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


@db_app.command("stats")
def stats(db: DbOption = None, output_format: FormatOption = TextFormat.TEXT) -> None:
    """Size per table (with its indexes) and per recorded date, in bytes and per account.

    Each table's size counts its own pages and its indexes' pages. A date's size is
    the dated tables (assessments, snapshots, measurement events, actions, review
    tasks) shared out by the bytes of that date's rows; base documents,
    dictionaries, decisions and outcomes belong to no single date and are shown
    on their own line.

    Example: account-health db stats --db history.sqlite3 --format json
    """
    from skill.store.maintenance import database_stats

    connection = open_history(db)
    try:
        result = database_stats(connection, _path(db))
    finally:
        connection.close()
    if output_format is TextFormat.JSON:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_stats(result))


def render_stats(result: DatabaseStats) -> str:
    per = max(result.account_dates, 1)
    how = (
        "SQLite's dbstat"
        if result.measured_with == "dbstat"
        else "row sizes (this SQLite has no dbstat: an estimate)"
    )
    lines = [
        f"History database {result.path}: {_mb(result.file_bytes)} on disk"
        + (f" + {_mb(result.wal_bytes)} write-ahead log" if result.wal_bytes else ""),
        f"{result.account_dates:,} assessments recorded (accounts x dates): "
        f"{result.bytes_per_account_date:,} bytes per account per date, every table included.",
    ]
    if result.free_bytes:
        lines.append(
            f"{_mb(result.free_bytes)} free inside the file: `account-health db vacuum` "
            "gives it back to the disk."
        )
    lines.append(f"Tables with their indexes, measured with {how}:")
    lines.append("")
    rows = [
        (
            size.table,
            f"{size.rows:,}",
            f"{size.bytes:,}",
            f"{size.bytes / max(result.database_bytes, 1):.1%}",
            f"{size.bytes // per:,}",
        )
        for size in result.tables
    ]
    extra = [("free pages", "", f"{result.free_bytes:,}", "", "")]
    if result.other_bytes:
        extra.insert(0, ("SQLite's schema", "", f"{result.other_bytes:,}", "", ""))
    total = ("total", "", f"{result.database_bytes:,}", "100.0%", "")
    text = text_table(
        ("table", "rows", "bytes", "share", "per account-date"),
        [*rows, *extra, total],
        "",
    )
    dates = [
        (
            d.as_of.isoformat(),
            f"{d.accounts:,}",
            f"{d.bytes:,}",
            f"{d.bytes_per_account:,}",
            _documents(d.documents, d.accounts),
        )
        for d in result.dates
    ]
    footer = (
        f"Not tied to one date: {result.undated_bytes:,} bytes (base documents, dictionaries, "
        "runs, decisions, outcomes, calibrations)."
    )
    columns = ("as of", "accounts", "bytes", "bytes/account", "documents")
    by_date = text_table(columns, dates, footer)
    return "\n".join(lines) + "\n" + text + "\n" + by_date


def _documents(kept: int, accounts: int) -> str:
    if kept == accounts:
        return "kept"
    return f"{kept:,} kept" if kept else "pruned"


@db_app.command("prune")
def prune(
    before: Annotated[
        str,
        typer.Option(
            "--before",
            help="Drop the documents of dates before this one (YYYY-MM-DD); the newest "
            "recorded date is always kept.",
        ),
    ],
    db: DbOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be dropped; change nothing.")
    ] = False,
    output_format: FormatOption = TextFormat.TEXT,
) -> None:
    """Drop old snapshots and assessment documents, keep decisions and outcomes.

    For dates before --before it drops the input records (snapshots), the
    assessments' full documents and the measurement events, then VACUUMs so the
    file shrinks. It keeps each assessment's scores, band, tier, flags and
    dimensions, every action with its decisions and the copy it was decided or
    exported as, review tasks and who closed them, outcomes, runs and
    calibrations, and the documents of assessments with an action waiting for a
    decision or approved and not yet exported. So `actions list`, `review list`,
    `actions approve`, `measure`, `report` and the trend flags of the next run work
    as before. What is lost for those dates: the input records `calibrate` learns
    from (it fits on the dates kept), the full assessments (`report --as-of` an old
    date shows no next action; an automatic action exported later, or an old one
    exported again with --include-exported, is sent with the assessment's score,
    band, tier, confidence and flag codes, not its flag labels), and byte-for-byte
    copies of those documents.

    Example: account-health db prune --before 2026-06-01 --db history.sqlite3 --dry-run
    """
    from skill.store.maintenance import PruneError
    from skill.store.maintenance import prune as prune_history

    day = parse_day("--before", before)
    assert day is not None
    connection = open_history(db)
    try:
        result = prune_history(connection, _path(db), day, dry_run=dry_run)
    except PruneError as exc:
        raise fail(str(exc)) from None
    finally:
        connection.close()
    if output_format is TextFormat.JSON:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_prune(result))


def render_prune(result: PruneResult) -> str:
    verb = "would drop" if result.dry_run else "dropped"
    lines = [
        f"Before {result.before}: {verb} {result.snapshots:,} snapshots, "
        f"{result.assessment_documents:,} assessment documents, "
        f"{result.measurement_events:,} measurement events and {result.base_documents:,} "
        f"base documents ({_mb(result.document_bytes)} of documents).",
        "Kept: every assessment's scores, bands, flags and dimensions, actions and their "
        "decisions, review tasks, outcomes"
        + (
            f", and {result.assessment_documents_kept:,} documents that actions waiting for "
            "a decision or approved and not yet exported read."
            if result.assessment_documents_kept
            else "."
        ),
    ]
    if result.dry_run:
        lines.append(
            f"Nothing was changed (--dry-run); the file is {_mb(result.file_bytes_before)}."
        )
    else:
        freed = result.file_bytes_before - result.file_bytes_after
        lines.append(
            f"File: {_mb(result.file_bytes_before)} -> {_mb(result.file_bytes_after)} "
            f"({_mb(freed)} freed)."
        )
    return "\n".join(lines) + "\n"


@db_app.command("vacuum")
def vacuum(db: DbOption = None) -> None:
    """Give the free pages inside the file back to the disk (SQLite's VACUUM).

    Useful once after upgrading: the first command on an older database packs
    its documents, and the space they took stays inside the file until now.
    Needs free disk space about the size of the database while it runs.

    Example: account-health db vacuum --db history.sqlite3
    """
    from skill.store.maintenance import vacuum as vacuum_history

    path = _path(db)
    connection = open_history(db)
    try:
        before = _disk_bytes(path)
        vacuum_history(connection)
        after = _disk_bytes(path)
    finally:
        connection.close()
    freed = _mb(before - after)
    sys.stdout.write(f"vacuumed {path}: {_mb(before)} -> {_mb(after)} ({freed} freed)\n")


def _disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
