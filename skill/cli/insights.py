"""`outcomes import`, `measure`, `calibrate` and `report`: the commands that read history.

Registered on the main app by `skill.cli` (`register(app)`). Everything
heavier than typer is imported inside the command bodies, so `assess`'s cold
start does not pay for these commands.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from skill.cli.common import (
    ColumnsOption,
    DateFormatOption,
    DbOption,
    DecimalOption,
    DelimiterOption,
    EncodingOption,
    PolicyOption,
    SheetOption,
    err,
    fail,
    load_policy_or_exit,
    open_history,
    parse_as_of,
    read_options,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_REJECTED = 3


class ReportFormat(StrEnum):
    MD = "md"
    JSON = "json"


outcomes_app = typer.Typer(
    help="Record what happened to accounts: renewed, churned, expanded or downgraded.\n\n"
    "Example: account-health outcomes import outcomes.csv --db history.sqlite3",
    no_args_is_help=True,
)

FormatOption = Annotated[ReportFormat, typer.Option("--format", "-f", help="md (default) or json.")]


def _default_day(connection):
    """Without --as-of, measure, report and calibrate count up to the same date."""
    from datetime import date

    from skill.insights.measure import default_as_of

    return default_as_of(connection, date.today())


def _write(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _emit(result: BaseModel, output_format: ReportFormat, render: Callable[[Any], str]) -> None:
    """A command's result: its model as JSON, or its Markdown rendering."""
    _write(
        result.model_dump_json(indent=2) if output_format is ReportFormat.JSON else render(result)
    )


@outcomes_app.command("import")
def outcomes_import(
    file: Annotated[
        str,
        typer.Argument(help="CSV, XLSX, JSON or JSONL of account_id, outcome, date; - for stdin."),
    ],
    input_format: Annotated[
        str | None,
        typer.Option(
            "--input-format", help="csv, json, jsonl or xlsx (default: from the extension)."
        ),
    ] = None,
    db: DbOption = None,
    policy: PolicyOption = None,
    output_format: FormatOption = ReportFormat.MD,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Write rejected rows here as JSONL, with the reason."),
    ] = None,
    columns: ColumnsOption = None,
    date_format: DateFormatOption = None,
    decimal: DecimalOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
) -> None:
    """Import outcomes: account_id, outcome (renewed, churned, expanded, downgraded), date.

    Re-importing the same file changes nothing; a new outcome for the same account and
    date replaces the old one. Bad rows are reported on stderr (exit 3); the rest are
    imported. Ids that no recorded assessment knows are imported and counted.

    Example: account-health outcomes import outcomes.csv --db history.sqlite3
    """
    from skill.ingest import InputError, write_rejects
    from skill.store.outcomes import OUTCOME_FIELDS, import_outcomes

    load_policy_or_exit(policy)
    # --decimal is accepted so one set of reading options serves both files; outcomes
    # hold no numbers.
    options = read_options(
        columns, date_format, decimal, delimiter, encoding, sheet, fields=OUTCOME_FIELDS
    )
    connection = open_history(db, must_exist=False)
    try:
        result = import_outcomes(
            connection,
            file,
            input_format,
            on_rejection=lambda rejection: err(f"error: {rejection.reason}"),
            options=options,
        )
    except InputError as exc:
        raise fail(str(exc)) from None
    finally:
        connection.close()
    if rejects is not None:
        write_rejects(result.rejected, rejects)
    if result.unknown_accounts:
        examples = ", ".join(result.unknown_account_examples)
        err(
            f"warning: {result.unknown_accounts} account id(s) have no recorded assessment "
            f"(e.g. {examples}); imported anyway"
        )
    if output_format is ReportFormat.JSON:
        _write(result.model_dump_json(indent=2))
    else:
        _write(
            f"{result.source}: {result.rows} rows; {result.imported} imported, "
            f"{result.updated} updated, {result.unchanged} unchanged, "
            f"{len(result.rejected)} rejected; {result.unknown_accounts} unknown account ids; "
            f"{result.outcomes_recorded} outcomes recorded."
        )
    raise typer.Exit(EXIT_REJECTED if result.rejected else EXIT_OK)


