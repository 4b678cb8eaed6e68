"""Stage 7: seed 000's additive score, kept coarse so users see what the old way would say."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from skill.assessment import Assessment, LegacyScore
from skill.engine.context import AccountContext
from skill.engine.legacy import METRIC_READS, METRICS
from skill.record import AccountRecord

Assessor = Callable[..., Assessment]  # the `assess` fixture
RecordFactory = Callable[..., AccountRecord]  # the `make_record` fixture


def points(legacy: LegacyScore) -> dict[str, int]:
    return {row.field: row.points for row in legacy.rows}


def shown(legacy: LegacyScore) -> dict[str, str]:
    return {row.field: row.value for row in legacy.rows}


def test_healthy_baseline_scores_full_points(assess: Assessor) -> None:
    legacy = assess().legacy
    assert legacy.total == 100
    assert legacy.band == "Healthy"
    assert points(legacy) == {
        "Renewal (days)": 15,
        "Usage (active seats %)": 30,
        "Adoption (features %)": 20,
        "Issues (open tickets)": 15,
        "CSAT (1-5)": 15,
        "Blocker": 5,
    }


def test_rows_show_the_values_a_user_would_recognise(assess: Assessor) -> None:
    legacy = assess(active_users=65, features_adopted=5, csat=3.6, blocker="minor").legacy
    assert shown(legacy) == {
        "Renewal (days)": "311 days",
        "Usage (active seats %)": "65%",
        "Adoption (features %)": "50%",
        "Issues (open tickets)": "1",
        "CSAT (1-5)": "3.6",
        "Blocker": "minor",
    }


def test_total_is_the_sum_of_the_rows(assess: Assessor) -> None:
    legacy = assess(active_users=50, open_tickets=5, csat=3.2, blocker="major").legacy
    assert legacy.total == sum(points(legacy).values()) == 15 + 15 + 20 + 8 + 8 + 0


@pytest.mark.parametrize(("active_users", "expected"), [(70, 30), (69, 15), (40, 15), (39, 0)])
def test_usage_brackets(assess: Assessor, active_users: int, expected: int) -> None:
    legacy = assess(active_users=active_users, licensed_seats=100).legacy
    assert points(legacy)["Usage (active seats %)"] == expected


@pytest.mark.parametrize(
    ("renewal_date", "expected"),
    [
        ("2027-03-23", 15),
        ("2027-03-22", 8),
        ("2027-01-22", 8),
        ("2027-01-21", 0),
        ("2026-11-01", 0),
    ],
)
def test_renewal_brackets(assess: Assessor, renewal_date: str, expected: int) -> None:
    assert points(assess(renewal_date=renewal_date).legacy)["Renewal (days)"] == expected


@pytest.mark.parametrize(("open_tickets", "expected"), [(2, 15), (3, 8), (7, 8), (8, 0)])
def test_issue_brackets(assess: Assessor, open_tickets: int, expected: int) -> None:
    assert points(assess(open_tickets=open_tickets).legacy)["Issues (open tickets)"] == expected


def test_missing_value_scores_no_points_and_says_so(assess: Assessor) -> None:
    legacy = assess(csat=None, renewal_date=None).legacy
    assert shown(legacy)["CSAT (1-5)"] == "not given"
    assert points(legacy)["CSAT (1-5)"] == 0
    assert shown(legacy)["Renewal (days)"] == "not given"
    assert legacy.total == 70


def test_needs_attention_band(assess: Assessor) -> None:
    legacy = assess(active_users=10, csat=3.2).legacy  # 100 - 30 - 7 = 63
    assert legacy.total == 63
    assert legacy.band == "Needs attention"


def test_at_risk_band(assess: Assessor) -> None:
    legacy = assess(active_users=10, features_adopted=1, csat=2).legacy  # 100 - 30 - 20 - 15
    assert legacy.total == 35
    assert legacy.band == "At risk"


def test_band_boundaries(assess: Assessor) -> None:
    at_70 = assess(active_users=10).legacy  # 100 - 30
    assert (at_70.total, at_70.band) == (70, "Healthy")
    at_45 = assess(active_users=10, features_adopted=1, blocker="major").legacy  # 100 - 30 - 20 - 5
    assert (at_45.total, at_45.band) == (45, "Needs attention")
    at_41 = assess(active_users=10, features_adopted=1, csat=3.2, blocker="minor").legacy
    assert (at_41.total, at_41.band) == (41, "At risk")


def test_legacy_ignores_lifecycle_context(assess: Assessor) -> None:
    onboarding = assess(lifecycle="onboarding", active_users=20, features_adopted=2)
    active = assess(lifecycle="active", active_users=20, features_adopted=2)
    assert onboarding.legacy == active.legacy
    assert {t.code for t in onboarding.themes} != {t.code for t in active.themes}


# -- what each metric declares it reads: its rows are remembered by those values


class _Reads:
    """Stands in for an account's context (and its record), noting each value read."""

    def __init__(self, target: object, prefix: str, seen: set[str]) -> None:
        self._target, self._prefix, self._seen = target, prefix, seen

    def __getattr__(self, name: str) -> object:
        value = getattr(self._target, name)
        if name == "record":
            return _Reads(value, "record.", self._seen)
        self._seen.add(self._prefix + name)
        return value


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_a_metric_reads_only_the_values_it_declares(
    metric: str, make_record: RecordFactory, as_of: date
) -> None:
    records = [
        make_record(),
        make_record(active_users=500, licensed_seats=100, csat=None, blocker="major"),
        make_record(licensed_seats=None, features_total=0, open_tickets=None, renewal_date=None),
    ]
    for record in records:
        ctx = AccountContext(record=record, as_of=as_of, days_to_renewal=30, renewal_window=90)
        seen: set[str] = set()
        METRICS[metric](_Reads(ctx, "", seen))  # type: ignore[arg-type]
        assert seen and seen <= set(METRIC_READS[metric]), (record.account_id, seen)
