"""The main job, end to end: read records, assess each, write as they come.

Records stream through, so memory stays flat in the number of accounts for
every format but `table`, which needs all rows to lay out its columns.

Two things belong to the run, not to any one account:
- Sources not connected in the input. A first pass over the input (see
  `skill.ingest`) finds which sources have data in any record; one with none
  is reported once (a warning, and in the JSON document and Markdown), and the
  engine is told, so it is no reason to review or hold back each account.
- The review budget. Assessments stream out as the engine made them; the
  budget (`skill.review_budget`) is decided once all are through and reported
  at the end. `run` records it in the history database.
"""

from __future__ import annotations

import codecs
import os
from array import array
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from functools import lru_cache
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, TextIO

from skill.assessment import Assessment, PriorAssessment, ReviewBudgetSummary
from skill.dialect import ReadOptions
from skill.engine import Engine
from skill.engine.dimensions import SOURCE_FIELDS, SOURCE_LABEL, SOURCE_SYNC_FIELD
from skill.heap import frozen_heap
from skill.ingest import (
    CsvLines,
    IngestedRow,
    InputError,
    PendingCells,
    PendingRow,
    Rejection,
    RejectsWriter,
    read_accounts,
    rejection_for_row,
)
from skill.policy import Policy
from skill.record import TEXT_LIMIT, AccountRecord, truncated_of, values_of
from skill.review_budget import ReviewBudgeter
from skill.vocabulary import AutomationLevel, Source

if TYPE_CHECKING:  # imported where processes start
    from skill.parallel import ChunkResult

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_REJECTED = 3

ErrorSink = Callable[[str], None]
# Earlier assessments per (account_id, as_of), for a batch of such keys at once.
HistoryLookup = Callable[
    [list[tuple[str, date]]], Mapping[tuple[str, date], Sequence[PriorAssessment]]
]
HISTORY_BATCH = 500


SOURCE_ORDER = (Source.CRM, Source.SUPPORT, Source.PRODUCT)


def sources_in(records: Iterable[AccountRecord]) -> frozenset[Source]:
    """Sources with a value, or a sync date, in at least one of `records`."""
    wanted = {s: (*SOURCE_FIELDS[s], SOURCE_SYNC_FIELD[s]) for s in Source}
    found: set[Source] = set()
    for record in records:
        for source, fields in list(wanted.items()):
            if any(getattr(record, f) is not None for f in fields):
                found.add(source)
                del wanted[source]
        if not wanted:
            break
    return frozenset(found)


def not_connected_message(sources: Sequence[Source]) -> str:
    """The once-per-run note on sources no record of the input has data for."""
    names = ", ".join(SOURCE_LABEL[s] for s in sources)
    return (
        f"not connected in this input: {names} (no record has a value in any of their "
        "fields). Every account is assessed without them: confidence says so, but this "
        "alone opens no review task and holds back no action."
    )


def budget_message(budget: ReviewBudgetSummary) -> str:
    """One line on how the review budget split the run's review tasks."""
    text = (
        f"review budget: {budget.kept} of {budget.accounts} account(s) keep a review task "
        f"(limit {budget.limit}, {budget.max_share:.0%} of the run)"
    )
    if budget.also_at_risk:
        text += f"; {len(budget.also_at_risk)} more listed as also at risk"
    if budget.never_cut > budget.limit:
        text += f"; {budget.never_cut} task(s) the policy never defers exceed the limit"
    return text


# Dates the input itself carries; the last sync is the best clue to when it was exported.
DATED_FIELDS = (
    "crm_synced_at",
    "support_synced_at",
    "product_synced_at",
    "last_customer_reply_date",
    "last_exec_touch_date",
    "last_survey_date",
)


_dates_of = itemgetter(*DATED_FIELDS)


