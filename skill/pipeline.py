"""The main job, end to end: read records, assess each, write as they come.

Records stream through, so memory stays flat in the number of accounts for
every format but `table`, which needs all rows to lay out its columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from itertools import chain, islice
from pathlib import Path
from typing import TextIO

from skill.assessment import Assessment, PriorAssessment
from skill.engine import Engine, NoSignalsError
from skill.ingest import (
    InputError,
    Rejection,
    RejectsWriter,
    read_accounts,
    rejection_for_row,
)
from skill.policy import Policy
from skill.record import AccountRecord
from skill.vocabulary import AutomationLevel

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_REJECTED = 3

ErrorSink = Callable[[str], None]
# Earlier assessments per (account_id, as_of), for a batch of such keys at once.
HistoryLookup = Callable[
    [list[tuple[str, date]]], Mapping[tuple[str, date], Sequence[PriorAssessment]]
]
HISTORY_BATCH = 500

NO_SIGNALS_EXPECTED = "at least one signal field besides the identity fields"


def no_signals_rejection(
    row: int, line: int | None, account_id: str, exc: NoSignalsError
) -> Rejection:
    return rejection_for_row(row, line, account_id, str(exc), None, NO_SIGNALS_EXPECTED)


class AssessmentStream:
    """Iterates assessments from an input, collecting rejections on the way."""

    def __init__(
        self,
        source: str | Path | TextIO,
        *,
        policy: Policy,
        as_of: date,
        level: AutomationLevel,
        input_format: str | None = None,
        accounts: set[str] | None = None,
        on_warning: ErrorSink | None = None,
        history: HistoryLookup | None = None,
    ) -> None:
        self.reader = read_accounts(source, input_format, on_warning=on_warning)
        self.history = history
        self.policy = policy
        self.as_of = as_of
        self.level = level
        self.accounts = accounts
        self.rejected: list[Rejection] = []
        self.on_rejection: Callable[[Rejection], None] | None = None

    def _reject(self, rejection: Rejection) -> None:
        if self.accounts is not None and rejection.account_id not in (None, *self.accounts):
            return
        self.rejected.append(rejection)
        if self.on_rejection is not None:
            self.on_rejection(rejection)

    def __iter__(self) -> Iterator[Assessment]:
        for _, assessment in self.pairs():
            yield assessment

    def pairs(self) -> Iterator[tuple[AccountRecord, Assessment]]:
        """Each record with its assessment, for callers that keep the input too.

        With a history lookup, records are read a batch at a time so one lookup
        serves many accounts; the engine then sees each account's earlier
        assessments and can raise trend flags.
        """
        engine = Engine(self.policy, self.level)
        records = self._records()
        if self.history is None:
            for row, record in records:
                yield from self._assess(engine, row, record, ())
            return
        while batch := list(islice(records, HISTORY_BATCH)):
            found = self.history([(r.account_id, r.as_of or self.as_of) for _, r in batch])
            for row, record in batch:
                prior = found.get((record.account_id, record.as_of or self.as_of), ())
                yield from self._assess(engine, row, record, prior)

    def _records(self) -> Iterator[tuple[int, AccountRecord]]:
        for item in self.reader:
            if item.rejection is not None:
                self._reject(item.rejection)
                continue
            record = item.record
            assert record is not None
            if self.accounts is not None and record.account_id not in self.accounts:
                continue
            yield item.row, record

    def _assess(
        self,
        engine: Engine,
        row: int,
        record: AccountRecord,
        history: Sequence[PriorAssessment],
    ) -> Iterator[tuple[AccountRecord, Assessment]]:
        try:
            yield record, engine.assess(record, self.as_of, history)
        except NoSignalsError as exc:
            self._reject(no_signals_rejection(row, None, record.account_id, exc))


def run_assessment(
    source: str | Path | TextIO,
    *,
    output_format: str,
    as_of: date,
    level: AutomationLevel,
    policy: Policy,
    out: TextIO,
    err: ErrorSink,
    input_format: str | None = None,
    rejects_path: Path | None = None,
    accounts: set[str] | None = None,
    history: HistoryLookup | None = None,
) -> int:
    """Run `assess` and return the exit code; with `history`, trend flags too."""
    return run_job(
        source,
        lambda stream: write_assessments(stream, output_format, out, policy, as_of, level),
        as_of=as_of,
        level=level,
        policy=policy,
        err=err,
        input_format=input_format,
        rejects_path=rejects_path,
        accounts=accounts,
        history=history,
    )


def run_job(
    source: str | Path | TextIO,
    write: Callable[[AssessmentStream], int],
    *,
    as_of: date,
    level: AutomationLevel,
    policy: Policy,
    err: ErrorSink,
    input_format: str | None = None,
    rejects_path: Path | None = None,
    accounts: set[str] | None = None,
    history: HistoryLookup | None = None,
) -> int:
    """Read, assess and hand the stream to `write`; report rejections; return the exit code."""
    try:
        stream = AssessmentStream(
            source,
            policy=policy,
            as_of=as_of,
            level=level,
            input_format=input_format,
            accounts=accounts,
            on_warning=lambda message: err(f"warning: {message}"),
            history=history,
        )
        rejects = RejectsWriter(rejects_path) if rejects_path else None
    except InputError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE

    def on_rejection(rejection: Rejection) -> None:
        err(f"error: {rejection.reason}")
        if rejects is not None:
            rejects.write(rejection)

    stream.on_rejection = on_rejection
    try:
        count = write(stream)
    except InputError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    finally:
        if rejects is not None:
            rejects.close()
    return _summarise(count, stream.rejected, accounts, rejects_path, err)


def write_assessments(
    stream: AssessmentStream,
    output_format: str,
    out: TextIO,
    policy: Policy,
    as_of: date,
    level: AutomationLevel,
) -> int:
    count = 0
    if output_format == "jsonl":
        for assessment in stream:
            out.write(assessment.model_dump_json() + "\n")
            count += 1
    elif output_format == "json":
        from skill.render.data import JsonRunWriter

        # Pull the first assessment before writing the header, so an input-level
        # error (empty input, missing required column) leaves stdout empty rather
        # than holding half a JSON document.
        items = iter(stream)
        first = next(items, None)
        writer = JsonRunWriter(out, as_of, level, policy.version)
        for assessment in chain([first] if first is not None else [], items):
            writer.write(assessment)
            count += 1
        writer.close(stream.rejected)
    elif output_format == "table":
        from skill.render.table import render_table

        assessments = list(stream)
        count = len(assessments)
        out.write(render_table(assessments))
    else:
        from skill.drafting import TemplateDrafter
        from skill.render.markdown import render_assessment

        drafter = TemplateDrafter()
        for assessment in stream:
            if count:
                out.write("\n---\n\n")
            out.write(render_assessment(assessment, drafter.draft(assessment), policy))
            count += 1
    return count


def _summarise(
    count: int,
    rejected: list[Rejection],
    accounts: set[str] | None,
    rejects_path: Path | None,
    err: ErrorSink,
) -> int:
    if accounts is not None and count == 0 and not rejected:
        err(f"error: no account matched --account {', '.join(sorted(accounts))}")
        return EXIT_USAGE
    if rejected:
        where = (
            f"; written to {rejects_path}" if rejects_path else "; use --rejects FILE to keep them"
        )
        err(f"assessed {count} account(s), rejected {len(rejected)}{where}")
        return EXIT_REJECTED
    return EXIT_OK
