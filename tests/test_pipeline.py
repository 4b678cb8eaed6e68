"""The run's per-record checks on input (skill.pipeline)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from skill.pipeline import DATED_FIELDS, as_of_gap
from skill.record import AccountRecord


def _first_far_date(record: AccountRecord, as_of: date, limit: int) -> tuple[str, date] | None:
    """The rule stated plainly: the first dated field more than `limit` days away."""
    if record.as_of is not None:
        return None
    for field in DATED_FIELDS:
        value = getattr(record, field)
        if value is not None and abs((value - as_of).days) > limit:
            return field, value
    return None


def test_the_as_of_check_names_the_first_date_further_than_the_limit() -> None:
    rng = random.Random(3)
    limit = 60
    found = set()
    for as_of in (date(2026, 11, 23), date.min + timedelta(days=5), date.max - timedelta(days=5)):
        for _ in range(3000):
            data: dict[str, object] = {"account_id": "A-1", "segment": "smb"}
            for field in rng.sample(DATED_FIELDS, rng.randint(0, len(DATED_FIELDS))):
                offset = rng.choice([0, limit, limit + 1, -limit, -limit - 1, rng.randint(-99, 99)])
                try:
                    data[field] = as_of + timedelta(days=offset)
                except OverflowError:
                    continue
            if rng.random() < 0.1:
                data["as_of"] = as_of
            record = AccountRecord.model_validate(data)
            expected = _first_far_date(record, as_of, limit)
            assert as_of_gap(record, as_of, limit) == expected
            found.add(expected is None)
    assert found == {True, False}
