"""The action outbox: the approval queue, its decisions, and ready-to-send payloads.

The engine decides each action's `status`; the outbox only tracks what people
and downstream systems did with it (`state`). Nothing here changes a status:

- `ready` (status `auto`) and `approved` actions are exported as payloads;
- `pending` (status `approval_required`) actions take one decision, approve or
  reject, recorded with who, when and why;
- `recommended` (`recommend_only`) actions are suggestions a person carries
  out, and `blocked` actions must not happen: neither can be approved;
- `superseded` actions were pending when a newer assessment of the account
  stopped proposing them (see `skill.store.history._settle_queue`): kept for
  audit, never exported, never approved. A pending action proposed again stays
  the one live item, with `last_proposed` the latest date that proposed it.

Every payload carries the idempotency key (account, action, as_of) so a
downstream system that sees it twice acts once. Export is at-least-once: rows
are marked exported in the same transaction that read them, committed only
after the caller has consumed (written) every payload.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from skill.store.db import now_utc
from skill.store.documents import documents
from skill.vocabulary import ActionStatus

#: Outbox states, in the order a table lists them.
STATES = ("ready", "pending", "approved", "rejected", "recommended", "blocked", "superseded")
#: States that leave the outbox as payloads, with the engine status each requires.
EXPORTABLE = {"ready": ActionStatus.AUTO.value, "approved": ActionStatus.APPROVAL_REQUIRED.value}
#: The shortest id prefix accepted in place of a full idempotency key.
MIN_PREFIX = 8

# Slack Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
_HEADER_MAX = 150
_FIELD_MAX = 2000
_CONTEXT_MAX = 2000


class OutboxError(ValueError):
    """A request the outbox refuses: unknown or ambiguous id, or a decision not allowed."""


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DecisionRecord(Model):
    """One person's decision on a pending action."""

    decision: Literal["approve", "reject"]
    decided_by: str
    decided_at: str
    reason: str | None


class OutboxItem(Model):
    """One action in the outbox, as `actions list` shows it."""

    action_key: str
    account_id: str
    account_name: str | None
    as_of: date
    action: str
    label: str
    kind: str
    sensitivity: str
    owner: str
    owner_name: str | None
    priority: str
    due_date: date
    status: ActionStatus
    state: str
    exported_at: str | None
    decision: DecisionRecord | None
    evidence: list[str]
    last_proposed: date = Field(
        description="The latest assessment date that proposed this action. Later than "
        "as_of when a pending action was proposed again and carried over (one item, its "
        "id and due date unchanged); label, priority and evidence are from that date."
    )
    superseded_by: date | None = Field(
        default=None,
        description="State superseded: the date of the newer assessment that no longer "
        "proposed this pending action. Null otherwise.",
    )


class ActionList(Model):
    """`actions list --format json`."""

    count: int
    actions: list[OutboxItem]
    next_offset: int | None = Field(
        default=None,
        description="With a limit: the --offset that continues the list; null at its end.",
    )


class SlackMessage(Model):
    """A Slack Block Kit message: `text` is the notification fallback."""

    text: str
    blocks: list[dict[str, Any]]


class CrmUpdate(Model):
    """A field update on the CRM account record."""

    object: Literal["account"] = "account"
    id: str
    fields: dict[str, Any]


class TaskPayload(Model):
    """Anything else: a task for the owner to carry out."""

    type: Literal["task"] = "task"
    title: str
    account_id: str
    account_name: str | None
    owner: str
    owner_role: str
    priority: str
    due_date: date
    evidence: list[str]


class ExportPayload(Model):
    """One line of `actions export`: the action and what to send."""

    idempotency_key: str
    account_id: str
    account_name: str | None
    action: str
    label: str
    kind: str
    as_of: date
    owner: str
    owner_name: str | None
    priority: str
    due_date: date
    status: ActionStatus
    approved_by: str | None
    approved_at: str | None
    payload: SlackMessage | CrmUpdate | TaskPayload


# -- reading ------------------------------------------------------------------------

