"""`assess`, `brief`, `email`, `demo`, `run` and `columns`: commands over an accounts file."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from skill.cli.common import (
    AsOfOption,
    ColumnsOption,
    DateFormatOption,
    DbOption,
    DecimalOption,
    DelimiterOption,
    EncodingOption,
    FormatOption,
    InputFormat,
    InputFormatOption,
    LevelOption,
    OutputFormat,
    PolicyOption,
    RejectsOption,
    SheetOption,
    WorkersOption,
    default_format,
    err,
    fail,
    load_policy_or_exit,
    parse_as_of,
    read_options,
    resolve_workers,
)
from skill.vocabulary import AutomationLevel

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date

    from skill.dialect import ReadOptions
    from skill.pipeline import AssessmentStream
    from skill.policy import Policy


def assess(
    file: Annotated[
        str, typer.Argument(help="CSV, XLSX, JSON or JSONL file of accounts; - for stdin.")
    ],
    input_format: InputFormatOption = None,
    output_format: FormatOption = None,
    as_of: AsOfOption = None,
    automation_level: LevelOption = AutomationLevel.BALANCED,
    policy: PolicyOption = None,
    rejects: RejectsOption = None,
    account: Annotated[
        list[str] | None,
        typer.Option(
            "--account",
            help="Only these account ids (repeatable); other accounts' rejected rows are skipped.",
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="Read each account's earlier assessments from this history database "
            "(read-only) to raise trend flags. Without it no history is read.",
        ),
    ] = None,
    columns: ColumnsOption = None,
    date_format: DateFormatOption = None,
    decimal: DecimalOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    workers: WorkersOption = None,
) -> None:
    """Assess accounts and print health, flags and gated actions.

    Example: account-health assess accounts.csv --as-of 2026-11-23 --format json
    """
    from skill.pipeline import HistorySource, run_assessment

    loaded = load_policy_or_exit(policy)
    options = read_options(columns, date_format, decimal, delimiter, encoding, sheet)
    processes = resolve_workers(workers)
    reader = None
    history_db = None
    if db is not None:
        from skill.store.history import HistoryReader, HistoryUnavailable

        try:
            reader = HistoryReader(db, loaded.history.usage_decline_periods)
        except HistoryUnavailable as exc:
            raise fail(f"--db: {exc}") from None
        history_db = HistorySource(str(db), loaded.history.usage_decline_periods)
    try:
        code = run_assessment(
            file,
            input_format=input_format.value if input_format else None,
            output_format=(output_format or default_format()).value,
            as_of=parse_as_of(as_of),
            level=automation_level,
            policy=loaded,
            rejects_path=rejects,
            accounts=set(account) if account else None,
            out=sys.stdout,
            err=err,
            history=reader,
            options=options,
            workers=processes,
            history_db=history_db,
        )
    finally:
        if reader is not None:
            reader.close()
    raise typer.Exit(code)


LlmOption = Annotated[
    str,
    typer.Option(
        "--llm",
        help="auto: Anthropic when ANTHROPIC_API_KEY is set, templates otherwise; "
        "anthropic: require the API; off: templates only.",
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="Claude model (default: $ACCOUNT_HEALTH_MODEL or a fast model)."),
]
CacheOption = Annotated[
    bool, typer.Option("--cache/--no-cache", help="Reuse drafts for unchanged accounts.")
]
CacheDirOption = Annotated[
    Path | None, typer.Option("--cache-dir", help="Draft cache folder (default ~/.cache).")
]


def _choose_drafter(llm: str, model: str | None, cache: bool, cache_dir: Path | None):
    from skill.briefing import DrafterChoice, LlmMode

    try:
        mode = LlmMode(llm)
    except ValueError:
        raise fail(f"--llm {llm!r}: expected auto, anthropic or off") from None
    try:
        return DrafterChoice(mode, model=model, cache_dir=cache_dir, use_cache=cache, err=err)
    except ValueError as exc:
        raise fail(str(exc)) from None


def _draft_format(command: str, output_format: OutputFormat | None) -> str:
    """Drafts are prose: Markdown, or JSON for a program; refused for other formats."""
    fmt = (output_format or default_format()).value
    if fmt not in ("md", "json"):
        raise fail(f"{command} --format {fmt}: expected md or json")
    return fmt


def _run_drafts(
    file: str,
    write: Callable[[AssessmentStream], int],
    *,
    as_of: date,
    level: AutomationLevel,
    policy: Policy,
    input_format: InputFormat | None,
    accounts: list[str] | None,
    options: ReadOptions,
    rejects: Path | None = None,
) -> NoReturn:
    """Assess `file` and hand the stream to `write` (briefs or emails); exit with its code."""
    from skill.pipeline import run_job

    code = run_job(
        file,
        write,
        as_of=as_of,
        level=level,
        policy=policy,
        err=err,
        input_format=input_format.value if input_format else None,
        rejects_path=rejects,
        accounts=set(accounts) if accounts else None,
        options=options,
    )
    raise typer.Exit(code)


def brief(
    file: Annotated[
        str, typer.Argument(help="CSV, XLSX, JSON or JSONL file of accounts; - for stdin.")
    ],
    account: Annotated[
        list[str] | None, typer.Option("--account", help="Only these account ids (repeatable).")
    ] = None,
    llm: LlmOption = "auto",
    model: ModelOption = None,
    output_format: FormatOption = None,
    batch: Annotated[
        bool, typer.Option("--batch", help="Draft through the Message Batches API.")
    ] = False,
    resume_batch: Annotated[
        str | None,
        typer.Option("--resume-batch", help="Collect the results of an interrupted --batch run."),
    ] = None,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="Seconds between batch status checks.")
    ] = 10.0,
    cache: CacheOption = True,
    cache_dir: CacheDirOption = None,
    input_format: InputFormatOption = None,
    as_of: AsOfOption = None,
    automation_level: LevelOption = AutomationLevel.BALANCED,
    policy: PolicyOption = None,
    rejects: RejectsOption = None,
    columns: ColumnsOption = None,
    date_format: DateFormatOption = None,
    decimal: DecimalOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
) -> None:
    """Narrative health briefs: the engine's decisions plus prose, one per account.

    Example: account-health brief accounts.csv --account ACC-1004 --llm off
    """
    from skill.briefing import write_briefs

    loaded = load_policy_or_exit(policy)
    options = read_options(columns, date_format, decimal, delimiter, encoding, sheet)
    day = parse_as_of(as_of)
    choice = _choose_drafter(llm, model, cache, cache_dir)
    fmt = _draft_format("brief", output_format)
    _run_drafts(
        file,
        lambda stream: write_briefs(
            stream,
            choice,
            output_format=fmt,
            out=sys.stdout,
            policy=loaded,
            as_of=day,
            level=automation_level,
            batch=batch or resume_batch is not None,
            resume_batch_id=resume_batch,
            poll_interval=poll_interval,
            err=err,
        ),
        as_of=day,
        level=automation_level,
        policy=loaded,
        input_format=input_format,
        rejects=rejects,
        accounts=account,
        options=options,
    )


def email(
    file: Annotated[
        str, typer.Argument(help="CSV, XLSX, JSON or JSONL file of accounts; - for stdin.")
    ],
    account: Annotated[
        list[str], typer.Option("--account", help="The account to write to (repeatable).")
    ],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="checkin (default): a check-in when something needs attention; engagement: "
            "enablement resources for a steady account; advocacy: ask a thriving customer for "
            "a case study, testimonial or referral. Each carries its action's policy status.",
        ),
    ] = "checkin",
    llm: LlmOption = "auto",
    model: ModelOption = None,
    output_format: FormatOption = None,
    cache: CacheOption = True,
    cache_dir: CacheDirOption = None,
    as_of: AsOfOption = None,
    automation_level: LevelOption = AutomationLevel.BALANCED,
    policy: PolicyOption = None,
    input_format: InputFormatOption = None,
    columns: ColumnsOption = None,
    date_format: DateFormatOption = None,
    decimal: DecimalOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
) -> None:
    """Draft a customer email in the owner's voice. Always a draft: nothing is ever sent.

    Example: account-health email accounts.csv --account ACC-1005 --kind advocacy --llm off
    """
    from skill.briefing import policy_for_email, write_emails
    from skill.drafting import EmailKind
    from skill.policy import PolicyError

    try:
        email_kind = EmailKind(kind)
    except ValueError:
        raise fail(f"--kind {kind!r}: expected checkin, engagement or advocacy") from None
    try:
        loaded = policy_for_email(load_policy_or_exit(policy), email_kind)
    except PolicyError as exc:
        raise fail(f"--policy: {exc}") from None
    options = read_options(columns, date_format, decimal, delimiter, encoding, sheet)
    day = parse_as_of(as_of)
    choice = _choose_drafter(llm, model, cache, cache_dir)
    fmt = _draft_format("email", output_format)
    _run_drafts(
        file,
        lambda stream: write_emails(
            stream, choice, output_format=fmt, out=sys.stdout, err=err, kind=email_kind
        ),
        as_of=day,
        level=automation_level,
        policy=loaded,
        input_format=input_format,
        accounts=account,
        options=options,
    )


def demo(
    automation_level: Annotated[
        AutomationLevel | None,
        typer.Option(
            "--automation-level",
            help="Show the full briefs at this level; without it, compare all three levels.",
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="md for people, json/jsonl for agents."),
    ] = OutputFormat.MD,
    as_of: AsOfOption = None,
    policy: PolicyOption = None,
) -> None:
    """Assess the five bundled demo accounts (fixed date), one lesson each.

    Example: account-health demo --automation-level aggressive
    """
    from skill.demo import run_demo

    raise typer.Exit(
        run_demo(
            level=automation_level,
            output_format=output_format.value,
            as_of=None if as_of is None else parse_as_of(as_of),
            policy=load_policy_or_exit(policy),
            out=sys.stdout,
            err=err,
        )
    )


def run(
    file: Annotated[str, typer.Argument(help="CSV, XLSX, JSON or JSONL file of accounts.")],
    db: DbOption = None,
    output_format: FormatOption = None,
    input_format: InputFormatOption = None,
    as_of: AsOfOption = None,
    automation_level: LevelOption = AutomationLevel.BALANCED,
    policy: PolicyOption = None,
    rejects: RejectsOption = None,
    columns: ColumnsOption = None,
    date_format: DateFormatOption = None,
    decimal: DecimalOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    workers: WorkersOption = None,
) -> None:
    """Assess a file and record snapshots, assessments and the action outbox in the history
    database; print each account's health trend note. Running it again changes nothing.

    Example: account-health run accounts.csv --as-of 2026-11-23 --db history.sqlite3
    """
    from skill.recording import run_recording

    fmt = (output_format or default_format()).value
    if fmt == "table":
        fmt = "md"
    options = read_options(columns, date_format, decimal, delimiter, encoding, sheet)
    raise typer.Exit(
        run_recording(
            file,
            db_path=db,
            output_format=fmt,
            as_of=parse_as_of(as_of),
            level=automation_level,
            policy=load_policy_or_exit(policy),
            out=sys.stdout,
            err=err,
            input_format=input_format.value if input_format else None,
            rejects_path=rejects,
            options=options,
            workers=resolve_workers(workers),
        )
    )


class MappingFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


def columns(
    file: Annotated[str, typer.Argument(help="CSV, XLSX, JSON or JSONL export; - for stdin.")],
    input_format: InputFormatOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    output_format: Annotated[
        MappingFormat,
        typer.Option(
            "--format", "-f", help="yaml: a mapping file to edit and pass back; json: as data."
        ),
    ] = MappingFormat.YAML,
) -> None:
    """Read a file's header and propose a column mapping for --columns.

    Each header is matched to a field of the input contract by its exact name, a
    spelling the reader already accepts, or a usual Salesforce or HubSpot report
    header (each line says which); headers it cannot place are listed. Check the
    proposal, save it, and pass it back.

    Example: account-health columns hubspot-export.csv > mapping.yaml
    """
    from skill.columns import propose, render_json, render_yaml
    from skill.ingest import InputError, read_accounts

    options = read_options(None, None, None, delimiter, encoding, sheet)
    try:
        reader = read_accounts(file, input_format.value if input_format else None, options=options)
        header = reader.header()
    except InputError as exc:
        raise fail(str(exc)) from None
    if not header:
        raise fail(f"{file}: no header found (the input is empty)")
    proposal = propose(header, file, reader.delimiter)
    render = render_json if output_format is MappingFormat.JSON else render_yaml
    sys.stdout.write(render(proposal))


def register(app: typer.Typer) -> None:
    """Add the commands that read an accounts file."""
    app.command()(assess)
    app.command()(brief)
    app.command()(email)
    app.command()(demo)
    app.command()(run)
    app.command()(columns)
