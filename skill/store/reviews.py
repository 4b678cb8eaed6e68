"""Owner review tasks (seed 003): list them, and record that a person reviewed one.

The engine opens a review task when a score change is tied to renewal risk, an
escalation, a sharp drop or a high-value account; the run's review budget keeps
the highest-ranked ones open and records the rest as `also_at_risk` (see
`apply_review_budget`). Closing either is a person's act:
`done` records who and when (UTC), with an optional note. Reviewing an account
closes its earlier open tasks too (a CSM who checked the account today has
seen everything the older tasks asked about); each says which review closed it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from skill.store.db import now_utc

# also_at_risk: a review reason holds, but the run's review budget ranked the
# account below its limit (see skill.review_budget); a person may still review it.
ReviewState = Literal["open", "done", "also_at_risk"]


class ReviewError(ValueError):
    """A request the review queue refuses: no such task, or already done."""


class ReviewTaskItem(BaseModel):
    """One owner review task, as `review list` shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    account_name: str | None
    as_of: date
    owner: str
    due_date: date
    reasons: list[str]
    state: ReviewState
    done_by: str | None
    done_at: str | None = Field(description="UTC time the task was closed (ISO 8601).")
    note: str | None


class ReviewTaskList(BaseModel):
    """`review list --format json`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int
    tasks: list[ReviewTaskItem]


class ReviewDone(BaseModel):
    """`review done --format json`: the task closed, and earlier ones closed with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: ReviewTaskItem
    also_closed: list[ReviewTaskItem]


_SELECT = (
    "SELECT r.account_id, s.name, r.as_of, r.owner, r.due_date, r.reasons, r.state, "
    "r.done_by, r.done_at, r.note FROM review_tasks r "
    "LEFT JOIN assessments s ON s.account_id = r.account_id AND s.as_of = r.as_of "
)


def _item(row: tuple) -> ReviewTaskItem:
    account_id, name, as_of, owner, due, reasons, state, by, at, note = row
    return ReviewTaskItem(
        account_id=account_id,
        account_name=name,
        as_of=as_of,
        owner=owner,
        due_date=due,
        reasons=json.loads(reasons),
        state=state,
        done_by=by,
        done_at=at,
        note=note,
    )


def list_review_tasks(
    connection: sqlite3.Connection,
    *,
    state: ReviewState | None = None,
    owner: str | None = None,
    account: str | None = None,
) -> list[ReviewTaskItem]:
    """Tasks by due date, then account and date."""
    where, args = [], []
    for column, value in (("r.state", state), ("r.owner", owner), ("r.account_id", account)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = connection.execute(
        _SELECT + clause + "ORDER BY r.due_date, r.account_id, r.as_of", args
    ).fetchall()
    return [_item(tuple(row)) for row in rows]


def complete_review(
    connection: sqlite3.Connection,
    account_id: str,
    *,
    by: str,
    as_of: date | None = None,
    note: str | None = None,
) -> ReviewDone:
    """Close the account's task at `as_of` (default: its latest open one) and older open ones."""
    if not by.strip():
        raise ReviewError("--by must name the person who reviewed the account")
    connection.execute("BEGIN IMMEDIATE")
    try:
        target = _target(connection, account_id, as_of)
        if target.state == "done":
            raise ReviewError(
                f"the review task for {account_id} as of {target.as_of} was already done by "
                f"{target.done_by} at {target.done_at}"
            )
        at = now_utc()
        day = target.as_of.isoformat()
        connection.execute(
            "UPDATE review_tasks SET state = 'done', done_by = ?, done_at = ?, note = ? "
            "WHERE account_id = ? AND as_of = ?",
            (by, at, note, account_id, day),
        )
        earlier = [
            row[0]
            for row in connection.execute(
                "SELECT as_of FROM review_tasks WHERE account_id = ? AND as_of < ? "
                "AND state IN ('open', 'also_at_risk') ORDER BY as_of",
                (account_id, day),
            )
        ]
        connection.execute(
            "UPDATE review_tasks SET state = 'done', done_by = ?, done_at = ?, note = ? "
            "WHERE account_id = ? AND as_of < ? AND state IN ('open', 'also_at_risk')",
            (by, at, f"closed with the review of {day}", account_id, day),
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return ReviewDone(
        task=_one(connection, account_id, day),
        also_closed=[_one(connection, account_id, d) for d in earlier],
    )


def _one(connection: sqlite3.Connection, account_id: str, as_of: str) -> ReviewTaskItem:
    row = connection.execute(
        _SELECT + "WHERE r.account_id = ? AND r.as_of = ?", (account_id, as_of)
    ).fetchone()
    return _item(tuple(row))


def _target(connection: sqlite3.Connection, account_id: str, as_of: date | None) -> ReviewTaskItem:
    if as_of is not None:
        row = connection.execute(
            _SELECT + "WHERE r.account_id = ? AND r.as_of = ?", (account_id, as_of.isoformat())
        ).fetchone()
        if row is None:
            raise ReviewError(f"no review task for {account_id} as of {as_of}")
        return _item(tuple(row))
    row = connection.execute(
        _SELECT + "WHERE r.account_id = ? AND r.state IN ('open', 'also_at_risk') "
        "ORDER BY r.as_of DESC LIMIT 1",
        (account_id,),
    ).fetchone()
    if row is None:
        recorded = connection.execute(
            "SELECT COUNT(*) FROM review_tasks WHERE account_id = ?", (account_id,)
        ).fetchone()[0]
        if recorded:
            raise ReviewError(f"{account_id} has no open review task ({recorded} done)")
        raise ReviewError(f"no review task for {account_id}")
    return _item(tuple(row))


def apply_review_budget(
    connection: sqlite3.Connection,
    kept: list[tuple[str, date]],
    deferred: list[tuple[str, date]],
) -> None:
    """Record a run's review budget: deferred tasks become also_at_risk, kept ones open.

    Only tasks nobody has closed change; a task kept by a later run of the same
    date opens again. One transaction.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.executemany(
            "UPDATE review_tasks SET state = 'also_at_risk' "
            "WHERE account_id = ? AND as_of = ? AND state = 'open'",
            [(a, d.isoformat()) for a, d in deferred],
        )
        connection.executemany(
            "UPDATE review_tasks SET state = 'open' "
            "WHERE account_id = ? AND as_of = ? AND state = 'also_at_risk'",
            [(a, d.isoformat()) for a, d in kept],
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
