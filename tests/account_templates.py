"""The one healthy account the test-support modules build their records from.

A green mid-market account with all three sources connected and every signal
filled in, so a test states only the fields it changes.
"""

from __future__ import annotations

from typing import Any

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


#: Every CRM field and its sync date: `dict.fromkeys(CRM_FIELDS)` leaves the CRM out.
CRM_FIELDS = (
    "csat",
    "nps",
    "payment_status",
    "champion",
    "last_exec_touch_date",
    "crm_synced_at",
    "expansion_signal",
    "discount_requested",
    "last_customer_reply_date",
    "qbr_attended",
    "success_milestones_missed",
    "success_milestones_total",
    "last_survey_date",
    "blocker",
)


def healthy(*, without: tuple[str, ...] = (), **fields: Any) -> dict[str, Any]:
    """The healthy account with `fields` set and the `without` fields left out."""
    base = {k: v for k, v in HEALTHY_MID_MARKET.items() if k not in without}
    return {**base, **fields}


# Dates of events and syncs: a copy of a record "as seen on" an earlier day
# cannot hold any of them later than that day (the engine treats such dates as
# impossible).
SEEN_DATES = (
    "last_exec_touch_date",
    "last_customer_reply_date",
    "last_survey_date",
    "crm_synced_at",
    "support_synced_at",
    "product_synced_at",
)


def as_seen_on(fields: dict[str, Any], day: str) -> dict[str, Any]:
    """`fields` as an export made on `day` would hold them: no event or sync after it."""
    return {
        k: (day if k in SEEN_DATES and isinstance(v, str) and v > day else v)
        for k, v in fields.items()
    }


def demo_as_seen_on(day: str, directory: Any) -> Any:
    """A copy of the demo file as exported on `day`, written under `directory`."""
    import json

    from skill.demo import demo_file

    data = json.loads(demo_file().read_text(encoding="utf-8"))
    data["accounts"] = [as_seen_on(a, day) for a in data["accounts"]]
    path = directory / f"demo-{day}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def demo_count() -> int:
    """How many accounts the bundled demo file holds."""
    import json

    from skill.demo import demo_file

    return len(json.loads(demo_file().read_text(encoding="utf-8"))["accounts"])


DEMO_COUNT = demo_count()