def as_of_gap(record: AccountRecord, as_of: date, limit: int) -> tuple[str, date] | None:
    """The first of the record's own dates more than `limit` days from `as_of`, when the
    record has no as_of of its own: a sign that --as-of is wrong for this input."""
    fields = values_of(record)
    if fields["as_of"] is not None:
        return None
    values = _dates_of(fields)
    # Asked of every record until a gap is found: the usual answer, every date within
    # the window, is read from the earliest and the latest date alone.
    dates = sorted(filter(None, values))  # a date is never false: the Nones go
    if not dates:
        return None
    window = _gap_window(as_of, limit)
    if window is not None and window[0] <= dates[0] and dates[-1] <= window[1]:
        return None
    for field, value in zip(DATED_FIELDS, values, strict=True):
        if value is not None and abs((value - as_of).days) > limit:
            return field, value
    return None


@lru_cache(maxsize=16)
def _gap_window(as_of: date, limit: int) -> tuple[date, date] | None:
    """The first and last day within `limit` days of `as_of` (None past the calendar's end)."""
    try:
        return as_of - timedelta(days=limit), as_of + timedelta(days=limit)
    except OverflowError:
        return None


class HistorySource(NamedTuple):
    """A history database to read earlier assessments from, for worker processes,
    which each open it read-only (a lookup function cannot be sent to them)."""

    path: str
    depth: int


def duplicate_rejection(row: int, account_id: str, as_of: date, first: int) -> Rejection:
    """A second row for an account already assessed for the same date.

    The first row's assessment may already be written (output streams), and
    row order in an export says nothing about which row is current, so the
    second row is refused and named rather than guessed about.
    """
    return rejection_for_row(
        row,
        None,
        account_id,
        f"account_id {account_id!r} appears again (first at row {first}) for as_of {as_of}; "
        f"row {first} was assessed and this row was not",
        account_id,
        "one row per account and date: remove or merge the duplicate rows",
    )


def duplicate_key(account_id: str, day: date, as_of: date) -> Hashable:
    """What makes two rows the same account for the duplicate check: the id alone when
    the record is of the run's date (nearly always, and half the memory), else the id
    and the record's date."""
    return account_id if day == as_of else (account_id, day)