# Each action with its account's name and its latest decision, if any.
_FROM = (
    "FROM actions x "
    "LEFT JOIN assessments s ON s.account_id = x.account_id "
    "AND s.as_of = COALESCE(x.last_proposed, x.as_of) "
    "LEFT JOIN (SELECT action_key, MAX(decision_id) AS decision_id FROM action_decisions "
    "GROUP BY action_key) latest ON latest.action_key = x.action_key "
    "LEFT JOIN action_decisions d ON d.decision_id = latest.decision_id "
)
# `document(...)`: the packed JSON columns as their text (skill/store/documents.py).
_COLUMNS = (
    "SELECT x.*, document(x.action_json) AS action_text, s.name AS account_name, "
    "d.decision, d.decided_by, d.decided_at, d.reason "
)
_SELECT = _COLUMNS + _FROM
_SELECT_WITH_ASSESSMENT = (
    _COLUMNS + ", document(s.assessment_json) AS assessment_text, s.score AS assessed_score, "
    "s.band AS assessed_band, s.tier AS assessed_tier, s.confidence AS assessed_confidence, "
    "s.flags AS assessed_flags " + _FROM
)
_ORDER = " ORDER BY x.as_of, x.account_id, x.action"


def _item(row: sqlite3.Row) -> OutboxItem:
    action = json.loads(row["action_text"])
    decision = None
    if row["decision"] is not None:
        decision = DecisionRecord(
            decision=row["decision"],
            decided_by=row["decided_by"],
            decided_at=row["decided_at"],
            reason=row["reason"],
        )
    return OutboxItem(
        action_key=row["action_key"],
        account_id=row["account_id"],
        account_name=row["account_name"],
        as_of=date.fromisoformat(row["as_of"]),
        action=row["action"],
        label=action.get("label", row["action"]),
        kind=row["kind"],
        sensitivity=row["sensitivity"],
        owner=row["owner"],
        owner_name=row["owner_name"],
        priority=row["priority"],
        due_date=date.fromisoformat(row["due_date"]),
        status=ActionStatus(row["status"]),
        state=row["state"],
        exported_at=row["exported_at"],
        decision=decision,
        evidence=list(action.get("evidence", [])),
        last_proposed=date.fromisoformat(row["last_proposed"] or row["as_of"]),
        superseded_by=row["superseded_by"],
    )


def list_actions(
    connection: sqlite3.Connection,
    status: ActionStatus | str | None = None,
    state: str | None = None,
    owner: str | None = None,
    account: str | None = None,
    **window: Any,
) -> list[OutboxItem]:
    """`iter_actions` as a list; see there."""
    return list(iter_actions(connection, status, state, owner, account, **window))


