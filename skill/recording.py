"""`account-health run`: assess a file and record it in the history database.

The run id is a hash of the input's bytes (with the reading options that
change what they mean: date format, decimal mark, column mapping ...), `as_of`,
the automation level and the policy version: the same run twice finds itself completed and does
nothing; a run killed mid-way finds itself incomplete, skips the accounts
already recorded and finishes the rest.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, ConfigDict, Field

from skill.assessment import SCHEMA_VERSION, PriorAssessment, ReviewBudgetSummary
from skill.dialect import ReadOptions
from skill.heap import fewer_collections
from skill.ingest import IngestedRow, PendingCells, PendingRow, Rejection
from skill.pipeline import (
    EXIT_OK,
    EXIT_USAGE,
    AssessmentStream,
    HistorySource,
    budget_message,
    run_job,
)
from skill.policy import Policy
from skill.store.db import DatabaseUnavailable, connect, default_db_path
from skill.store.history import (
    BATCH_SIZE,
    Prepared,
    RunInfo,
    batches,
    finish_run,
    prepare,
    prior_assessments,
    record_prepared,
    run_id_for,
    start_run,
)
from skill.store.reviews import apply_review_budget
from skill.store.trends import (
    Current,
    TrendNote,
    render_trend_note,
    trend_note,
    trend_note_line,
)
from skill.vocabulary import AutomationLevel, Source

ErrorSink = Callable[[str], None]


class RunDocument(BaseModel):
    """`run --format json`: what the run recorded, and each account's trend note."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: str = SCHEMA_VERSION
    run_id: str
    as_of: date
    recorded: int = Field(description="Accounts new or changed in the database.")
    unchanged: int = Field(description="Accounts already recorded exactly so; not rewritten.")
    sources_not_connected: list[Source] = Field(
        default=[], description="Sources with no data in any record of the input."
    )
    trends: list[TrendNote]
    rejected: list[Rejection]
    review_budget: ReviewBudgetSummary | None = Field(
        default=None,
        description="How the policy's review budget split this run's review tasks; the "
        "ones over it are recorded as also_at_risk. Null when the budget is off.",
    )
    already_recorded: bool = Field(
        default=False,
        description="True when this file, date, level and policy were recorded before: "
        "nothing was written, `unchanged` counts the accounts that run assessed, and "
        "`trends` and `rejected` are empty (they were printed by that run).",
    )


def _already_recorded(connection: sqlite3.Connection, info: RunInfo) -> RunDocument:
    """The document of a run that finds itself done: counts from its first recording."""
    row = connection.execute(
        "SELECT assessed FROM runs WHERE run_id = ?", (info.run_id,)
    ).fetchone()
    return RunDocument(
        run_id=info.run_id,
        as_of=info.as_of,
        recorded=0,
        unchanged=int(row[0]) if row else 0,
        trends=[],
        rejected=[],
        already_recorded=True,
    )


