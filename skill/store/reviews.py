"""Owner review tasks (seed 003): list them, and record that a person reviewed one.

The engine opens a review task when a score change is tied to renewal risk, an
escalation, a sharp drop or a high-value account; the run's review budget keeps
the highest-ranked ones open and records the rest as `also_at_risk` (see
`apply_review_budget`). Closing either is a person's act:
`done` records who and when (UTC), with an optional note. Reviewing an account
closes its earlier open tasks too (a CSM who checked the account today has
seen everything the older tasks asked about); each says which review closed it.

Recording a newer assessment of an account supersedes its older open (and
also_at_risk) tasks: one live task per account, the newest, which keeps the
earliest due date among those it replaced. Superseded tasks stay for audit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from skill.store.db import now_utc

# also_at_risk: a review reason holds, but the run's review budget ranked the
# account below its limit (see skill.review_budget); a person may still review it.
# superseded: open until a newer assessment of the account was recorded.
ReviewState = Literal["open", "done", "also_at_risk", "superseded"]


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
    superseded_by: date | None = Field(
        default=None,
        description="State superseded: the date of the newer assessment that replaced "
        "this open task. Null otherwise.",
    )


class ReviewTaskList(BaseModel):
    """`review list --format json`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int
    tasks: list[ReviewTaskItem]
    next_offset: int | None = Field(
        default=None,
        description="With a limit: the --offset that continues the list; null at its end.",
    )


class ReviewDone(BaseModel):
    """`review done --format json`: the task closed, and earlier ones closed with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: ReviewTaskItem
    also_closed: list[ReviewTaskItem]


_SELECT = (
    "SELECT r.account_id, s.name, r.as_of, r.owner, r.due_date, r.reasons, r.state, "
    "r.done_by, r.done_at, r.note, r.superseded_by FROM review_tasks r "
    "LEFT JOIN assessments s ON s.account_id = r.account_id AND s.as_of = r.as_of "
)


def _item(row: tuple) -> ReviewTaskItem:
    account_id, name, as_of, owner, due, reasons, state, by, at, note, superseded_by = row
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
        superseded_by=superseded_by,
    )


def list_review_tasks(
    connection: sqlite3.Connection,
    *,
    state: ReviewState | None = None,
    owner: str | None = None,
    account: str | None = None,
    as_of: date | None = None,
    since: date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ReviewTaskItem]:
    """`iter_review_tasks` as a list."""
    return list(
        iter_review_tasks(
            connection,
            state=state,
            owner=owner,
            account=account,
            as_of=as_of,
            since=since,
            limit=limit,
            offset=offset,
        )
    )


def iter_review_tasks(
    connection: sqlite3.Connection,
    *,
    state: ReviewState | None = None,
    owner: str | None = None,
    account: str | None = None,
    as_of: date | None = None,
    since: date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[ReviewTaskItem]:
    """Tasks by due date, then account and date, one row at a time.

    Without a `state`, every state but `superseded`. `as_of`: the tasks of
    that assessment date; `since`: of that date or later.
    """
    where: list[str] = []
    args: list[object] = []
    for column, value in (("r.state", state), ("r.owner", owner), ("r.account_id", account)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if state is None:
        where.append("r.state != 'superseded'")
    if as_of is not None:
        where.append("r.as_of = ?")
        args.append(as_of.isoformat())
    if since is not None:
        where.append("r.as_of >= ?")
        args.append(since.isoformat())
    if (limit is not None and limit < 0) or offset < 0:
        raise ReviewError("limit and offset must be 0 or more")
    sql = (
        _SELECT
        + f"WHERE {' AND '.join(where)} "
        + "ORDER BY r.due_date, r.account_id, r.as_of LIMIT ? OFFSET ?"
    )
    for row in connection.execute(sql, [*args, -1 if limit is None else limit, offset]):
        yield _item(tuple(row))


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
        if target.state == "superseded":
            raise ReviewError(
                f"the review task for {account_id} as of {target.as_of} was superseded by the "
                f"assessment of {target.superseded_by}; review that one (omit --as-of)"
            )
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
        counts = connection.execute(
            "SELECT state, COUNT(*) FROM review_tasks WHERE account_id = ? GROUP BY state "
            "ORDER BY state",
            (account_id,),
        ).fetchall()
        if counts:
            recorded = ", ".join(f"{n} {state}" for state, n in counts)
            raise ReviewError(f"{account_id} has no open review task ({recorded})")
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
