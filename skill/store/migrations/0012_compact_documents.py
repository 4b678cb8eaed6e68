"""A database that stays small: stored JSON documents are packed (skill/store/documents.py).

Every snapshot, assessment, measurement event and outbox copy of an action is
rewritten compressed with a dictionary trained on this database's own documents,
each account's assessments after its first as the difference from its base
document; each reads back as exactly the text it was. `assessments.assessment_json` may be
NULL from now on: `account-health db prune` drops old assessments' documents
and keeps their columns (scores, bands, flags, dimensions), which trends,
`measure` and `report` read. A snapshot's `record_hash` keeps the first 16 hex
digits (64 bits) of its SHA-256: it only tells one account's stored record of a
date from a new one.

The pages freed stay in the file until `account-health db vacuum` (or `db prune`)
gives them back to the disk. The assessments table is rebuilt with every index it
had; `assessments_by_date` is dropped when another of its indexes begins with
`as_of` (that one serves every query it did).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from skill.store.documents import BASED_KINDS, TRAIN_AT_MOST, TRAIN_FROM, documents

# (kind, table, column) of every stored document.
DOCUMENT_COLUMNS = (
    ("snapshot", "snapshots", "record_json"),
    ("assessment", "assessments", "assessment_json"),
    ("event", "measurement_events", "event_json"),
    ("action", "actions", "action_json"),
)
HASH_DIGITS = 16
CHUNK = 2000  # rows packed per statement batch
CACHE_KIB = 128 * 1024  # page cache while migrating (the default is 2 MiB)

_TABLES = (
    """
CREATE TABLE document_dictionaries (    -- what the packed documents were compressed with
    dictionary_id INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,             -- snapshot | assessment | event | action
    digest        TEXT NOT NULL UNIQUE,      -- sha256 of the dictionary
    samples       INTEGER NOT NULL,          -- documents it was trained on
    ratio         REAL NOT NULL,             -- packed / raw bytes, on documents not trained on
    created_at    TEXT NOT NULL,
    dictionary    BLOB NOT NULL
)""",
    """
