"""The approval queue at scale: `actions list` and `review list` over 100,000 items.

    python benchmarks/approval_queue.py              # ~100,000 pending items (about 1 min)
    python benchmarks/approval_queue.py --accounts 8000

Records synthetic accounts with `account-health run` into two databases, one a
quarter the size of the other, then times each listing in its own process and reads
that process's peak RSS (VmHWM: ru_maxrss would carry this script's own
peak across exec). Streaming (`--format jsonl`) and paging (`--limit`) are in
flat memory when the peak RSS does not grow with the queue: the figure to read is the
RSS ratio large/small, which should stay near 1.0, while the time ratio grows with
the number of items written.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import AS_OF, write_accounts_csv  # noqa: E402

PROBE = (
    "import sys\n"
    "from skill.cli import main\n"
    "sys.argv = ['account-health', *sys.argv[1:]]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit:\n"
    "    pass\n"
    "finally:\n"
    "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
    "    peak = int(status.split()[0])\n"
    "    sys.stderr.write(f'\\nPEAK_RSS_KB={peak}\\n')\n"
)

LISTINGS = (
    ("actions list --format jsonl (all)", ["actions", "list", "--format", "jsonl"]),
    (
        "actions list --state pending --format jsonl",
        ["actions", "list", "--state", "pending", "--format", "jsonl"],
    ),
    (
        "actions list --limit 100 --format jsonl",
        ["actions", "list", "--limit", "100", "--format", "jsonl"],
    ),
    (
        "actions list --limit 100 --offset <half> --format jsonl",
        ["actions", "list", "--limit", "100", "--offset", "{half}", "--format", "jsonl"],
    ),
    (
        "actions list --since <as_of> --limit 100",
        ["actions", "list", "--since", AS_OF.isoformat(), "--limit", "100", "--format", "jsonl"],
    ),
    ("review list --format jsonl (all)", ["review", "list", "--format", "jsonl"]),
)


def build(accounts: int, folder: Path) -> Path:
    source = write_accounts_csv(folder / f"accounts-{accounts}.csv", accounts)
    db = folder / f"queue-{accounts}.sqlite3"
    if not db.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "skill",
                "run",
                str(source),
                "--db",
                str(db),
                "--as-of",
                AS_OF.isoformat(),
                "--format",
                "json",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return db


def listing(db: Path, args: list[str]) -> tuple[float, int, int]:
    """Seconds, lines written and peak RSS (KB) of one listing in a fresh process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args, "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    peak = int(done.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])
    return seconds, done.stdout.count("\n"), peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--accounts", type=int, default=31_500, help="accounts in the large database"
    )
    parser.add_argument(
        "--folder", type=Path, default=Path(tempfile.gettempdir()) / "account-health-queue-bench"
    )
    options = parser.parse_args(argv)
    options.folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONPATH", str(HERE.parent))
    small_n, large_n = options.accounts // 4, options.accounts
    dbs = {"small": build(small_n, options.folder), "large": build(large_n, options.folder)}
    items = {k: listing(db, ["actions", "list", "--format", "jsonl"])[1] for k, db in dbs.items()}
    print(
        f"queue benchmark: {small_n:,} and {large_n:,} accounts recorded on {AS_OF}; "
        f"{items['small']:,} and {items['large']:,} outbox items"
    )
    print(
        f"{'listing':58} {'lines S/L':>17} {'seconds S/L':>15} "
        f"{'peak RSS MB S/L':>17} {'RSS L/S':>8}"
    )
    for label, template in LISTINGS:
        rows = {}
        for key, db in dbs.items():
            args = [a.replace("{half}", str(items[key] // 2)) for a in template]
            rows[key] = listing(db, args)
        (s_sec, s_lines, s_rss), (l_sec, l_lines, l_rss) = rows["small"], rows["large"]
        print(
            f"{label:58} {s_lines:>8,}/{l_lines:<8,} {s_sec:>7.2f}/{l_sec:<7.2f} "
            f"{s_rss / 1024:>8.1f}/{l_rss / 1024:<8.1f} {l_rss / s_rss:>7.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
