"""Impossible and suspicious values: set aside or noted, never scored as if true.

A date after `as_of` describes nothing that has happened yet, so it is no
evidence of health: a touch, reply or survey date in the future is treated as
not known, and a sync date in the future makes its source stale. More active
users than seats is counted as full use. Each case leaves one data-quality note
on the assessment, naming the field and the value.
"""

from __future__ import annotations

from datetime import date
from operator import itemgetter
from typing import Any

from skill.record import AccountRecord, truncated_of, values_of

# Dates of things that happened: one after as_of cannot be true yet.
EVENT_DATES = ("last_exec_touch_date", "last_customer_reply_date", "last_survey_date")
SYNC_DATES = ("crm_synced_at", "support_synced_at", "product_synced_at")
_dates_of = itemgetter(*EVENT_DATES, *SYNC_DATES)


def screen(record: AccountRecord, as_of: date) -> tuple[AccountRecord, list[str]]:
    """The record the engine scores, and the data-quality notes on what was set aside."""
    notes: list[str] = []
    values = values_of(record)  # read without the model's attribute hook
    seats, users = values["licensed_seats"], values["active_users"]
    truncated = truncated_of(record)  # `record.truncated`, without its property
    # The latest of the dates given (a date is never false), in C: nothing dated after
    # as_of is the usual case.
    latest = max(filter(None, _dates_of(values)), default=None)
    if (
        (latest is None or latest <= as_of)
        and not truncated
        and not (seats and users is not None and users > seats)
    ):
        return record, notes
    cleared: dict[str, Any] = {}
    for field in EVENT_DATES:
        value = getattr(record, field)
        if value is not None and value > as_of:
            cleared[field] = None
            notes.append(
                f"{field} {value} is {(value - as_of).days} days after as_of {as_of}: "
                "a date in the future is not evidence, so it was not used"
            )
    for field in SYNC_DATES:
        value = getattr(record, field)
        if value is not None and value > as_of:
            notes.append(
                f"{field} {value} is {(value - as_of).days} days after as_of {as_of}: "
                "the source is treated as stale"
            )
    if seats and users is not None and users > seats:
        notes.append(
            f"active_users {users} is more than licensed_seats {seats}: seat use is "
            "counted as 100%; check both numbers"
        )
    for field, length in truncated:
        notes.append(
            f"{field} was {length:,} characters, cut to the first {len(getattr(record, field)):,}"
        )
    if cleared:
        record = record.model_copy(update=cleared)
    return record, notes