CREATE TABLE document_bases (           -- an account's document later ones are stored against
    base_id     INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: a reader may cache a base
    kind        TEXT NOT NULL,               -- snapshot | assessment
    account_id  TEXT NOT NULL,
    document    BLOB NOT NULL                -- packed with its kind's dictionary
)""",
    "CREATE INDEX document_bases_by_account ON document_bases (kind, account_id)",
)

_ASSESSMENTS = """
CREATE TABLE assessments (
    account_id       TEXT NOT NULL,
    as_of            TEXT NOT NULL,
    automation_level TEXT NOT NULL,
    policy_version   TEXT NOT NULL,
    name             TEXT NOT NULL,
    segment          TEXT NOT NULL,
    owner            TEXT,
    arr              REAL,
    renewal_date     TEXT,
    score            INTEGER,
    band             TEXT NOT NULL,
    tier             TEXT NOT NULL,
    confidence       TEXT NOT NULL,
    legacy_total     INTEGER NOT NULL,
    legacy_band      TEXT NOT NULL,
    flags            TEXT NOT NULL,
    dimensions       TEXT NOT NULL,
    assessment_json  BLOB,                      -- packed; NULL once pruned
    run_id           TEXT NOT NULL REFERENCES runs(run_id),
    opportunities    TEXT,                      -- NULL: recorded before they existed
    PRIMARY KEY (account_id, as_of)
)"""

_COLUMNS = (
    "account_id, as_of, automation_level, policy_version, name, segment, owner, arr, "
    "renewal_date, score, band, tier, confidence, legacy_total, legacy_band, flags, "
    "dimensions, assessment_json, run_id, opportunities"
)


def upgrade(connection: sqlite3.Connection) -> None:
    cache = connection.execute("PRAGMA cache_size").fetchone()[0]
    # Pages stay in memory until the commit instead of being written to the
    # write-ahead log again each time they are touched.
    connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    try:
        _upgrade(connection)
    finally:
        connection.execute(f"PRAGMA cache_size={cache}")


def _upgrade(connection: sqlite3.Connection) -> None:
    for statement in _TABLES:
        connection.execute(statement)
    codec = documents(connection)
    for kind, table, column in DOCUMENT_COLUMNS:
        # The newest documents train the dictionary: the likeliest to resemble the next.
        texts = [
            row[0]
            for row in connection.execute(
                f"SELECT {column} FROM {table} WHERE typeof({column}) = 'text' "
                "ORDER BY rowid DESC LIMIT ?",
                (2 * TRAIN_AT_MOST,),
            )
        ]
        if len(set(texts)) >= TRAIN_FROM:
            codec.train(kind, texts)

    # assessment_json becomes nullable: SQLite cannot drop NOT NULL in place. The
    # rows are copied packed, so each is written once.
    # Every index of the table (other migrations may have added some) is made again
    # on the new one.
    indexes = [
        (name, sql)
        for name, sql in connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'assessments' AND sql IS NOT NULL ORDER BY name"
        )
    ]
    for name, _ in indexes:
        connection.execute(f'DROP INDEX "{name}"')
    connection.execute("ALTER TABLE assessments RENAME TO assessments_before_0012")
    connection.execute(_ASSESSMENTS)
    insert = f"INSERT INTO assessments ({_COLUMNS}) VALUES ({','.join('?' * 20)})"
    document = _COLUMNS.split(", ").index("assessment_json")
    for rows in _in_date_order(connection, "assessments_before_0012", f"rowid, {_COLUMNS}"):
        packed = codec.pack_all("assessment", [r[1 + document] for r in rows], [r[1] for r in rows])
        connection.executemany(
            insert,
            [
                (*r[1 : 1 + document], p, *r[2 + document :])
                for r, p in zip(rows, packed, strict=True)
            ],
        )
    connection.execute("DROP TABLE assessments_before_0012")
    for _, sql in indexes:
        connection.execute(sql)
    _drop_date_index_if_covered(connection)

    for kind, table, column in DOCUMENT_COLUMNS:
        if table != "assessments":
            _pack_column(connection, kind, table, column)
    connection.execute(
        "UPDATE snapshots SET record_hash = substr(record_hash, 1, ?) "
        "WHERE length(record_hash) > ?",
        (HASH_DIGITS, HASH_DIGITS),
    )


def _drop_date_index_if_covered(connection: sqlite3.Connection) -> None:
    """`assessments_by_date (as_of)` is a prefix of any other index that begins with
    as_of: that one serves every query it did, and each insert updates one index fewer."""
    for _, name, *_ in connection.execute("PRAGMA index_list(assessments)").fetchall():
        if name == "assessments_by_date":
            continue
        columns = [row[2] for row in connection.execute(f'PRAGMA index_info("{name}")')]
        if columns[:1] == ["as_of"]:
            connection.execute("DROP INDEX IF EXISTS assessments_by_date")
            return


def _in_date_order(
    connection: sqlite3.Connection, table: str, columns: str, where: str = "1"
) -> Iterator[list[tuple]]:
    """The table's rows in chunks, oldest date first: an account's earlier documents
    are packed before its later ones, which are stored against the base they made."""
    rowids = [
        row[0]
        for row in connection.execute(
            f"SELECT rowid FROM {table} WHERE {where} ORDER BY as_of, rowid"
        )
    ]
    for start in range(0, len(rowids), CHUNK):
        chunk = rowids[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        found = {
            row[0]: tuple(row)
            for row in connection.execute(
                f"SELECT {columns} FROM {table} WHERE rowid IN ({marks})", chunk
            )
        }
        yield [found[rowid] for rowid in chunk]


def _pack_column(connection: sqlite3.Connection, kind: str, table: str, column: str) -> None:
    """Pack every text value of the column, in place."""
    codec = documents(connection)
    based = kind in BASED_KINDS
    for rows in _in_date_order(
        connection, table, f"rowid, account_id, {column}", f"typeof({column}) = 'text'"
    ):
        texts = [r[2] for r in rows]
        packed = codec.pack_all(kind, texts, [r[1] for r in rows] if based else None)
        connection.executemany(
            f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
            zip(packed, (r[0] for r in rows), strict=True),
        )
