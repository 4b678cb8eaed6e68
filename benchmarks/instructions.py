"""Machine instructions per account on the jsonl path: a figure other work cannot skew.

    python benchmarks/instructions.py                          # this checkout (~2 min)
    python benchmarks/instructions.py --compare /path/to/other/checkout

A report, not a test: it prints figures and always exits 0.

Wall-clock figures on a shared machine move with whatever else runs (the same code
measured 280 and 580 µs/account an hour apart). The number of instructions the
CPU executes does not: valgrind's cachegrind counts them (`I refs`), the same to
five digits from run to run. Each step runs in a fresh interpreter under
cachegrind (PYTHONHASHSEED=0) over two input sizes; the difference divided by the
difference in accounts is the cost per account, start-up, imports and policy load
cancelled out. Steps, each including the ones before it:

  ingest   `read_accounts` over the file: CSV rows to validated `AccountRecord`
  assess   + `Engine.assess` on each record (one Engine making plain, compact output, gc
           frozen, as the jsonl path does)
  json     + `to_json(assessment, line=True)`, what the pipeline writes
  e2e      `run_assessment(..., output_format="jsonl")` to a null sink instead

Instructions are not time: a cache miss costs no instructions and many cycles. But
for interpreter-bound code like this the two move together, and a change that
removes instructions is seen here whatever the machine's load. With `--compare`
the other checkout (a worktree of another branch, say) is measured on the same
input and the ratio printed. Needs `valgrind` on PATH; says so and stops without it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STEPS = ("ingest", "assess", "json", "e2e")


def child(path: str, step: str) -> None:
    """One step over the file, in this process (run under cachegrind)."""
    import gc

    sys.path.insert(0, str(HERE))
    from machine import CountingSink
    from synthetic import AS_OF

    from skill.policy import load_policy
    from skill.vocabulary import AutomationLevel

    policy = load_policy()
    if step == "e2e":
        from skill.pipeline import run_assessment

        run_assessment(
            Path(path),
            output_format="jsonl",
            as_of=AS_OF,
            level=AutomationLevel.BALANCED,
            policy=policy,
            out=CountingSink(),  # type: ignore[arg-type]
            err=[].append,
            workers=1,
        )
        return
    from skill.assessment import to_json
    from skill.engine import Engine
    from skill.ingest import read_accounts

    try:  # as the jsonl path makes it (see `Engine`); a checkout before that, as it could
        engine = Engine(policy, AutomationLevel.BALANCED, plain_output=True, compact_output=True)
    except TypeError:
        try:
            engine = Engine(policy, AutomationLevel.BALANCED, plain_output=True)
        except TypeError:
            engine = Engine(policy, AutomationLevel.BALANCED)
    gc.freeze()
    for item in read_accounts(Path(path)):
        if step == "ingest" or item.record is None:
            continue
        assessment = engine.assess(item.record, AS_OF)
        if step == "json":
            to_json(assessment, line=True)


def instructions(checkout: Path, path: Path, step: str) -> int:
    """`I refs` of one run of `step` over `path` with `checkout`'s code."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(path),
            step,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=checkout,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{checkout} {step}: {done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_account(checkout: Path, files: dict[int, Path], step: str) -> float:
    (small, small_path), (large, large_path) = sorted(files.items())
    return (instructions(checkout, large_path, step) - instructions(checkout, small_path, step)) / (
        large - small
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare", type=Path, help="another checkout to measure the same way")
    parser.add_argument("--sizes", default="200,1200", help="two input sizes (default 200,1200)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--steps", default=",".join(STEPS), help="of " + ", ".join(STEPS))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if shutil.which("valgrind") is None:
        print("valgrind is not on PATH: nothing measured (install valgrind to count instructions)")
        return
    sys.path.insert(0, str(HERE))
    from synthetic import write_accounts_csv

    sizes = sorted(int(n) for n in args.sizes.split(","))
    steps = [s for s in args.steps.split(",") if s]
    checkouts = {"this": ROOT} | ({"compare": args.compare.resolve()} if args.compare else {})
    print("account-health jsonl path: machine instructions per account (cachegrind I refs)")
    print(f"  python     {sys.version.split()[0]}; sizes {sizes[0]:,} and {sizes[-1]:,}")
    for name, checkout in checkouts.items():
        print(f"  {name:10s} {checkout}")
    with tempfile.TemporaryDirectory() as folder:
        files = {n: write_accounts_csv(Path(folder) / f"{n}.csv", n, seed=args.seed) for n in sizes}
        files = {sizes[0]: files[sizes[0]], sizes[-1]: files[sizes[-1]]}
        figures = {
            (name, step): per_account(checkout, files, step)
            for step in steps
            for name, checkout in checkouts.items()
        }
    header = f"{'step':8s} {'this':>12s}"
    if args.compare:
        header += f" {'compare':>12s} {'this/compare':>13s}"
    print()
    print(header + "   (instructions per account; each step includes the ones before)")
    for step in steps:
        line = f"{step:8s} {figures[('this', step)]:12,.0f}"
        if args.compare:
            other = figures[("compare", step)]
            line += f" {other:12,.0f} {figures[('this', step)] / other:12.3f}x"
        print(line)


if __name__ == "__main__":
    main()
