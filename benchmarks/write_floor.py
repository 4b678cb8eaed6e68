"""The least `run` can add to `assess`: the write side's floor, against the 0.8 target.

    python benchmarks/write_floor.py                  # N = 20,000 (~1 min)
    python benchmarks/write_floor.py --size 5000

Issue #11 asks `run` to go at 0.8 times the speed of `assess`: the whole write side
(the snapshot, the compressed assessment document, the outbox's action rows, the
review task, their indexes, the commit) may then cost at most a quarter of what
assessing an account costs. This measures, in one process and in CPU seconds:

  1. `assess --format jsonl` per account (in-process, to a null sink);
  2. one real `run` of the same file into a fresh database, recording the exact rows
     it hands SQLite (`executemany`: snapshots, assessments, actions, review tasks);
  3. those rows alone replayed into fresh databases in batches of the run's size
     and committed: with the store's schema, and with its primary keys only (no
     secondary index): what SQLite costs with no Python work around it at all;
  4. compressing the run's stored documents (assessment and snapshot, decoded back
     from the database) with zstd and a trained dictionary, at levels 1 and 3, with
     no base documents: the least any compressed store pays per account and date.

It prints the budget at 0.8 (a quarter of `assess`), the floor (3 with primary keys
only + the faster of 4) and the best ratio that floor allows, and the same again
without the outbox's action rows at all (a store that kept no queue). The floor leaves out
serialising the snapshot, hashing the action keys and everything else `run` does
in Python, so `run` can only be slower than it. The first date is measured: a later
date writes the same rows and also reads history and settles the queue.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import zstandard
from machine import CountingSink, _git_revision, _load
from synthetic import AS_OF, write_accounts_csv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 0.8
TRAIN_ON = 500  # documents a dictionary is trained on (as the store does at most)


def _options() -> dict:
    """What `assess` and `run` are both given: jsonl to a null sink, the default policy."""
    from skill.policy import load_policy
    from skill.vocabulary import AutomationLevel

    return {
        "output_format": "jsonl",
        "as_of": AS_OF,
        "level": AutomationLevel.BALANCED,
        "policy": load_policy(),
        "out": CountingSink(),
        "err": lambda _: None,
    }


def _assess_cpu(path: Path) -> float:
    from skill.pipeline import run_assessment

    options = _options()
    started = time.process_time()
    run_assessment(str(path), **options)
    return time.process_time() - started


def _recorded_run(path: Path, db: Path) -> tuple[float, list[tuple[str, list[tuple]]]]:
    """One real `run`, its CPU seconds, and the rows it gave `executemany`, in order."""
    import skill.store.db as store_db
    from skill.recording import run_recording

    calls: list[tuple[str, list[tuple]]] = []

    class Recording(store_db.HistoryConnection):
        def executemany(self, sql, rows):  # type: ignore[override]
            rows = list(rows)
            if not sql.lstrip().startswith(("INSERT INTO document_", "UPDATE document_")):
                calls.append((sql, rows))
            return super().executemany(sql, rows)

    connect = sqlite3.connect

    def recording_connect(*args, **kwargs):
        return connect(*args, **{**kwargs, "factory": Recording})

    options = _options()
    store_db.sqlite3.connect = recording_connect  # this process only, for this one run
    try:
        started = time.process_time()
        run_recording(str(path), db_path=db, **options)
        return time.process_time() - started, calls
    finally:
        store_db.sqlite3.connect = connect


def _replay(
    schema: list[str],
    calls: list[tuple[str, list[tuple]]],
    target: Path,
    indexes: bool,
) -> float:
    """CPU seconds to execute the recorded rows, committed per batch, into a fresh database."""
    connection = sqlite3.connect(target, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA cache_size=-32768")  # as `run` sets it
    for statement in schema:
        if indexes or not statement.startswith("CREATE INDEX"):
            connection.execute(statement)
    started = time.process_time()
    connection.execute("BEGIN")
    for sql, rows in calls:
        if sql.startswith("INSERT OR REPLACE INTO snapshots"):  # a new batch
            connection.execute("COMMIT")
            connection.execute("BEGIN")
        connection.executemany(sql, rows)
    connection.execute("COMMIT")
    connection.close()  # the checkpoint, as `run` pays it
    return time.process_time() - started


def _documents(db: Path) -> tuple[list[bytes], list[bytes]]:
    """The run's assessment and snapshot documents, as the text they were stored as."""
    from skill.store.db import connect

    connection = connect(db, create=False)
    try:
        assessments = [
            row[0].encode()
            for row in connection.execute("SELECT document(assessment_json) FROM assessments")
        ]
        snapshots = [
            row[0].encode()
            for row in connection.execute("SELECT document(record_json) FROM snapshots")
        ]
    finally:
        connection.close()
    return assessments, snapshots


