"""`account-health review`: the owner review queue, where a person checks evidence.

Registered on the main app by `skill.cli`; the store is imported only when a
command runs. JSON on stdout when piped, a table or a line on a terminal;
diagnostics on stderr; exit 2 for a usage error (no such task, already done).
"""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

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
    fail,
    is_tty,
    open_history,
    parse_day,
    text_table,
    write_list,
)

if TYPE_CHECKING:
    from skill.store.reviews import ReviewTaskItem


class ReviewStateOption(StrEnum):
    OPEN = "open"
    DONE = "done"
    ALSO_AT_RISK = "also_at_risk"
    SUPERSEDED = "superseded"


review_app = typer.Typer(
    help=(
        "The owner review queue: list review tasks, mark one done once a person has "
        "checked the account.\n\n"
        "Example: account-health review list --state open --owner 'Dana Reyes'"
    ),
    no_args_is_help=True,
)

TABLE_COLUMNS = ("as of", "account", "name", "owner", "due", "state", "reasons")


def _state(item: ReviewTaskItem) -> str:
    if item.done_by is not None:
        return f"done ({item.done_by})"
    if item.superseded_by is not None:
        return f"superseded ({item.superseded_by})"
    return item.state


def _table(items: list[ReviewTaskItem]) -> str:
    rows = [
        (
            item.as_of.isoformat(),
            item.account_id,
            item.account_name or "",
            item.owner,
            item.due_date.isoformat(),
            _state(item),
            "; ".join(r.split(" - ", 1)[0] for r in item.reasons),
        )
        for item in items
    ]
    return text_table(TABLE_COLUMNS, rows, f"{len(items)} review task(s)")


@review_app.command("list")
def review_list(
    state: Annotated[
        ReviewStateOption | None,
        typer.Option(
            "--state",
            help="Only open (waiting for a person), done, also_at_risk (a reason holds but "
            "the run's review budget ranked the account below its limit), or superseded "
            "(open until a newer assessment was recorded; shown only when asked for).",
        ),
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's tasks.")] = None,
    account: AccountFilterOption = None,
    as_of: AsOfFilterOption = None,
    since: SinceOption = None,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    output_format: ListFormatOption = None,
    db: DbOption = None,
) -> None:
    """List owner review tasks by due date.

    One live task per account: recording a newer assessment supersedes the
    account's older open tasks (listed only with --state superseded).
    --limit/--offset page; --format jsonl streams.

    Example: account-health review list --state open --since 2026-11-30 --format json
    """
    from skill.store.reviews import ReviewError, ReviewTaskList, iter_review_tasks

    day, first = parse_day("--as-of", as_of), parse_day("--since", since)
    fmt = output_format or (ListFormat.TABLE if is_tty() else ListFormat.JSON)
    connection = open_history(db)
    try:
        items = iter_review_tasks(
            connection,
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
            document=lambda page, more: ReviewTaskList(
                count=len(page), tasks=page, next_offset=more
            ),
            table=_table,
        )
    except ReviewError as exc:
        raise fail(str(exc)) from None
    finally:
        connection.close()


@review_app.command("done")
def review_done(
    account_id: Annotated[
        str, typer.Argument(metavar="ACCOUNT_ID", help="The reviewed account.", show_default=False)
    ],
    by: Annotated[str, typer.Option("--by", help="Who reviewed it: a person's name (required).")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The task of this assessment date (default: latest open)."),
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="What the review found (optional).")
    ] = None,
    output_format: Annotated[
        TextFormat | None,
        typer.Option("--format", "-f", help="text (default on a terminal) or json."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Mark an account's review task done: who and when (UTC) are recorded.

    Earlier open tasks of the same account close with it, each noting which
    review closed it. A task already done is refused (exit 2). This records a
    person's review; it approves no action (use `actions approve` for that).

    Example: account-health review done ACC-1001 --by 'Dana Reyes' --note 'usage dip explained'
    """
    from skill.store.reviews import ReviewError, complete_review

    day = None
    if as_of is not None:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            raise fail(f"--as-of {as_of!r} is not a date; expected YYYY-MM-DD") from None
    connection = open_history(db)
    try:
        result = complete_review(connection, account_id, by=by, as_of=day, note=note)
    except ReviewError as exc:
        raise fail(str(exc)) from None
    finally:
        connection.close()
    fmt = output_format or (TextFormat.TEXT if is_tty() else TextFormat.JSON)
    if fmt is TextFormat.JSON:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    task = result.task
    sys.stdout.write(
        f"review of {task.account_id} as of {task.as_of} done by {task.done_by} at {task.done_at}\n"
    )
    if result.also_closed:
        dates = ", ".join(t.as_of.isoformat() for t in result.also_closed)
        sys.stdout.write(f"also closed earlier open task(s) of {dates}\n")
