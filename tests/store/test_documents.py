"""Stored documents are packed small and read back byte for byte.

A run's snapshots, assessments and outbox copies are
compressed with dictionaries trained on the database's own documents, and an
account's later snapshots and assessments are stored as the difference from its
base document; `document(...)` in SQL and `Documents.text` give the exact text.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import zstandard
from weekly_history import record_weeks, weeks

from skill.store.db import connect
from skill.store.documents import (
    AGAINST_BASE,
    ALONE,
    BASE_STREAM,
    CONTINUES_BASE,
    SAME_AS_BASE,
    TRAIN_FROM,
    WITH_DICTIONARY,
    DocumentError,
    Documents,
)
from skill.store.history import prior_assessments

DOCUMENT_COLUMNS = (
    ("snapshots", "record_json"),
    ("assessments", "assessment_json"),
    ("actions", "action_json"),
)


@pytest.fixture
def conn(tmp_path: Path):
    connection = connect(tmp_path / "history.sqlite3")
    yield connection
    connection.close()


def formats(connection: sqlite3.Connection, table: str, column: str) -> set[int]:
    return {
        bytes(row[0])[0]
        for row in connection.execute(f"SELECT {column} FROM {table}")
        if row[0] is not None
    }


def test_a_few_documents_are_packed_without_a_dictionary_and_read_back(conn) -> None:
    record_weeks(conn, 4, weeks(1))

    assert conn.execute("SELECT COUNT(*) FROM document_dictionaries").fetchone()[0] == 0
    assert formats(conn, "snapshots", "record_json") == {ALONE}
    for table, column in DOCUMENT_COLUMNS:
        for text, raw in conn.execute(f"SELECT document({column}), {column} FROM {table}"):
            assert text.startswith("{") and isinstance(raw, bytes)


def test_a_large_batch_trains_one_dictionary_per_kind(conn) -> None:
    record_weeks(conn, TRAIN_FROM + 16, weeks(1))

    kinds = [r[0] for r in conn.execute("SELECT kind FROM document_dictionaries ORDER BY kind")]
    assert kinds == ["action", "assessment", "snapshot"]
    assert formats(conn, "snapshots", "record_json") == {WITH_DICTIONARY}
    assert formats(conn, "actions", "action_json") == {WITH_DICTIONARY}


def test_later_dates_are_stored_against_the_accounts_base_and_much_smaller(conn) -> None:
    dates = weeks(3)
    record_weeks(conn, TRAIN_FROM + 16, dates)

    first, later = (
        conn.execute(
            "SELECT AVG(LENGTH(assessment_json)), AVG(LENGTH(document(assessment_json))) "
            "FROM assessments WHERE as_of = ?",
            (day.isoformat(),),
        ).fetchone()
        for day in (dates[0], dates[2])
    )
    # The first date's documents are the bases themselves: a reference each.
    assert formats(conn, "assessments", "assessment_json") >= {SAME_AS_BASE, CONTINUES_BASE}
    assert first[0] < 8
    assert later[0] < later[1] / 10  # a later date: a small difference from its base
    bases = conn.execute("SELECT AVG(LENGTH(document)) FROM document_bases").fetchone()[0]
    assert bases < first[1] / 5  # the bases themselves: packed with the dictionary


def test_every_document_reads_back_exactly_as_the_engine_wrote_it(conn) -> None:
    """The JSON `assess` prints is what `document(assessment_json)` gives, on every date."""
    from insights_support import record
    from weekly_history import varied_accounts

    printed = {}
    for week, day in enumerate(weeks(3)):
        for a in record(conn, varied_accounts(TRAIN_FROM + 16, week), day):
            printed[(a.account_id, day.isoformat())] = a.model_dump_json()
    stored = {
        (account_id, day): text
        for account_id, day, text in conn.execute(
            "SELECT account_id, as_of, document(assessment_json) FROM assessments"
        )
    }
    assert stored == printed


def test_a_document_that_drifts_far_from_its_base_makes_a_new_base(conn) -> None:
    codec = Documents(conn)
    conn.execute("BEGIN")
    first = codec.pack_all("assessment", ['{"a":"' + "x" * 400 + '"}'], ["ACC-1"])
    same = codec.pack_all("assessment", ['{"a":"' + "x" * 400 + '"}'], ["ACC-1"])
    far = codec.pack_all("assessment", ['{"b":"' + "0123456789" * 60 + '"}'], ["ACC-1"])
    conn.execute("COMMIT")

    assert first == same and first[0][0] == SAME_AS_BASE
    assert far[0][0] == SAME_AS_BASE and far != first  # a new base, not a long difference
    assert conn.execute("SELECT COUNT(*) FROM document_bases").fetchone()[0] == 2
    assert Documents(conn).text(far[0]) == '{"b":"' + "0123456789" * 60 + '"}'


def test_text_written_by_code_that_does_not_pack_reads_as_it_is(conn) -> None:
    assert Documents(conn).text('{"plain": true}') == '{"plain": true}'
    assert Documents(conn).text(None) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"", "empty value"),
        (b"\x7fjunk", "unknown document format 0x7f"),
        (b"\x01\x05junk", "dictionary 5 is not in the database"),
        (b"\x03\x09", "base document 9 is not in the database"),
        (b"\x00not zstd", "does not decompress"),
    ],
)
def test_a_damaged_value_is_an_error_naming_what_is_wrong(conn, value: bytes, message) -> None:
    with pytest.raises(DocumentError, match=message):
        Documents(conn).text(value)


def test_trends_read_the_assessment_columns_not_the_documents(conn) -> None:
    """The engine's history comes from columns: packing changes nothing it reads."""
    dates = weeks(3)
    record_weeks(conn, 8, dates)

    found = prior_assessments(conn, [("ACC-0001", dates[2])], depth=4)

    assert [p.as_of.isoformat() for p in found[("ACC-0001", dates[2])]] == [
        dates[0].isoformat(),
        dates[1].isoformat(),
    ]