def _compress_cpu(documents: list[bytes], level: int) -> tuple[float, int]:
    """CPU seconds and bytes to compress every document with a dictionary trained on some."""
    dictionary = zstandard.train_dictionary(64 * 1024, documents[:TRAIN_ON])
    dictionary.precompute_compress(level=level)
    compressor = zstandard.ZstdCompressor(
        level=level, dict_data=dictionary, write_checksum=False, write_dict_id=False
    )
    compress = compressor.compress
    started = time.process_time()
    packed = sum(len(compress(document)) for document in documents)
    return time.process_time() - started, packed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20_000, help="accounts (default 20000)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    n = args.size
    print(f"skill {ROOT} {_git_revision()}; N = {n:,}; seed {args.seed}; as_of {AS_OF}")
    print(f"load avg {_load()} at start (CPU seconds below are less skewed by it than wall)")
    with tempfile.TemporaryDirectory(prefix="write-floor-") as tmp:
        directory = Path(tmp)
        source = write_accounts_csv(directory / "accounts.csv", n, seed=args.seed)
        _assess_cpu(source)  # warm: imports, policy, first-call caches
        assess = min(_assess_cpu(source) for _ in range(2)) / n
        db = directory / "history.db"
        run, calls = _recorded_run(source, db)
        run /= n
        with sqlite3.connect(db) as connection:
            schema = [
                row[0]
                for row in connection.execute(
                    "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                    "AND name NOT LIKE 'sqlite_%' AND type IN ('table', 'index') "
                    "ORDER BY type DESC, rowid"
                )
            ]
        rows = {
            sql.split("(")[0].strip(): sum(len(r) for s, r in calls if s == sql) for sql, _ in calls
        }
        indexed = _replay(schema, calls, directory / "indexed.db", indexes=True) / n
        keys_only = _replay(schema, calls, directory / "keys.db", indexes=False) / n
        no_outbox = [(sql, rows) for sql, rows in calls if " actions " not in sql]
        without_actions = _replay(schema, no_outbox, directory / "bare.db", indexes=False) / n
        assessments, snapshots = _documents(db)
        compression = {}
        for level in (1, 3):
            cpu_a, size_a = _compress_cpu(assessments, level)
            cpu_s, size_s = _compress_cpu(snapshots, level)
            compression[level] = ((cpu_a + cpu_s) / n, (size_a + size_s) / n)
    raw = (sum(map(len, assessments)) + sum(map(len, snapshots))) / n
    budget = assess * (1 / TARGET_RATIO - 1)
    compress = min(cpu for cpu, _ in compression.values())
    floor = keys_only + compress
    us = 1e6
    print()
    print("rows `run` gave SQLite:")
    for statement, count in rows.items():
        if count:
            print(f"  {count:>9,}  {statement}")
    print()
    print(f"  assess, CPU per account                         {assess * us:7.1f} µs")
    print(f"  run, CPU per account                            {run * us:7.1f} µs")
    print(f"    so run / assess speed                         {assess / run:7.2f}")
    print(f"  budget for all writing at {TARGET_RATIO}: assess x 0.25     {budget * us:7.1f} µs")
    print(f"  SQLite alone, the run's rows, store's schema    {indexed * us:7.1f} µs")
    print(f"  SQLite alone, the run's rows, primary keys only {keys_only * us:7.1f} µs")
    for level, (cpu, size) in compression.items():
        print(
            f"  zstd level {level} + dictionary, both documents    {cpu * us:7.1f} µs"
            f"  ({raw:,.0f} -> {size:,.0f} bytes per account)"
        )
    print(f"  floor (primary keys only + the faster zstd)     {floor * us:7.1f} µs")
    print(f"  best run / assess that floor allows             {assess / (assess + floor):7.2f}")
    bare = without_actions + compress
    print(f"  the same with no outbox rows at all             {bare * us:7.1f} µs")
    print(f"  best run / assess that allows                   {assess / (assess + bare):7.2f}")
    verdict = "out of reach" if floor > budget else "within reach"
    print()
    print(
        f"the floor is {floor / budget:.2f}x the budget: {TARGET_RATIO} is {verdict} "
        "with the rows the store keeps"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
