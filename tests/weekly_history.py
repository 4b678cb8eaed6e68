"""A history of many varied accounts recorded over several weekly dates.

Enough accounts (more than `TRAIN_FROM`) that the store trains its document
dictionaries, and more than one date, so later documents are stored against
their account's base: the tests of the compact store need both.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import Any

from insights_support import BAD, GOOD, WEAK, YELLOW, account, record

FIRST_WEEK = date(2026, 11, 2)
OWNERS = ("Dana Reyes", "Sam Lee", "Priya Natarajan", "Morgan Okafor", "Chen Tanaka")


def varied_accounts(count: int, week: int) -> list[dict[str, Any]]:
    """`count` accounts from the four templates, each a little different, drifting weekly."""
    templates = (GOOD, WEAK, YELLOW, BAD)
    accounts = []
    for i in range(count):
        template = templates[i % len(templates)]
        accounts.append(
            account(
                template,
                f"ACC-{i:04d}",
                owner=OWNERS[i % len(OWNERS)],
                logins_30d=template["logins_30d"] + (i * 37 + week * 11) % 90,
                open_tickets=template["open_tickets"] + (i + week) % 3,
                arr=template["arr"] + 1000 * (i % 17),
            )
        )
    return accounts


def weeks(count: int) -> list[date]:
    return [FIRST_WEEK + timedelta(days=7 * w) for w in range(count)]


def record_weeks(connection: sqlite3.Connection, accounts: int, dates: list[date]) -> None:
    """Record `accounts` varied accounts on each of `dates`, as weekly runs would."""
    for week, day in enumerate(dates):
        record(connection, varied_accounts(accounts, week), day)
