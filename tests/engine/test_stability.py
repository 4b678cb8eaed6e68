"""A score that moves when the account does: min counts, smoothing, hysteresis, noisy drops."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from skill.assessment import Assessment, PriorAssessment, ScoreCap
from skill.engine import Engine
from skill.engine.stability import band_with_hysteresis
from skill.vocabulary import AutomationLevel, Band, RiskFlagCode

AS_OF = date(2026, 11, 23)


def months_ago(n: int) -> date:
    return AS_OF - timedelta(days=30 * n)


def prior(months: int, score: int, band: str = "green", **dimensions: int) -> PriorAssessment:
    return PriorAssessment(as_of=months_ago(months), score=score, band=band, dimensions=dimensions)


def dimension(a: Assessment, name: str):
    return next(d for d in a.dimensions if d.dimension.value == name)


def dimensions_of(a: Assessment) -> dict[str, int]:
    return {d.dimension.value: d.score for d in a.dimensions}


def evidence(a: Assessment, signal: str):
    return next(e for d in a.dimensions for e in d.evidence if e.signal == signal)


@pytest.fixture
def engine(policy) -> Engine:
    return Engine(policy, AutomationLevel.BALANCED)


# -- ratios of tiny counts -------------------------------------------------------------


def test_a_ratio_of_tiny_counts_scores_as_no_change(engine, make_record):
    tiny = engine.assess(make_record(logins_30d=3, logins_prev_30d=1), AS_OF)
    flat = engine.assess(make_record(logins_30d=950, logins_prev_30d=950), AS_OF)

    line = evidence(tiny, "login_trend")
    assert line.score == evidence(flat, "login_trend").score
    assert "logins 3 vs 1 prior 30d: too few to compare (fewer than 20)" in line.text


def test_a_real_rise_in_logins_still_counts(engine, make_record):
    rise = engine.assess(make_record(logins_30d=300, logins_prev_30d=100), AS_OF)

    assert "+200%" in evidence(rise, "login_trend").text


def test_a_fall_in_tiny_login_counts_is_no_usage_drop(engine, make_record):
    a = engine.assess(make_record(logins_30d=1, logins_prev_30d=6), AS_OF)

    assert RiskFlagCode.USAGE_DROP not in {f.code for f in a.flags}


def test_few_tickets_make_no_ticket_trend(engine, make_record):
    a = engine.assess(make_record(tickets_30d=4, tickets_prev_30d=1), AS_OF)

    assert "too few to compare (fewer than 5)" in evidence(a, "ticket_trend").text


# -- smoothing -------------------------------------------------------------------------


def test_a_noisy_dimension_blends_in_the_previous_snapshot(engine, make_record):
    record = make_record()
    alone = engine.assess(record, AS_OF)
    own = dimension(alone, "usage").score

    a = engine.assess(record, AS_OF, [prior(1, alone.score, usage=own - 20)])

    usage = dimension(a, "usage")
    assert usage.unsmoothed == own
    assert usage.score == own - 10
    assert dimension(alone, "usage").unsmoothed is None


def test_a_previous_snapshot_too_old_is_not_blended_in(engine, make_record):
    record = make_record()
    own = dimension(engine.assess(record, AS_OF), "usage").score

    a = engine.assess(record, AS_OF, [prior(3, 50, usage=own - 20)])

    assert dimension(a, "usage").score == own
    assert dimension(a, "usage").unsmoothed is None


def test_a_real_fall_shows_three_quarters_within_two_snapshots(engine, make_record):
    healthy = make_record()
    fallen = make_record(weekly_activity=[10, 10, 10, 10], active_users=10, logins_30d=100)
    before = engine.assess(healthy, months_ago(2))
    history = [prior(2, before.score, **dimensions_of(before))]
    one = engine.assess(fallen, months_ago(1), history)
    history.append(prior(1, one.score, **dimensions_of(one)))
    two = engine.assess(fallen, AS_OF, history)
    settled = engine.assess(fallen, AS_OF)

    full = dimension(before, "usage").score - dimension(settled, "usage").score
    shown = dimension(before, "usage").score - dimension(two, "usage").score
    assert full > 30
    assert shown >= 0.75 * full - 1


# -- band hysteresis -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "previous", "expected"),
    [
        (68, "green", Band.GREEN),  # 2 below the green line: held
        (67, "green", Band.GREEN),  # 3 below: held
        (66, "green", Band.YELLOW),  # 4 below: the band moves
        (71, "yellow", Band.YELLOW),  # 1 above: held
        (73, "yellow", Band.GREEN),  # 3 above: the band moves
        (40, "green", Band.RED),  # far past two lines: no hold
    ],
)
def test_a_band_changes_only_past_the_margin(policy, score, previous, expected):
    plain = next(t.band for t in policy.scoring.bands if score >= t.min)
    band, note = band_with_hysteresis(
        score, plain, prior(1, 70, band=previous), [], policy.scoring, margin=3
    )
    assert band is expected
    assert (note is not None) == (band is not plain)


def test_the_note_says_which_band_was_kept_and_why(policy):
    _, note = band_with_hysteresis(
        68, Band.YELLOW, prior(1, 72, band="green"), [], policy.scoring, margin=3
    )
    assert note == f"kept green (as on {months_ago(1)}): 68 is within 3 points of the 70 line"


def test_a_guard_rail_cap_is_never_held_back_by_hysteresis(policy):
    cap = ScoreCap(code="major_blocker", cap=68, reason="A major blocker is open.")
    band, note = band_with_hysteresis(
        68, Band.YELLOW, prior(1, 80, band="green"), [cap], policy.scoring, margin=3
    )
    assert (band, note) == (Band.YELLOW, None)


def test_without_history_the_band_is_the_plain_reading(engine, make_record):
    a = engine.assess(make_record(), AS_OF)
    assert a.band_note is None


# -- score drops beyond the noise ------------------------------------------------------

#: Low enough that a history 30 points above it is still a valid score.
MIDDLING = {
    "csat": 2.0,
    "nps": -40,
    "champion": "none",
    "active_users": 25,
    "features_adopted": 2,
    "open_tickets": 6,
}


def test_an_account_that_always_moves_a_lot_needs_a_bigger_fall(engine, make_record):
    a = engine.assess(make_record(**MIDDLING), AS_OF)
    assert a.score <= 69
    swings = [a.score + 14, a.score, a.score + 14, a.score + 12]
    history = [prior(len(swings) - i, s) for i, s in enumerate(swings)]

    again = engine.assess(make_record(**MIDDLING), AS_OF, history)

    assert RiskFlagCode.SCORE_DROP not in {f.code for f in again.flags}


def test_a_fall_beyond_the_usual_move_still_raises_score_drop(engine, make_record):
    a = engine.assess(make_record(**MIDDLING), AS_OF)
    assert a.score <= 69
    steady = [a.score + 31, a.score + 30, a.score + 31, a.score + 30]
    history = [prior(len(steady) - i, s) for i, s in enumerate(steady)]

    again = engine.assess(make_record(**MIDDLING), AS_OF, history)

    drop = next(f for f in again.flags if f.code is RiskFlagCode.SCORE_DROP)
    fall = history[-1].score - again.score
    assert fall >= 20
    assert f"down {fall} points (threshold 10)" in drop.evidence
