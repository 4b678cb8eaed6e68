"""Assessing over several processes, with the output of one (`--workers N`).

The parent reads the input and hands chunks of rows to worker processes, which
validate, assess and write each account (the costly part): a JSON line, a
Markdown section, a table row, or the rows `run` records. A CSV input mostly goes
as blocks of whole lines (`CsvLines`): the parent only checks that each line is
one record, and the workers split them into cells. Workers send each chunk back
column by column (`ChunkResult`); the parent writes a JSONL chunk's lines at once,
from memory it shares with forked workers (`SharedSlots`), where they wrote them.
It takes the chunks back in input order and does everything that belongs to the run
as `AssessmentStream` does with one process: rejections and warnings in row
order, duplicate rows, the `--as-of` check, the review budget, the output and the
exit code. Nothing a worker does depends on another chunk, so the output is byte
for byte that of `--workers 1`.

History (`assess --db`, `run`) is read by each worker from the database, read
only. `run` writes it in the parent, a batch at a time, as one process does:
a record sees the batches recorded before its own. A row whose account was
seen earlier in the run, in a batch that may already be complete, is
therefore held back until every earlier row has been recorded, then sent on
(see `run_chunks`).

A small input stays in the parent: starting processes would cost more than
they save. Workers start with `fork` on Linux (they inherit the loaded policy)
and `spawn` elsewhere; they are sent everything they need, so either works.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from skill.assessment import Assessment, PriorAssessment, to_json, to_json_bytes
from skill.engine import Engine
from skill.ingest import (
    CsvLines,
    IngestedRow,
    InputError,
    PendingCells,
    PendingRow,
    Rejection,
    validated_item,
)
from skill.pipeline import as_of_gap, duplicate_key
from skill.policy import Policy
from skill.record import AccountRecord, record_validator
from skill.review_budget import Candidate, budget_candidate
from skill.vocabulary import AutomationLevel, Source

if TYPE_CHECKING:  # imported where processes start: `assess` of a small file never pays for it
    from concurrent.futures import Future, ProcessPoolExecutor
    from multiprocessing.context import BaseContext

CHUNK_ROWS = 500  # rows a worker is sent at a time
IN_PROCESS_ROWS = 4 * CHUNK_ROWS  # an input with fewer rows stays in the parent
IN_FLIGHT_PER_WORKER = 2  # chunks sent ahead per worker: enough to keep each busy
# Room for a chunk's JSON lines in memory shared with forked workers (`SharedSlots`):
# about 3.8 MB at 500 accounts; lines past it are sent back as bytes.
SLOT_BYTES = 8 << 20

Item = IngestedRow | PendingRow | PendingCells | CsvLines
# What a worker makes of one assessment for the output: a JSON line, a Markdown
# section ... (`product_maker`), from the record, the assessment and its history.
Product = Any
MakeProduct = Callable[[AccountRecord, Assessment, list[PriorAssessment]], Product]


class Job(NamedTuple):
    """What every worker needs, sent once when it starts."""

    policy: Policy
    level: AutomationLevel
    as_of: date
    input_sources: frozenset[Source]
    context: dict[str, Any] | None  # the reading options' context: decimal mark, date format
    accounts: frozenset[str] | None  # --account: the only accounts assessed
    kind: str  # what each assessment becomes: jsonl, json, md, table or record
    history_db: str | None = None  # read each account's history from here (read only)
    history_depth: int = 0
    run_id: str | None = None  # kind "record": the run the rows belong to


class RowResult(NamedTuple):
    """One input row as a worker left it: a rejection, an account left out by
    `--account`, or an assessed account with what the parent needs of it."""

    row: int
    rejection: Rejection | None = None
    account_id: str | None = None
    record_as_of: date | None = None
    # The first of the record's own dates far from as_of (see `as_of_gap`).
    as_of_gap: tuple[str, date] | None = None
    truncated: tuple[tuple[str, int], ...] = ()
    budget: Candidate | None = None
    product: Product = None
    left_out: bool = False


def plain_output(kind: str) -> bool:
    """Whether `kind` of output only reads the assessment's fields and writes its JSON
    (`record`: the rows `run` stores), so the engine can make it as a `Plain` (see
    `Engine`) instead of as models."""
    return kind in ("jsonl", "json", "record")


class ChunkResult(NamedTuple):
    """A chunk's rows as a worker leaves them, column by column: plain lists that
    pickle without a Python call per row.

    Rows are numbered 0 to count - 1 within the chunk ("ordinal"); the assessed ones
    are the ordinals with neither a rejection nor `left_out`, in order, and `rows`,
    `keys` and the products list them in that order.
    """

    count: int  # rows in the chunk, of every kind
    rows: list[int]  # each assessed row's number in the input
    # The duplicate check's key of each (see `AssessmentStream._admit`): the account
    # id, or (id, date) for a record of another date than the run's.
    keys: list[Hashable]
    products: Sequence[Product]  # a list; `SharedLines` in the parent, for lines in a slot
    rejections: list[tuple[int, Rejection]]  # (ordinal, rejection)
    left_out: list[int]  # ordinals of accounts left out by --account
    notes: list[tuple[int, tuple[str, date] | None, tuple[tuple[str, int], ...]]]
    candidates: list[tuple[int, Candidate]]  # (index among the assessed, review task)
    # JSON lines a worker wrote to shared memory: (the slot, where each line ends in it);
    # `products` then holds the lines that came after them. The parent turns the pair
    # into `SharedLines` when it takes the chunk.
    shared: tuple[int, list[int]] | None = None

    def row_results(self) -> list[RowResult]:
        """Every row of the chunk as a `RowResult`, in input order."""
        rejections = dict(self.rejections)
        left_out = set(self.left_out)
        notes = {ordinal: (gap, cut) for ordinal, gap, cut in self.notes}
        candidates = dict(self.candidates)
        products = self.products
        results, index = [], 0
        for ordinal in range(self.count):
            rejection = rejections.get(ordinal)
            if rejection is not None:
                results.append(RowResult(rejection.row, rejection=rejection))
                continue
            if ordinal in left_out:
                results.append(RowResult(0, left_out=True))
                continue
            key = self.keys[index]
            account_id, day = (key, None) if type(key) is str else key  # type: ignore[misc]
            gap, cut = notes.get(ordinal, (None, ()))
            results.append(
                RowResult(
                    self.rows[index],
                    None,
                    account_id,
                    day,
                    gap,
                    cut,
                    candidates.get(index),
                    products[index],
                )
            )
            index += 1
        return results


def product_maker(kind: str, policy: Policy, run_id: str | None = None) -> MakeProduct:
    """How a worker (or the parent, for a small input) turns an assessment into output."""
    if kind == "jsonl":  # bytes, written as they are (see `pipeline.write_assessments`)
        return lambda record, assessment, history: to_json_bytes(assessment, line=True)
    if kind == "json":
        return lambda record, assessment, history: to_json(assessment, indent=True)
    if kind == "md":
        from skill.drafting import TemplateDrafter
        from skill.render.markdown import render_assessment

        drafter = TemplateDrafter()
        return lambda record, assessment, history: render_assessment(
            assessment, drafter.draft(assessment), policy
        )
    if kind == "table":
        from skill.render.table import row

        return lambda record, assessment, history: row(assessment)
    if kind == "record":
        from skill.store.history import prepare
        from skill.store.trends import Current

        assert run_id is not None
        return lambda record, assessment, history: (
            prepare(record, assessment, run_id),
            Current.of(assessment),
            history[-1] if history else None,
        )
    raise ValueError(f"unknown kind of output {kind!r}")


class ChunkWorker:
    """Validates, assesses and writes chunks of rows for one job."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.engine = Engine(
            job.policy,
            job.level,
            input_sources=job.input_sources,
            plain_output=plain_output(job.kind),
            compact_output=job.kind != "json",
        )
        self.validate = record_validator(job.context)
        self.make = product_maker(job.kind, job.policy, job.run_id)
        self.gap_limit = job.policy.scoring.as_of_gap_warning_days
        self.budget = job.policy.actions.review_task.budget
        self.history = None
        if job.history_db is not None:
            from skill.store.history import HistoryReader

            self.history = HistoryReader(job.history_db, job.history_depth)

    def close(self) -> None:
        if self.history is not None:
            self.history.close()

    def __call__(self, chunk: list[Item], slot: _SlotWriter | None = None) -> ChunkResult:
        """The chunk's results; `slot`: JSON lines go there while they fit, the rest (and
        every other kind of product) into the result."""
        job, validate = self.job, self.validate
        # Validated as they are assessed: a chunk's records are not all held at once
        # (the collector would walk them), unless their history is read first.
        rows: Iterable[IngestedRow] = (validated_item(i, validate) for i in _rows_of(chunk))
        accounts, as_of, budget = job.accounts, job.as_of, self.budget
        found: dict[tuple[str, date], list[PriorAssessment]] = {}
        if self.history is not None:
            rows = list(rows)
            wanted = [
                (r.account_id, r.as_of or as_of)
                for _, r, _ in rows
                if r is not None and (accounts is None or r.account_id in accounts)
            ]
            if wanted:
                found = self.history(wanted)
        numbers: list[int] = []
        keys: list[Hashable] = []
        products: list[Product] = []
        rejections: list[tuple[int, Rejection]] = []
        left_out: list[int] = []
        notes: list[tuple[int, tuple[str, date] | None, tuple[tuple[str, int], ...]]] = []
        candidates: list[tuple[int, Candidate]] = []
        count = 0
        for ordinal, (row, record, rejection) in enumerate(rows):
            count += 1
            if record is None:
                assert rejection is not None
                rejections.append((ordinal, rejection))
                continue
            account_id = record.account_id
            if accounts is not None and account_id not in accounts:
                left_out.append(ordinal)
                continue
            day = record.as_of or as_of
            history = found.get((account_id, day), []) if found else []
            assessment = self.engine.assess(record, as_of, history)
            gap = as_of_gap(record, as_of, self.gap_limit)
            truncated = record.truncated
            if gap is not None or truncated:
                notes.append((ordinal, gap, truncated))
            if budget is not None:
                candidate = budget_candidate(assessment, budget)
                if candidate is not None:
                    candidates.append((len(keys), candidate))
            numbers.append(row)
            keys.append(duplicate_key(account_id, day, as_of))
            product = self.make(record, assessment, history)
            if slot is None or not slot.add(product):
                products.append(product)
        # The products stay apart (not one text): a few megabytes made and freed per
        # chunk cost a worker page faults, some 10 µs per account.
        return ChunkResult(
            count,
            numbers,
            keys,
            products,
            rejections,
            left_out,
            notes,
            candidates,
            None if slot is None else (slot.number, slot.ends),
        )


