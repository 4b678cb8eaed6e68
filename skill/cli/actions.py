"""`account-health actions`: work the approval queue and export ready-to-send payloads.

Registered on the main app by `skill.cli`; the store is imported only when a
command runs. JSON on stdout, diagnostics on stderr, exit 2 for a usage error
(unknown or ambiguous id, a decision the outbox refuses).
"""

from __future__ import annotations

import os
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from skill.cli.common import (
    AccountFilterOption,
    AsOfFilterOption,
    DbOption,
    LimitOption,
    ListFormat,
    ListFormatOption,
    OffsetOption,
    SinceOption,
    TextFormat,
    err,
    fail,
    is_tty,
    open_history,
    parse_day,
    text_table,
    write_list,
)
from skill.vocabulary import ActionStatus

if TYPE_CHECKING:
    from skill.store.outbox import ExportBatch, OutboxItem


class State(StrEnum):
    READY = "ready"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECOMMENDED = "recommended"
    BLOCKED = "blocked"
    SUPERSEDED = "superseded"


actions_app = typer.Typer(
    help=(
        "Work the approval queue: list outbox actions, approve or reject pending ones, "
        "export ready-to-send payloads.\n\n"
        "Example: account-health actions list --state pending --owner 'Morgan Lee'"
    ),
    no_args_is_help=True,
)

ById = Annotated[str, typer.Option("--by", help="Who decides: a person's name (required).")]
KeyArgument = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="The action's id (idempotency key), or a unique prefix of 8+ characters.",
        show_default=False,
    ),
]


TABLE_COLUMNS = ("id", "as of", "account", "action", "status", "state", "owner", "prio", "due")


def _table(items: list[OutboxItem]) -> str:
    rows = []
    for item in items:
        state = item.state
        if item.decision is not None and item.state in ("approved", "rejected"):
            state = f"{item.state} ({item.decision.decided_by})"
        if item.exported_at and item.state in ("ready", "approved"):
            state += " exported"
        if item.superseded_by is not None:
            state += f" ({item.superseded_by})"
        as_of = item.as_of.isoformat()
        if item.last_proposed != item.as_of:
            as_of += f"..{item.last_proposed.isoformat()}"
        rows.append(
            (
                item.action_key[:12],
                as_of,
                item.account_id,
                item.action,
                item.status.value,
                state,
                item.owner_name or item.owner,
                item.priority,
                item.due_date.isoformat(),
            )
        )
    return text_table(TABLE_COLUMNS, rows, f"{len(items)} action(s)")


@actions_app.command("list")
def actions_list(
    status: Annotated[
        ActionStatus | None,
        typer.Option("--status", help="Only this engine status (e.g. approval_required)."),
    ] = None,
    state: Annotated[
        State | None,
        typer.Option(
            "--state",
            help="Only this outbox state (pending: awaiting a decision; superseded: pending "
            "until a newer assessment stopped proposing it, shown only when asked for).",
        ),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="Only this owner: a name (Dana Reyes) or a role (csm)."),
    ] = None,
    account: AccountFilterOption = None,
    as_of: AsOfFilterOption = None,
    since: SinceOption = None,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    output_format: ListFormatOption = None,
    db: DbOption = None,
) -> None:
    """List outbox actions, ordered by as_of, account and action.

    Superseded actions (pending until a newer assessment of the account stopped
    proposing them) are listed only with --state superseded. --as-of DATE lists
    what that date's assessments proposed, including items carried over from an
    earlier date; --limit/--offset page; --format jsonl streams.

    Example: account-health actions list --state pending --since 2026-11-30 --format jsonl
    """
    from skill.store.outbox import ActionList, OutboxError, iter_actions

    day, first = parse_day("--as-of", as_of), parse_day("--since", since)
    fmt = output_format or (ListFormat.TABLE if is_tty() else ListFormat.JSON)
    connection = open_history(db)
    try:
        items = iter_actions(
            connection,
            status=status,
            state=state.value if state else None,
            owner=owner,
            account=account,
            as_of=day,
            since=first,
            limit=None if limit is None else limit + 1,
            offset=offset,
        )
        write_list(
            items,
            fmt,
            limit=limit,
            offset=offset,
            document=lambda page, more: ActionList(count=len(page), actions=page, next_offset=more),
            table=_table,
        )
    except OutboxError as exc:
        raise fail(str(exc)) from None
    finally:
        connection.close()


