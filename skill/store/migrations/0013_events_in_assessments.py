"""Measurement events are read from their assessments: a view, not a table of copies.

Every assessment document holds its measurement event, written the same way as
the event's own row: the `measurement_events` table kept each one twice (about
140 bytes per account per date, and a write per account). It becomes a view
with the same columns, reading the event from the assessment's document
(`measurement_event(assessment_json)`, see skill/store/documents.py).

An event that is not its assessment's (the assessment was replaced since under
another automation level or policy, so the event has another id) is moved to
`measurement_events_replaced`, as it was stored, and the view lists it too, as
it does an event whose assessment has no document: nothing logged is lost.
"""

from __future__ import annotations

import sqlite3

from skill.store.documents import documents, event_id_of, measurement_event

CHUNK = 2000

REPLACED = """
CREATE TABLE measurement_events_replaced (  -- events of assessments replaced since
    event_id    TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    event_json  BLOB NOT NULL                 -- packed (skill/store/documents.py)
)"""

VIEW = """
CREATE VIEW measurement_events (event_id, account_id, as_of, event_json) AS
SELECT measurement_event_id(assessment_json), account_id, as_of,
       measurement_event(assessment_json)
  FROM assessments WHERE assessment_json IS NOT NULL
UNION ALL
SELECT event_id, account_id, as_of, event_json FROM measurement_events_replaced"""


def _carried(event_id: str, event: str | None, assessment: str | None) -> bool:
    """Whether the assessment's document holds this very event (id and text)."""
    if assessment is None:
        return False
    inside = measurement_event(assessment)
    return inside == event and event_id_of(inside) == event_id


def upgrade(connection: sqlite3.Connection) -> None:
    connection.execute(REPLACED)
    text = documents(connection).text
    rowids = [r[0] for r in connection.execute("SELECT rowid FROM measurement_events")]
    for start in range(0, len(rowids), CHUNK):
        chunk = rowids[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        kept = [
            (event_id, account_id, as_of, value)
            for event_id, account_id, as_of, value, assessment in connection.execute(
                "SELECT e.event_id, e.account_id, e.as_of, e.event_json, a.assessment_json "
                "FROM measurement_events AS e LEFT JOIN assessments AS a "
                "ON a.account_id = e.account_id AND a.as_of = e.as_of "
                f"WHERE e.rowid IN ({marks})",
                chunk,
            )
            if not _carried(event_id, text(value), text(assessment))
        ]
        connection.executemany(
            "INSERT INTO measurement_events_replaced (event_id, account_id, as_of, event_json) "
            "VALUES (?, ?, ?, ?)",
            kept,
        )
    connection.execute("DROP TABLE measurement_events")
    connection.execute(VIEW)
