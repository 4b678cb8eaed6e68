"""Shared fixtures: the default policy, a fixed `as_of`, and a record factory.

`make_record(**overrides)` gives a healthy mid-market account, so each test
states only the fields it cares about. Pass `field=None` to remove a signal.
"""

from __future__ import annotations

try:  # before vcr loads: anthropic uses httpx2, so `import httpx` must resolve to it too
    import httpx2

    httpx2.alias_httpx()
except ImportError:  # pragma: no cover - httpx2 comes with the optional anthropic SDK
    pass

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

try:  # a checkout run without `pip install -e .` still finds the package
    import skill  # noqa: F401
except ModuleNotFoundError:  # pragma: no cover - depends on how the venv was built
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from skill.assessment import Assessment
from skill.engine import assess_account
from skill.policy import Policy, load_policy
from skill.record import AccountRecord
from skill.vocabulary import AutomationLevel

AS_OF = date(2026, 11, 23)

HEALTHY_MID_MARKET: dict[str, Any] = {
    "account_id": "ACC-TEST",
    "name": "Testco",
    "segment": "mid_market",
    "lifecycle": "active",
    "owner": "Alex Kim",
    "arr": 60000,
    "renewal_date": "2027-09-30",  # 311 days out
    "active_users": 90,
    "licensed_seats": 100,
    "logins_30d": 1000,
    "logins_prev_30d": 950,
    "weekly_activity": [80, 82, 81, 83],
    "features_adopted": 9,
    "features_total": 10,
    "open_tickets": 1,
    "tickets_30d": 2,
    "tickets_prev_30d": 2,
    "escalations_90d": 0,
    "sev1_open": 0,
    "csat": 4.6,
    "nps": 45,
    "last_survey_date": "2026-11-01",
    "payment_status": "current",
    "expansion_signal": True,
    "discount_requested": False,
    "last_exec_touch_date": "2026-11-01",
    "champion": "strong",
    "last_customer_reply_date": "2026-11-20",
    "qbr_attended": True,
    "success_milestones_missed": 0,
    "success_milestones_total": 5,
    "blocker": "none",
    "notes": "Happy customer; weekly syncs going well.",
    "crm_synced_at": "2026-11-22",
    "support_synced_at": "2026-11-22",
    "product_synced_at": "2026-11-22",
}

RecordFactory = Callable[..., AccountRecord]
Assessor = Callable[..., Assessment]


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def as_of() -> date:
    return AS_OF


@pytest.fixture
def make_record() -> RecordFactory:
    def make(**overrides: Any) -> AccountRecord:
        data = {**HEALTHY_MID_MARKET, **overrides}
        return AccountRecord.model_validate({k: v for k, v in data.items() if v is not None})

    return make


@pytest.fixture
def assess(policy: Policy, as_of: date, make_record: RecordFactory) -> Assessor:
    """Assess a baseline record with overrides: `assess(csat=2, level=...)`."""

    def run(level: AutomationLevel = AutomationLevel.BALANCED, **overrides: Any) -> Assessment:
        return assess_account(make_record(**overrides), policy, as_of, level)

    return run