def _decide(verb: str, key: str, by: str, reason: str | None, output_format: TextFormat | None, db):
    from skill.store.outbox import OutboxError, approve, reject

    connection = open_history(db)
    try:
        if verb == "approve":
            item = approve(connection, key, by, reason)
        else:
            item = reject(connection, key, by, reason or "")
    except OutboxError as exc:
        raise fail(str(exc)) from None
    finally:
        connection.close()
    fmt = output_format or (TextFormat.TEXT if is_tty() else TextFormat.JSON)
    if fmt is TextFormat.JSON:
        sys.stdout.write(item.model_dump_json(indent=2) + "\n")
    else:
        decision = item.decision
        assert decision is not None
        why = f": {decision.reason}" if decision.reason else ""
        sys.stdout.write(
            f"{item.state} {item.action_key} ({item.account_id} {item.action}, as of "
            f"{item.as_of}) by {decision.decided_by} at {decision.decided_at}{why}\n"
        )


TextFormatOption = Annotated[
    TextFormat | None,
    typer.Option("--format", "-f", help="text (default on a terminal) or json (the action)."),
]


@actions_app.command("approve")
def actions_approve(
    key: KeyArgument,
    by: ById,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (optional).")] = None,
    output_format: TextFormatOption = None,
    db: DbOption = None,
) -> None:
    """Approve a pending (approval_required) action; the next export includes it.

    Blocked, recommend_only, auto and already-decided actions are refused (exit 2).
    The decision is recorded with who, when (UTC) and why.

    Example: account-health actions approve 3f9a1c2e --by 'Morgan Lee' --reason 'spoke to champion'
    """
    _decide("approve", key, by, reason, output_format, db)


@actions_app.command("reject")
def actions_reject(
    key: KeyArgument,
    by: ById,
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
    output_format: TextFormatOption = None,
    db: DbOption = None,
) -> None:
    """Reject a pending (approval_required) action; it is never exported.

    Example: account-health actions reject 3f9a1c2e --by 'Morgan Lee' --reason 'renewal call first'
    """
    _decide("reject", key, by, reason, output_format, db)


@actions_app.command("export")
def actions_export(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the JSONL here (atomically) instead of stdout."),
    ] = None,
    include_exported: Annotated[
        bool, typer.Option("--all", help="Also repeat actions already exported.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only actions assessed on or after YYYY-MM-DD."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Export auto and approved actions as ready-to-send JSON Lines, once each.

    One payload per line, each with its idempotency key: a Slack Block Kit
    message for notify_owner_slack, a CRM field update for update_health_score,
    a task otherwise. Exported actions are marked; the next export skips them
    unless --all. Nothing is marked if writing fails.

    Example: account-health actions export --out /tmp/outbox.jsonl
    """
    from skill.store.outbox import ExportBatch

    day = None
    if since is not None:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise fail(f"--since {since!r} is not a date; expected YYYY-MM-DD") from None
    connection = open_history(db)
    try:
        with ExportBatch(connection, since=day, include_exported=include_exported) as batch:
            if out is None:
                count = _write_lines(sys.stdout, batch)
                sys.stdout.flush()
            else:
                count = _write_atomically(out, batch)
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise fail(f"cannot write {out}: {exc}") from None
    finally:
        connection.close()
    err(f"exported {count} action(s)" + (f" to {out}" if out else ""))


def _write_lines(handle: TextIO, batch: ExportBatch) -> int:
    lines = (payload.model_dump_json() + "\n" for payload in batch)
    return sum(handle.write(line) > 0 for line in lines)


def _write_atomically(path: Path, batch: ExportBatch) -> int:
    """Write to a temporary file beside `path`, then rename: never a half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            count = _write_lines(handle, batch)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count
