"""The run's per-record checks on input (skill.pipeline)."""

from __future__ import annotations

import io
import random
from datetime import date, timedelta
from pathlib import Path

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


def test_each_repeated_account_names_the_row_it_first_came_in(tmp_path: Path) -> None:
    """Duplicates named by their first row, however many accounts and repeats came
    between; a row of the same account for another date is no duplicate."""
    from skill.pipeline import run_assessment
    from skill.policy import load_policy
    from skill.vocabulary import AutomationLevel

    as_of = date(2026, 11, 23)
    ids = [f"ACC-{i}" for i in range(1, 301)] + ["ACC-7", "ACC-300", "ACC-7", "ACC-3"]
    lines = ["account_id,segment,as_of"]
    lines += [f"{account},smb," for account in ids[:-1]] + ["ACC-3,smb,2026-11-16"]
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors: list[str] = []
    code = run_assessment(
        path,
        output_format="jsonl",
        as_of=as_of,
        level=AutomationLevel.BALANCED,
        policy=load_policy(),
        out=io.StringIO(),
        err=errors.append,
    )
    assert code == 3
    repeats = [e.split(": ", 2)[2].split(";")[0] for e in errors if "appears again" in e]
    assert repeats == [
        "account_id 'ACC-7' appears again (first at row 7) for as_of 2026-11-23",
        "account_id 'ACC-300' appears again (first at row 300) for as_of 2026-11-23",
        "account_id 'ACC-7' appears again (first at row 7) for as_of 2026-11-23",
    ]
    assert [e.split(":")[1] for e in errors if "appears again" in e] == [
        " row 301 (account_id 'ACC-7')",
        " row 302 (account_id 'ACC-300')",
        " row 303 (account_id 'ACC-7')",
    ]
    assert errors[-1].startswith("assessed 301 account(s), rejected 3")