class FirstRows:
    """The first row of each key a run admits (an account id, or id and date): exact,
    never calling two different keys the same.

    While no key repeats (nearly always), the keys are held in a set, and their rows
    in an array in the order the keys came: about 50 bytes a key beside the key itself,
    against 85 for a dict of key to row. At the first repeat the two become that dict,
    which then answers every later key.
    """

    def __init__(self) -> None:
        self._keys: set[Hashable] = set()
        self._order: list[Hashable] = []
        self._rows = array("Q")
        self._first: dict[Hashable, int] | None = None

    def first(self, key: Hashable, row: int) -> int | None:
        """The first row of `key` if it came before; else None, and `row` is its first."""
        first = self._first
        if first is None:
            if key not in self._keys:
                self._keys.add(key)
                self._order.append(key)
                self._rows.append(row)
                return None
            first = self._first = dict(zip(self._order, self._rows, strict=True))
            self._keys, self._order, self._rows = set(), [], array("Q")
        earlier = first.get(key)
        if earlier is None:
            first[key] = row
        return earlier

    def add_new(self, keys: list[Hashable], rows: list[int]) -> bool:
        """Record every key, each with its row, if none came before and none twice (True);
        else record nothing (False): the caller goes through them one by one."""
        if self._first is not None or not self._keys.isdisjoint(keys):
            return False
        new = set(keys)
        if len(new) < len(keys):
            return False
        self._keys |= new
        self._order += keys
        self._rows.extend(rows)
        return True


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
        options: ReadOptions | None = None,
    ) -> None:
        self.reader = read_accounts(source, input_format, on_warning=on_warning, options=options)
        self.history = history
        self.policy = policy
        self.as_of = as_of
        self.level = level
        self.accounts = accounts
        self.rejected: list[Rejection] = []
        self.on_rejection: Callable[[Rejection], None] | None = None
        self.on_warning = on_warning
        self._input_sources: frozenset[Source] | None = None
        # The row assessed for each account and date: a second row is refused. Keyed by
        # the id alone when the record is of the run's date (nearly always), which
        # halves what a million-account run holds here.
        self._seen = FirstRows()
        self._as_of_checked = False
        self._gap_limit = policy.scoring.as_of_gap_warning_days
        budget = policy.actions.review_task.budget
        self.budgeter = ReviewBudgeter(budget) if budget is not None else None

    def input_sources(self) -> frozenset[Source]:
        """Sources with data in any record of the input; the first call reads it once.

        A source with no column, or a column empty in every record, is not
        connected: reported here once, as a warning.
        """
        if self._input_sources is None:
            groups = {s: (*SOURCE_FIELDS[s], SOURCE_SYNC_FIELD[s]) for s in Source}
            self._input_sources = self.reader.groups_with_values(groups)
            missing = self.sources_not_connected
            if missing and self.on_warning is not None:
                self.on_warning(not_connected_message(missing))
        return self._input_sources

    @property
    def sources_not_connected(self) -> list[Source]:
        """In source order; empty until the input has been read."""
        if self._input_sources is None:
            return []
        return [s for s in SOURCE_ORDER if s not in self._input_sources]

    def review_budget(self) -> ReviewBudgetSummary | None:
        """The policy's review budget over every assessment so far; None when it is off."""
        return None if self.budgeter is None else self.budgeter.decide()

    def _reject(self, rejection: Rejection) -> None:
        if self.accounts is not None and rejection.account_id not in (None, *self.accounts):
            return
        self.rejected.append(rejection)
        if self.on_rejection is not None:
            self.on_rejection(rejection)

    def __iter__(self) -> Iterator[Assessment]:
        for _, assessment in self.pairs():
            yield assessment

    def pairs(self, plain: bool = False) -> Iterator[tuple[AccountRecord, Assessment]]:
        """Each record with its assessment, for callers that keep the input too (`plain`:
        the assessment as a `Plain`, for callers that only read its fields and its compact
        JSON).

        With a history lookup, records are read a batch at a time so one lookup
        serves many accounts; the engine then sees each account's earlier
        assessments and can raise trend flags.
        """
        for record, assessment, _ in self._triples(plain, compact=plain):
            yield record, assessment

    def _records(self) -> Iterator[tuple[int, AccountRecord]]:
        as_of, gap_limit = self.as_of, self._gap_limit
        for row, record, rejection in self.reader:
            if record is None:
                assert rejection is not None
                self._reject(rejection)
                continue
            fields = values_of(record)
            account_id = fields["account_id"]
            if not self._admit(row, account_id, fields["as_of"]):
                continue
            gap = None if self._as_of_checked else as_of_gap(record, as_of, gap_limit)
            truncated = truncated_of(record)
            if gap is not None or truncated:
                self._note(row, account_id, gap, truncated)
            yield row, record
        self._seen = FirstRows()  # the input is read: held no longer than needed

    def _admit(self, row: int, account_id: str, record_as_of: date | None) -> bool:
        """Whether to assess this record: it is one asked for (--account), and not a second
        row for an account and date already assessed (that one is rejected)."""
        if self.accounts is not None and account_id not in self.accounts:
            return False
        day = record_as_of or self.as_of
        first = self._seen.first(duplicate_key(account_id, day, self.as_of), row)
        if first is not None:
            self._reject(duplicate_rejection(row, account_id, day, first))
            return False
        return True

    def _warn(self, message: str) -> None:
        if self.on_warning is not None:
            self.on_warning(message)

    def _note(
        self,
        row: int,
        account_id: str,
        gap: tuple[str, date] | None,
        truncated: tuple[tuple[str, int], ...],
    ) -> None:
        """The warnings about one record: --as-of far from its dates (once per run), notes
        cut to the limit."""
        if gap is not None and not self._as_of_checked:
            field, value = gap
            self._as_of_checked = True
            self._warn(
                f"as_of {self.as_of} is {abs((value - self.as_of).days):,} days from this "
                f"input's own dates (row {row}, account_id {account_id!r}: {field} "
                f"{value}); every day count is measured from as_of: check --as-of"
            )
        for field, length in truncated:
            self._warn(
                f"row {row} (account_id {account_id!r}): {field} is {length:,} "
                f"characters; cut to the first {TEXT_LIMIT:,} (the assessment's data_quality "
                "says so)"
            )

    def products(self, kind: str, workers: int = 1, **options: Any) -> Iterator[Any]:
        """Each assessment as output (`kind`: jsonl, json, md, table, or record for `run`),
        in input order, made by `workers` processes (see `skill.parallel`).

        With one worker, the assessments of this stream, made into output here; with
        more, the rows go to worker processes and everything that belongs to the run
        (rejections, warnings, duplicates, the review budget) happens here, in row
        order, exactly as with one. `options` are `product_blocks`'s: `run` passes
        `repeated` and its `batch_size` (see `skill.parallel.run_chunks`).
        """
        for block, _ in self.product_blocks(kind, workers, **options):
            yield from block

    def product_blocks(
        self,
        kind: str,
        workers: int = 1,
        *,
        history_db: HistorySource | None = None,
        run_id: str | None = None,
        repeated: Callable[[IngestedRow | PendingRow | PendingCells], bool] | None = None,
        batch_size: int | None = None,
    ) -> Iterator[tuple[Any, int]]:
        """`products` a list at a time (a chunk's, with workers), with its length."""
        from skill.parallel import Job, plain_output, product_maker, rows_in, run_chunks

        if workers <= 1:
            make = product_maker(kind, self.policy, run_id)
            for record, assessment, history in self._triples(
                plain_output(kind), compact=kind != "json"
            ):
                yield [make(record, assessment, history)], 1
            return
        job = Job(
            self.policy,
            self.level,
            self.as_of,
            self.input_sources(),
            self.reader.options.context,
            None if self.accounts is None else frozenset(self.accounts),
            kind,
            None if history_db is None else history_db.path,
            0 if history_db is None else history_db.depth,
            run_id,
        )
        # The reader reads ahead of the results: its warnings wait for the rows before
        # them, so they come where one process would say them.
        waiting: list[tuple[int, str]] = []
        read = 0
        said = self.reader.on_warning

        def hold(message: str) -> None:
            waiting.append((read, message))

        def counted() -> Iterator[IngestedRow | PendingRow | PendingCells | CsvLines]:
            nonlocal read
            # Blocks of CSV lines unless `run` must see each row's account (`repeated`).
            for item in self.reader.pending_rows(blocks=repeated is None):
                read += rows_in(item)
                yield item

        def say(upto: int | None) -> None:
            while waiting and (upto is None or waiting[0][0] <= upto):
                if said is not None:
                    said(waiting.pop(0)[1])
                else:
                    waiting.pop(0)

        self.reader.on_warning = hold
        done = 0  # rows taken so far, of every kind
        made = 0  # accounts yielded so far: where the caller's batch stands

        def room() -> int:
            assert batch_size is not None
            return batch_size - made % batch_size

        def one_by_one(chunk: ChunkResult) -> Iterator[Any]:
            """A chunk's rows as one process takes them: for a chunk with a row whose
            account came before, or a warning to say between two of its rows."""
            nonlocal done, made
            for result in chunk.row_results():
                say(done)
                done += 1
                if result.rejection is not None:
                    self._reject(result.rejection)
                    continue
                if result.left_out:
                    continue
                account_id = result.account_id
                assert account_id is not None
                if not self._admit(result.row, account_id, result.record_as_of):
                    continue
                self._note(result.row, account_id, result.as_of_gap, result.truncated)
                if self.budgeter is not None:
                    self.budgeter.add_accounts(1)
                    if result.budget is not None:
                        self.budgeter.add_candidate(result.budget)
                made += 1
                yield result.product

        try:
            chunks = run_chunks(
                counted(),
                job,
                workers,
                repeated=repeated,
                room=None if batch_size is None else room,
            )
            for chunk in chunks:
                say(done)
                if (not waiting or waiting[0][0] >= done + chunk.count) and self._seen.add_new(
                    chunk.keys, chunk.rows
                ):
                    # The usual chunk: every account new, no warning between its rows.
                    if chunk.rejections or chunk.notes:
                        self._say_rows(chunk)
                    if self.budgeter is not None:
                        self.budgeter.add_accounts(len(chunk.keys))
                        for _, candidate in chunk.candidates:
                            self.budgeter.add_candidate(candidate)
                    done += chunk.count
                    made += len(chunk.keys)
                    if chunk.keys:
                        yield chunk.products, len(chunk.keys)
                    continue
                products = list(one_by_one(chunk))
                if products:
                    yield products, len(products)
        except InputError:
            say(None)
            raise
        finally:
            self.reader.on_warning = said
        say(None)
        self._seen = FirstRows()  # the input is read: held no longer than needed

    def _say_rows(self, chunk: ChunkResult) -> None:
        """A chunk's rejections and notes, in row order (its accounts are all admitted)."""
        keys, rows = chunk.keys, chunk.rows
        events: list[tuple[int, Any]] = [*chunk.rejections]
        index = {}
        if chunk.notes:
            skipped = {o for o, _ in chunk.rejections}.union(chunk.left_out)
            assessed = (o for o in range(chunk.count) if o not in skipped)
            index = {ordinal: at for at, ordinal in enumerate(assessed)}
            events += [(o, (gap, cut)) for o, gap, cut in chunk.notes]
        for ordinal, event in sorted(events, key=itemgetter(0)):
            if isinstance(event, Rejection):
                self._reject(event)
                continue
            at = index[ordinal]
            key = keys[at]
            account_id = key if type(key) is str else key[0]
            self._note(rows[at], account_id, *event)

    def _triples(
        self, plain: bool = False, compact: bool = False
    ) -> Iterator[tuple[AccountRecord, Assessment, Sequence[PriorAssessment]]]:
        """Each record with its assessment and the history the engine read for it; `plain`:
        the assessment as a `Plain` (see `Engine`), for output that is only JSON;
        `compact`: JSON that is never indented (`Engine`'s `compact_output`)."""
        engine = Engine(
            self.policy,
            self.level,
            input_sources=self.input_sources(),
            plain_output=plain,
            compact_output=compact,
        )
        records = self._records()
        if self.history is None:
            for _, record in records:
                yield record, self._assess(engine, record, ()), ()
            return
        while batch := list(islice(records, HISTORY_BATCH)):
            found = self.history([(r.account_id, r.as_of or self.as_of) for _, r in batch])
            for _, record in batch:
                prior = found.get((record.account_id, record.as_of or self.as_of), ())
                yield record, self._assess(engine, record, prior), prior

    def _assess(
        self, engine: Engine, record: AccountRecord, history: Sequence[PriorAssessment]
    ) -> Assessment:
        assessment = engine.assess(record, self.as_of, history)
        if self.budgeter is not None:
            self.budgeter.add(assessment)
        return assessment


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
    options: ReadOptions | None = None,
    workers: int = 1,
    history_db: HistorySource | None = None,
) -> int:
    """Run `assess` and return the exit code; with `history`, trend flags too.

    `workers` > 1: over that many processes (`skill.parallel`), the same output;
    they read history from `history_db` (the database `history` reads), if given.
    """
    return run_job(
        source,
        lambda stream: write_assessments(
            stream, output_format, out, policy, as_of, level, workers, history_db
        ),
        as_of=as_of,
        level=level,
        policy=policy,
        err=err,
        input_format=input_format,
        rejects_path=rejects_path,
        accounts=accounts,
        history=history,
        options=options,
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
    options: ReadOptions | None = None,
) -> int:
    """Read, assess and hand the stream to `write`; report rejections; return the exit code.

    `options`: how the input writes dates and numbers, its CSV dialect, encoding,
    sheet and column mapping (`skill.dialect.ReadOptions`).
    """
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
            options=options,
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
        with frozen_heap():
            count = write(stream)
    except InputError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    finally:
        if rejects is not None:
            rejects.close()
    budget = stream.review_budget()
    if budget is not None and (budget.also_at_risk or budget.never_cut > budget.limit):
        err(budget_message(budget))
    return _summarise(count, stream.rejected, accounts, rejects_path, err)


