"""Decision quality on simulated worlds the engine was not tuned to: a report, not a test.

    python benchmarks/decision.py                       # every world, 1,000 accounts each
    python benchmarks/decision.py --worlds usage,mix --accounts 600
    make bench-decision

For each world of `benchmarks/worlds.py` (one hidden churn mechanism each):
  1. ten monthly snapshots are written as CSV files in the input contract and
     recorded with the real `run` code path, default policy, into a fresh database;
  2. the simulated outcomes (churned, renewed) are imported as `outcomes import` does;
  3. `calibrate` fits a policy on the accounts it does not hold out, and writes it;
  4. the same snapshots are recorded again, under the calibrated policy, into a
     second database;
  5. both are judged on the held-out accounts only (the split `calibrate` uses), so
     the calibrated column is never judged on what it was fitted to.

Printed per world, default and calibrated side by side:
  - outcome AUC: each outcome against the assessment live before it (as `measure`);
  - snapshot AUC 30d / 60d: every snapshot, labelled churned within 30 / 60 days;
  - best single signal: the held-out outcome AUC of the best raw signal, its
    direction chosen on the training accounts (the bar calibration must reach);
  - churn rate by band and by tier;
  - review share: assessments that kept an owner review task (all accounts: the
    review budget applies to a whole run);
  - false positives: flagged (red or at_risk) outcomes that were kept, of flagged;
  - missed risks: churned outcomes that were green, of churned;
  - stable moves: steps where a stable account's score moved 10 points or more;
  - changers seen: accounts whose driving trait fell, whose score fell 10 points
    or more within two snapshots of the change.

Exit status 0 either way: the figures are the result.
"""

from __future__ import annotations

import argparse
import csv
import io
import platform
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

from worlds import WORLDS, History, simulate

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from skill.engine.dimensions import READERS  # noqa: E402
from skill.insights.calibrate import calibrate, held_out, write_policy  # noqa: E402
from skill.insights.measure import roc_auc  # noqa: E402
from skill.policy import Policy, load_policy  # noqa: E402
from skill.record import AccountRecord  # noqa: E402
from skill.recording import run_recording  # noqa: E402
from skill.store.db import connect  # noqa: E402
from skill.store.outcomes import import_outcomes  # noqa: E402
from skill.vocabulary import AutomationLevel  # noqa: E402

CHURN = frozenset({"churned", "downgraded"})
MOVE_POINTS = 10


def write_snapshots(history: History, folder: Path) -> list[tuple[date, Path]]:
    columns: list[str] = []
    for rows in history.snapshots.values():
        for row in rows:
            columns += [c for c in row if c not in columns]
    files = []
    for day, rows in history.snapshots.items():
        path = folder / f"snapshot-{day.isoformat()}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        files.append((day, path))
    return files


def record_world(files: list[tuple[date, Path]], db: Path, policy: Policy) -> None:
    warnings: list[str] = []
    for day, path in files:
        code = run_recording(
            str(path),
            db_path=db,
            output_format="jsonl",
            as_of=day,
            level=AutomationLevel.BALANCED,
            policy=policy,
            out=io.StringIO(),
            err=warnings.append,
        )
        if code not in (0, 3):
            raise SystemExit(f"run failed on {path.name} (exit {code}): {warnings[-3:]}")


def write_outcomes(history: History, folder: Path) -> Path:
    path = folder / "outcomes.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account_id", "outcome", "outcome_date"])
        for account_id, outcome, day in history.outcomes:
            writer.writerow([account_id, outcome, day.isoformat()])
    return path


# -- judging one database on the held-out accounts ------------------------------------


def _assessments(connection: sqlite3.Connection, keep: set[str]) -> dict[str, list[tuple]]:
    by_account: dict[str, list[tuple]] = defaultdict(list)
    for account_id, as_of, score, band, tier in connection.execute(
        "SELECT account_id, as_of, score, band, tier FROM assessments ORDER BY account_id, as_of"
    ):
        if account_id in keep:
            day = date.fromisoformat(as_of)
            by_account[account_id].append((day, score, band, tier))
    return by_account


def _live(rows: list[tuple], day: date) -> tuple | None:
    before = [r for r in rows if r[0] < day]
    return before[-1] if before else None


