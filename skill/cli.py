"""`account-health`: a thin shell over the library. JSON on stdout, diagnostics on stderr.

Exit codes: 0 every record assessed; 2 usage error (unknown flag, missing file,
invalid policy file); 3 some records rejected (the rest were assessed).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from skill.cli_actions import actions_app
from skill.cli_common import (
    ColumnsOption,
    DateFormatOption,
    DbOption,
    DecimalOption,
    DelimiterOption,
    EncodingOption,
    SheetOption,
    TextFormat,
    read_options,
)
from skill.cli_common import err as _err
from skill.cli_common import fail as _fail
from skill.cli_insights import register_insights
from skill.cli_review import review_app
from skill.record import Segment
from skill.vocabulary import AutomationLevel

EXIT_USAGE = 2


class OutputFormat(StrEnum):
    MD = "md"
    JSON = "json"
    JSONL = "jsonl"
    TABLE = "table"


class InputFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"
    XLSX = "xlsx"


app = typer.Typer(
    name="account-health",
    help=(
        "Account Health Action Engine: score customer accounts and propose policy-gated "
        "actions.\n\nExample: account-health assess accounts.csv --format json"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
policy_app = typer.Typer(
    help="Inspect and check the policy.\n\nExample: account-health policy show --segment smb",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")


def _load_policy(path: Path | None):
    """The policy, with a warning per default list the file replaces and per floor it needs."""
    from skill.policy import (
        PolicyError,
        load_policy,
        override_notes,
        read_override,
        replaced_list_warning,
    )

    try:
        loaded = load_policy(path)
    except PolicyError as exc:
        raise _fail(f"invalid policy:\n{exc}") from None
    if path is not None:
        notes = override_notes(read_override(path), loaded)
        for key in notes.replaced_lists:
            _err(f"warning: {path}: {replaced_list_warning(key)}")
        for problem in notes.needs_floor:
            _err(f"warning: {path}: {problem}; the floor applies")
    return loaded


def _default_format() -> OutputFormat:
    return OutputFormat.MD if sys.stdout.isatty() else OutputFormat.JSON


PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="YAML file merged over the default policy in assets/."),
]
LevelOption = Annotated[
    AutomationLevel,
    typer.Option("--automation-level", help="How much may run without a person."),
]
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option("--format", "-f", help="md (default on a terminal) or json (default when piped)."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Assessment date, YYYY-MM-DD (default: today)."),
]
InputFormatOption = Annotated[
    InputFormat | None,
    typer.Option("--input-format", help="Override the format implied by the extension."),
]
RejectsOption = Annotated[
    Path | None,
    typer.Option("--rejects", help="Write rejected records here as JSONL, with the reason."),
]


def _as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"--as-of {value!r} is not a date; expected YYYY-MM-DD") from None


@app.command()
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
) -> None:
    """Assess accounts and print health, flags and gated actions.

    Example: account-health assess accounts.csv --as-of 2026-11-23 --format json
    """
    from skill.pipeline import run_assessment

    loaded = _load_policy(policy)
    options = read_options(columns, date_format, decimal, delimiter, encoding, sheet)
    reader = None
    if db is not None:
        from skill.store.history import HistoryReader, HistoryUnavailable

        try:
            reader = HistoryReader(db, loaded.history.usage_decline_periods)
        except HistoryUnavailable as exc:
            raise _fail(f"--db: {exc}") from None
    try:
        code = run_assessment(
            file,
            input_format=input_format.value if input_format else None,
            output_format=(output_format or _default_format()).value,
            as_of=_as_of(as_of),
            level=automation_level,
            policy=loaded,
            rejects_path=rejects,
            accounts=set(account) if account else None,
            out=sys.stdout,
            err=_err,
            history=reader,
            options=options,
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
        raise _fail(f"--llm {llm!r}: expected auto, anthropic or off") from None
    try:
        return DrafterChoice(mode, model=model, cache_dir=cache_dir, use_cache=cache, err=_err)
    except ValueError as exc:
        raise _fail(str(exc)) from None


@app.command()
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
    from skill.pipeline import run_job

    loaded = _load_policy(policy)
    options = read_options(columns, date_format, decimal, delimiter, encoding, sheet)
    day = _as_of(as_of)
    choice = _choose_drafter(llm, model, cache, cache_dir)
    fmt = (output_format or _default_format()).value
    if fmt not in ("md", "json"):
        raise _fail(f"brief --format {fmt}: expected md or json")
    code = run_job(
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
            err=_err,
        ),
        as_of=day,
        level=automation_level,
        policy=loaded,
        err=_err,
        input_format=input_format.value if input_format else None,
        rejects_path=rejects,
        accounts=set(account) if account else None,
        options=options,
    )
    raise typer.Exit(code)


@app.command()
def email(
    file: Annotated[
        str, typer.Argument(help="CSV, XLSX, JSON or JSONL file of accounts; - for stdin.")
    ],
    account: Annotated[
        list[str], typer.Option("--account", help="The account to write to (repeatable).")
    ],
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
    """Draft a check-in email in the owner's voice. Always a draft: nothing is ever sent.

    Example: account-health email accounts.csv --account ACC-1004 --llm off
    """
    from skill.briefing import write_emails
    from skill.pipeline import run_job

    loaded = _load_policy(policy)
    options = read_options(columns, date_format, decimal, delimiter, encoding, sheet)
    day = _as_of(as_of)
    choice = _choose_drafter(llm, model, cache, cache_dir)
    fmt = (output_format or _default_format()).value
    if fmt not in ("md", "json"):
        raise _fail(f"email --format {fmt}: expected md or json")
    code = run_job(
        file,
        lambda stream: write_emails(stream, choice, output_format=fmt, out=sys.stdout, err=_err),
        as_of=day,
        level=automation_level,
        policy=loaded,
        err=_err,
        input_format=input_format.value if input_format else None,
        accounts=set(account),
        options=options,
    )
    raise typer.Exit(code)


@app.command()
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
    """Assess seed 000's four demo accounts (bundled data, fixed date).

    Example: account-health demo --automation-level aggressive
    """
    from skill.demo import run_demo

    raise typer.Exit(
        run_demo(
            level=automation_level,
            output_format=output_format.value,
            as_of=None if as_of is None else _as_of(as_of),
            policy=_load_policy(policy),
            out=sys.stdout,
            err=_err,
        )
    )


@policy_app.command("show")
def policy_show(
    segment: Annotated[
        str | None,
        typer.Option(
            "--segment", help="Only this segment: smb, mid_market (or Mid-market) or enterprise."
        ),
    ] = None,
    automation_level: Annotated[
        AutomationLevel | None,
        typer.Option("--automation-level", help="Only this level (default: all three)."),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="md (a table) or json (the whole policy)."),
    ] = OutputFormat.MD,
    policy: PolicyOption = None,
) -> None:
    """Print the effective action matrix: segment baseline tightened by the automation level.

    Example: account-health policy show --segment enterprise --automation-level balanced
    """
    loaded = _load_policy(policy)
    if output_format in (OutputFormat.JSON, OutputFormat.JSONL):
        sys.stdout.write(loaded.model_dump_json(indent=2) + "\n")
        return
    from skill.render.markdown import render_policy_matrix

    segments = [_segment(segment)] if segment else list(Segment)
    levels = [automation_level] if automation_level else list(AutomationLevel)
    sys.stdout.write(render_policy_matrix(loaded, segments, levels))


@policy_app.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="A policy YAML file to merge and validate.")],
    output_format: Annotated[
        TextFormat,
        typer.Option(
            "--format",
            "-f",
            help='text (default) or json: {"valid", "file", "policy_version", "errors", '
            '"warnings"}.',
        ),
    ] = TextFormat.TEXT,
) -> None:
    """Validate a policy override file; exit 2 naming each bad key.

    A file is refused when it is invalid, or when only the policy floor would
    hold an action back (making a discount request automatic, say). A list that
    replaces a default list gets a warning naming its key (`key+:` appends).

    With --format json the verdict is also on stdout, valid or not, so an agent
    reads one document either way.

    Example: account-health policy check my-policy.yaml --format json
    """
    from skill.policy import (
        PolicyError,
        load_policy,
        override_notes,
        read_override,
        replaced_list_warning,
    )

    try:
        loaded = load_policy(file)
        notes = override_notes(read_override(file), loaded)
    except PolicyError as exc:
        errors = [line.strip() for line in str(exc).splitlines() if line.strip()]
        _check_verdict(output_format, file, None, errors, [])
        raise _fail(f"invalid policy:\n{exc}") from None
    warnings = [replaced_list_warning(key) for key in notes.replaced_lists]
    for warning in warnings:
        _err(f"warning: {file}: {warning}")
    if notes.needs_floor:
        _check_verdict(output_format, file, None, notes.needs_floor, warnings)
        listed = "\n".join(notes.needs_floor)
        raise _fail(f"invalid policy: it would need the policy floor to hold it back:\n{listed}")
    _check_verdict(output_format, file, loaded.version, [], warnings)
    if output_format is TextFormat.TEXT:
        sys.stdout.write(f"ok: {file} is valid (policy version {loaded.version})\n")


def _check_verdict(
    output_format: TextFormat,
    file: Path,
    version: str | None,
    errors: list[str],
    warnings: list[str],
) -> None:
    if output_format is not TextFormat.JSON:
        return
    verdict = {
        "valid": not errors,
        "file": str(file),
        "policy_version": version,
        "errors": errors,
        "warnings": warnings,
    }
    sys.stdout.write(json.dumps(verdict, indent=2, ensure_ascii=False) + "\n")


@app.command()
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
) -> None:
    """Assess a file and record snapshots, assessments and the action outbox in the history
    database; print each account's health trend note. Running it again changes nothing.

    Example: account-health run accounts.csv --as-of 2026-11-23 --db history.sqlite3
    """
    from skill.recording import run_recording

    fmt = (output_format or _default_format()).value
    if fmt == "table":
        fmt = "md"
    options = read_options(columns, date_format, decimal, delimiter, encoding, sheet)
    raise typer.Exit(
        run_recording(
            file,
            db_path=db,
            output_format=fmt,
            as_of=_as_of(as_of),
            level=automation_level,
            policy=_load_policy(policy),
            out=sys.stdout,
            err=_err,
            input_format=input_format.value if input_format else None,
            rejects_path=rejects,
            options=options,
        )
    )


class MappingFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


@app.command()
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
        raise _fail(str(exc)) from None
    if not header:
        raise _fail(f"{file}: no header found (the input is empty)")
    proposal = propose(header, file, reader.delimiter)
    render = render_json if output_format is MappingFormat.JSON else render_yaml
    sys.stdout.write(render(proposal))


def _segment(value: str) -> Segment:
    try:
        return Segment(value)
    except ValueError:
        raise _fail(f"--segment {value!r}: expected smb, mid_market or enterprise") from None


SCHEMA_NAMES = (
    "input",
    "assessment",
    "brief",
    "policy",
    "email",
    "run",
    "trend",
    "actions",
    "action",
    "export",
    "reviews",
    "review",
    "outcomes",
    "measure",
    "calibrate",
    "report",
)


@app.command()
def schema(
    name: Annotated[
        str,
        typer.Argument(
            help="A name from the list above (input, assessment, ..., report), or all.",
            show_default=False,
        ),
    ],
    write: Annotated[
        Path | None,
        typer.Option(
            "--write", help="Write NAME.schema.json into this folder instead of printing."
        ),
    ] = None,
) -> None:
    """Print a JSON Schema: the input record, the policy, or a command's JSON output.

    Inputs: input (one account record), policy (the merged policy). Outputs, as
    --format json prints them: assessment (assess, demo), brief, email, run, trend
    (one run --format jsonl line), actions (actions list), action (actions
    approve/reject), export (one actions export line), reviews (review list),
    review (review done), outcomes (outcomes import), measure, calibrate, report.
    all: every schema, as one JSON object keyed by name (or, with --write, one
    file each).

    Example: account-health schema assessment
    """
    if name != "all" and name not in SCHEMA_NAMES:
        raise _fail(f"unknown schema {name!r}: expected one of {', '.join(SCHEMA_NAMES)} or all")
    from skill.schemas import schema_json, write_schemas

    names = list(SCHEMA_NAMES) if name == "all" else [name]
    if write is not None:
        for path in write_schemas(write, names):
            _err(f"wrote {path}")
        return
    if name != "all":
        sys.stdout.write(schema_json(name))
        return
    import json

    combined = {n: json.loads(schema_json(n)) for n in names}
    sys.stdout.write(json.dumps(combined, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


MCP_EXTRA_HINT = "install the mcp extra: pip install 'account-health-skill[mcp]'"


@app.command()
def mcp(
    policy: PolicyOption = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="History database the history tools read (default: $ACCOUNT_HEALTH_DB, "
            "else ~/.local/share/account-health/history.sqlite3).",
        ),
    ] = None,
) -> None:
    """Serve the engine to agents as an MCP server over stdio.

    Tools: assess_accounts, explain_policy, list_actions, draft_brief,
    draft_checkin_email, and over the history database approval_queue,
    review_queue, measure_score and portfolio_report. --policy and --db hold for
    the server's lifetime.

    Needs the mcp extra: pip install 'account-health-skill[mcp]'.

    Example: account-health mcp --policy my-policy.yaml
    """
    loaded = _load_policy(policy)
    try:  # lazily: the other commands never pay for importing the SDK
        from skill.mcp_server import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "mcp":
            raise
        raise _fail(MCP_EXTRA_HINT) from None
    serve(loaded, db)


# History commands come last in --help: the outbox, reviews, then outcomes, measure,
# calibrate, report.
app.add_typer(actions_app, name="actions")
app.add_typer(review_app, name="review")
register_insights(app)


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        # The reader (`| head`) closed the pipe: stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