def measure(
    db: DbOption = None,
    policy: PolicyOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Outcomes and actions up to this date; overdue means due before it "
            "(YYYY-MM-DD, default: today, or the latest recorded date if later).",
        ),
    ] = None,
    output_format: FormatOption = ReportFormat.MD,
) -> None:
    """Measure the score against outcomes: ROC AUC next to the legacy score,
    churn by band and tier, false positives, missed risks, follow-through, reviews.

    Example: account-health measure --db history.sqlite3 --as-of 2027-03-31 --format json
    """
    from skill.insights.measure import measure as run_measure
    from skill.insights.measure import render_markdown

    loaded = load_policy_or_exit(policy)
    day = None if as_of is None else parse_as_of(as_of)
    connection = open_history(db)
    try:
        result = run_measure(connection, loaded, as_of=day or _default_day(connection))
    finally:
        connection.close()
    for note in result.notes:
        err(f"note: {note}")
    _emit(result, output_format, render_markdown)


def calibrate(
    db: DbOption = None,
    policy: PolicyOption = None,
    out: Annotated[
        Path,
        typer.Option("--out", help="Where to write the calibrated policy (YAML for --policy)."),
    ] = Path("calibrated-policy.yaml"),
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Use outcomes up to this date (YYYY-MM-DD, default: today, or the latest "
            "recorded date if later).",
        ),
    ] = None,
    output_format: FormatOption = ReportFormat.MD,
) -> None:
    """Fit points per signal to your outcomes; report held-out AUC, Brier and calibration.

    Writes a policy file to review and adopt with --policy; never changes the active
    policy. With too few outcomes it says how many more it needs, writes nothing and
    exits 0. Needs scikit-learn (the `calibrate` extra; make installs it).

    Example: account-health calibrate --db history.sqlite3 --out calibrated.yaml
    """
    from skill.insights.calibrate import (
        CalibrationUnavailable,
        record_calibration,
        render_markdown,
        write_policy,
    )
    from skill.insights.calibrate import calibrate as run_calibrate
    from skill.paths import assets_dir

    loaded = load_policy_or_exit(policy)
    day = None if as_of is None else parse_as_of(as_of)
    target = out.resolve()
    if target.is_relative_to(assets_dir().resolve()):
        raise fail(f"--out {out}: calibrate never writes into the bundled assets/")
    if target.is_dir():
        raise fail(f"--out {out}: is a directory; give a file name")
    connection = open_history(db)
    try:
        try:
            result = run_calibrate(connection, loaded, as_of=day or _default_day(connection))
        except CalibrationUnavailable as exc:
            raise fail(str(exc)) from None
        if result.status == "fitted":
            try:
                write_policy(result, out)
            except OSError as exc:
                raise fail(f"--out {out}: cannot write ({exc.strerror})") from None
            result = result.model_copy(update={"policy_path": str(out)})
            record_calibration(connection, result)
            err(f"wrote {out}")
        else:
            err(f"note: {result.message}")
        if result.outcomes_after.note:
            err(f"note: {result.outcomes_after.note}")
    finally:
        connection.close()
    _emit(result, output_format, render_markdown)


def report(
    db: DbOption = None,
    policy: PolicyOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Report the latest assessments on or before this date, and outcomes up to "
            "it (YYYY-MM-DD, default: today, or the latest recorded date if later).",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Rows per table (attention, queue).")
    ] = 25,
    output_format: FormatOption = ReportFormat.MD,
) -> None:
    """Weekly portfolio report: ARR by band, biggest movers, accounts needing attention,
    the open review queue and the calibration status.

    Example: account-health report --db history.sqlite3 --format json
    """
    from skill.insights.report import NoHistoryError, portfolio_report, render_markdown

    loaded = load_policy_or_exit(policy)
    day = None if as_of is None else parse_as_of(as_of)
    connection = open_history(db)
    try:
        result = portfolio_report(
            connection, loaded, as_of=day or _default_day(connection), limit=limit
        )
    except NoHistoryError as exc:
        raise fail(f"{exc}; nothing to report") from None
    finally:
        connection.close()
    if result.calibration.outcomes_after.note:
        err(f"note: {result.calibration.outcomes_after.note}")
    _emit(result, output_format, render_markdown)


def register(app: typer.Typer) -> None:
    """Add `outcomes`, `measure`, `calibrate` and `report` to the main app."""
    app.add_typer(outcomes_app, name="outcomes")
    app.command("measure")(measure)
    app.command("calibrate")(calibrate)
    app.command("report")(report)
