"""`--workers N`: the same output, errors, warnings and exit code as one process.

`assess` over 20,000 generated accounts at every level, byte for byte; rejected
rows in order; warnings where one process says them; an input that breaks
mid-way; `run` recording the same database, including accounts listed at
several dates across batches; workers started with spawn as well as fork; and a
small input that never starts a process.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from synthetic import AS_OF, FIELDS, iter_account_rows, write_accounts_csv
from typer.testing import CliRunner

from skill import ingest, parallel, pipeline, recording
from skill.cli import app
from skill.pipeline import run_assessment
from skill.policy import Policy
from skill.recording import run_recording
from skill.store import history
from skill.vocabulary import AutomationLevel

LARGE = 20_000


@pytest.fixture(scope="module")
def large_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_accounts_csv(tmp_path_factory.mktemp("large") / "accounts.csv", LARGE, seed=7)


def assess(path: Path, policy: Policy, workers: int, **options: Any) -> tuple[str, list[str], int]:
    out, errors = io.StringIO(), []
    code = run_assessment(
        path,
        output_format=options.pop("output_format", "jsonl"),
        as_of=AS_OF,
        level=options.pop("level", AutomationLevel.BALANCED),
        policy=policy,
        out=out,
        err=errors.append,
        workers=workers,
        **options,
    )
    return out.getvalue(), errors, code


@pytest.mark.parametrize("level", list(AutomationLevel))
def test_two_workers_write_what_one_writes(
    large_csv: Path, policy: Policy, level: AutomationLevel
) -> None:
    one = assess(large_csv, policy, 1, level=level)
    two = assess(large_csv, policy, 2, level=level)
    assert one[0].count("\n") == LARGE
    assert two == one


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        writer.writerows(rows)
    return path


def cells(n: int, seed: int = 3) -> list[list[str]]:
    return [list(row) for row in iter_account_rows(n, seed)]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 7 rows, blocks of 7 CSV lines, and processes from 30 rows: many chunks
    on a test-sized input."""
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 7)
    monkeypatch.setattr(ingest, "CSV_BLOCK_LINES", 7)
    monkeypatch.setattr(parallel, "IN_PROCESS_ROWS", 30)


def with_bad_rows(n: int) -> list[list[str]]:
    rows = cells(n)
    csat, seen, day = FIELDS.index("csat"), FIELDS.index("last_survey_date"), FIELDS.index("arr")
    for i in range(5, n, 37):
        rows[i][csat] = "9"
    for i in range(11, n, 53):
        rows[i][seen] = "3/4/2027"
    for i in range(17, n, 71):
        rows[i][day] = "-5"
    for i in range(23, n, 97):
        rows[i] = rows[i - 20][:]  # the same account twice: the second row is refused
    rows.insert(40, [*rows[40], "an extra cell"])
    return rows


def test_rejected_rows_come_in_row_order_with_the_same_messages(
    tmp_path: Path, small_chunks: None
) -> None:
    path = write_rows(tmp_path / "bad.csv", with_bad_rows(400))
    results = {}
    for workers in (1, 2):
        rejects = tmp_path / f"rejects-{workers}.jsonl"
        done = CliRunner().invoke(
            app,
            [
                *("assess", str(path), "--format", "jsonl", "--as-of", AS_OF.isoformat()),
                *("--rejects", str(rejects), "--workers", str(workers)),
            ],
        )
        said = done.stderr.replace(str(rejects), "REJECTS")
        results[workers] = (done.exit_code, done.stdout, said, rejects.read_text())
    assert results[1][0] == 3
    assert results[1][2].count("error: row") > 20
    assert results[2] == results[1]


def test_warnings_come_where_one_process_says_them(tmp_path: Path, small_chunks: None) -> None:
    # JSONL: unknown keys are known only at the end of the input, after every row.
    rows = cells(200)
    extra = {"favourite_colour": "teal"}
    lines = [json.dumps({**dict(zip(FIELDS, r, strict=True)), **extra}) for r in rows]
    lines[150] = lines[150].replace('"notes": "', '"notes": "' + "long " * 1200, 1)
    lines[60] = lines[60].replace('"csat": "', '"csat": "x', 1)
    path = tmp_path / "accounts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = [
        CliRunner().invoke(
            app, ["assess", str(path), "-f", "jsonl", "--as-of", "2030-01-01", "--workers", w]
        )
        for w in ("1", "2")
    ]
    errors = outputs[0].stderr.splitlines()
    assert errors[-1].startswith("assessed 199 account(s), rejected 1")
    assert any("ignoring unknown keys: favourite_colour" in e for e in errors)
    assert any("days from this input's own dates" in e for e in errors)
    assert any("cut to the first 5,000" in e for e in errors)
    assert [(o.exit_code, o.stdout, o.stderr) for o in outputs[1:]] == [
        (outputs[0].exit_code, outputs[0].stdout, outputs[0].stderr)
    ]


