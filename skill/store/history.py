"""Recording runs: snapshots, assessments, outbox actions, review tasks.

A measurement event is not written on its own: it is part of its assessment's
document, and the `measurement_events` view reads it from there (see
`skill.store.documents.measurement_event`).

Writes go in batches, each in one transaction, so a run killed mid-way leaves
whole accounts or nothing; the rerun skips what is already there. Recording
the same input and `as_of` again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, TypeVar

import orjson

from skill.assessment import Action, Assessment, PriorAssessment, to_json
from skill.record import AccountRecord
from skill.store.db import DatabaseUnavailable, check_path, now_utc, unusable
from skill.store.documents import Documents, documents, event_id_of, measurement_event
from skill.vocabulary import ActionStatus

# Accounts per write transaction. Larger batches dirty each page of the outbox's
# random-key index fewer times per account (a week-later run of 100,000 accounts:
# 80 s at 500, 66 s at 2,000, no better at 5,000); a kill -9 redoes at most one.
BATCH_SIZE = 2000
T = TypeVar("T")

# Outbox states per engine status; only `pending` actions take a decision.
INITIAL_STATE = {
    ActionStatus.AUTO: "ready",
    ActionStatus.APPROVAL_REQUIRED: "pending",
    ActionStatus.RECOMMEND_ONLY: "recommended",
    ActionStatus.BLOCKED: "blocked",
}


#: The same, by the status's value (an enum member's own hash is a Python call).
_INITIAL_BY_STATUS = {status.value: state for status, state in INITIAL_STATE.items()}


def idempotency_key(account_id: str, action: str, as_of: date) -> str:
    """The same account, action and date always give the same key, downstream too."""
    return _key(account_id, action, as_of.isoformat())


def _key(account_id: str, action: str, as_of: str) -> str:
    """`idempotency_key` with the date as its ISO text (the writer has it at hand)."""
    return _sha256(f"{account_id}|{action}|{as_of}".encode()).hexdigest()[:32]


_sha256 = hashlib.sha256


#: Hex digits of a snapshot's `record_hash` (64 bits): enough to tell one account's
#: stored record of a date from a new one.
HASH_DIGITS = 16


def record_hash(record: AccountRecord) -> str:
    return _digest(to_json(record))


def _digest(record_json: str) -> str:
    return _sha256(record_json.encode()).hexdigest()[:HASH_DIGITS]


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
        # OR IGNORE: the same run started twice at once registers once.
        connection.execute(
            "INSERT OR IGNORE INTO runs (run_id, as_of, automation_level, policy_version, source, "
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


def batches(items: Iterable[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items: the unit of one write transaction."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Prepared(NamedTuple):
    """One account's rows, serialised: what a batch holds instead of the models.

    The documents (snapshot, assessment and each action's copy) are JSON text
    here; `record_prepared` packs the ones it writes. `event_id` is the
    assessment's measurement event's (the event itself is in the assessment).

    Holding 500 assessments (hundreds of small objects each) until their batch
    commits made the cyclic garbage collector run far more often; strings and
    tuples of them are cheap to keep. Tuples only (no lists): a tuple of strings
    leaves the collector's care at its first pass, so a batch held does not make
    it walk the whole heap again and again.
    """

    account_id: str
    as_of: str
    record_hash: str
    snapshot: tuple
    assessment: tuple
    actions: tuple[tuple, ...]
    review_task: tuple | None
    event_id: str

    @property
    def version(self) -> tuple[str, str, str]:
        """What makes a stored row current: the input, the level and the policy."""
        return (self.record_hash, self.assessment[2], self.assessment[3])


def prepare(record: AccountRecord, a: Assessment, run_id: str) -> Prepared:
    """Serialise one account's snapshot, assessment, actions and review task."""
    record_json = to_json(record)
    digest = _digest(record_json)
    as_of = a.as_of.isoformat()
    task = a.review_task
    return Prepared(
        a.account_id,
        as_of,
        digest,
        (a.account_id, as_of, record_json, digest, run_id),
        _assessment_row(a, as_of, run_id),
        tuple([_action_row(a, as_of, action) for action in a.actions]),
        None
        if task is None
        else (a.account_id, as_of, task.owner, task.due_date.isoformat(), json.dumps(task.reasons)),
        a.measurement_event.event_id,
    )


def record_assessments(
    connection: sqlite3.Connection,
    run_id: str,
    items: Iterable[tuple[AccountRecord, Assessment]],
    batch_size: int = BATCH_SIZE,
) -> int:
    """Write each (record, assessment) pair; returns how many were new or changed."""
    prepared = (prepare(record, assessment, run_id) for record, assessment in items)
    return sum(record_prepared(connection, batch) for batch in batches(prepared, batch_size))


def record_batch(
    connection: sqlite3.Connection,
    run_id: str,
    batch: list[tuple[AccountRecord, Assessment]],
) -> int:
    """Write one batch of (record, assessment) pairs in one transaction."""
    return record_prepared(connection, [prepare(r, a, run_id) for r, a in batch])


_INSERT_SNAPSHOT = (
    "INSERT OR REPLACE INTO snapshots (account_id, as_of, record_json, record_hash, run_id) "
    "VALUES (?, ?, ?, ?, ?)"
)
_INSERT_ASSESSMENT = (
    "INSERT OR REPLACE INTO assessments (account_id, as_of, automation_level, policy_version, "
    "name, segment, owner, arr, renewal_date, score, band, tier, confidence, legacy_total, "
    "legacy_band, flags, dimensions, assessment_json, run_id, opportunities) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# New actions enter the outbox; an action already decided keeps its decision, and
# one decided or exported keeps the copy of the action it was decided or sent as.
# A row a later assessment carried forward (last_proposed after this date) is
# that assessment's to change, not this one's.
_UPSERT_ACTION = (
    "INSERT INTO actions (action_key, account_id, as_of, action, kind, sensitivity, owner, "
    "owner_name, priority, due_date, status, state, action_json, last_proposed, superseded_by) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?3, ?14) "
    "ON CONFLICT (action_key) DO UPDATE SET status = excluded.status, "
    "priority = excluded.priority, due_date = excluded.due_date, "
    "action_json = CASE WHEN actions.state IN ('approved', 'rejected') "
    "OR actions.exported_at IS NOT NULL THEN actions.action_json ELSE excluded.action_json END, "
    "state = CASE WHEN actions.state IN ('approved', 'rejected') "
    "AND excluded.status = 'approval_required' THEN actions.state ELSE excluded.state END, "
    "superseded_by = CASE WHEN actions.state IN ('approved', 'rejected') "
    "AND excluded.status = 'approval_required' THEN actions.superseded_by "
    "ELSE excluded.superseded_by END "
    "WHERE COALESCE(actions.last_proposed, actions.as_of) <= excluded.as_of"
)
# A corrected snapshot's task takes the new owner, date and reasons; a person's
# `state` (open / done) stays.
_UPSERT_REVIEW_TASK = (
    "INSERT INTO review_tasks (account_id, as_of, owner, due_date, reasons) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, as_of) DO UPDATE SET "
    "owner = excluded.owner, due_date = excluded.due_date, reasons = excluded.reasons"
)
# SQLite's default limit on host parameters is 999 before 3.32, 32766 after.
_IN_CHUNK = 900


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _known_versions(
    connection: sqlite3.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, str, str]]:
    """What is stored for these (account_id, as_of) keys: record hash, level, policy version."""
    by_date: dict[str, list[str]] = {}
    for account_id, as_of in keys:
        by_date.setdefault(as_of, []).append(account_id)
    known: dict[tuple[str, str], tuple[str, str, str]] = {}
    for as_of, accounts in by_date.items():
        for chunk in _chunks(list(dict.fromkeys(accounts))):
            marks = ",".join("?" * len(chunk))
            for account_id, digest, level, version in connection.execute(
                "SELECT s.account_id, s.record_hash, a.automation_level, a.policy_version "
                "FROM snapshots s LEFT JOIN assessments a "
                "ON a.account_id = s.account_id AND a.as_of = s.as_of "
                f"WHERE s.as_of = ? AND s.account_id IN ({marks})",
                (as_of, *chunk),
            ):
                known[(account_id, as_of)] = (digest, level, version)
    return known


def record_prepared(connection: sqlite3.Connection, batch: list[Prepared]) -> int:
    """Write one batch in one transaction; returns how many accounts were new or changed.

    An account whose snapshot for that `as_of` is stored with the same content
    hash, and assessed at the same automation level under the same policy
    version, is skipped, so reruns and resumed runs write nothing twice; the
    same input under another level or policy replaces that date's assessment.
    An account listed twice for the same date is written once, as its last
    listing says.
    """
    last = {(p.account_id, p.as_of): index for index, p in enumerate(batch)}
    connection.execute("BEGIN IMMEDIATE")
    try:
        known = _known_versions(connection, last)
        written = [
            p
            for index, p in enumerate(batch)
            if last[(p.account_id, p.as_of)] == index
            and known.get((p.account_id, p.as_of)) != p.version
        ]
        for p in written:
            if (p.account_id, p.as_of) in known:
                _drop_replaced(connection, p, known[(p.account_id, p.as_of)])
        written, copies = _packed(documents(connection), written)
        queue = _settle_queue(connection, written, copies)
        connection.executemany(_INSERT_SNAPSHOT, [p.snapshot for p in written])
        connection.executemany(_INSERT_ASSESSMENT, [p.assessment for p in written])
        connection.executemany(_UPSERT_ACTION, queue.actions)
        connection.executemany(_UPSERT_REVIEW_TASK, queue.tasks)
        queue.apply(connection)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return len(written)


def _packed(codec: Documents, batch: list[Prepared]) -> tuple[list[Prepared], dict[str, bytes]]:
    """The batch with its snapshots and assessments packed (skill/store/documents.py),
    and each distinct outbox copy's packed value (its rows take it as the queue is
    settled: each action row is built once more, not twice)."""
    if not batch:
        return batch, {}
    accounts = [p.account_id for p in batch]
    snapshots = codec.pack_all("snapshot", [p.snapshot[2] for p in batch], accounts)
    assessments = codec.pack_all("assessment", [p.assessment[17] for p in batch], accounts)
    texts = [row[12] for p in batch for row in p.actions]
    copies = dict(zip(texts, codec.pack_all("action", texts), strict=True))
    # Prepared(...) by position: NamedTuple._replace is a Python-level call per account.
    return [
        Prepared(
            p[0],
            p[1],
            p[2],
            (*p.snapshot[:2], snapshot, *p.snapshot[3:]),
            (*p.assessment[:17], assessment, *p.assessment[18:]),
            p[5],
            p[6],
            p[7],
        )
        for p, snapshot, assessment in zip(batch, snapshots, assessments, strict=True)
    ], copies


def _assessment_row(a: Assessment, as_of: str, run_id: str) -> tuple:
    # `_value_`: an enum member's value without the property lookup `.value` costs.
    return (
        a.account_id,
        as_of,
        a.automation_level._value_,
        a.measurement_event.policy_version,
        a.name,
        a.segment._value_,
        a.owner,
        a.arr,
        a.renewal_date.isoformat() if a.renewal_date else None,
        a.score,
        a.band._value_,
        a.tier._value_,
        a.confidence._value_,
        a.legacy.total,
        a.legacy.band,
        # Compact JSON written by hand (codes and dimension names are plain words,
        # scores integers): json.dumps with separators builds a new encoder per call.
        "[" + ",".join(f'"{f.code._value_}"' for f in a.flags) + "]",
        "{"
        + ",".join(
            f'"{name}":{score}'
            for name, score in sorted((d.dimension._value_, d.score) for d in a.dimensions)
        )
        + "}",
        to_json(a),
        run_id,
        # As json.dumps writes the list (", " between items): codes are plain words.
        "[" + ", ".join(f'"{o.code._value_}"' for o in a.opportunities) + "]",
    )


def _action_row(a: Assessment, as_of: str, action: Action) -> tuple:
    return (
        _key(a.account_id, action.action, as_of),
        a.account_id,
        as_of,
        action.action,
        action.kind._value_,
        action.sensitivity._value_,
        action.owner,
        action.owner_name,
        action.priority._value_,
        action.due_date.isoformat(),
        action.status._value_,
        _INITIAL_BY_STATUS[action.status._value_],
        # What the outbox shows beyond its columns. The whole action, with its
        # policy trace, is in the assessment's JSON; the outbox keeps a copy of
        # it once the action is decided or exported (see outbox.py).
        _outbox_copy(action.label, tuple(action.evidence)),
        None,  # superseded_by: set when the queue is settled (`_settle_queue`)
    )


@lru_cache(maxsize=4096)
def _outbox_copy(label: str, evidence: tuple[str, ...]) -> str:
    """An action's label and evidence as the outbox keeps them: a few hundred distinct."""
    return json.dumps({"label": label, "evidence": list(evidence)})


def _drop_replaced(
    connection: sqlite3.Connection, p: Prepared, stored: tuple[str, str, str]
) -> None:
    """A corrected snapshot replaces its date's assessment: drop what it no longer calls for.

    Only rows nobody has acted on go: outbox actions the new assessment does not
    trigger that were never decided or exported (nor carried forward by a later
    assessment), and an open review task it no longer raises. Decided or
    exported actions and done tasks stay, as history. The replaced assessment's
    measurement event stays logged when it was another event (another level or
    policy: another event id), as `measurement_events_replaced`.
    """
    _keep_replaced_event(connection, p, stored)
    keep = [row[0] for row in p.actions]
    still = f"AND action_key NOT IN ({','.join('?' * len(keep))}) " if keep else ""
    connection.execute(
        "DELETE FROM actions WHERE account_id = ? AND as_of = ? AND exported_at IS NULL "
        "AND COALESCE(last_proposed, as_of) = as_of "
        f"AND state NOT IN ('approved', 'rejected') {still}AND NOT EXISTS "
        "(SELECT 1 FROM action_decisions d WHERE d.action_key = actions.action_key)",
        (p.account_id, p.as_of, *keep),
    )
    if p.review_task is None:
        connection.execute(
            "DELETE FROM review_tasks WHERE account_id = ? AND as_of = ? "
            "AND state IN ('open', 'also_at_risk')",
            (p.account_id, p.as_of),
        )


def _keep_replaced_event(
    connection: sqlite3.Connection, p: Prepared, stored: tuple[str, str, str]
) -> None:
    """Keep the event of an assessment replaced under another level or policy.

    The same level and policy give the same event id: that event is replaced, as
    its assessment is. A new event id leaves the old event logged, as it was when
    events had a table of their own.
    """
    connection.execute("DELETE FROM measurement_events_replaced WHERE event_id = ?", (p.event_id,))
    if tuple(stored[1:]) == p.version[1:]:
        return
    row = connection.execute(
        "SELECT document(assessment_json) FROM assessments WHERE account_id = ? AND as_of = ?",
        (p.account_id, p.as_of),
    ).fetchone()
    if row is None or row[0] is None:
        return
    event = measurement_event(row[0])
    connection.execute(
        "INSERT OR REPLACE INTO measurement_events_replaced "
        "(event_id, account_id, as_of, event_json) VALUES (?, ?, ?, ?)",
        (event_id_of(event), p.account_id, p.as_of, documents(connection).pack("event", event)),
    )


# A pending action of an account as `_live_items` reads it, before the account's
# newer assessment is written: (action_key, account_id, action, as_of, last_proposed),
# oldest first. An open review task: (account_id, as_of, due_date). Plain tuples, as
# SQLite returns them: a week-later run reads a few of each per account.
_KEY, _ACTION, _AS_OF, _LAST = 0, 2, 3, 4
_TASK_AS_OF, _TASK_DUE = 1, 2


@dataclass
class QueueChanges:
    """What recording a batch does to the queues, beyond inserting its own rows.

    `actions` and `tasks` are the rows to upsert (carried-over actions left
    out); the rest are updates applied after them in the same transaction.
    """

    actions: list[tuple] = field(default_factory=list)
    tasks: list[tuple] = field(default_factory=list)
    carried: list[tuple] = field(default_factory=list)
    superseded_actions: list[tuple] = field(default_factory=list)
    superseded_tasks: list[tuple] = field(default_factory=list)

    def apply(self, connection: sqlite3.Connection) -> None:
        connection.executemany(
            "UPDATE actions SET last_proposed = ?, priority = ?, status = ?, action_json = ? "
            "WHERE action_key = ? AND state = 'pending'",
            self.carried,
        )
        connection.executemany(
            "UPDATE actions SET state = 'superseded', superseded_by = ? "
            "WHERE action_key = ? AND state = 'pending'",
            self.superseded_actions,
        )
        connection.executemany(
            "UPDATE review_tasks SET superseded_from = state, state = 'superseded', "
            "superseded_by = ? "
            "WHERE account_id = ? AND as_of = ? AND state IN ('open', 'also_at_risk')",
            self.superseded_tasks,
        )


def _live_items(
    connection: sqlite3.Connection, accounts: list[str], earliest: str
) -> tuple[dict[str, str], dict[str, list[tuple]], dict[str, list[tuple]]]:
    """Per account: its newest recorded date if after `earliest` (the batch's first
    date), pending actions (oldest first, then by action) and open review tasks."""
    newest: dict[str, str] = {}
    pending: dict[str, list[tuple]] = defaultdict(list)
    tasks: dict[str, list[tuple]] = defaultdict(list)
    cursor = connection.cursor()
    cursor.row_factory = None  # plain tuples
    # Recording the newest date (every weekly run): nothing recorded is newer than the
    # batch, so no account's newest date needs looking up.
    latest_anywhere = cursor.execute("SELECT MAX(as_of) FROM assessments").fetchone()[0]
    out_of_order = latest_anywhere is not None and latest_anywhere > earliest
    for chunk in _chunks(accounts):
        marks = ",".join("?" * len(chunk))
        if out_of_order:
            for account_id, latest in cursor.execute(
                "SELECT account_id, MAX(as_of) FROM assessments "
                f"WHERE account_id IN ({marks}) GROUP BY account_id",
                chunk,
            ):
                newest[account_id] = latest
        for row in cursor.execute(
            "SELECT action_key, account_id, action, as_of, COALESCE(last_proposed, as_of) "
            # The partial index, named: without ANALYZE statistics SQLite picks the
            # (state, ...) index and reads every pending action for each chunk.
            "FROM actions INDEXED BY actions_pending_by_account "
            f"WHERE state = 'pending' AND account_id IN ({marks}) "
            "ORDER BY account_id, as_of, action",
            chunk,
        ):
            pending[row[1]].append(row)
        for row in cursor.execute(
            "SELECT account_id, as_of, due_date FROM review_tasks "
            # `+state`: not by the (state, ...) queue index, which reads every open task
            # in the database for each chunk, but by account (the primary key).
            f"WHERE +state IN ('open', 'also_at_risk') AND account_id IN ({marks})",
            chunk,
        ):
            tasks[row[0]].append(row)
    return newest, pending, tasks


_PENDING = INITIAL_STATE[ActionStatus.APPROVAL_REQUIRED]


def _settle_queue(
    connection: sqlite3.Connection, written: list[Prepared], copies: dict[str, bytes]
) -> QueueChanges:
    """Keep one live item per account and action: supersede or carry over older ones.

    For each account's newest assessment: an older pending action it proposes
    again (approval_required) stays the live item, with this date as its
    `last_proposed` and this assessment's priority and evidence (its id and
    due date stay, so downstream keys hold and overdue stays overdue); any
    other older pending action becomes `superseded`. Older open review tasks
    become `superseded` and the new task, if any, keeps the earliest due date
    among them. Decided, auto, recommended and blocked rows are never touched.
    An assessment recorded after a newer one (dates out of order) enters its
    pending actions and open task as superseded by the newer one at once.
    `copies`: the packed value of each action row's outbox copy (its text).
    """
    changes = QueueChanges()
    newest, pending, tasks = _live_items(
        connection,
        list(dict.fromkeys(p.account_id for p in written)),
        min((p.as_of for p in written), default=""),
    )
    for p in written:
        newest[p.account_id] = max(newest.get(p.account_id, p.as_of), p.as_of)
    # Only an account's newest date (one entry: `record_prepared` keeps one per account
    # and date) gets past the first branch, so what it leaves live is never read again.
    for p in sorted(written, key=lambda p: (p.account_id, p.as_of)):
        day, latest = p.as_of, newest[p.account_id]
        if day < latest:
            changes.actions += [
                (*row[:11], "superseded", copies[row[12]], latest)
                if row[11] == _PENDING
                else (*row[:12], copies[row[12]], None)
                for row in p.actions
            ]
            if p.review_task is not None:
                changes.tasks.append(p.review_task)
                changes.superseded_tasks.append((latest, p.account_id, day))
            continue
        live = pending[p.account_id]
        if not live and not tasks[p.account_id]:
            # Nothing live before this date (an account's first, most of a first run):
            # its rows go in as they are.
            changes.actions += [(*row[:12], copies[row[12]], None) for row in p.actions]
            if p.review_task is not None:
                changes.tasks.append(p.review_task)
            continue
        proposed = {row[3]: row for row in p.actions if row[11] == _PENDING}
        carried: set[str] = set()
        for item in live:
            if item[_AS_OF] >= day or item[_LAST] > day:
                continue
            action = item[_ACTION]
            row = proposed.get(action)
            if row is not None and action not in carried:
                carried.add(action)
                changes.carried.append((day, row[8], row[10], copies[row[12]], item[_KEY]))
            else:
                changes.superseded_actions.append((day, item[_KEY]))
        for row in p.actions:
            if row[11] == _PENDING and row[3] in carried:
                continue
            changes.actions.append((*row[:12], copies[row[12]], None))
        older = [t for t in tasks[p.account_id] if t[_TASK_AS_OF] < day]
        changes.superseded_tasks += [(day, p.account_id, t[_TASK_AS_OF]) for t in older]
        task = p.review_task
        if task is not None:
            due = min([task[3], *(t[_TASK_DUE] for t in older)])
            changes.tasks.append((*task[:3], due, *task[4:]))
    return changes


def prior_assessments(
    connection: sqlite3.Connection, keys: Iterable[tuple[str, date]], depth: int
) -> dict[tuple[str, date], list[PriorAssessment]]:
    """For each (account_id, as_of): up to `depth` recorded assessments before that date.

    Oldest first, read from the assessments' columns (never their JSON). One
    query per distinct date per 900 accounts; keys with no earlier assessment
    are absent from the result.
    """
    by_date: dict[date, list[str]] = {}
    for account_id, as_of in keys:
        by_date.setdefault(as_of, []).append(account_id)
    found: dict[tuple[str, date], list[PriorAssessment]] = {}
    for before, accounts in by_date.items():
        for chunk in _chunks(list(dict.fromkeys(accounts))):
            marks = ",".join("?" * len(chunk))
            rows = connection.execute(
                "SELECT account_id, as_of, score, band, dimensions FROM ("
                "SELECT account_id, as_of, score, band, dimensions, ROW_NUMBER() OVER "
                "(PARTITION BY account_id ORDER BY as_of DESC) AS newest "
                f"FROM assessments WHERE as_of < ? AND account_id IN ({marks})"
                ") WHERE newest <= ? ORDER BY account_id, as_of",
                (before.isoformat(), *chunk, depth),
            )
            for account_id, as_of, score, band, dimensions in rows:
                found.setdefault((account_id, before), []).append(
                    PriorAssessment(
                        as_of=as_of, score=score, band=band, dimensions=orjson.loads(dimensions)
                    )
                )
    return found


class HistoryReader:
    """Earlier assessments from a history database opened read-only.

    For `assess --db` and the MCP server: they read history to raise trend
    flags but never write, so a missing or unusable database is an error here,
    not a new empty one.
    """

    def __init__(self, path: Path | str, depth: int) -> None:
        location = Path(path)
        try:
            check_path(location, must_exist=True)
        except DatabaseUnavailable as exc:
            raise HistoryUnavailable(str(exc)) from None
        self.depth = depth
        self.connection = sqlite3.connect(
            f"{location.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0
        )
        try:
            self.connection.execute(
                "SELECT as_of, score, band, dimensions FROM assessments LIMIT 1"
            )
        except sqlite3.DatabaseError as exc:
            self.connection.close()
            raise HistoryUnavailable(unusable(location, exc)) from None

    def __call__(
        self, keys: list[tuple[str, date]]
    ) -> dict[tuple[str, date], list[PriorAssessment]]:
        return prior_assessments(self.connection, keys, self.depth)

    def close(self) -> None:
        self.connection.close()


class HistoryUnavailable(LookupError):
    """The history database to read from is missing or is not one."""


def stored_assessment(
    connection: sqlite3.Connection, account_id: str, as_of: date | None = None
) -> Assessment | None:
    """The assessment recorded for an account on `as_of` (default: its latest), whole.

    The one place that reads a stored assessment document back, for the shells that
    show an account (the browser workspace's account page and its API). None when
    the account has no assessment recorded (on that date).
    """
    if as_of is None:
        row = connection.execute(
            "SELECT document(assessment_json) FROM assessments WHERE account_id = ? "
            "ORDER BY as_of DESC LIMIT 1",
            (account_id,),
        ).fetchone()
    else:
        row = connection.execute(
            "SELECT document(assessment_json) FROM assessments WHERE account_id = ? AND as_of = ?",
            (account_id, as_of.isoformat()),
        ).fetchone()
    return None if row is None else Assessment.model_validate_json(row[0])