CACHE_KIB = 32 * 1024  # SQLite page cache for a run, KiB (the default is 2 MiB)
#: Allocations between the cyclic collector's youngest-generation passes while a run
#: records (Python's default is 700).
COLLECT_EVERY = 20_000
CHECKPOINT_PAGES = 32768  # WAL pages (128 MiB) between automatic checkpoints (default 1000)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_recording(
    source: str,
    *,
    db_path: Path | None,
    output_format: str,
    as_of: date,
    level: AutomationLevel,
    policy: Policy,
    out: TextIO,
    err: ErrorSink,
    input_format: str | None = None,
    rejects_path: Path | None = None,
    options: ReadOptions | None = None,
    source_name: str | None = None,
    workers: int = 1,
) -> int:
    """Record `source` (a file); `source_name` is the name the run records for it
    (default: the path as given), for a file a shell received under another name.
    `workers` > 1 assesses over that many processes (`skill.parallel`) while this
    process writes, in input order: the same database."""
    path = Path(source)
    if source == "-" or not path.is_file():
        what = "standard input" if source == "-" else f"{source}: no such file"
        err(f"error: run needs a file ({what}); its content hash keeps reruns idempotent")
        return EXIT_USAGE
    db_file = Path(db_path) if db_path is not None else default_db_path()
    try:
        connection = connect(db_file)
    except DatabaseUnavailable as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    try:
        # Bulk writes: a page cache that holds the outbox's key index (random
        # keys) and fewer, larger checkpoints. This connection only.
        connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        connection.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
        source_hash = file_hash(path)
        if options is not None and options.fingerprint:
            digest = hashlib.sha256(f"{source_hash}\n{options.fingerprint}".encode())
            source_hash = digest.hexdigest()
        info = RunInfo(
            run_id=run_id_for(source_hash, as_of, level.value, policy.version),
            as_of=as_of,
            automation_level=level.value,
            policy_version=policy.version,
            source=source_name or str(source),
            source_hash=source_hash,
        )
        if not start_run(connection, info):
            err(
                f"run {info.run_id} ({info.source}, as of {as_of}) is already recorded; "
                "nothing to do"
            )
            if output_format == "json":
                document = _already_recorded(connection, info)
                _Notes(out).write(document.model_dump_json(indent=2) + "\n")
            return EXIT_OK
        counts = {"assessed": 0, "written": 0}

        notes = _Notes(out)
        # The latest earlier assessment the engine was given per account, kept until
        # its trend note is out.
        histories: dict[tuple[str, date], PriorAssessment] = {}
        depth = policy.history.usage_decline_periods

        def history(keys: list[tuple[str, date]]) -> dict[tuple[str, date], list[PriorAssessment]]:
            found = prior_assessments(connection, keys, depth)
            histories.update((key, prior[-1]) for key, prior in found.items() if prior)
            return found

        def write(stream: AssessmentStream) -> int:
            trends: list[TrendNote] = []
            # Each account is serialised as it is assessed (the models are not
            # kept), with the latest earlier assessment the engine read. Per
            # batch: written in one transaction, then its trend notes out.
            prepared: Iterator[tuple[Prepared, Current, PriorAssessment | None]]
            if workers > 1:
                prepared = stream.products(
                    "record",
                    workers,
                    history_db=HistorySource(str(db_file), depth),
                    run_id=info.run_id,
                    repeated=_seen_before(),
                    batch_size=BATCH_SIZE,
                )
            else:
                prepared = (
                    (
                        prepare(record, assessment, info.run_id),
                        Current.of(assessment),
                        histories.get((assessment.account_id, assessment.as_of)),
                    )
                    for record, assessment in stream.pairs(plain=True)
                )
            for batch in batches(prepared, BATCH_SIZE):
                counts["written"] += record_prepared(connection, [p for p, _, _ in batch])
                counts["assessed"] += len(batch)
                for _, current, before in batch:
                    if output_format == "jsonl":
                        notes.write(trend_note_line(current, before, policy.history))
                        continue
                    trend = trend_note(current, before, policy.history)
                    if output_format == "json":
                        trends.append(trend)
                    else:
                        notes.write(render_trend_note(trend) + "\n")
                for _, current, _ in batch:
                    histories.pop((current.account_id, current.as_of), None)
            budget = stream.review_budget()
            if budget is not None and stream.budgeter is not None:
                deferred = [(a.account_id, a.as_of) for a in budget.also_at_risk]
                apply_review_budget(connection, stream.budgeter.kept(), deferred)
            finish_run(connection, info.run_id, counts["assessed"], len(stream.rejected))
            if output_format == "json":
                document = RunDocument(
                    run_id=info.run_id,
                    as_of=as_of,
                    recorded=counts["written"],
                    unchanged=counts["assessed"] - counts["written"],
                    sources_not_connected=stream.sources_not_connected,
                    trends=trends,
                    rejected=stream.rejected,
                    review_budget=budget,
                )
                notes.write(document.model_dump_json(indent=2) + "\n")
            elif output_format == "md" and budget is not None and budget.flagged:
                notes.write(budget_message(budget) + "\n")
            return counts["assessed"]

        # A batch keeps some thirty small objects per account until its commit: with
        # Python's default threshold the collector would walk the heap every couple of
        # dozen accounts (about 30 µs per account, against 5 for `assess`).
        with fewer_collections(COLLECT_EVERY):
            code = run_job(
                source,
                write,
                as_of=as_of,
                level=level,
                policy=policy,
                err=err,
                input_format=input_format,
                rejects_path=rejects_path,
                history=history,
                options=options,
            )
        err(
            f"recorded run {info.run_id}: {counts['written']} new or changed, "
            f"{counts['assessed'] - counts['written']} unchanged"
        )
        if notes.broken:
            raise BrokenPipeError  # now that the run is recorded: the CLI ends quietly
        return code
    finally:
        connection.close()


def _seen_before() -> Callable[[IngestedRow | PendingRow | PendingCells], bool]:
    """For `run` over worker processes: whether a row's account came earlier in the run.

    Such a row's history must include what the run recorded before it in earlier
    batches, as with one process (see `skill.parallel.run_chunks`). The account id
    is compared loosely (whitespace ignored), so a row that may turn out to be the
    same account counts too.
    """
    seen: set[str] = set()

    def repeated(item: IngestedRow | PendingRow | PendingCells) -> bool:
        if type(item) is PendingCells:
            raw: object = item.account_id()
        elif type(item) is PendingRow:
            raw = item.data.get("account_id")
        else:
            return False
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            return False  # not an id: the row is rejected, it records nothing
        key = "".join(str(raw).split())
        if key in seen:
            return True
        seen.add(key)
        return False

    return repeated


class _Notes:
    """The trend notes' way out. A reader that goes away (`run ... | head`) stops
    the notes, not the recording: the run still records every account."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.broken = False

    def write(self, text: str) -> None:
        if self.broken:
            return
        try:
            self.out.write(text)
        except BrokenPipeError:
            self.broken = True
