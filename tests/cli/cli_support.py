"""Data and helpers shared by the CLI tests.

Small account records, writers for each input format, and a real
`python -m skill` subprocess runner.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from account_templates import healthy

AS_OF = "2026-11-23"

#: A healthy mid-market account with all three sources connected: green.
HEALTHY: dict[str, Any] = healthy(
    without=("notes", "discount_requested", "last_survey_date", "sev1_open", "expansion_signal"),
    account_id="ACC-1",
    name="Acme Health",
)

#: The same account with a major blocker: the guard rail caps it to yellow.
BLOCKED: dict[str, Any] = {
    **HEALTHY,
    "account_id": "ACC-2",
    "name": "Blocked Builders",
    "blocker": "major",
    "blocker_note": "Nightly import fails.",
}

PRODUCT_FIELDS = (
    "active_users",
    "licensed_seats",
    "logins_30d",
    "logins_prev_30d",
    "weekly_activity",
    "features_adopted",
    "features_total",
    "product_synced_at",
)

#: CRM and support only: no product field and no product sync date.
NO_PRODUCT: dict[str, Any] = {
    **{k: v for k, v in HEALTHY.items() if k not in PRODUCT_FIELDS},
    "account_id": "ACC-3",
    "name": "Crm Only Co",
}

ACCOUNTS = [HEALTHY, BLOCKED, NO_PRODUCT]


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def csv_text(records: Sequence[dict[str, Any]]) -> str:
    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record[c]) if c in record else "" for c in columns])
    return out.getvalue()


def jsonl_text(records: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


WRITERS: dict[str, Callable[[Sequence[dict[str, Any]]], str]] = {
    "csv": csv_text,
    "json": lambda records: json.dumps(list(records), indent=2),
    "json_wrapped": lambda records: json.dumps({"accounts": list(records)}),
    "jsonl": jsonl_text,
}
EXTENSIONS = {"csv": ".csv", "json": ".json", "json_wrapped": ".json", "jsonl": ".jsonl"}


def run_module(
    *args: str | Path, input: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m skill ...` in a real subprocess, stdout and stderr as pipes."""
    return subprocess.run(
        [sys.executable, "-m", "skill", *(str(a) for a in args)],
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def run_module_on_terminal(*args: str | Path) -> tuple[int, str]:
    """`python -m skill ...` with stdout on a pseudo-terminal; returns (exit code, stdout)."""
    import os
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "skill", *(str(a) for a in args)],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.DEVNULL,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # Linux raises EIO once the child has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=120)
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
