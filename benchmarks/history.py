"""Recording speed: `run` (assess + record in SQLite) against `assess` alone (a report).

    python benchmarks/history.py                       # N = 100,000, best of 3 (~2 min)
    python benchmarks/history.py --sizes 2000,20000 --repeat 1 --cpu 0
    python benchmarks/history.py --sizes 20000 --cores 0,1 --workers 2   # two cores
    python benchmarks/history.py --sizes 20000 --code /path/to/other/checkout

For each N: write N seeded synthetic accounts to a CSV (benchmarks/synthetic.py),
then, each in a fresh subprocess pinned to one core (or to `--cores`, with
`--workers` processes for both commands), time over the same file
  1. `assess`: `skill.pipeline.run_assessment(..., output_format="jsonl")`, the code
     path of `account-health assess FILE --format jsonl`, to a null sink;
  2. `run`: `skill.recording.run_recording(..., output_format="jsonl")`, the code path
     of `account-health run FILE --format jsonl`, into a fresh database, to a null
     sink: assessment, trend note per account, snapshots, assessments, outbox
     actions and review tasks written in WAL mode (measurement events are part of
     the assessments);
  3. the rerun of the same file and `as_of` on that database (a no-op by design);
  4. `run` of the same accounts a week later (`as_of` + 7 days) on that database: the
     weekly case, where each account's earlier assessment is read back before it is
     assessed (trend flags) and its trend note compares against it.
Imports and policy load are excluded from every timing. Each is repeated `--repeat`
times (a fresh process and, for `run`, a fresh database each time) and the fastest
is reported. The database is then checked: one snapshot and one assessment per
account, the run completed.

Target (issue #11): recording runs at no less than 0.8 times the speed of `assess`
alone: ratio = run accounts/s / assess accounts/s >= 0.8, judged on the slower of
the first run and the week-later run. PASS or MISS is printed; the exit status is
0 either way. The database's size per account per date is benchmarks/store_size.py's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from machine import CountingSink, _default_cpu, _git_revision, _load, _peak_rss_mb
from synthetic import AS_OF, write_accounts_csv

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (100_000,)
# Subprocesses import `skill` from this checkout even when it is not installed.
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}
TARGET_RATIO = 0.8  # run speed / assess speed
WEEK2 = AS_OF + timedelta(days=7)


def write_week_later(source: Path, target: Path) -> Path:
    """The same accounts a week on: rows dated AS_OF (about 1 in 10) move to WEEK2."""
    with (
        source.open(encoding="utf-8", newline="") as inp,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        reader = csv.DictReader(inp)
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for row in reader:
            if row.get("as_of"):
                row["as_of"] = WEEK2.isoformat()
            writer.writerow(row)
    return target


# --------------------------------------------------------------------------- worker


def worker(
    mode: str,
    path: str,
    db: str | None,
    cpus: set[int] | None,
    week2: str | None = None,
    workers: int = 1,
) -> dict:
    """Time one `assess` or one `run` (then its rerun) over `path`, in this fresh process."""
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
    started = time.perf_counter()
    from skill.pipeline import run_assessment
    from skill.policy import load_policy
    from skill.recording import run_recording
    from skill.vocabulary import AutomationLevel

    policy = load_policy()
    figures: dict = {"import_and_policy_s": time.perf_counter() - started}
    figures["rss_ready_mb"] = _peak_rss_mb()
    common = {
        "output_format": "jsonl",
        "as_of": AS_OF,
        "level": AutomationLevel.BALANCED,
        "policy": policy,
        "workers": workers,
    }

    def timed(run, source: str, **overrides) -> dict:
        """One call of `run` over `source` to a counting sink: wall and CPU seconds, output."""
        messages: list[str] = []
        sink = CountingSink()
        cpu_started = time.process_time()
        children_started = _children_cpu()
        started = time.perf_counter()
        extra = {} if run is run_assessment else {"db_path": Path(db)}  # type: ignore[arg-type]
        code = run(source, out=sink, err=messages.append, **extra, **{**common, **overrides})
        return {
            "seconds": time.perf_counter() - started,
            "cpu_s": time.process_time() - cpu_started,
            # Worker processes (counted once they end, as they do with the run).
            "children_cpu_s": _children_cpu() - children_started,
            "lines": sink.lines,
            "exit_code": code,
            "messages": messages[:3],
        }

    first = timed(run_assessment if mode == "assess" else run_recording, path)
    figures.update(first, rss_peak_mb=_peak_rss_mb())
    if mode == "run":
        rerun = timed(run_recording, path)
        figures["rerun_s"] = rerun["seconds"]
        figures["rerun_exit_code"] = rerun["exit_code"]
        figures["rerun_messages"] = rerun["messages"]
    if mode == "run" and week2 is not None:
        later = timed(run_recording, week2, as_of=WEEK2)
        figures.update({f"week2_{key}": value for key, value in later.items()})
        figures["week2_s"] = later["seconds"]
    return figures


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


# --------------------------------------------------------------------------- parent


def _run_worker(
    mode: str,
    path: Path,
    db: Path | None,
    cpus: str | None,
    week2: Path | None = None,
    workers: int = 1,
    env: dict[str, str] = ENV,
) -> dict:
    command = [sys.executable, __file__, "--worker", mode, str(path), "--workers", str(workers)]
    if db is not None:
        command += ["--db", str(db)]
    if week2 is not None:
        command += ["--week2", str(week2)]
    if cpus is not None:
        command += ["--cores", cpus]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} worker failed (exit {done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _db_bytes(db: Path) -> int:
    """The database with its WAL and shared-memory files: what the run left on disk."""
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def _db_check(db: Path, n: int, dates: int = 2) -> tuple[list[str], int, int]:
    """Problems with what the runs recorded, and their action and task counts (read-only)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        counts = {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            # Measurement events are read from the assessments' documents (a view).
            for table in ("snapshots", "assessments")
        }
        runs = connection.execute("SELECT COUNT(*), COUNT(completed_at) FROM runs").fetchone()
        actions = connection.execute("SELECT COUNT(*) FROM actions").fetchone()[0]
        tasks = connection.execute("SELECT COUNT(*) FROM review_tasks").fetchone()[0]
    finally:
        connection.close()
    problems = [
        f"{table}: {count:,} rows, expected {n * dates:,}"
        for table, count in counts.items()
        if count != n * dates
    ]
    if tuple(runs) != (dates, dates):
        problems.append(f"runs: {runs[0]} row(s), {runs[1]} completed; expected {dates}")
    return problems, actions, tasks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(n) for n in DEFAULT_SIZES),
        help="comma-separated account counts (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="fresh processes per measurement; fastest kept"
    )
    parser.add_argument("--cpu", type=int, default=None, help="core to pin the workers to")
    parser.add_argument(
        "--cores",
        metavar="LIST",
        help="cores (comma-separated) each measured process may use, instead of --cpu's one",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="--workers for both assess and run (default 1: one process each)",
    )
    parser.add_argument(
        "--code",
        metavar="DIR",
        help="import `skill` from this checkout instead of this one (to alternate versions)",
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the CSVs and databases here")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "CSV"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--week2", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        mode, path = args.worker
        cpus = {int(c) for c in args.cores.split(",")} if args.cores else None
        print(json.dumps(worker(mode, path, args.db, cpus, args.week2, args.workers)))
        return 0

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    repeat = max(1, args.repeat)
    cpu = args.cpu if args.cpu is not None else _default_cpu()
    cores = args.cores or (None if cpu is None else str(cpu))
    workers = max(1, args.workers)
    code = Path(args.code).resolve() if args.code else ROOT
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(code), ENV["PYTHONPATH"]])}
    setting = f"cores {cores or 'any'}, --workers {workers}"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None

    print("account-health history benchmark: run (assess + record) vs assess alone")
    print(f"  python     {platform.python_version()} ({platform.python_implementation()})")
    print(f"  platform   {platform.platform()}")
    print(f"  sqlite     {sqlite3.sqlite_version}")
    print(f"  cpus       {os.cpu_count()} (usable {affinity}); measured on {setting}")
    print(f"  skill      {code} {_git_revision(code)}")
    print(f"  seed       {args.seed}; as_of {AS_OF}; sizes {sizes}; best of {repeat}")
    print(f"  load avg   {_load()} at start (other work on the machine skews the timings)")
    print()
    header = (
        f"{'N':>9} {'assess s':>9} {'assess/s':>9} {'run s':>7} {'run/s':>8} {'ratio':>6} "
        f"{'CPU ratio':>9} {'rerun s':>8} {'wk2 s':>7} {'wk2 ratio':>9} {'DB MB':>7} "
        f"{'RSS assess':>11} {'RSS run':>8}"
    )
    print(header)
    print("-" * len(header))
    results = []
    with tempfile.TemporaryDirectory(prefix="ah-history-bench-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            path = write_accounts_csv(folder / f"accounts-{n}.csv", n, seed=args.seed)
            later = write_week_later(path, folder / f"accounts-{n}-week2.csv")
            assess_runs, record_runs = [], []
            for attempt in range(repeat):
                assess_runs.append(_run_worker("assess", path, None, cores, None, workers, env))
                db = folder / f"history-{n}-{attempt}.sqlite3"
                for stale in folder.glob(db.name + "*"):
                    stale.unlink()
                figures = _run_worker("run", path, db, cores, later, workers, env)
                figures["db_bytes"] = _db_bytes(db)
                figures["check"] = _db_check(db, n)
                record_runs.append(figures)
                if attempt < repeat - 1 and not args.keep:
                    for stale in folder.glob(db.name + "*"):
                        stale.unlink()
            best_assess = min(assess_runs, key=lambda f: f["seconds"])
            best_run = min(record_runs, key=lambda f: f["seconds"])
            assess_rate = n / best_assess["seconds"]
            run_rate = n / best_run["seconds"]
            ratio = run_rate / assess_rate
            cpu_ratio = min(f["cpu_s"] for f in assess_runs) / min(f["cpu_s"] for f in record_runs)
            week2_s = min(f["week2_s"] for f in record_runs)
            week2_ratio = best_assess["seconds"] / week2_s
            week2_cpu_ratio = min(f["cpu_s"] for f in assess_runs) / min(
                f["week2_cpu_s"] for f in record_runs
            )
            results.append((n, ratio, cpu_ratio, week2_ratio, week2_cpu_ratio))
            print(
                f"{n:>9,} {best_assess['seconds']:>9.2f} {assess_rate:>9,.0f} "
                f"{best_run['seconds']:>7.2f} {run_rate:>8,.0f} {ratio:>6.2f} {cpu_ratio:>9.2f} "
                f"{best_run['rerun_s']:>8.3f} {week2_s:>7.2f} {week2_ratio:>9.2f} "
                f"{best_run['db_bytes'] / 1e6:>7.1f} "
                f"{best_assess['rss_peak_mb']:>8.1f} MB {best_run['rss_peak_mb']:>5.1f} MB"
            )
            print(
                f"{'':>9}   all timings: assess "
                + ", ".join(f"{f['seconds']:.2f}" for f in assess_runs)
                + " s; run "
                + ", ".join(f"{f['seconds']:.2f}" for f in record_runs)
                + " s (wall); CPU s: assess "
                + ", ".join(f"{f['cpu_s']:.2f}" for f in assess_runs)
                + "; run "
                + ", ".join(f"{f['cpu_s']:.2f}" for f in record_runs)
                + "; week later "
                + ", ".join(f"{f['week2_cpu_s']:.2f}" for f in record_runs)
            )
            print(
                f"{'':>9}   CPU s of their worker processes: assess "
                + ", ".join(f"{f['children_cpu_s']:.2f}" for f in assess_runs)
                + "; run "
                + ", ".join(f"{f['children_cpu_s']:.2f}" for f in record_runs)
                + "; week later "
                + ", ".join(f"{f['week2_children_cpu_s']:.2f}" for f in record_runs)
            )
            problems, actions, tasks = best_run["check"]
            print(
                f"{'':>9}   recorded: {n:,} snapshots / assessments (each with its measurement "
                f"event), {actions:,} outbox actions, {tasks:,} review tasks"
            )
            for figures in assess_runs + record_runs:
                chatter = [m for m in figures["messages"] if not m.startswith("recorded run ")]
                if figures["exit_code"] != 0 or chatter:
                    problems.append(f"exit {figures['exit_code']}, messages {figures['messages']}")
            for figures in record_runs:
                if figures["lines"] != n:
                    problems.append(f"run printed {figures['lines']:,} trend lines, expected {n:,}")
                if figures["week2_lines"] != n or figures["week2_exit_code"] != 0:
                    problems.append(
                        f"week-later run: exit {figures['week2_exit_code']}, "
                        f"{figures['week2_lines']:,} trend lines, {figures['week2_messages']}"
                    )
                if figures["rerun_exit_code"] != 0 or not any(
                    "already recorded" in m for m in figures["rerun_messages"]
                ):
                    problems.append(f"rerun: {figures['rerun_messages']}")
            for figures in assess_runs:
                if figures["lines"] != n:
                    problems.append(f"assess printed {figures['lines']:,} lines, expected {n:,}")
            for problem in dict.fromkeys(problems):
                print(f"{'':>9} ! {problem}")
            if not args.keep:
                path.unlink()

    print()
    print("  assess s / assess/s  run_assessment(--format jsonl) to a null sink, after imports")
    print("  run s / run/s        run_recording(--format jsonl) into a fresh DB, to a null sink")
    print(f"  ratio                run/s / assess/s, wall clock (target >= {TARGET_RATIO})")
    print("  CPU ratio            the same from process CPU seconds: less skewed by other load")
    print("                       (this process only: with --workers, see the CPU s of the")
    print("                       worker processes, printed under each size)")
    print("  rerun s              the same file and as_of again: finds the run complete, no-op")
    print("  wk2 s / wk2 ratio    the same accounts a week later on that DB (history read back")
    print(
        f"                       per account); ratio = assess s / wk2 s (target >= {TARGET_RATIO})"
    )
    print("  DB MB                database + WAL + shm on disk after both dates")
    print("  RSS                  peak RSS (VmHWM) of each worker process")
    print(f"  load avg             {_load()} at the end")
    print()
    print("target")
    if results:
        n, ratio, cpu_ratio, week2_ratio, week2_cpu_ratio = results[-1]
        verdict = "PASS" if min(ratio, week2_ratio) >= TARGET_RATIO else "MISS"
        print(
            f"  {verdict}  recording runs at >= {TARGET_RATIO} x the speed of assess alone: "
            f"ratio {ratio:.2f} first date, {week2_ratio:.2f} a week later, at N={n:,} "
            f"on {setting} (CPU-time ratios {cpu_ratio:.2f} and {week2_cpu_ratio:.2f}: disk "
            "writes vary between runs on a shared machine, CPU time less; with workers, CPU time "
            "adds up across processes and wall time is the measure)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