def _rows_of(chunk: list[Item]) -> Iterator[IngestedRow | PendingRow | PendingCells]:
    for item in chunk:
        if type(item) is CsvLines:
            yield from item.items()
        else:
            yield item  # type: ignore[misc]


def rows_in(item: Item) -> int:
    """The input rows an item stands for."""
    return item.count if type(item) is CsvLines else 1  # type: ignore[union-attr]


class SharedSlots:
    """Memory the parent maps and its forked workers inherit, one slot per chunk in flight.

    A worker writes a JSONL chunk's lines into the chunk's slot and the parent writes
    them out from there: the text (some 7.6 KB per account) is not pickled, sent
    through a pipe, unpickled and joined on its way, four copies of it and the page
    faults of the buffers that held them. A slot is the parent's to give again once
    the chunk is written.
    """

    def __init__(self, count: int, size: int) -> None:
        import mmap

        self.memory = mmap.mmap(-1, count * size)  # anonymous and shared: kept across fork
        self.size = size
        self.free = list(range(count))

    def take(self) -> int | None:
        """A slot no chunk holds (None if all are held: the chunk then sends bytes)."""
        return self.free.pop() if self.free else None

    def lines(self, result: ChunkResult, slot: int) -> ChunkResult:
        """`result`, sent with `slot`, with its lines in shared memory as its products
        (`SharedLines`)."""
        if result.shared is None:  # the worker wrote nothing there
            self.free.append(slot)
            return result
        number, ends = result.shared
        start = number * self.size
        view = memoryview(self.memory)[start : start + (ends[-1] if ends else 0)]
        return result._replace(products=SharedLines(number, view, ends, result.products))

    def give_back(self, result: ChunkResult) -> None:
        """The chunk is written: its slot may be given to another."""
        lines = result.products
        if type(lines) is SharedLines:
            lines.view.release()
            self.free.append(lines.slot)

    def close(self) -> None:
        # A caller still holding a view of it keeps the memory until it lets go.
        with contextlib.suppress(BufferError):
            self.memory.close()