def iter_actions(
    connection: sqlite3.Connection,
    status: ActionStatus | str | None = None,
    state: str | None = None,
    owner: str | None = None,
    account: str | None = None,
    *,
    as_of: date | None = None,
    since: date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[OutboxItem]:
    """Outbox actions ordered by (as_of, account_id, action), one row at a time.

    `status` is the engine status, `state` the outbox state (without one,
    every state but `superseded`); `owner` matches the owner role (`csm`) or
    the owner's name, case-insensitively. `as_of`: the actions that date's
    assessments proposed (a carried-over item counts for every date from its
    first proposal to its last); `since`: last proposed on or after that date.
    """
    where: list[str] = []
    args: list[Any] = []
    if status is not None:
        try:
            value = ActionStatus(status).value
        except ValueError:
            expected = ", ".join(s.value for s in ActionStatus)
            raise OutboxError(f"unknown status {status!r}: expected {expected}") from None
        where.append("x.status = ?")
        args.append(value)
    select = _SELECT
    if state is not None:
        if state not in STATES:
            raise OutboxError(f"unknown state {state!r}: expected {', '.join(STATES)}")
        # A literal (one of STATES), so SQLite may use the partial indexes on pending rows.
        where.append(f"x.state = '{state}'")
        if state == "pending" and account is None:
            # The queue page by page in its own order, from the pending rows' index:
            # a page costs its rows, not a sort of every pending action.
            select = select.replace(
                "FROM actions x ", "FROM actions x INDEXED BY actions_pending_queue "
            )
    else:
        where.append("x.state != 'superseded'")
    if owner is not None:
        where.append("(lower(x.owner) = lower(?) OR lower(x.owner_name) = lower(?))")
        args += [owner, owner]
    if account is not None:
        where.append("x.account_id = ?")
        args.append(account)
    if as_of is not None:
        where.append("x.as_of <= ? AND COALESCE(x.last_proposed, x.as_of) >= ?")
        args += [as_of.isoformat(), as_of.isoformat()]
    if since is not None:
        where.append("COALESCE(x.last_proposed, x.as_of) >= ?")
        args.append(since.isoformat())
    if (limit is not None and limit < 0) or offset < 0:
        raise OutboxError("limit and offset must be 0 or more")
    sql = select + " WHERE " + " AND ".join(where) + _ORDER + " LIMIT ? OFFSET ?"
    args += [-1 if limit is None else limit, offset]
    for row in connection.execute(sql, args):
        yield _item(row)


def resolve_key(connection: sqlite3.Connection, key: str) -> str:
    """The full idempotency key for `key`, or for a unique prefix of at least 8 characters."""
    key = key.strip().lower()
    if connection.execute("SELECT 1 FROM actions WHERE action_key = ?", (key,)).fetchone():
        return key
    if len(key) < MIN_PREFIX:
        raise OutboxError(
            f"no action {key!r}; give the full id or a prefix of at least {MIN_PREFIX} characters"
        )
    rows = connection.execute(
        "SELECT action_key FROM actions WHERE substr(action_key, 1, ?) = ? "
        "ORDER BY action_key LIMIT 3",
        (len(key), key),
    ).fetchall()
    if not rows:
        raise OutboxError(f"no action with id {key!r}")
    if len(rows) > 1:
        found = ", ".join(r["action_key"] for r in rows)
        raise OutboxError(f"id prefix {key!r} is ambiguous ({found}...); give more characters")
    return rows[0]["action_key"]


def get_action(connection: sqlite3.Connection, key: str) -> OutboxItem:
    """One action by its id or a unique prefix of it."""
    full = resolve_key(connection, key)
    row = connection.execute(_SELECT + "WHERE x.action_key = ?", (full,)).fetchone()
    return _item(row)


# -- decisions ----------------------------------------------------------------------

_REFUSALS = {
    "blocked": "it is blocked: it must not happen, and no decision can change that",
    "recommended": (
        "it is recommend_only: a suggestion a person carries out themselves; "
        "it cannot be approved into automation"
    ),
    "ready": "it is auto: it needs no decision and is exported as it is",
}


def _superseded(item: OutboxItem) -> str:
    return (
        f"it was superseded by the assessment of {item.superseded_by}, which no longer "
        "proposes it for approval; decide on that date's actions instead "
        f"(account-health actions list --account {item.account_id} --state pending)"
    )


def approve(
    connection: sqlite3.Connection, action_key: str, by: str, reason: str | None = None
) -> OutboxItem:
    """Approve a pending (approval_required) action; it is exported next time."""
    return _decide(connection, action_key, "approve", by, reason)


def reject(connection: sqlite3.Connection, action_key: str, by: str, reason: str) -> OutboxItem:
    """Reject a pending action; a reason is required. It is never exported."""
    if not (reason or "").strip():
        raise OutboxError("a rejection needs a reason (--reason TEXT)")
    return _decide(connection, action_key, "reject", by, reason)


def _describe(item: OutboxItem) -> str:
    return (
        f"action {item.action_key} ({item.account_id} {item.action}, as of {item.as_of}; "
        f"status {item.status.value}, state {item.state})"
    )


def _decide(
    connection: sqlite3.Connection,
    action_key: str,
    decision: Literal["approve", "reject"],
    by: str,
    reason: str | None,
) -> OutboxItem:
    by = (by or "").strip()
    if not by:
        raise OutboxError("a decision needs the name of who made it (--by NAME)")
    reason = reason.strip() if reason and reason.strip() else None
    connection.execute("BEGIN IMMEDIATE")
    try:
        item = get_action(connection, action_key)
        verb = "approved" if decision == "approve" else "rejected"
        if item.state != "pending" or item.status is not ActionStatus.APPROVAL_REQUIRED:
            if item.decision is not None and item.state in ("approved", "rejected"):
                why = (
                    f"it was already {item.state} by {item.decision.decided_by} "
                    f"at {item.decision.decided_at}"
                )
            elif item.state == "superseded":
                why = _superseded(item)
            else:
                why = _REFUSALS.get(item.state, "only a pending action takes a decision")
            raise OutboxError(f"{_describe(item)} cannot be {verb}: {why}")
        updated = connection.execute(
            "UPDATE actions SET state = ? WHERE action_key = ? AND state = 'pending' "
            "AND status = 'approval_required'",
            (verb, item.action_key),
        )
        if updated.rowcount != 1:  # pragma: no cover - the write lock makes this unreachable
            raise OutboxError(f"{_describe(item)} changed while deciding; try again")
        connection.execute(
            "INSERT INTO action_decisions (action_key, decision, decided_by, decided_at, reason) "
            "VALUES (?, ?, ?, ?, ?)",
            (item.action_key, decision, by, now_utc(), reason),
        )
        _keep_whole_action(connection, item.action_key)
        result = get_action(connection, item.action_key)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return result


def _whole_action(assessment: dict[str, Any], action: str) -> str | None:
    """The action as its assessment holds it (with the policy trace), as JSON text."""
    for candidate in assessment.get("actions", []):
        if candidate.get("action") == action:
            return json.dumps(candidate, ensure_ascii=False)
    return None


def _assessment_of(row: sqlite3.Row) -> dict[str, Any]:
    """The action's assessment; once `db prune` dropped its document, what its columns
    still say (score, band, tier, confidence, flag codes)."""
    if row["assessment_text"]:
        return json.loads(row["assessment_text"])
    if row["assessed_band"] is None:
        return {}
    return {
        "name": row["account_name"],
        "score": row["assessed_score"],
        "band": row["assessed_band"],
        "tier": row["assessed_tier"],
        "confidence": row["assessed_confidence"],
        "flags": [{"code": code} for code in json.loads(row["assessed_flags"])],
    }


def _keep_whole_action(connection: sqlite3.Connection, action_key: str) -> None:
    """Copy the whole action into the outbox row, so the decision keeps its evidence
    and policy trace even if a corrected snapshot later replaces the assessment."""
    row = connection.execute(
        "SELECT x.action, document(s.assessment_json) FROM actions x LEFT JOIN assessments s "
        "ON s.account_id = x.account_id AND s.as_of = COALESCE(x.last_proposed, x.as_of) "
        "WHERE x.action_key = ?",
        (action_key,),
    ).fetchone()
    whole = _whole_action(json.loads(row[1]), row[0]) if row and row[1] else None
    if whole is not None:
        connection.execute(
            "UPDATE actions SET action_json = ? WHERE action_key = ?",
            (documents(connection).pack("action", whole), action_key),
        )


# -- export -------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(title: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip(f"*{title}*\n{slack_escape(value)}", _FIELD_MAX)}


def slack_message(item: OutboxItem, assessment: dict[str, Any]) -> SlackMessage:
    """A Block Kit message for `notify_owner_slack`, built from the stored assessment."""
    name = assessment.get("name") or item.account_name or item.account_id
    score, band = assessment.get("score"), assessment.get("band")
    if score is None:
        score = "no data"
    flags = [f.get("label") or f.get("code", "") for f in assessment.get("flags", [])]
    owner = item.owner_name or item.owner
    reason = " ".join(item.evidence) or item.label
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _clip(f"Account health: {name}", _HEADER_MAX),
                "emoji": False,
            },
        },
        {
            "type": "section",
            "fields": [
                _field("Account", f"{name} ({item.account_id})"),
                _field("Score / band", f"{score} / {band}"),
                _field("Flags", ", ".join(flags) or "none"),
                _field("Reason", reason),
                _field("Owner", owner),
                _field("Priority / due", f"{item.priority} / {item.due_date.isoformat()}"),
            ],
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _clip(
                        f"As of {item.as_of.isoformat()} · idempotency key `{item.action_key}`",
                        _CONTEXT_MAX,
                    ),
                }
            ],
        },
    ]
    text = f"{name}: health {score} ({band}). {reason}"
    return SlackMessage(text=_clip(slack_escape(text), 3000), blocks=blocks)


