"""Recording runs: snapshots, assessments, outbox actions, review tasks, measurement events.

Writes go in batches, each in one transaction, so a run killed mid-way leaves
whole accounts or nothing; the rerun skips what is already there. Recording
the same input and `as_of` again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from skill.assessment import Action, Assessment
from skill.record import AccountRecord
from skill.store.db import now_utc
from skill.vocabulary import ActionStatus

BATCH_SIZE = 500

# Outbox states per engine status; only `pending` actions take a decision.
INITIAL_STATE = {
    ActionStatus.AUTO: "ready",
    ActionStatus.APPROVAL_REQUIRED: "pending",
    ActionStatus.RECOMMEND_ONLY: "recommended",
    ActionStatus.BLOCKED: "blocked",
}


def idempotency_key(account_id: str, action: str, as_of: date) -> str:
    """The same account, action and date always give the same key, downstream too."""
    return hashlib.sha256(f"{account_id}|{action}|{as_of.isoformat()}".encode()).hexdigest()[:32]


def record_hash(record: AccountRecord) -> str:
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    as_of: date
    automation_level: str
    policy_version: str
    source: str
    source_hash: str


def run_id_for(source_hash: str, as_of: date, level: str, policy_version: str) -> str:
    key = f"{source_hash}|{as_of.isoformat()}|{level}|{policy_version}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def start_run(connection: sqlite3.Connection, info: RunInfo) -> bool:
    """Registers the run; False when the same run already completed (nothing to do)."""
    row = connection.execute(
        "SELECT completed_at FROM runs WHERE run_id = ?", (info.run_id,)
    ).fetchone()
    if row is not None and row["completed_at"] is not None:
        return False
    if row is None:
        connection.execute(
            "INSERT INTO runs (run_id, as_of, automation_level, policy_version, source, "
            "source_hash, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                info.run_id,
                info.as_of.isoformat(),
                info.automation_level,
                info.policy_version,
                info.source,
                info.source_hash,
                now_utc(),
            ),
        )
    return True


def finish_run(connection: sqlite3.Connection, run_id: str, assessed: int, rejected: int) -> None:
    connection.execute(
        "UPDATE runs SET completed_at = ?, assessed = ?, rejected = ? WHERE run_id = ?",
        (now_utc(), assessed, rejected, run_id),
    )


def _batches(
    items: Iterable[tuple[AccountRecord, Assessment]], size: int
) -> Iterator[list[tuple[AccountRecord, Assessment]]]:
    batch: list[tuple[AccountRecord, Assessment]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def record_assessments(
    connection: sqlite3.Connection,
    run_id: str,
    items: Iterable[tuple[AccountRecord, Assessment]],
    batch_size: int = BATCH_SIZE,
) -> int:
    """Write each (record, assessment) pair; returns how many were new or changed."""
    written = 0
    for batch in _batches(items, batch_size):
        connection.execute("BEGIN IMMEDIATE")
        try:
            for record, assessment in batch:
                written += _record_one(connection, run_id, record, assessment)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return written


def _record_one(
    connection: sqlite3.Connection, run_id: str, record: AccountRecord, a: Assessment
) -> int:
    digest = record_hash(record)
    as_of = a.as_of.isoformat()
    existing = connection.execute(
        "SELECT record_hash FROM snapshots WHERE account_id = ? AND as_of = ?",
        (a.account_id, as_of),
    ).fetchone()
    if existing is not None and existing["record_hash"] == digest:
        return 0
    connection.execute(
        "INSERT OR REPLACE INTO snapshots (account_id, as_of, record_json, record_hash, run_id) "
        "VALUES (?, ?, ?, ?, ?)",
        (a.account_id, as_of, record.model_dump_json(), digest, run_id),
    )
    connection.execute(
        "INSERT OR REPLACE INTO assessments (account_id, as_of, automation_level, policy_version, "
        "name, segment, owner, arr, renewal_date, score, band, tier, confidence, legacy_total, "
        "legacy_band, flags, dimensions, assessment_json, run_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            a.account_id,
            as_of,
            a.automation_level.value,
            a.measurement_event.policy_version,
            a.name,
            a.segment.value,
            a.owner,
            a.arr,
            a.renewal_date.isoformat() if a.renewal_date else None,
            a.score,
            a.band.value,
            a.tier.value,
            a.confidence.value,
            a.legacy.total,
            a.legacy.band,
            json.dumps([f.code.value for f in a.flags]),
            json.dumps({d.dimension.value: d.score for d in a.dimensions}, sort_keys=True),
            a.model_dump_json(),
            run_id,
        ),
    )
    for action in a.actions:
        _record_action(connection, a, action)
    if a.review_task is not None:
        task = a.review_task
        connection.execute(
            "INSERT OR IGNORE INTO review_tasks (account_id, as_of, owner, due_date, reasons) "
            "VALUES (?, ?, ?, ?, ?)",
            (a.account_id, as_of, task.owner, task.due_date.isoformat(), json.dumps(task.reasons)),
        )
    event = a.measurement_event
    connection.execute(
        "INSERT OR REPLACE INTO measurement_events (event_id, account_id, as_of, event_json) "
        "VALUES (?, ?, ?, ?)",
        (event.event_id, a.account_id, as_of, event.model_dump_json()),
    )
    return 1


def _record_action(connection: sqlite3.Connection, a: Assessment, action: Action) -> None:
    """New actions enter the outbox; an action already decided keeps its decision."""
    key = idempotency_key(a.account_id, action.action, a.as_of)
    connection.execute(
        "INSERT INTO actions (action_key, account_id, as_of, action, kind, sensitivity, owner, "
        "owner_name, priority, due_date, status, state, action_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (action_key) DO UPDATE SET status = excluded.status, "
        "priority = excluded.priority, due_date = excluded.due_date, "
        "action_json = excluded.action_json, "
        "state = CASE WHEN actions.state IN ('approved', 'rejected') "
        "AND excluded.status = 'approval_required' THEN actions.state ELSE excluded.state END",
        (
            key,
            a.account_id,
            a.as_of.isoformat(),
            action.action,
            action.kind.value,
            action.sensitivity.value,
            action.owner,
            action.owner_name,
            action.priority.value,
            action.due_date.isoformat(),
            action.status.value,
            INITIAL_STATE[action.status],
            action.model_dump_json(),
        ),
    )


def previous_assessment(
    connection: sqlite3.Connection, account_id: str, before: date
) -> Assessment | None:
    """The latest recorded assessment strictly before `before`, for trends."""
    row = connection.execute(
        "SELECT assessment_json FROM assessments WHERE account_id = ? AND as_of < ? "
        "ORDER BY as_of DESC LIMIT 1",
        (account_id, before.isoformat()),
    ).fetchone()
    return None if row is None else Assessment.model_validate_json(row["assessment_json"])