class SharedLines:
    """A chunk's JSON lines as its worker left them in shared memory (`SharedSlots`),
    then any that did not fit there: a sequence of each line's bytes, and `parts`, the
    whole text in at most two pieces, to write without copying it. Valid only until
    the chunk is written (the slot is then given to another)."""

    __slots__ = ("ends", "rest", "slot", "view")

    def __init__(self, slot: int, view: memoryview, ends: list[int], rest: list[bytes]) -> None:
        self.slot = slot
        self.view = view
        self.ends = ends
        self.rest = rest

    def __len__(self) -> int:
        return len(self.ends) + len(self.rest)

    def __getitem__(self, index: int) -> bytes:
        ends = self.ends
        if index < len(ends):
            return self.view[ends[index - 1] if index else 0 : ends[index]].tobytes()
        return self.rest[index - len(ends)]

    def __iter__(self) -> Iterator[bytes]:
        return (self[index] for index in range(len(self)))

    def parts(self) -> list[memoryview | bytes]:
        return [self.view, b"".join(self.rest)] if self.rest else [self.view]


class _SlotWriter:
    """In a worker: writes a chunk's lines into its slot of shared memory while they fit."""

    def __init__(self, memory: Any, number: int, size: int) -> None:
        self.memory = memory
        self.number = number
        self.start = self.at = number * size
        self.limit = self.start + size
        self.ends: list[int] = []  # where each line ends, from the slot's start
        self.full = False

    def add(self, line: bytes) -> bool:
        """Whether `line` went into the slot (once one does not, no later one does)."""
        end = self.at + len(line)
        if self.full or end > self.limit:
            self.full = True
            return False
        self.memory[self.at : end] = line
        self.at = end
        self.ends.append(end - self.start)
        return True


