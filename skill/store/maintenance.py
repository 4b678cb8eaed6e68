"""Keeping the history database small: what takes the space, and dropping old documents.

`database_stats` measures each table with its indexes (SQLite's `dbstat`
table when the SQLite build has it; otherwise the used pages shared out by the
bytes of each table's rows, and said so) and shares the dated tables out over
the recorded dates. `prune` drops the documents of dates before a cut-off and
keeps everything a decision, a measurement or the queue needs; `vacuum` gives
the freed pages back to the disk.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from skill.store.documents import base_of

#: Tables with one row per account (or action) per recorded date, by `as_of`.
DATED_TABLES = (
    "assessments",
    "snapshots",
    "actions",
    "review_tasks",
    "measurement_events_replaced",
)


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TableSize(Model):
    table: str
    rows: int
    bytes: int = Field(description="The table's pages and its indexes' pages.")
    indexes: list[str] = Field(description="Its indexes (SQLite's own included).")


class DateSize(Model):
    as_of: date
    accounts: int = Field(description="Assessments recorded for the date.")
    bytes: int = Field(
        description="The dated tables' bytes shared out by the size of this date's rows."
    )
    bytes_per_account: int
    documents: int = Field(
        description="Assessment documents kept for the date (fewer than accounts once "
        "`db prune` dropped some)."
    )


class DatabaseStats(Model):
    """`db stats`: where the history database's bytes are."""

    path: str
    file_bytes: int = Field(description="The database file on disk.")
    wal_bytes: int = Field(description="Its write-ahead log on disk (0 when checkpointed).")
    page_size: int
    database_bytes: int = Field(description="Pages in the database: tables + other + free.")
    free_bytes: int = Field(description="Free pages inside the file (`db vacuum` returns them).")
    other_bytes: int = Field(description="Pages of no table (SQLite's own bookkeeping).")
    measured_with: Literal["dbstat", "row sizes"] = Field(
        description="dbstat: SQLite counted each table's pages. row sizes: this SQLite has no "
        "dbstat, so the used pages are shared out by the bytes of each table's rows."
    )
    tables: list[TableSize]
    account_dates: int = Field(description="Assessments recorded: accounts times dates.")
    bytes_per_account_date: int = Field(
        description="Every used page (all tables, shared ones too) per recorded assessment."
    )
    dates: list[DateSize]
    undated_bytes: int = Field(
        description="Tables not tied to one date: base documents, dictionaries, runs, "
        "decisions, outcomes, calibrations."
    )


def _pragma(connection: sqlite3.Connection, name: str) -> int:
    return int(connection.execute(f"PRAGMA {name}").fetchone()[0])


def _tables(connection: sqlite3.Connection) -> dict[str, list[str]]:
    """Each table and its indexes, by name."""
    found: dict[str, list[str]] = {}
    for kind, name, table in connection.execute(
        "SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index') "
        "ORDER BY type DESC, name"
    ):
        if kind == "table":
            found.setdefault(name, [])
        else:
            found.setdefault(table, []).append(name)
    return found


def _columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]


def _row_bytes(connection: sqlite3.Connection, table: str) -> str:
    """An SQL expression: about how many bytes one row of `table` holds."""
    return " + ".join(f'COALESCE(LENGTH("{c}"), 0)' for c in _columns(connection, table)) or "0"


def _has_dbstat(connection: sqlite3.Connection) -> bool:
    try:
        connection.execute("SELECT 1 FROM dbstat LIMIT 1").fetchall()
    except sqlite3.OperationalError:
        return False
    return True


