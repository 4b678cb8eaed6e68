"""Small history databases for the outcomes, measure, calibrate and report tests.

Accounts are assessed by the real engine and recorded through
`skill.store.history`, as `account-health` records a run; outcomes are imported
through `skill.store.outcomes`. The four templates below give distinct scores,
checked by `test_measure.py` (GOOD 94 green thriving, WEAK 76 green steady,
YELLOW 50 yellow at_risk, BAD 19 red at_risk).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from account_templates import as_seen_on, healthy

from skill import assess
from skill.assessment import Assessment
from skill.policy import Policy, load_policy
from skill.record import AccountRecord
from skill.store.db import connect
from skill.store.history import RunInfo, finish_run, record_assessments, run_id_for, start_run
from skill.store.outcomes import import_outcomes

WEEK_1 = date(2026, 11, 16)
WEEK_2 = date(2026, 11, 23)

GOOD: dict[str, Any] = healthy(without=("notes",), account_id="GOOD", name="Good Co")
WEAK: dict[str, Any] = {
    **GOOD,
    "account_id": "WEAK",
    "name": "Weak Co",
    "owner": "Sam Lee",
    "arr": 20000,
    "csat": 3.0,
    "nps": -20,
    "open_tickets": 6,
    "champion": "weak",
    "active_users": 50,
    "weekly_activity": [50, 48, 45, 44],
    "features_adopted": 5,
}
YELLOW: dict[str, Any] = {
    **GOOD,
    "account_id": "YELLOW",
    "name": "Yellow Co",
    "owner": "Dana Reyes",
    "arr": 150000,
    "renewal_date": "2027-01-15",
    "csat": 1.5,
    "nps": -60,
    "logins_30d": 300,
    "open_tickets": 12,
    "payment_status": "failed",
    "champion": "departed",
    "escalations_90d": 3,
    "weekly_activity": [40, 30, 20, 10],
    "active_users": 20,
}
BAD: dict[str, Any] = {
    **GOOD,
    "account_id": "BAD",
    "name": "Bad Co",
    "owner": "Dana Reyes",
    "arr": 250000,
    "renewal_date": "2027-02-01",
    "csat": 1.2,
    "nps": -80,
    "logins_30d": 200,
    "logins_prev_30d": 1000,
    "open_tickets": 14,
    "tickets_30d": 10,
    "tickets_prev_30d": 2,
    "payment_status": "failed",
    "days_overdue": 60,
    "champion": "departed",
    "escalations_90d": 3,
    "weekly_activity": [30, 20, 15, 10],
    "active_users": 15,
    "features_adopted": 2,
    "success_milestones_missed": 4,
    "last_customer_reply_date": "2026-09-01",
    "last_exec_touch_date": "2026-03-01",
    "qbr_attended": False,
}


def account(template: dict[str, Any], account_id: str, **overrides: Any) -> dict[str, Any]:
    return {**template, "account_id": account_id, "name": f"{account_id} Inc", **overrides}


def record(
    connection: sqlite3.Connection,
    records: Sequence[dict[str, Any]],
    as_of: date,
    policy: Policy | None = None,
) -> list[Assessment]:
    """Assess `records` at `as_of` and record the run, as `account-health` would."""
    policy = policy or load_policy()
    records = [as_seen_on(r, as_of.isoformat()) for r in records]
    run = assess(records, as_of=as_of, policy=policy)
    assert not run.rejected, run.rejected
    digest = hashlib.sha256(json.dumps(list(records), sort_keys=True).encode()).hexdigest()
    info = RunInfo(
        run_id=run_id_for(digest, as_of, "balanced", policy.version),
        as_of=as_of,
        automation_level="balanced",
        policy_version=policy.version,
        source="test",
        source_hash=digest,
    )
    start_run(connection, info)
    pairs = [
        (AccountRecord.model_validate(r), a) for r, a in zip(records, run.assessments, strict=True)
    ]
    written = record_assessments(connection, info.run_id, pairs)
    finish_run(connection, info.run_id, written, 0)
    return run.assessments


def write_outcomes(path: Path, rows: Sequence[tuple[str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account_id", "outcome", "date"])
        writer.writerows(rows)
    return path


def record_outcomes(
    path: Path, cases: Sequence[tuple[dict[str, Any], str, int]]
) -> sqlite3.Connection:
    """A history where each (template, outcome, count) gives `count` accounts assessed on
    WEEK_2 with that template and that outcome on 2026-12-15."""
    connection = connect(path)
    accounts, outcomes = [], []
    for template, outcome, count in cases:
        for i in range(count):
            account_id = f"{template['account_id']}-{outcome}-{i}"
            accounts.append(account(template, account_id))
            outcomes.append((account_id, outcome, "2026-12-15"))
    record(connection, accounts, WEEK_2)
    import_outcomes(connection, write_outcomes(path.with_suffix(".csv"), outcomes))
    return connection