# The worker process's own ChunkWorker, made once when it starts, and the shared
# memory it inherited (if any) with its slot size.
_WORKER: list[ChunkWorker] = []
_SHARED: list[tuple[Any, int]] = []


def _start_worker(job: Job, shared: Any = None, size: int = 0) -> None:
    _WORKER.append(ChunkWorker(job))
    if shared is not None:
        _SHARED.append((shared, size))
    # The worker lives for one run: what it holds now (policy, engine, modules)
    # stays out of every garbage collection (see skill.heap).
    gc.freeze()
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent was killed (SIGKILL runs no cleanup) would wait on its
    queue forever; it leaves as soon as it is handed to another parent."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _work(chunk: list[Item], slot: int | None = None) -> ChunkResult:
    if slot is None or not _SHARED:
        return _WORKER[0](chunk)
    memory, size = _SHARED[0]
    return _WORKER[0](chunk, _SlotWriter(memory, slot, size))


def _context() -> BaseContext:
    """fork on Linux when no other thread runs (workers inherit the loaded modules and
    start at once); spawn otherwise."""
    import multiprocessing

    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def run_chunks(
    items: Iterator[Item],
    job: Job,
    workers: int,
    *,
    repeated: Callable[[Item], bool] | None = None,
    room: Callable[[], int] | None = None,
) -> Iterator[ChunkResult]:
    """Each chunk's results, in input order, however many processes make them.

    For `run`, which records as it goes: `repeated(item)` says whether a row's
    account came earlier in the run, and `room()` how many more accounts fit in
    the batch being recorded. One process reads a record's history after every
    earlier batch is recorded, never its own batch. So a repeated row past the
    rows known to share a batch with what was taken waits until every earlier
    row's results are taken (and recorded); rows up to the next batch boundary
    then go without waiting.

    An `InputError` while reading (a line that is not valid in its encoding, say)
    comes after the results of every row read before it, as with one process.
    """
    head: list[Item] = []
    rows = 0
    failed: InputError | None = None
    try:
        while rows < IN_PROCESS_ROWS:
            item = next(items, None)
            if item is None:
                break
            head.append(item)
            rows += rows_in(item)
    except InputError as exc:  # within the first rows: those before it still come out
        failed = exc
    if failed is not None or rows < IN_PROCESS_ROWS or workers <= 1:
        worker = ChunkWorker(job)
        try:
            yield from _dispatch(_then_fail(head, failed), _Inline(worker), 1, repeated, room)
        finally:
            worker.close()
        return
    from concurrent.futures import ProcessPoolExecutor

    context = _context()
    in_flight = workers * IN_FLIGHT_PER_WORKER
    # JSON lines come back through shared memory from forked workers (a spawned one
    # would not inherit it): one slot per chunk in flight, and one the caller holds.
    slots = None
    if job.kind == "jsonl" and context.get_start_method() == "fork":
        slots = SharedSlots(in_flight + 1, SLOT_BYTES)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(job,) if slots is None else (job, slots.memory, slots.size),
    )
    try:
        rest = _chain(head, items)
        for result in _dispatch(rest, _Pool(pool, slots), in_flight, repeated, room):
            yield result
            if slots is not None:  # the caller has written the chunk
                slots.give_back(result)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if slots is not None:
            slots.close()