def crm_update(item: OutboxItem, assessment: dict[str, Any]) -> CrmUpdate:
    """The CRM field update for `update_health_score`."""
    return CrmUpdate(
        id=item.account_id,
        fields={
            "health_score": assessment.get("score"),
            "health_band": assessment.get("band"),
            "health_tier": assessment.get("tier"),
            "health_confidence": assessment.get("confidence"),
            "health_as_of": item.as_of.isoformat(),
        },
    )


def task_payload(item: OutboxItem) -> TaskPayload:
    return TaskPayload(
        title=item.label,
        account_id=item.account_id,
        account_name=item.account_name,
        owner=item.owner_name or item.owner,
        owner_role=item.owner,
        priority=item.priority,
        due_date=item.due_date,
        evidence=item.evidence,
    )


def payload_for(item: OutboxItem, assessment: dict[str, Any]) -> ExportPayload:
    if item.action == "notify_owner_slack":
        payload: SlackMessage | CrmUpdate | TaskPayload = slack_message(item, assessment)
    elif item.action == "update_health_score":
        payload = crm_update(item, assessment)
    else:
        payload = task_payload(item)
    approved = item.decision if item.state == "approved" else None
    return ExportPayload(
        idempotency_key=item.action_key,
        account_id=item.account_id,
        account_name=item.account_name,
        action=item.action,
        label=item.label,
        kind=item.kind,
        as_of=item.as_of,
        owner=item.owner,
        owner_name=item.owner_name,
        priority=item.priority,
        due_date=item.due_date,
        status=item.status,
        approved_by=approved.decided_by if approved else None,
        approved_at=approved.decided_at if approved else None,
        payload=payload,
    )