def write_assessments(
    stream: AssessmentStream,
    output_format: str,
    out: TextIO,
    policy: Policy,
    as_of: date,
    level: AutomationLevel,
    workers: int = 1,
    history_db: HistorySource | None = None,
) -> int:
    count = 0
    kind = output_format if output_format in ("jsonl", "json", "table") else "md"
    if output_format == "jsonl":
        # The lines come as UTF-8 bytes (orjson writes bytes): straight to the binary
        # stream under `out` where there is one that takes them as they are.
        binary = utf8_buffer(out)
        if binary is not None:
            out.flush()  # anything written as text before goes first
        from skill.parallel import SharedLines

        line_buffered = getattr(out, "line_buffering", False)
        for lines, accounts in stream.product_blocks(kind, workers, history_db=history_db):
            # A chunk's lines in one write (in two, if some did not fit in shared memory).
            parts = lines.parts() if type(lines) is SharedLines else (b"".join(lines),)
            for data in parts:
                if binary is None:
                    out.write(str(data, "utf-8"))
                else:
                    binary.write(data)
            if binary is not None and line_buffered:  # a terminal sees each chunk at once
                binary.flush()
            count += accounts
        return count
    products = stream.products(kind, workers, history_db=history_db)
    if output_format == "json":
        from skill.render.data import JsonRunWriter

        # Pull the first assessment before writing the header, so an input-level
        # error (empty input, missing required column) leaves stdout empty rather
        # than holding half a JSON document.
        first = next(products, None)
        writer = JsonRunWriter(
            out, as_of, level, policy.version, sources_not_connected=stream.sources_not_connected
        )
        for text in chain([first] if first is not None else [], products):
            writer.write_json(text)
            count += 1
        writer.close(stream.rejected, stream.review_budget())
    elif output_format == "table":
        from skill.render.table import render_rows

        rows = list(products)
        count = len(rows)
        out.write(render_rows(rows))
        notes = _run_notes(stream.sources_not_connected, stream.review_budget())
        if notes:
            out.write("\n" + notes)
    else:
        from skill.render.markdown import render_budget, render_not_connected

        for text in products:
            if not count and stream.sources_not_connected:
                out.write(render_not_connected(stream.sources_not_connected) + "\n---\n\n")
            if count:
                out.write("\n---\n\n")
            out.write(text)
            count += 1
        budget = stream.review_budget()
        if count and budget is not None and budget.flagged:
            out.write("\n---\n\n" + render_budget(budget))
    return count


def utf8_buffer(out: TextIO) -> BinaryIO | None:
    """The binary stream under `out` if text written to `out` reaches it as its UTF-8
    bytes, unchanged: stdout or a UTF-8 text file, where a line ends with a newline
    (`os.linesep`). None for any other sink (a `StringIO`, another encoding), which is
    written text. (A file opened with `newline="\\r\\n"` would lose that translation;
    nothing here opens one.)"""
    buffer = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None)
    if buffer is None or not isinstance(encoding, str) or os.linesep != "\n":
        return None
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    return buffer if name == "utf-8" else None


def _run_notes(not_connected: list[Source], budget: ReviewBudgetSummary | None) -> str:
    """The run-level lines under a table: sources not connected, the review budget."""
    lines = []
    if not_connected:
        lines.append(not_connected_message(not_connected))
    if budget is not None and budget.flagged:
        lines.append(budget_message(budget))
        if budget.also_at_risk:
            lines.append("also at risk: " + ", ".join(a.account_id for a in budget.also_at_risk))
    return "".join(line + "\n" for line in lines)


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
