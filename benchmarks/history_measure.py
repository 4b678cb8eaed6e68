"""`measure` (and `report`, `calibrate`) over a large history: a report, not a test.

    python benchmarks/history_measure.py                    # 100,000 accounts (~2-3 min setup)
    python benchmarks/history_measure.py --accounts 20000 --keep-db /tmp/history.sqlite3
    python benchmarks/history_measure.py --keep-db /tmp/history.sqlite3 --reuse   # timings only

Setup (timed, but not part of any target):
  1. two weekly snapshots of N seeded synthetic accounts (benchmarks/synthetic.py):
     week 1 as generated, week 2 the same accounts with usage, tickets or replies
     worsened for a deterministic fifth of them, so scores move;
  2. both assessed by the engine and recorded through the library
     (`skill.store.history.record_assessments`), dated 2026-11-16 and 2026-11-23;
  3. one outcome per account, drawn (seeded) from its week-2 score: the lower the
     score the likelier churned or downgraded, dated 1-120 days after week 2, written
     to a CSV and imported with `skill.store.outcomes.import_outcomes`.
     The outcomes come from the score, so the AUC printed is not a finding about the
     score; only the timings are.

Timed (each `--repeat` times in this process, min and median reported):
  - `skill.insights.measure.measure` + Markdown and JSON rendering, the work of
    `account-health measure`;
  - `skill.insights.report.portfolio_report` + rendering, the work of `account-health report`;
  - `skill.insights.calibrate.calibrate` once (engine replays and a scikit-learn fit);
  - `python -m skill measure --db DB --format json` as a fresh subprocess, wall
    clock, interpreter start-up included.

Target (from the issue): `measure` over 100,000 accounts with outcomes finishes in
seconds, not minutes; judged here as the CLI subprocess taking at most 10 s wall.
Exit status 0 either way.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from synthetic import FIELDS, iter_account_rows

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}

WEEK_1 = date(2026, 11, 16)
WEEK_2 = date(2026, 11, 23)
MEASURE_AS_OF = date(2027, 3, 31)
TARGET_CLI_S = 10.0

_COL = {name: i for i, name in enumerate(FIELDS)}


def _worsen(cells: list[str], rng: random.Random) -> list[str]:
    """Week 2 for a fifth of the accounts: one signal gets worse."""
    cells = list(cells)
    kind = rng.randrange(3)
    if kind == 0 and cells[_COL["logins_30d"]]:
        cells[_COL["logins_30d"]] = str(int(int(cells[_COL["logins_30d"]]) * 0.4))
    elif kind == 1:
        cells[_COL["open_tickets"]] = str(rng.randint(8, 16))
        cells[_COL["escalations_90d"]] = str(rng.randint(1, 3))
    else:
        cells[_COL["last_customer_reply_date"]] = (WEEK_2 - timedelta(days=70)).isoformat()
        cells[_COL["champion"]] = "departed"
    return cells


def write_snapshots(folder: Path, n: int, seed: int) -> tuple[Path, Path]:
    week1, week2 = folder / "week1.csv", folder / "week2.csv"
    rng = random.Random(seed + 1)
    with (
        week1.open("w", encoding="utf-8", newline="") as one,
        week2.open("w", encoding="utf-8", newline="") as two,
    ):
        w1, w2 = csv.writer(one), csv.writer(two)
        w1.writerow(FIELDS)
        w2.writerow(FIELDS)
        for cells in iter_account_rows(n, seed):
            cells[_COL["as_of"]] = ""  # the run's date applies, not the generator's
            w1.writerow(cells)
            w2.writerow(_worsen(cells, rng) if rng.random() < 0.2 else cells)
    return week1, week2


def record(connection, path: Path, as_of: date, policy) -> int:
    from skill.engine import Engine, NoSignalsError
    from skill.ingest import read_accounts
    from skill.store.history import (
        RunInfo,
        finish_run,
        record_assessments,
        run_id_for,
        start_run,
    )
    from skill.vocabulary import AutomationLevel

    level = AutomationLevel.BALANCED
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    info = RunInfo(
        run_id=run_id_for(digest, as_of, level.value, policy.version),
        as_of=as_of,
        automation_level=level.value,
        policy_version=policy.version,
        source=path.name,
        source_hash=digest,
    )
    start_run(connection, info)
    engine = Engine(policy, level)

    def pairs():
        for item in read_accounts(path):
            if item.record is None:
                continue
            try:
                yield item.record, engine.assess(item.record, as_of)
            except NoSignalsError:
                continue

    written = record_assessments(connection, info.run_id, pairs())
    finish_run(connection, info.run_id, written, 0)
    return written


def write_outcomes(connection, folder: Path, seed: int) -> tuple[Path, int]:
    rng = random.Random(seed + 2)
    path = folder / "outcomes.csv"
    churned = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account_id", "outcome", "date"])
        for account_id, score in connection.execute(
            "SELECT account_id, score FROM assessments WHERE as_of = ? ORDER BY account_id",
            (WEEK_2.isoformat(),),
        ):
            p_churn = 1 / (1 + math.exp((score - 45) / 8))
            if rng.random() < p_churn:
                outcome = "churned" if rng.random() < 0.7 else "downgraded"
                churned += 1
            else:
                outcome = "renewed" if rng.random() < 0.85 else "expanded"
            day = WEEK_2 + timedelta(days=rng.randint(1, 120))
            writer.writerow([account_id, outcome, day.isoformat()])
    return path, churned


def setup(db: Path, folder: Path, n: int, seed: int, policy):
    from skill.store.db import connect
    from skill.store.outcomes import import_outcomes

    start = time.perf_counter()
    week1, week2 = write_snapshots(folder, n, seed)
    gen_s = time.perf_counter() - start
    connection = connect(db)
    start = time.perf_counter()
    recorded = record(connection, week1, WEEK_1, policy)
    recorded += record(connection, week2, WEEK_2, policy)
    record_s = time.perf_counter() - start
    outcomes_csv, churned = write_outcomes(connection, folder, seed)
    start = time.perf_counter()
    imported = import_outcomes(connection, outcomes_csv)
    import_s = time.perf_counter() - start
    again_start = time.perf_counter()
    reimport = import_outcomes(connection, outcomes_csv)
    reimport_s = time.perf_counter() - again_start
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size_mb = db.stat().st_size / 1e6

    print(f"\nsetup: {n:,} accounts x 2 snapshots, {recorded:,} assessments recorded")
    print(f"  generate CSVs       {gen_s:8.2f} s")
    print(f"  assess + record     {record_s:8.2f} s  ({recorded / record_s:,.0f} assessments/s)")
    print(
        f"  outcomes import     {import_s:8.2f} s  ({imported.imported:,} new, "
        f"{churned:,} churn; re-import {reimport_s:.2f} s, {reimport.unchanged:,} unchanged)"
    )
    print(f"  database            {size_mb:8.1f} MB")
    return connection


def timed(fn, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def fmt(times: list[float]) -> str:
    return f"min {min(times):.2f} s, median {statistics.median(times):.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep-db", type=Path, help="Build the database here and keep it.")
    parser.add_argument(
        "--reuse", action="store_true", help="Time against an existing --keep-db; no setup."
    )
    parser.add_argument("--skip-calibrate", action="store_true")
    args = parser.parse_args(argv)

    from skill.insights.calibrate import calibrate
    from skill.insights.measure import measure
    from skill.insights.measure import render_markdown as measure_md
    from skill.insights.report import portfolio_report
    from skill.insights.report import render_markdown as report_md
    from skill.policy import load_policy
    from skill.store.db import connect

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs;")
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    policy = load_policy()
    with tempfile.TemporaryDirectory(prefix="ah-bench-") as temp:
        folder = Path(temp)
        db = args.keep_db or folder / "history.sqlite3"
        n = args.accounts
        if args.reuse:
            if not db.exists():
                sys.exit(f"--reuse: {db} does not exist; build it first with --keep-db")
            connection = connect(db)
            n = connection.execute(
                "SELECT COUNT(*) FROM assessments WHERE as_of = ?", (WEEK_2.isoformat(),)
            ).fetchone()[0]
            print(f"\nreusing {db} ({n:,} accounts, {db.stat().st_size / 1e6:.1f} MB); no setup")
        else:
            if db.exists():
                sys.exit(f"{db} exists; remove it, choose another --keep-db path or --reuse it")
            connection = setup(db, folder, n, args.seed, policy)

        def run_measure():
            result = measure(connection, policy, as_of=MEASURE_AS_OF)
            measure_md(result)
            result.model_dump_json()
            return result

        measure_times, m = timed(run_measure, args.repeat)
        report_times, _ = timed(
            lambda: report_md(portfolio_report(connection, policy, as_of=WEEK_2)), args.repeat
        )
        print(
            f"\nmeasure (library + render, {m.outcomes.matched:,} outcomes)  {fmt(measure_times)}"
        )
        overall = m.ranking[0]
        print(
            f"  AUC score {overall.score_auc.value} vs legacy {overall.legacy_auc.value}; "
            f"false positives {m.errors.false_positives.count:,}/{m.errors.false_positives.n:,}; "
            f"missed {m.errors.missed_risks.count:,}/{m.errors.missed_risks.n:,}"
        )
        print(f"report  (library + render)                    {fmt(report_times)}")
        if not args.skip_calibrate:
            cal_times, cal = timed(lambda: calibrate(connection, policy, as_of=MEASURE_AS_OF), 1)
            print(
                f"calibrate (library, once)                     {fmt(cal_times)}; "
                f"{cal.status}, held-out AUC {cal.auc_before.value} -> {cal.auc_after.value}"
            )
        connection.close()

        cli_times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "skill",
                    "measure",
                    "--db",
                    str(db),
                    "--format",
                    "json",
                    "--as-of",
                    MEASURE_AS_OF.isoformat(),
                ],
                capture_output=True,
                env=ENV,
                check=False,
            )
            cli_times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                print(proc.stderr.decode()[-2000:])
        print(
            f"CLI `account-health measure --format json`   {fmt(cli_times)} "
            f"(exit {proc.returncode})"
        )
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "skill", "report", "--db", str(db)],
            capture_output=True,
            env=ENV,
            check=False,
        )
        print(
            f"CLI `account-health report`                  {time.perf_counter() - start:.2f} s "
            f"(exit {proc.returncode})"
        )
        verdict = "PASS" if min(cli_times) <= TARGET_CLI_S else "MISS"
        print(
            f"\n{verdict}: measure over {n:,} accounts with outcomes, CLI wall "
            f"{min(cli_times):.2f} s (target <= {TARGET_CLI_S:.0f} s)"
        )
        print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