def database_stats(connection: sqlite3.Connection, path: Path) -> DatabaseStats:
    page_size = _pragma(connection, "page_size")
    pages = _pragma(connection, "page_count")
    free = _pragma(connection, "freelist_count") * page_size
    used = pages * page_size - free
    tables = _tables(connection)
    rows = {t: int(connection.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in tables}
    if _has_dbstat(connection):
        method: Literal["dbstat", "row sizes"] = "dbstat"
        owner = {name: table for table, indexes in tables.items() for name in [table, *indexes]}
        sizes = dict.fromkeys(tables, 0)
        for name, size in connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            if name in owner:
                sizes[owner[name]] += int(size)
    else:
        method = "row sizes"
        payload = {}
        for t in tables:
            total_sql = f'SELECT COALESCE(SUM({_row_bytes(connection, t)}), 0) FROM "{t}"'
            payload[t] = int(connection.execute(total_sql).fetchone()[0])
        total = sum(payload.values()) or 1
        sizes = {t: used * payload[t] // total for t in tables}
    account_dates = rows.get("assessments", 0)
    dates = _date_sizes(connection, sizes)
    dated = sum(sizes.get(t, 0) for t in DATED_TABLES)
    files = [path, Path(f"{path}-wal")]
    return DatabaseStats(
        path=str(path),
        file_bytes=files[0].stat().st_size if files[0].exists() else 0,
        wal_bytes=files[1].stat().st_size if files[1].exists() else 0,
        page_size=page_size,
        database_bytes=pages * page_size,
        free_bytes=free,
        other_bytes=max(0, used - sum(sizes.values())),
        measured_with=method,
        tables=sorted(
            (TableSize(table=t, rows=rows[t], bytes=sizes[t], indexes=tables[t]) for t in tables),
            key=lambda s: (-s.bytes, s.table),
        ),
        account_dates=account_dates,
        bytes_per_account_date=used // account_dates if account_dates else 0,
        dates=dates,
        undated_bytes=sum(sizes.values()) - dated,
    )


def _date_sizes(connection: sqlite3.Connection, sizes: dict[str, int]) -> list[DateSize]:
    """Each dated table's bytes shared out over the dates by the bytes of their rows."""
    share: dict[str, float] = {}
    for table in DATED_TABLES:
        if table not in sizes:
            continue
        by_date = {
            day: int(size)
            for day, size in connection.execute(
                f'SELECT as_of, SUM({_row_bytes(connection, table)}) FROM "{table}" GROUP BY as_of'
            )
        }
        total = sum(by_date.values()) or 1
        for day, size in by_date.items():
            share[day] = share.get(day, 0.0) + sizes[table] * size / total
    result = []
    for day, accounts, kept in connection.execute(
        "SELECT as_of, COUNT(*), COUNT(assessment_json) FROM assessments GROUP BY as_of "
        "ORDER BY as_of"
    ):
        size = round(share.get(day, 0.0))
        result.append(
            DateSize(
                as_of=date.fromisoformat(day),
                accounts=accounts,
                bytes=size,
                bytes_per_account=size // accounts if accounts else 0,
                documents=kept,
            )
        )
    return result


# -- prune ------------------------------------------------------------------------------


class PruneError(ValueError):
    """A cut-off `prune` refuses, with the reason."""


class PruneResult(Model):
    """`db prune`: what was (or, with --dry-run, would be) dropped, and the space freed."""

    before: date
    dry_run: bool
    snapshots: int = Field(description="Input records (snapshots) dropped.")
    assessment_documents: int = Field(
        description="Assessment documents dropped; the assessments' scores, bands, flags and "
        "dimensions stay."
    )
    assessment_documents_kept: int = Field(
        description="Documents of those dates kept because an action waiting for a decision, "
        "or approved and waiting for export, reads them."
    )
    measurement_events: int = Field(
        description="Measurement events dropped: those in the assessment documents dropped, "
        "and those of assessments replaced since."
    )
    base_documents: int = Field(description="Base documents no stored document needs any more.")
    document_bytes: int = Field(description="Bytes of the documents dropped.")
    file_bytes_before: int
    file_bytes_after: int = Field(description="After VACUUM; equal to before on a dry run.")


# An assessment's document is still read when one of its actions waits for a
# decision (approving copies the whole action, policy trace and all, from it) or
# was approved and waits for export (its payload quotes the assessment). An
# automatic (ready) action exported after its document was dropped is sent with
# what the assessment's columns still say (see outbox.py).
# `_note_still_needed` lists those (account, date) pairs first: asked per row,
# the same question scans the outbox once per assessment.
_STILL_NEEDED = "(account_id, as_of) IN (SELECT account_id, as_of FROM temp.still_needed)"


def _note_still_needed(connection: sqlite3.Connection) -> None:
    connection.execute(
        "CREATE TEMP TABLE IF NOT EXISTS still_needed (account_id TEXT NOT NULL, "
        "as_of TEXT NOT NULL, PRIMARY KEY (account_id, as_of)) WITHOUT ROWID"
    )
    connection.execute("DELETE FROM temp.still_needed")
    connection.execute(
        "INSERT OR IGNORE INTO temp.still_needed SELECT account_id, "
        "COALESCE(last_proposed, as_of) FROM actions "
        "WHERE exported_at IS NULL AND state IN ('pending', 'approved')"
    )


def newest_date(connection: sqlite3.Connection) -> date | None:
    row = connection.execute("SELECT MAX(as_of) FROM assessments").fetchone()
    return date.fromisoformat(row[0]) if row and row[0] else None


def prune(
    connection: sqlite3.Connection, path: Path, before: date, *, dry_run: bool = False
) -> PruneResult:
    """Drop the snapshots, assessment documents and measurement events of dates before
    `before`, then VACUUM.

    Kept: every assessment row's columns (trends, `measure`, `report` and the
    outbox read them), actions with their decisions and copies, review tasks,
    outcomes, runs and calibrations, and any document an undecided or
    unexported action still reads. The newest recorded date is never pruned.
    """
    newest = newest_date(connection)
    if newest is not None and before > newest:
        raise PruneError(
            f"--before {before} is after the newest recorded date ({newest}); prune keeps "
            f"that date's documents: use --before {newest} or earlier"
        )
    day = before.isoformat()
    size_before = _file_bytes(path)
    _note_still_needed(connection)
    counts = {
        "snapshots": connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(record_json)), 0) FROM snapshots WHERE as_of < ?",
            (day,),
        ).fetchone(),
        "assessments": connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(assessment_json)), 0) FROM assessments "
            f"WHERE as_of < ? AND assessment_json IS NOT NULL AND NOT {_STILL_NEEDED}",
            (day,),
        ).fetchone(),
        "kept": connection.execute(
            "SELECT COUNT(*) FROM assessments "
            f"WHERE as_of < ? AND assessment_json IS NOT NULL AND {_STILL_NEEDED}",
            (day,),
        ).fetchone(),
        # Events are read from their assessments' documents (dropped above), but for
        # those of replaced assessments.
        "events": connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(event_json)), 0) "
            "FROM measurement_events_replaced WHERE as_of < ?",
            (day,),
        ).fetchone(),
    }
    bases = 0
    if not dry_run:
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("DELETE FROM snapshots WHERE as_of < ?", (day,))
            connection.execute(
                "UPDATE assessments SET assessment_json = NULL WHERE as_of < ? "
                f"AND assessment_json IS NOT NULL AND NOT {_STILL_NEEDED}",
                (day,),
            )
            connection.execute("DELETE FROM measurement_events_replaced WHERE as_of < ?", (day,))
            bases = _drop_unused_bases(connection)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        vacuum(connection)
    else:
        bases = len(_unused_bases(connection, before=day))
    return PruneResult(
        before=before,
        dry_run=dry_run,
        snapshots=counts["snapshots"][0],
        assessment_documents=counts["assessments"][0],
        assessment_documents_kept=counts["kept"][0],
        measurement_events=counts["assessments"][0] + counts["events"][0],
        base_documents=bases,
        document_bytes=counts["snapshots"][1] + counts["assessments"][1] + counts["events"][1],
        file_bytes_before=size_before,
        file_bytes_after=size_before if dry_run else _file_bytes(path),
    )


