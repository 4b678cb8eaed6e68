"""Per-step cost of `assess --format jsonl`, and the floor if the engine cost nothing.

    python benchmarks/floor.py                          # N = 20,000, best of 3 (~1.5 min)
    python benchmarks/floor.py --n 50000 --seed 3 --repeats 5 --cpu 0

A report, not a test: it prints figures and always exits 0.

Writes N seeded synthetic accounts to a temp CSV (benchmarks/synthetic.py), pins this
process to one core, then times each step of the jsonl path separately over all N
accounts, best of `--repeats`, in microseconds per account:

  1. `csv.DictReader` reading the rows, no validation;
  2. the real ingest, `skill.ingest.read_accounts` (rows -> validated `AccountRecord`),
     as a total and minus step 1;
  3. `Engine.assess` on already-validated records (one `Engine`, as the pipeline has);
  4. `skill.assessment.to_json` on already-built assessments (what the pipeline writes:
     orjson, byte for byte `model_dump_json()`, checked), and mean bytes out;
     4b: steps 2 and 4 interleaved per account (the floor as a stream);
     4c: `Assessment.model_dump_json()` itself, for comparison;
  5. alternatives to 4: `json.dumps(model_dump(mode="json"))`, and orjson on
     `model_dump(mode="python")` when orjson is importable;
  6. engine.py's baseline: `csv.DictReader` + `json.dumps` of each row to a null sink;

then `run_assessment(..., output_format="jsonl")` end to end to a null sink, alternated
with the same three steps fused per account without the pipeline's code (best of
`--repeats` each). It prints each step's share of the end-to-end cost, the floor
1 + 2 + 4 (ingest and serialisation with a free engine) as µs/account and accounts/s,
the 20,000/s budget (50 µs/account) beside it, and the output bytes/s that implies.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine import _pin
from machine import CountingSink, _default_cpu, _git_revision, _load, _peak_rss_mb
from synthetic import AS_OF, write_accounts_csv

TARGET_RATE = 20_000  # accounts/s on one core (the throughput target)
BUDGET_US = 1e6 / TARGET_RATE  # 50 µs per account

HELP_EPILOG = """\
memory: unlike the pipeline, this holds whole lists: N validated records (steps 2-3),
N row dicts (2b), then N assessments (steps 4-5, built while the records are still
held). Peak RSS is printed; it was about 540 MB at N=20,000 (about 27 KB per account)
and grows linearly in N. Fine at the default; do not run --n 1000000 here
(benchmarks/engine.py measures memory on the streaming path).
"""


def _timed(run: Callable[[], object], repeats: int) -> list[float]:
    """Wall seconds of `repeats` calls of `run`."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return timings


class Step:
    """One timed step: best and worst of the repeats, per account."""

    def __init__(self, timings: list[float], n: int) -> None:
        self.best_us = min(timings) / n * 1e6
        self.worst_us = max(timings) / n * 1e6
        self.runs = len(timings)

    @property
    def spread(self) -> str:
        if self.runs < 2:
            return "1 run"
        return f"+{(self.worst_us / self.best_us - 1) * 100:.1f}%"


