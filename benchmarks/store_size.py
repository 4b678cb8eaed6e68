"""Database size: bytes per account per recorded date, before and after packing documents.

    python benchmarks/store_size.py                          # 5,000 accounts x 4 weekly dates
    python benchmarks/store_size.py --accounts 20000 --weeks 8 --keep /tmp/sizes

One run measures both layouts on the same data:
  1. `after`: N seeded synthetic accounts (benchmarks/synthetic.py) recorded on W
     weekly dates with the real `run` code path (`skill.recording.run_recording`),
     into a fresh database. Each week the export moves on as a CRM's does: every
     sync date a week later, about 30% of accounts with new login counts, 20% with
     a changed ticket count, 5% with a new CSAT.
  2. `before`: the same rows written into a database of the schema before packing
     (version 11), each table in the order the runs wrote it, with its documents
     as JSON text and the full SHA-256 record hash: what the store held for the
     same runs before this change.
  3. `migrated`: a copy of `before` opened by the current code, which migrates it
     (migrations 0012 on: documents packed, measurement events read from their
     assessments), then VACUUMed: what an existing database becomes. Every
     document of it (each measurement event too) is checked against `before`,
     byte for byte.
Sizes are SQLite's page counts per table with its indexes (the `dbstat` table),
divided by N x W. Target (issue #11): at most 2 KB (2,048 bytes) per account per
recorded date, all tables and indexes included, for `after`. PASS or MISS is
printed; the exit status is 0 either way.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import platform
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from synthetic import AS_OF, FIELDS, write_accounts_csv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_BYTES = 2048
BEFORE_VERSION = 11  # the last schema that stored documents as JSON text
# Dates a weekly export moves on (the renewal date stays put).
SYNC_DATES = (
    "last_survey_date",
    "last_exec_touch_date",
    "last_customer_reply_date",
    "crm_synced_at",
    "support_synced_at",
    "product_synced_at",
)
DOCUMENTS = {
    "snapshots": ("record_json", "account_id, as_of"),
    "assessments": ("assessment_json", "account_id, as_of"),
    "measurement_events": ("event_json", "event_id"),
    "actions": ("action_json", "action_key"),
}


def _later(value: str, days: int) -> str:
    return (date.fromisoformat(value) + timedelta(days=days)).isoformat() if value else value


def weekly_files(folder: Path, accounts: int, weeks: int, seed: int) -> list[tuple[date, Path]]:
    """The same accounts exported `weeks` times, a week apart, drifting as a CRM does."""
    base = write_accounts_csv(folder / "accounts.csv", accounts, seed=seed)
    with base.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rng = random.Random(seed + 1)
    files = []
    for week in range(weeks):
        day = AS_OF + timedelta(days=7 * week)
        path = folder / f"week-{week}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            writer.writeheader()
            for row in rows:
                moved = {k: _later(row[k], 7 * week) for k in (*SYNC_DATES, "as_of")}
                writer.writerow({**row, **moved})
        files.append((day, path))
        for row in rows:  # next week's changes
            if row["logins_30d"] and rng.random() < 0.3:
                row["logins_30d"] = str(int(int(row["logins_30d"]) * rng.uniform(0.8, 1.2)))
            if row["open_tickets"] and rng.random() < 0.2:
                row["open_tickets"] = str(max(0, int(row["open_tickets"]) + rng.randint(-1, 2)))
            if row["csat"] and rng.random() < 0.05:
                row["csat"] = f"{min(5.0, max(1.0, float(row['csat']) + rng.uniform(-1, 1))):.1f}"
    return files


def record_weeks(db: Path, files: list[tuple[date, Path]]) -> list[float]:
    from skill.policy import load_policy
    from skill.recording import run_recording
    from skill.vocabulary import AutomationLevel

    policy = load_policy()
    seconds = []
    for day, path in files:
        started = time.perf_counter()
        code = run_recording(
            str(path),
            db_path=db,
            output_format="jsonl",
            as_of=day,
            level=AutomationLevel.BALANCED,
            policy=policy,
            out=io.StringIO(),
            err=lambda message: None,
        )
        seconds.append(time.perf_counter() - started)
        if code != 0:
            raise SystemExit(f"run of {path} exited {code}")
    return seconds


def write_before(after: Path, before: Path) -> None:
    """`after`'s rows in the schema before packing: documents as text, full record hash."""
    from skill.store.db import HistoryConnection, migrate

    old = sqlite3.connect(before, isolation_level=None, factory=HistoryConnection)
    migrate(old, up_to=BEFORE_VERSION)
    old.execute("PRAGMA journal_mode=WAL")
    old.close()
    connection = sqlite3.connect(after, isolation_level=None, factory=HistoryConnection)
    connection.create_function(
        "sha256_hex", 1, lambda text: hashlib.sha256(text.encode()).hexdigest()
    )
    connection.execute("ATTACH DATABASE ? AS old", (str(before),))
    connection.execute("BEGIN")
    for table in ("runs", "snapshots", "assessments", "measurement_events", "actions"):
        columns = [r[1] for r in connection.execute(f"PRAGMA old.table_info({table})")]
        document = DOCUMENTS.get(table, ("",))[0]
        values = [
            f"document({c})"
            if c == document
            else ("sha256_hex(document(record_json))" if c == "record_hash" else c)
            for c in columns
        ]
        connection.execute(
            f"INSERT INTO old.{table} ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM main.{table} ORDER BY rowid"
        )
    for table in ("review_tasks", "action_decisions", "outcomes"):
        columns = [r[1] for r in connection.execute(f"PRAGMA old.table_info({table})")]
        connection.execute(
            f"INSERT INTO old.{table} ({', '.join(columns)}) "
            f"SELECT {', '.join(columns)} FROM main.{table} ORDER BY rowid"
        )
    connection.execute("COMMIT")
    connection.execute("DETACH DATABASE old")
    connection.close()