def _referenced_bases(connection: sqlite3.Connection, before: str | None) -> set[int]:
    """Base documents a stored value names (`before`: as if that prune had run)."""
    keep_from = before or ""
    referenced: set[int] = set()
    _note_still_needed(connection)
    queries = (
        ("SELECT record_json FROM snapshots WHERE as_of >= ?", (keep_from,)),
        (
            "SELECT assessment_json FROM assessments WHERE assessment_json IS NOT NULL "
            f"AND (as_of >= ? OR {_STILL_NEEDED})",
            (keep_from,),
        ),
    )
    for sql, args in queries:
        for (value,) in connection.execute(sql, args):
            base = base_of(value)
            if base is not None:
                referenced.add(base)
    return referenced


def _unused_bases(connection: sqlite3.Connection, before: str | None = None) -> list[int]:
    referenced = _referenced_bases(connection, before)
    return [
        row[0]
        for row in connection.execute("SELECT base_id FROM document_bases")
        if row[0] not in referenced
    ]


def _drop_unused_bases(connection: sqlite3.Connection) -> int:
    unused = _unused_bases(connection)
    connection.executemany("DELETE FROM document_bases WHERE base_id = ?", [(b,) for b in unused])
    return len(unused)


def _file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def vacuum(connection: sqlite3.Connection) -> None:
    """Rewrite the database without its free pages and give them back to the disk."""
    connection.execute("VACUUM")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