def _rate_text(pairs: list[tuple[str, bool]], order: list[str]) -> str:
    parts = []
    for group in order:
        labels = [c for g, c in pairs if g == group]
        if labels:
            parts.append(f"{group} {sum(labels) / len(labels):.1%} ({len(labels)})")
    return ", ".join(parts)


def judge(connection: sqlite3.Connection, history: History, keep: set[str]) -> dict[str, object]:
    rows = _assessments(connection, keep)
    outcomes = [o for o in history.outcomes if o[0] in keep and o[2] <= history.end]
    observed = []
    for account_id, outcome, day in outcomes:
        live = _live(rows.get(account_id, []), day)
        if live is not None:
            observed.append((live, outcome in CHURN))
    result: dict[str, object] = {
        "outcomes": len(observed),
        "churned": sum(c for _, c in observed),
        "outcome_auc": roc_auc([r[1] for r, _ in observed], [c for _, c in observed]).value,
    }
    for horizon in (30, 60):
        scores, labels = [], []
        for account_id, series in rows.items():
            churn = history.churn_dates.get(account_id)
            for day, score, *_ in series:
                positive = churn is not None and day < churn <= day + timedelta(days=horizon)
                if not positive and day + timedelta(days=horizon) > history.end:
                    continue  # censored: the horizon runs past what was simulated
                scores.append(score)
                labels.append(positive)
        result[f"snapshot_auc_{horizon}"] = roc_auc(scores, labels).value
    result["by_band"] = _rate_text([(r[2], c) for r, c in observed], ["green", "yellow", "red"])
    result["by_tier"] = _rate_text(
        [(r[3], c) for r, c in observed], ["thriving", "healthy", "steady", "at_risk"]
    )
    # The review budget is a property of the whole run, so its share is too.
    tasks, total = connection.execute(
        "SELECT (SELECT COUNT(*) FROM review_tasks WHERE state IN ('open', 'done') "
        "OR (state = 'superseded' AND superseded_from = 'open')), "
        "(SELECT COUNT(*) FROM assessments)"
    ).fetchone()
    result["review_share"] = tasks / max(total, 1)
    flagged = [c for r, c in observed if r[2] == "red" or r[3] == "at_risk"]
    result["false_positives"] = (
        f"{sum(not c for c in flagged) / len(flagged):.1%} of {len(flagged)}" if flagged else "n/a"
    )
    churned = [r for r, c in observed if c]
    result["missed_risks"] = (
        f"{sum(r[2] == 'green' for r in churned) / len(churned):.1%} of {len(churned)}"
        if churned
        else "n/a"
    )
    steps = moved = 0
    for account_id, series in rows.items():
        if account_id in history.stable:
            for before, after in pairwise(series):
                steps += 1
                moved += abs(after[1] - before[1]) >= MOVE_POINTS
    result["stable_moves"] = moved / steps if steps else None
    seen = total = 0
    for account_id, changed_on in history.changers.items():
        series = rows.get(account_id)
        if not series or history.world.drivers.get(history.changed_traits[account_id], 0) == 0:
            continue
        before = [r for r in series if r[0] < changed_on]
        after = [r for r in series if r[0] >= changed_on][:2]
        if not before or not after:
            continue
        total += 1
        seen += min(r[1] for r in after) <= before[-1][1] - MOVE_POINTS
    result["changers_seen"] = f"{seen / total:.0%} of {total}" if total else "n/a"
    return result