def measure(path: Path, n: int, repeats: int) -> dict:
    """All the figures, in this process (already pinned)."""
    figures: dict = {}

    # 1 and 6 first, before `skill` is imported: only csv and json are in play.
    def dict_reader() -> None:
        with open(path, encoding="utf-8", newline="") as handle:
            for _ in csv.DictReader(handle):
                pass

    def baseline() -> None:
        sink = CountingSink()
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                sink.write(json.dumps(row) + "\n")
        figures["baseline_rows"] = sink.lines

    dict_reader()  # untimed warm-up: page cache, csv module
    figures["1"] = Step(_timed(dict_reader, repeats), n)
    figures["6"] = Step(_timed(baseline, repeats), n)

    started = time.perf_counter()
    from skill.engine import Engine
    from skill.ingest import read_accounts
    from skill.pipeline import run_assessment
    from skill.policy import load_policy
    from skill.record import AccountRecord
    from skill.vocabulary import AutomationLevel

    policy = load_policy()
    level = AutomationLevel.BALANCED
    figures["import_and_policy_s"] = time.perf_counter() - started

    # 2. The real ingest. One untimed pass keeps the records (and warms up); the timed
    # passes keep nothing, as the pipeline keeps nothing.
    records = []
    rejected = 0
    for item in read_accounts(path):
        if item.record is None:
            rejected += 1
        else:
            records.append(item.record)
    figures["records"] = len(records)
    figures["rejected"] = rejected

    def ingest() -> None:
        for _ in read_accounts(path):
            pass

    figures["2"] = Step(_timed(ingest, repeats), n)

    # 2b. Validation alone, on the dicts the ingest builds (non-empty cells only).
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        raw_rows = [{f: v for f, v in zip(header, cells, strict=False) if v} for cells in reader]
    validate = AccountRecord.model_validate

    def validate_only() -> None:
        for raw in raw_rows:
            validate(raw)

    figures["2b"] = Step(_timed(validate_only, repeats), n)
    raw_rows.clear()

    # 3. Engine.assess on validated records; one Engine per run, as in
    # AssessmentStream.pairs. The timed passes drop each assessment; then one untimed
    # pass keeps them for steps 4 and 5, and the records go.
    started = time.perf_counter()
    engine = Engine(policy, level)
    figures["engine_init_ms"] = (time.perf_counter() - started) * 1e3
    assess = engine.assess
    assess(records[0], AS_OF)  # warm-up

    def assess_all() -> None:
        for record in records:
            assess(record, AS_OF)

    figures["3"] = Step(_timed(assess_all, repeats), len(records))
    assessments = [assess(record, AS_OF) for record in records]
    records.clear()

    # 4. to_json, the pipeline's serialiser (orjson, the bytes of model_dump_json). One
    # untimed pass first: the bytes as written (UTF-8, newline included), a check that
    # they are pydantic's, and the same for 5a with a check that it carries the same
    # data. Nothing is kept, so no list of N strings is held.
    from skill.assessment import to_json

    dump_chars = dump_bytes = alt_bytes = 0
    alt_same = fast_same = True
    for a in assessments:
        line = a.model_dump_json()
        fast_same = fast_same and to_json(a) == line
        alt = json.dumps(a.model_dump(mode="json"))
        dump_chars += len(line) + 1
        dump_bytes += len(line.encode("utf-8")) + 1
        alt_bytes += len(alt.encode("utf-8")) + 1
        alt_same = alt_same and json.loads(alt) == json.loads(line)
    figures["dump_chars"], figures["dump_bytes"] = dump_chars, dump_bytes
    figures["5a_bytes"], figures["5a_same"] = alt_bytes, alt_same
    figures["4_same"] = fast_same

    def dump_json() -> None:
        for a in assessments:
            to_json(a)

    figures["4"] = Step(_timed(dump_json, repeats), len(assessments))

    def pydantic_json() -> None:
        for a in assessments:
            a.model_dump_json()

    figures["4c"] = Step(_timed(pydantic_json, repeats), len(assessments))

    # The floor as a stream: ingest row i, then dump the prebuilt assessment i, so the
    # two steps interleave per account as they would with an engine that cost nothing.
    def floor_stream() -> None:
        for _, a in zip(read_accounts(path), assessments, strict=True):
            to_json(a)

    figures["floor_stream"] = Step(_timed(floor_stream, repeats), len(assessments))

    # 5. Alternatives to 4.
    def stdlib_json() -> None:
        for a in assessments:
            json.dumps(a.model_dump(mode="json"))

    figures["5a"] = Step(_timed(stdlib_json, repeats), len(assessments))

    try:
        import orjson  # type: ignore[import-not-found]
    except ImportError:
        figures["5b"] = "orjson not installed"
    else:
        try:
            orjson_bytes = 0
            orjson_same = True
            for a in assessments:
                fast = orjson.dumps(a.model_dump(mode="python"))
                orjson_bytes += len(fast) + 1
                orjson_same = orjson_same and json.loads(fast) == json.loads(a.model_dump_json())
        except Exception as exc:  # e.g. a type orjson cannot serialise by default
            figures["5b"] = f"orjson {orjson.__version__} fails: {type(exc).__name__}: {exc}"
        else:

            def orjson_dump() -> None:
                for a in assessments:
                    orjson.dumps(a.model_dump(mode="python"))

            figures["5b"] = Step(_timed(orjson_dump, repeats), len(assessments))
            figures["5b_version"] = orjson.__version__
            figures["5b_bytes"], figures["5b_same"] = orjson_bytes, orjson_same

    assessments.clear()
    gc.collect()

    # End to end: the code path of `account-health assess FILE --format jsonl`, to a
    # null sink. Alternated with the same work fused per account (ingest, assess, dump)
    # without the pipeline's own code (generators, rejection handling, the sink), so
    # both see the same machine load; best of the repeats for each, like the steps.
    def fused() -> None:
        fused_engine = Engine(policy, level)  # inside, as run_assessment builds its own
        for item in read_accounts(path):
            if item.record is not None:
                to_json(fused_engine.assess(item.record, AS_OF))

    messages: list[str] = []
    sink = CountingSink()

    def end_to_end() -> None:
        nonlocal sink, code
        sink = CountingSink()
        messages.clear()
        code = run_assessment(
            path,
            output_format="jsonl",
            as_of=AS_OF,
            level=level,
            policy=policy,
            out=sink,  # type: ignore[arg-type]
            err=messages.append,
        )

    code = None
    fused_timings: list[float] = []
    e2e_timings: list[float] = []
    for _ in range(repeats):
        fused_timings += _timed(fused, 1)
        e2e_timings += _timed(end_to_end, 1)
    figures["fused"] = Step(fused_timings, n)
    figures["e2e"] = Step(e2e_timings, n)
    figures["e2e_rows"] = sink.lines
    figures["e2e_chars"] = sink.chars
    figures["e2e_exit"] = code
    figures["e2e_messages"] = messages[:3]
    figures["rss_peak_mb"] = _peak_rss_mb()
    return figures