class ExportBatch:
    """`with ExportBatch(conn) as batch: for p in batch: ...`: marks what was handed out.

    Holds the write lock from entry to exit, so two exports never hand out the
    same action. On a clean exit the consumed actions get `exported_at` and the
    transaction commits; on an exception nothing is marked.
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        *,
        since: date | None = None,
        include_exported: bool = False,
    ) -> None:
        self.connection = connection
        self.since = since
        self.include_exported = include_exported
        self.consumed: list[tuple[str, str]] = []

    def __enter__(self) -> ExportBatch:
        self.connection.execute("BEGIN IMMEDIATE")
        return self

    def __iter__(self) -> Iterator[ExportPayload]:
        where = [
            "((x.state = 'ready' AND x.status = ?) OR (x.state = 'approved' AND x.status = ?))"
        ]
        args: list[str] = [EXPORTABLE["ready"], EXPORTABLE["approved"]]
        if not self.include_exported:
            where.append("x.exported_at IS NULL")
        if self.since is not None:
            where.append("x.as_of >= ?")
            args.append(self.since.isoformat())
        sql = _SELECT_WITH_ASSESSMENT + "WHERE " + " AND ".join(where) + _ORDER
        for row in self.connection.execute(sql, args).fetchall():
            assessment = _assessment_of(row)
            payload = payload_for(_item(row), assessment)
            kept = _whole_action(assessment, row["action"]) or row["action_text"]
            self.consumed.append((payload.idempotency_key, kept))
            yield payload

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.connection.execute("ROLLBACK")
            return
        try:
            stamp = now_utc()
            pack = documents(self.connection).pack
            # The first export keeps the copy of the action as it was sent.
            self.connection.executemany(
                "UPDATE actions SET action_json = CASE WHEN exported_at IS NULL THEN ? "
                "ELSE action_json END, exported_at = COALESCE(exported_at, ?) "
                "WHERE action_key = ?",
                [(pack("action", kept), stamp, key) for key, kept in self.consumed],
            )
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise


def export(
    connection: sqlite3.Connection,
    *,
    since: date | None = None,
    include_exported: bool = False,
) -> Iterator[ExportPayload]:
    """Payloads for ready (auto) and approved actions not yet exported, in a stable order.

    They are marked exported when the iteration completes; stopping early (or
    an exception in the consumer) marks nothing, so a retry hands them out
    again. `include_exported` repeats the ones already exported; `since` keeps
    actions assessed on or after that date.
    """
    with ExportBatch(connection, since=since, include_exported=include_exported) as batch:
        yield from batch