def test_a_deleted_base_id_is_never_given_to_another_document(conn) -> None:
    """A reader that cached a base pruned since must not decode a new one with it."""
    codec = Documents(conn)
    conn.execute("BEGIN")
    codec.pack_all("assessment", ['{"a":1}', '{"b":2}'], ["ACC-1", "ACC-2"])
    newest = conn.execute("SELECT MAX(base_id) FROM document_bases").fetchone()[0]
    conn.execute("DELETE FROM document_bases WHERE base_id = ?", (newest,))
    codec.pack_all("assessment", ['{"c":3}'], ["ACC-3"])
    conn.execute("COMMIT")

    ids = [r[0] for r in conn.execute("SELECT base_id FROM document_bases ORDER BY base_id")]
    assert ids == [newest - 1, newest + 1]


def test_a_later_document_continues_its_base_stream_and_reads_back(conn) -> None:
    codec = Documents(conn)
    week1 = '{"account":"ACC-1","as_of":"2026-11-23","evidence":"' + "logins 120 " * 40 + '"}'
    week2 = week1.replace("2026-11-23", "2026-11-30").replace("120", "131", 3)
    conn.execute("BEGIN")
    first = codec.pack_all("assessment", [week1], ["ACC-1"])[0]
    later = codec.pack_all("assessment", [week2], ["ACC-1"])[0]
    conn.execute("COMMIT")

    assert first[0] == SAME_AS_BASE and later[0] == CONTINUES_BASE
    assert len(later) < len(week2) / 10
    fresh = Documents(conn)  # a reader with nothing cached
    assert (fresh.text(first), fresh.text(later)) == (week1, week2)


def test_a_base_stream_this_zstd_would_write_differently_gets_a_new_base(conn) -> None:
    """A continuation is only valid after the very bytes stored: when the base's stream
    made again differs (another zstd, say), the document becomes a new base."""
    codec = Documents(conn)
    text = '{"a":"' + "steady words " * 40 + '"}'
    conn.execute("BEGIN")
    codec.pack_all("assessment", [text], ["ACC-1"])
    stream = zstandard.ZstdCompressor(level=19, write_checksum=False).compressobj()
    other = stream.compress(text.encode()) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    conn.execute("UPDATE document_bases SET document = ?", (bytes([BASE_STREAM, 0]) + other,))
    changed = text.replace("steady", "stable", 1)
    later = Documents(conn).pack_all("assessment", [changed], ["ACC-1"])[0]
    conn.execute("COMMIT")

    assert later[0] == SAME_AS_BASE
    assert conn.execute("SELECT COUNT(*) FROM document_bases").fetchone()[0] == 2
    assert Documents(conn).text(later) == changed


def test_a_difference_stored_against_a_raw_base_still_reads_back(conn) -> None:
    """Databases written before bases were streams hold 0x02 values: still readable."""
    base, text = '{"a":"' + "x" * 300 + '"}', '{"a":"' + "x" * 299 + 'y"}'
    packed_base = bytes([ALONE]) + zstandard.ZstdCompressor().compress(base.encode())
    conn.execute(
        "INSERT INTO document_bases (base_id, kind, account_id, document) "
        "VALUES (7, 'assessment', 'ACC-1', ?)",
        (packed_base,),
    )
    raw = zstandard.ZstdCompressionDict(base.encode(), dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    delta = zstandard.ZstdCompressor(dict_data=raw, write_dict_id=False).compress(text.encode())

    assert Documents(conn).text(bytes([AGAINST_BASE, 7]) + delta) == text


def test_a_continuation_of_a_base_that_starts_no_stream_is_an_error(conn) -> None:
    conn.execute(
        "INSERT INTO document_bases (base_id, kind, account_id, document) "
        "VALUES (4, 'assessment', 'ACC-1', ?)",
        (bytes([ALONE]) + zstandard.ZstdCompressor().compress(b"{}"),),
    )
    with pytest.raises(DocumentError, match="base document 4 does not start a stream"):
        Documents(conn).text(bytes([CONTINUES_BASE, 4]) + b"junk")


def test_an_account_whose_base_was_written_before_streams_gets_a_stream_base(conn) -> None:
    """A database packed by the code before (bases compressed whole) records on: the
    account's next document starts a new base, and both read back."""
    old_text, new_text = (
        '{"a":"' + "older words " * 30 + '"}',
        '{"a":"' + "newer words " * 30 + '"}',
    )
    conn.execute(
        "INSERT INTO document_bases (base_id, kind, account_id, document) "
        "VALUES (3, 'assessment', 'ACC-1', ?)",
        (bytes([ALONE]) + zstandard.ZstdCompressor().compress(old_text.encode()),),
    )
    conn.execute("BEGIN")
    packed = Documents(conn).pack_all("assessment", [new_text], ["ACC-1"])[0]
    conn.execute("COMMIT")

    newest = conn.execute("SELECT MAX(base_id), COUNT(*) FROM document_bases").fetchone()
    assert packed == bytes([SAME_AS_BASE, newest[0]]) and newest[1] == 2
    reader = Documents(conn)
    assert reader.text(packed) == new_text and reader.text(bytes([SAME_AS_BASE, 3])) == old_text