def _rate(us: float) -> str:
    return f"{1e6 / us:,.0f}" if us > 0 else "-"


def report(figures: dict) -> None:
    e2e = figures["e2e"].best_us
    s1, s2, s3, s4 = (figures[k].best_us for k in ("1", "2", "3", "4"))
    validation = s2 - s1
    counted = s2 + s3 + s4  # 2 includes 1
    floor = s1 + validation + s4  # = s2 + s4
    baseline = figures["6"].best_us
    accounts = max(figures["records"], 1)

    rows: list[tuple[str, ...]] = []

    def step(label: str, key: str, *, share: bool = True) -> None:
        s = figures[key]
        rows.append(
            (
                label,
                f"{s.best_us:.1f}",
                _rate(s.best_us),
                s.spread,
                f"{s.best_us / e2e:.1%}" if share else "",
            )
        )

    def derived(label: str, us: float) -> None:
        rows.append((label, f"{us:.1f}", _rate(us), "", f"{us / e2e:.1%}"))

    step("1  csv.DictReader rows, no validation", "1")
    step("2  ingest: read_accounts -> AccountRecord (total)", "2", share=False)
    derived("   2 minus 1: validation + ingest overhead", validation)
    step("   (2b: model_validate alone, prebuilt row dicts)", "2b", share=False)
    step("3  Engine.assess on validated records", "3")
    step("4  to_json(assessment): orjson, pydantic's bytes", "4")
    step("   (4c: Assessment.model_dump_json(), pydantic itself)", "4c", share=False)
    step("   (4b: 2 then 4 per account: the floor as a stream)", "floor_stream", share=False)
    derived("   sum 1 + (2-1) + 3 + 4", counted)
    step("   2, 3, 4 per account, without the pipeline code", "fused")
    step("   end to end: run_assessment --format jsonl", "e2e")
    derived("   end to end minus sum (not in any step)", e2e - counted)
    step("5a json.dumps(model_dump(mode='json'))", "5a", share=False)
    if isinstance(figures["5b"], Step):
        version = figures["5b_version"]
        step(f"5b orjson {version}: dumps(model_dump(mode='python'))", "5b", share=False)
    else:
        rows.append((f"5b {figures['5b']}", "", "", "", ""))
    step("6  baseline: DictReader + json.dumps(row)", "6", share=False)

    head = ("step", "µs/account", "accounts/s", "worst", "of e2e")
    width = max(len(head[0]), *(len(r[0]) for r in rows if r[1]))
    fmt = f"{{:<{width}}} {{:>10}} {{:>11}} {{:>7}} {{:>7}}"
    line = fmt.format(*head)
    print(line)
    print("-" * len(line))
    for r in rows:
        print(fmt.format(*r).rstrip() if r[1] else r[0])

    mean_bytes = figures["dump_bytes"] / accounts
    print()
    print("  µs/account  best of the repeats; every row is timed over all N accounts")
    print("  worst       the slowest repeat, relative to the best")
    print("  of e2e      share of the end-to-end µs/account; rows 1, 2-1, 3 and 4 add up to")
    print("              the sum row")
    print("  2-1         read_accounts parses with csv.reader, not DictReader, so 2-1 is")
    print("              validation + ingest code + (csv.reader - DictReader); 2b: validation")
    print(
        f"  output      {mean_bytes:,.0f} bytes/account mean from model_dump_json"
        " (one JSONL line, newline included);"
    )
    print(
        "              to_json gave the same bytes for all accounts: "
        + ("yes" if figures["4_same"] else "NO")
    )
    same = "yes" if figures["5a_same"] else "NO"
    print(
        f"              5a: {figures['5a_bytes'] / accounts:,.0f} bytes/account"
        f" (default separators), same data as 4 for all accounts: {same}"
    )
    if isinstance(figures["5b"], Step):
        same = "yes" if figures["5b_same"] else "NO"
        print(
            f"              5b: {figures['5b_bytes'] / accounts:,.0f} bytes/account,"
            f" same data as 4 for all accounts: {same}"
        )
    print(
        f"  untimed     imports + policy load {figures['import_and_policy_s']:.2f} s;"
        f" Engine() {figures['engine_init_ms']:.1f} ms (once per run, inside end to end)"
    )
    print(
        f"  ratios      end to end / baseline {e2e / baseline:.1f}x;"
        f" floor / baseline {floor / baseline:.1f}x"
    )
    print()
    stream = figures["floor_stream"].best_us
    print("floor with a free engine: ingest (1 + (2-1)) and model_dump_json (4), nothing else")
    for label, us, rate, note in (
        ("1 + (2-1) + 4, separate loops", floor, _rate(floor), f"{floor / BUDGET_US:.2f}x budget"),
        ("4b, interleaved per account", stream, _rate(stream), f"{stream / BUDGET_US:.2f}x budget"),
        ("target budget", BUDGET_US, f"{TARGET_RATE:,}", ""),
        ("end to end today", e2e, _rate(e2e), f"{e2e / BUDGET_US:.2f}x budget"),
    ):
        print(f"  {label:<30} {us:7.1f} µs/account = {rate:>7} accounts/s  {note}".rstrip())
    print(
        f"  output the target implies: {TARGET_RATE:,} x {mean_bytes:,.0f} bytes"
        f" = {TARGET_RATE * mean_bytes / 1e6:.1f} MB/s of JSONL"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=20_000, help="accounts (default %(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per step, best kept (default 3)"
    )
    parser.add_argument(
        "--cpu", type=int, default=None, help="core to pin to (default: the highest usable)"
    )
    args = parser.parse_args(argv)
    n = max(args.n, 1)
    repeats = max(args.repeats, 1)

    cpu = _pin(args.cpu if args.cpu is not None else _default_cpu())
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print("account-health jsonl floor: per-step cost and the free-engine limit")
    print(f"  python     {platform.python_version()} ({platform.python_implementation()})")
    print(f"  platform   {platform.platform()}")
    pinned = f"pinned to cpu {cpu}" if cpu is not None else "not pinned"
    print(f"  cpus       {os.cpu_count()}; {pinned} (usable now {affinity})")
    print(f"  skill      {_git_revision()}")
    print(f"  seed       {args.seed}; as_of {AS_OF}; N {n:,}; best of {repeats}")
    print(f"  load avg   {_load()} at start (other work on the machine skews the timings)")

    with tempfile.TemporaryDirectory(prefix="ah-floor-") as tmp:
        path = Path(tmp) / f"accounts-{n}.csv"
        started = time.perf_counter()
        write_accounts_csv(path, n, seed=args.seed)
        print(
            f"  input      {path.stat().st_size / 1e6:.1f} MB CSV, generated in"
            f" {time.perf_counter() - started:.1f} s (not timed)"
        )
        print()
        figures = measure(path, n, repeats)

    problems = []
    if figures["records"] != n or figures["rejected"]:
        problems.append(f"ingest: {figures['records']} records, {figures['rejected']} rejected")
    if figures["e2e_rows"] != n or figures["e2e_exit"] != 0:
        problems.append(
            f"end to end: {figures['e2e_rows']} lines, exit {figures['e2e_exit']},"
            f" messages {figures['e2e_messages']}"
        )
    if figures["e2e_chars"] != figures["dump_chars"]:
        problems.append(
            f"end-to-end output {figures['e2e_chars']:,} chars, step 4 {figures['dump_chars']:,}"
        )
    if figures["baseline_rows"] != n:
        problems.append(f"baseline read {figures['baseline_rows']} rows")

    report(figures)
    print()
    for problem in problems:
        print(f"  ! {problem}")
    print(
        f"  peak RSS   {figures['rss_peak_mb']:.1f} MB (VmHWM; reached while N records and"
        " N assessments were held, steps 3 to 5)"
    )
    print(f"  load avg   {_load()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