def best_signal(connection: sqlite3.Connection, history: History, share: float) -> str:
    """The raw signal with the best held-out outcome AUC, direction set on training accounts."""
    records: dict[tuple[str, str], AccountRecord] = {}
    for account_id, as_of, record_json in connection.execute(
        "SELECT account_id, as_of, document(record_json) FROM snapshots"
    ):
        records[(account_id, as_of)] = AccountRecord.model_validate_json(record_json)
    dates_by_account: dict[str, list[date]] = defaultdict(list)
    for account_id, as_of in records:
        dates_by_account[account_id].append(date.fromisoformat(as_of))
    samples: dict[bool, list[tuple[dict[str, float], bool]]] = {True: [], False: []}
    for account_id, outcome, day in history.outcomes:
        before = sorted(d for d in dates_by_account.get(account_id, []) if d < day)
        if not before:
            continue
        record = records[(account_id, before[-1].isoformat())]
        metrics = {}
        for name, read in READERS.items():
            reading = read(record, before[-1])
            if reading is not None and reading[0] is not None:
                metrics[name] = reading[0]
        samples[held_out(account_id, share)].append((metrics, outcome in CHURN))
    best_name, best_auc = "none", 0.5
    for name in READERS:
        train = [(m[name], c) for m, c in samples[False] if name in m]
        test = [(m[name], c) for m, c in samples[True] if name in m]
        if len(train) < 20 or len(test) < 20:
            continue
        up = roc_auc([v for v, _ in train], [c for _, c in train]).value
        if up is None:
            continue
        sign = 1 if up >= 0.5 else -1
        auc = roc_auc([sign * v for v, _ in test], [c for _, c in test]).value
        if auc is not None and auc > best_auc:
            best_name, best_auc = name, auc
    return f"{best_auc:.3f} ({best_name})"


ROWS = (
    ("outcomes (churned)", lambda r: f"{r['outcomes']} ({r['churned']})"),
    ("outcome AUC", lambda r: _num(r["outcome_auc"])),
    ("snapshot AUC 30d", lambda r: _num(r["snapshot_auc_30"])),
    ("snapshot AUC 60d", lambda r: _num(r["snapshot_auc_60"])),
    ("churn by band", lambda r: r["by_band"]),
    ("churn by tier", lambda r: r["by_tier"]),
    ("review share", lambda r: f"{r['review_share']:.1%}"),
    ("false positives", lambda r: r["false_positives"]),
    ("missed risks", lambda r: r["missed_risks"]),
    ("stable moves >= 10", lambda r: _pct(r["stable_moves"])),
    ("changers seen in 2", lambda r: r["changers_seen"]),
)


def _num(value: object) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def run_world(name: str, accounts: int, seed: int, keep: Path | None) -> None:
    world = WORLDS[name]
    started = time.perf_counter()
    history = simulate(world, accounts=accounts, seed=seed)
    folder = Path(tempfile.mkdtemp(prefix=f"decision-{name}-", dir=keep))
    files = write_snapshots(history, folder)
    default = load_policy()
    default_db = folder / "default.sqlite3"
    record_world(files, default_db, default)
    connection = connect(default_db)
    import_outcomes(connection, write_outcomes(history, folder))
    result = calibrate(connection, default, as_of=history.end)
    calibrated = default
    policy_path = folder / "calibrated.yaml"
    if result.status == "fitted":
        write_policy(result, policy_path)
        calibrated = load_policy(policy_path)
    share = default.measurement.holdout_share
    keep_ids = {
        str(row["account_id"])
        for rows in history.snapshots.values()
        for row in rows
        if held_out(str(row["account_id"]), share)
    }
    before = judge(connection, history, keep_ids)
    best = best_signal(connection, history, share)
    connection.close()
    after = before
    if calibrated is not default:
        calibrated_db = folder / "calibrated.sqlite3"
        record_world(files, calibrated_db, calibrated)
        with sqlite3.connect(calibrated_db) as second:
            after = judge(second, history, keep_ids)
    elapsed = time.perf_counter() - started
    print(f"\n## {name}: {world.description}")
    print(
        f"{accounts} accounts, {len(history.dates)} monthly snapshots, "
        f"{sum(o[1] == 'churned' for o in history.outcomes)} churned in all; held out "
        f"{len(keep_ids)} accounts; calibrate: {result.status} ({elapsed:.0f} s)"
    )
    print(f"best single signal (held-out outcome AUC): {best}")
    print("")
    print("| measure | default policy | calibrated policy |")
    print("|---|---|---|")
    for label, cell in ROWS:
        print(f"| {label} | {cell(before)} | {cell(after)} |")
    if keep is not None:
        print(f"\nkept: {folder}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", default=",".join(WORLDS), help="comma-separated world names")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, default=None, help="keep databases under DIR")
    args = parser.parse_args(argv)
    print(
        f"# Decision quality, {args.accounts} accounts per world, seed {args.seed} "
        f"(Python {platform.python_version()})"
    )
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    for name in args.worlds.split(","):
        run_world(name.strip(), args.accounts, args.seed, args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