def sizes(path: Path) -> tuple[dict[str, int], int, int]:
    """Bytes per table (with its indexes), the used bytes, and the file's bytes."""
    from skill.store.db import HistoryConnection
    from skill.store.maintenance import database_stats

    connection = sqlite3.connect(path, factory=HistoryConnection)
    try:
        stats = database_stats(connection, path)
    finally:
        connection.close()
    tables = {t.table: t.bytes for t in stats.tables}
    return tables, stats.database_bytes - stats.free_bytes, path.stat().st_size


def mismatches(before: Path, migrated: Path) -> tuple[int, int]:
    """Documents of `migrated` that differ from `before`'s text, and how many were compared."""
    from skill.store.db import connect

    old = sqlite3.connect(before)
    new = connect(migrated, create=False)
    differ = compared = 0
    try:
        for table, (column, key) in DOCUMENTS.items():
            sql = f"SELECT {key}, {{}} FROM {table} ORDER BY {key}"
            for a, b in zip(
                old.execute(sql.format(column)),
                new.execute(sql.format(f"document({column})")),
                strict=True,
            ):
                compared += 1
                differ += a != tuple(b)
    finally:
        old.close()
        new.close()
    return differ, compared


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", metavar="DIR", help="keep the CSVs and databases here")
    args = parser.parse_args(argv)
    n, weeks = args.accounts, args.weeks
    account_dates = n * weeks

    print("account-health store size: bytes per account per recorded date")
    print(f"  python     {platform.python_version()}; sqlite {sqlite3.sqlite_version}")
    print(f"  accounts   {n:,} x {weeks} weekly dates from {AS_OF} (seed {args.seed})")
    with tempfile.TemporaryDirectory(prefix="ah-store-size-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        after, before, migrated = (
            folder / f"{name}.sqlite3" for name in ("after", "before", "migrated")
        )
        for stale in [
            *folder.glob("after.sqlite3*"),
            *folder.glob("before.sqlite3*"),
            *folder.glob("migrated.sqlite3*"),
        ]:
            stale.unlink()
        files = weekly_files(folder, n, weeks, args.seed)
        seconds = record_weeks(after, files)
        print("  run s      " + ", ".join(f"{s:.1f}" for s in seconds) + " (one per date)")
        write_before(after, before)
        shutil.copyfile(before, migrated)
        started = time.perf_counter()
        from skill.store.db import connect
        from skill.store.maintenance import vacuum

        connection = connect(migrated, create=False)
        migration_s = time.perf_counter() - started
        migrated_unvacuumed = sum(p.stat().st_size for p in folder.glob("migrated.sqlite3*"))
        vacuum(connection)
        connection.close()
        differ, compared = mismatches(before, migrated)

        before_tables, before_used, before_file = sizes(before)
        after_tables, after_used, after_file = sizes(after)
        migrated_tables, migrated_used, migrated_file = sizes(migrated)

    print()
    per_date = account_dates

    def cells(*values: int) -> str:
        return " ".join(f"{v / per_date:>9,.0f}" for v in values)

    header = (
        f"{'table (with its indexes)':<26} {'before':>9} {'after':>9} {'ratio':>7} {'migrated':>9}"
    )
    print("bytes per account per date")
    print(header)
    print("-" * len(header))
    names = sorted(
        set(before_tables) | set(after_tables),
        key=lambda t: (-before_tables.get(t, 0), -after_tables.get(t, 0)),
    )
    for table in names:
        b, a = before_tables.get(table, 0), after_tables.get(table, 0)
        m = migrated_tables.get(table, 0)
        if b + a < 3 * per_date:  # a page or two: bookkeeping tables
            continue
        ratio = f"{a / b:.3f}" if b else "new"
        print(f"{table:<26} {cells(b)} {cells(a)} {ratio:>7} {cells(m)}")
    print("-" * len(header))
    used_ratio = after_used / before_used
    file_ratio = after_file / before_file
    print(
        f"{'all pages in use':<26} {cells(before_used, after_used)} {used_ratio:>7.3f} "
        f"{cells(migrated_used)}"
    )
    print(
        f"{'file on disk':<26} {cells(before_file, after_file)} {file_ratio:>7.3f} "
        f"{cells(migrated_file)}"
    )
    print()
    print(f"  before     {before_file / 1e6:,.1f} MB: the same rows in the schema before packing")
    print(f"  after      {after_file / 1e6:,.1f} MB: recorded by `run`, not vacuumed")
    print(
        f"  migrated   {migrated_unvacuumed / 1e6:,.1f} MB with its log right after migration "
        f"0012 on ({migration_s:.1f} s), {migrated_file / 1e6:,.1f} MB after `db vacuum`"
    )
    print(f"  documents  {compared:,} compared after migration, {differ:,} differ")
    print()
    per = after_file / account_dates
    verdict = "PASS" if per <= TARGET_BYTES and differ == 0 else "MISS"
    print("target")
    print(
        f"  {verdict}  at most {TARGET_BYTES:,} bytes per account per recorded date (file on disk, "
        f"every table and index): {per:,.0f} after, {before_file / account_dates:,.0f} before "
        f"(x{after_file / before_file:.3f}); every migrated document byte-identical: "
        f"{'yes' if differ == 0 else 'NO'}"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