def test_an_input_that_breaks_midway_ends_as_with_one_process(
    tmp_path: Path, policy: Policy, small_chunks: None
) -> None:
    path = write_rows(tmp_path / "broken.csv", cells(300))
    data = path.read_bytes().splitlines(keepends=True)
    data[250] = b"\xff\xfe not utf-8\n"
    path.write_bytes(b"".join(data))
    one, two = assess(path, policy, 1), assess(path, policy, 2)
    assert one[2] == 2 and "line 251: not valid UTF-8 text" in one[1][-1]
    assert one[0].count("\n") == 249
    assert two == one


def messy_csv(path: Path, n: int) -> Path:
    """Generated accounts written by hand: quoted cells that span lines (one left open
    for a few lines), stray quotes, text after a closing quote, blank lines and rows of
    empty cells, an account twice, CRLF endings, a NUL, an empty id, one cell too many,
    and a byte that is not UTF-8 near the end."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([FIELDS, *cells(n, seed=5)])
    lines = out.getvalue().splitlines(keepends=True)
    notes = FIELDS.index("notes")
    for i in range(3, n, 11):  # a note over two lines
        row = next(csv.reader([lines[i]]))
        row[notes] = f"first line {i}\nsecond, with a comma"
        quoted = io.StringIO()
        csv.writer(quoted, lineterminator="\n").writerow(row)
        lines[i] = quoted.getvalue()
    for i in range(5, n, 13):  # a quote inside an unquoted cell
        stray = ("ACC-", 'ACC-"') if i % 2 else (",", ',x"y')
        lines[i] = lines[i].replace(*stray, 1)
    for i in range(7, n, 17):
        lines[i] = lines[i].rstrip("\n") + "\r\n"
    lines[30] = lines[30].replace(",", ',"closed"after', 1)
    lines[41] = lines[41].replace(",", ',"open for a while', 1)  # runs on to a later quote
    lines[44] = lines[44].replace(",", ',ends here",', 1)
    lines[52] = lines[52].replace(",", ",\x00,", 1)
    lines[60] = "," + lines[60]  # an empty id and one cell too many
    lines[75] = lines[20]  # the same account again
    lines[90] = lines[22]
    for at, blank in ((12, "\n"), (33, "\r\n"), (48, ",,,\n"), (66, '"",""\n'), (67, "\n")):
        lines.insert(at, blank)
    data = "".join(lines).encode()
    cut = data.index(b"\n", len(data) - 400)
    path.write_bytes(data[:cut] + b"\n\xff broken\n" + data[cut + 1 :])
    return path


@pytest.mark.parametrize("block", [3, 7, 500])
def test_a_messy_csv_gives_what_one_process_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: None, block: int
) -> None:
    monkeypatch.setattr(ingest, "CSV_BLOCK_LINES", block)
    path = messy_csv(tmp_path / "messy.csv", 160)
    outputs = [
        CliRunner().invoke(
            app,
            [*("assess", str(path), "-f", "jsonl", "--as-of", AS_OF.isoformat()), "--workers", w],
        )
        for w in ("1", "2")
    ]
    one = (outputs[0].exit_code, outputs[0].stdout, outputs[0].stderr)
    assert one[0] == 2 and "not valid UTF-8 text" in one[2]
    assert one[1].count("\n") > 100
    assert "appears again (first at row" in one[2]
    assert "unreadable CSV row" in one[2] or "line contains NUL" in one[2] or "cells but" in one[2]
    assert (outputs[1].exit_code, outputs[1].stdout, outputs[1].stderr) == one


@pytest.mark.parametrize("output_format", ["json", "md", "table"])
def test_every_format_is_the_same_over_workers(
    tmp_path: Path, policy: Policy, small_chunks: None, output_format: str
) -> None:
    path = write_rows(tmp_path / "accounts.csv", with_bad_rows(120))
    one = assess(path, policy, 1, output_format=output_format)
    assert assess(path, policy, 2, output_format=output_format) == one


def test_only_the_accounts_asked_for(tmp_path: Path, policy: Policy, small_chunks: None) -> None:
    path = write_rows(tmp_path / "accounts.csv", with_bad_rows(120))
    wanted = {"ACC-0000007", "ACC-0000050", "ACC-0000099"}
    one = assess(path, policy, 1, accounts=wanted)
    assert one[0].count("\n") == 3
    assert assess(path, policy, 2, accounts=wanted) == one


@pytest.mark.parametrize("workers", [1, 2])
def test_a_binary_stream_under_the_text_gets_the_same_bytes_after_earlier_text(
    tmp_path: Path, policy: Policy, small_chunks: None, workers: int
) -> None:
    # stdout has a binary stream under it, which the JSON lines go to as UTF-8 bytes;
    # text written before them (and not yet flushed) still comes first.
    path = write_rows(tmp_path / "accounts.csv", with_bad_rows(120))
    text, errors, code = assess(path, policy, 1)
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
    out.write("before\n")
    said: list[str] = []
    exit_code = run_assessment(
        path,
        output_format="jsonl",
        as_of=AS_OF,
        level=AutomationLevel.BALANCED,
        policy=policy,
        out=out,
        err=said.append,
        workers=workers,
    )
    out.flush()
    assert exit_code == code
    assert raw.getvalue() == b"before\n" + text.encode()
    assert said == errors


@pytest.mark.parametrize("slot_bytes", [1, 20_000])
def test_lines_past_a_chunks_shared_memory_come_after_it(
    tmp_path: Path,
    policy: Policy,
    small_chunks: None,
    monkeypatch: pytest.MonkeyPatch,
    slot_bytes: int,
) -> None:
    # Workers write a chunk's JSON lines into memory the parent shares; a chunk whose lines
    # do not all fit (none, or two of seven) sends the rest back, and they follow in order.
    monkeypatch.setattr(parallel, "SLOT_BYTES", slot_bytes)
    path = write_rows(tmp_path / "accounts.csv", with_bad_rows(120))
    outputs = [
        CliRunner().invoke(
            app,
            [
                *("assess", str(path), "--format", "jsonl", "--as-of", AS_OF.isoformat()),
                "--workers",
                w,
            ],
        )
        for w in ("1", "2")
    ]
    assert outputs[0].stdout.count("\n") > 100
    assert (outputs[1].exit_code, outputs[1].stdout, outputs[1].stderr) == (
        outputs[0].exit_code,
        outputs[0].stdout,
        outputs[0].stderr,
    )
    assert assess(path, policy, 2) == assess(path, policy, 1)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_line_buffered_stream_shows_the_lines_without_a_flush(
    tmp_path: Path, policy: Policy, small_chunks: None, workers: int
) -> None:
    # A terminal's stdout is line buffered: each chunk of lines reaches it as written.
    path = write_rows(tmp_path / "accounts.csv", cells(60))
    raw = io.BytesIO()
    buffered = io.BufferedWriter(raw, buffer_size=1 << 22)  # holds the whole output
    out = io.TextIOWrapper(buffered, encoding="utf-8", line_buffering=True)
    run_assessment(
        path,
        output_format="jsonl",
        as_of=AS_OF,
        level=AutomationLevel.BALANCED,
        policy=policy,
        out=out,
        err=lambda message: None,
        workers=workers,
    )
    assert raw.getvalue().count(b"\n") == 60


def test_workers_started_with_spawn_write_the_same(
    tmp_path: Path, policy: Policy, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    monkeypatch.setattr(parallel, "_context", lambda: multiprocessing.get_context("spawn"))
    path = write_rows(tmp_path / "accounts.csv", with_bad_rows(80))
    assert assess(path, policy, 2) == assess(path, policy, 1)


def test_a_small_input_starts_no_process(
    tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import concurrent.futures

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process pool was started for a small input")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", refuse)
    path = write_rows(tmp_path / "accounts.csv", cells(50))
    assert assess(path, policy, 4) == assess(path, policy, 1)


def test_workers_must_be_at_least_one(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "accounts.csv", cells(3))
    done = CliRunner().invoke(app, ["assess", str(path), "--workers", "0"])
    assert done.exit_code == 2
    assert "--workers 0: expected 1 or more" in done.stderr


# -- run: the parent records, in input order ------------------------------------------


def database_rows(path: Path) -> list[str]:
    """Every row of every table, but for the columns that hold the time of writing."""
    connection = sqlite3.connect(path)
    rows = []
    tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    for (table,) in sorted(tables):
        columns = [c[1] for c in connection.execute(f"PRAGMA table_info({table})")]
        kept = [c for c in columns if not c.endswith("_at") and c != "applied"]
        query = f"SELECT {', '.join(kept)} FROM {table} ORDER BY {', '.join(kept)}"
        rows += [f"{table} {row}" for row in connection.execute(query)]
    connection.close()
    return rows


def dated(rows: list[list[str]], days: int) -> Iterator[list[str]]:
    column = FIELDS.index("as_of")
    for row in rows:
        yield [*row[:column], (AS_OF + timedelta(days=days)).isoformat(), *row[column + 1 :]]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch, small_chunks: None) -> None:
    """Batches of 10 accounts, history read 5 at a time: many batch boundaries."""
    monkeypatch.setattr(recording, "BATCH_SIZE", 10)
    monkeypatch.setattr(pipeline, "HISTORY_BATCH", 5)


def test_history_is_read_in_groups_that_divide_a_batch() -> None:
    # One process reads history a group at a time and records a batch at a time; a
    # record then sees every earlier batch, which is what the workers reproduce.
    assert history.BATCH_SIZE % pipeline.HISTORY_BATCH == 0


def test_run_records_the_same_over_workers(
    tmp_path: Path, policy: Policy, small_batches: None
) -> None:
    rows = cells(90, seed=5)
    first = write_rows(tmp_path / "week1.csv", rows)
    # The same accounts at two later dates in one file: the later rows read what this
    # run recorded of the earlier ones (from earlier batches) as their history, some
    # right after the earlier row (the same batch: not yet recorded, as with one process).
    later = [*dated(rows[:60], 7), *dated(rows[:60:3], 14)]
    for i, row in enumerate(dated(rows[60:], 7)):
        later.append(row)
        if i % 2 == 0:
            later.extend(dated([row], 14))
    second = write_rows(tmp_path / "later.csv", later)
    outputs = {}
    for workers in (1, 2):
        db = tmp_path / f"history-{workers}.sqlite3"
        transcript = []
        for path, fmt in ((first, "json"), (second, "jsonl"), (first, "md")):
            out, errors = io.StringIO(), []
            code = run_recording(
                str(path),
                db_path=db,
                output_format=fmt,
                as_of=AS_OF,
                level=AutomationLevel.BALANCED,
                policy=policy,
                out=out,
                err=errors.append,
                workers=workers,
            )
            said = [e for e in errors if not e.startswith("recorded run")]
            transcript.append((code, out.getvalue(), said))
        outputs[workers] = (transcript, database_rows(db))
    later_notes = outputs[1][0][1][1]
    assert f'"previous_as_of":"{(AS_OF + timedelta(days=7)).isoformat()}"' in later_notes
    assert outputs[2] == outputs[1]


def test_assess_reads_history_the_same_over_workers(
    tmp_path: Path, policy: Policy, small_chunks: None
) -> None:
    rows = cells(120, seed=9)
    db = tmp_path / "history.sqlite3"
    recorded = run_recording(
        str(write_rows(tmp_path / "week1.csv", rows)),
        db_path=db,
        output_format="jsonl",
        as_of=AS_OF,
        level=AutomationLevel.BALANCED,
        policy=policy,
        out=io.StringIO(),
        err=lambda _: None,
        workers=1,
    )
    assert recorded == 0
    later = write_rows(tmp_path / "week2.csv", list(dated(rows, 7)))
    reader = history.HistoryReader(db, policy.history.usage_decline_periods)
    source = pipeline.HistorySource(str(db), policy.history.usage_decline_periods)
    try:
        one, two = (
            assess(later, policy, workers, history=reader, history_db=source) for workers in (1, 2)
        )
    finally:
        reader.close()
    assert one[0].count('"previous_as_of":"2026-11-23"') == 120
    assert two == one


def test_a_small_input_that_breaks_early_ends_as_with_one_process(
    tmp_path: Path, policy: Policy
) -> None:
    path = write_rows(tmp_path / "broken.csv", cells(100))
    data = path.read_bytes().splitlines(keepends=True)
    data[50] = b"\xff not utf-8\n"
    path.write_bytes(b"".join(data))
    one = assess(path, policy, 1)
    assert one[2] == 2 and one[0].count("\n") == 49
    assert assess(path, policy, 2) == one