class _Inline:
    """Chunks worked here, one at a time, as they are sent."""

    def __init__(self, worker: ChunkWorker) -> None:
        self.worker = worker

    def __call__(self, chunk: list[Item]) -> _Done:
        return _Done(self.worker(chunk))


class _Done(NamedTuple):
    value: ChunkResult

    def result(self) -> ChunkResult:
        return self.value

    def done(self) -> bool:
        return True


class _Pool:
    """Chunks sent to the worker processes, each with a slot of shared memory if any."""

    def __init__(self, pool: ProcessPoolExecutor, slots: SharedSlots | None) -> None:
        self.pool = pool
        self.slots = slots

    def __call__(self, chunk: list[Item]) -> Future[ChunkResult] | _Sent:
        slots = self.slots
        if slots is None or (slot := slots.take()) is None:
            return self.pool.submit(_work, chunk)
        return _Sent(self.pool.submit(_work, chunk, slot), slots, slot)


class _Sent(NamedTuple):
    """A chunk sent with a slot: its result with the lines read from the slot."""

    future: Future[ChunkResult]
    slots: SharedSlots
    slot: int

    def result(self) -> ChunkResult:
        return self.slots.lines(self.future.result(), self.slot)

    def done(self) -> bool:
        return self.future.done()


def _dispatch(
    items: Iterator[Item],
    send: Callable[[list[Item]], Any],
    in_flight: int,
    repeated: Callable[[Item], bool] | None,
    room: Callable[[], int] | None,
) -> Iterator[ChunkResult]:
    pending: deque[Any] = deque()
    chunk: list[Item] = []
    free = room() if room is not None else 0  # rows that may go without waiting

    def flush() -> None:
        nonlocal chunk
        if chunk:
            pending.append(send(chunk))
            chunk = []

    try:
        for item in items:
            if repeated is not None:
                if repeated(item) and free <= 0:
                    flush()
                    while pending:  # every earlier row is taken, and recorded, first
                        yield pending.popleft().result()
                    free = room() if room is not None else 0
                free -= 1
            chunk.append(item)
            if len(chunk) >= CHUNK_ROWS or type(item) is CsvLines:  # a block: a chunk
                flush()
                while len(pending) >= in_flight or (pending and pending[0].done()):
                    yield pending.popleft().result()
    except InputError:
        flush()
        while pending:
            yield pending.popleft().result()
        raise
    flush()
    while pending:
        yield pending.popleft().result()


def _chain(*parts: Iterable[Item]) -> Iterator[Item]:
    for part in parts:
        yield from part


def _then_fail(items: list[Item], error: InputError | None) -> Iterator[Item]:
    """The rows read, then the error that stopped the reading (if it did)."""
    yield from items
    if error is not None:
        raise error
