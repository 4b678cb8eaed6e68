"""Trend flags: `score_drop` and `usage_declining` read the account's earlier assessments.

The account here is green (score 83, usage 79) with no flag, no review task and
one action, so anything a test sees comes from the history it hands the engine.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from skill.assessment import Assessment, PriorAssessment
from skill.engine import Engine
from skill.policy import Policy, PolicyError, load_policy
from skill.vocabulary import AutomationLevel, RiskFlagCode

AS_OF = date(2026, 11, 23)
#: Over the healthy baseline: room above its score for a history to fall from.
STEADY_GREEN = {
    "features_adopted": 5,
    "active_users": 55,
    "csat": 3.8,
    "nps": 15,
    "champion": "weak",
}


def week(n: int) -> date:
    """`n` weeks before AS_OF."""
    return AS_OF - timedelta(weeks=n)


def prior(weeks_ago: int, score: int, usage: int | None = None) -> PriorAssessment:
    dimensions = {} if usage is None else {"usage": usage}
    return PriorAssessment(as_of=week(weeks_ago), score=score, band="green", dimensions=dimensions)


@pytest.fixture(scope="module")
def unsmoothed(tmp_path_factory) -> Policy:
    """Trend flags alone: no smoothing or band hysteresis (tests/engine/test_stability.py)."""
    path = tmp_path_factory.mktemp("policy") / "unsmoothed.yaml"
    path.write_text(
        "history:\n  smoothing: {weight_of_latest: 1}\n  band_hysteresis_points: 0\n",
        encoding="utf-8",
    )
    return load_policy(path)


@pytest.fixture
def engine(unsmoothed) -> Engine:
    return Engine(unsmoothed, AutomationLevel.BALANCED)


@pytest.fixture
def make_record(make_record):
    return lambda **overrides: make_record(**{**STEADY_GREEN, **overrides})


@pytest.fixture
def baseline(engine, make_record) -> Assessment:
    a = engine.assess(make_record(), AS_OF)
    assert (a.flags, a.review_task) == ([], None)
    return a


def usage_of(a: Assessment) -> int:
    return next(d.score for d in a.dimensions if d.dimension.value == "usage")


def codes(a: Assessment) -> set[RiskFlagCode]:
    return {f.code for f in a.flags}


def flag(a: Assessment, code: RiskFlagCode):
    return next(f for f in a.flags if f.code is code)


def test_without_history_no_trend_flag_and_no_trend(baseline) -> None:
    assert not codes(baseline) & {RiskFlagCode.SCORE_DROP, RiskFlagCode.USAGE_DECLINING}
    assert baseline.trend is None


def test_score_drop_at_the_threshold_names_both_scores(engine, make_record, baseline) -> None:
    history = [prior(1, baseline.score + 10)]

    a = engine.assess(make_record(), AS_OF, history)

    evidence = flag(a, RiskFlagCode.SCORE_DROP).evidence
    assert f"score {a.score} vs {a.score + 10} on {week(1)}" in evidence
    assert "down 10 points" in evidence


def test_a_fall_one_point_short_of_the_threshold_is_no_score_drop(
    engine, make_record, baseline
) -> None:
    a = engine.assess(make_record(), AS_OF, [prior(1, baseline.score + 9)])

    assert RiskFlagCode.SCORE_DROP not in codes(a)


def test_score_drop_compares_with_the_latest_earlier_assessment_only(
    engine, make_record, baseline
) -> None:
    """A fall from two weeks ago that has since recovered is not a drop now."""
    history = [prior(2, baseline.score + 15), prior(1, baseline.score + 2)]

    a = engine.assess(make_record(), AS_OF, history)

    assert RiskFlagCode.SCORE_DROP not in codes(a)
    assert (a.trend.previous_as_of, a.trend.previous_score) == (week(1), baseline.score + 2)
    assert (a.trend.delta, a.trend.snapshots) == (-2, 2)


def test_usage_declining_two_periods_in_a_row(engine, make_record, baseline) -> None:
    usage = usage_of(baseline)
    history = [prior(2, baseline.score, usage + 8), prior(1, baseline.score, usage + 3)]

    a = engine.assess(make_record(), AS_OF, history)

    evidence = flag(a, RiskFlagCode.USAGE_DECLINING).evidence
    assert f"{usage + 8} → {usage + 3} → {usage}" in evidence
    assert f"({week(2)} to {AS_OF})" in evidence


@pytest.mark.parametrize(
    ("two_weeks_ago", "last_week"),
    [(8, 8), (0, 3), (-2, 3)],
    ids=["flat-then-down", "up-then-down", "down-then-up-then-down"],
)
def test_usage_that_did_not_fall_at_every_step_is_not_declining(
    engine, make_record, baseline, two_weeks_ago, last_week
) -> None:
    usage = usage_of(baseline)
    history = [
        prior(2, baseline.score, usage + two_weeks_ago),
        prior(1, baseline.score, usage + last_week),
    ]

    a = engine.assess(make_record(), AS_OF, history)

    assert RiskFlagCode.USAGE_DECLINING not in codes(a)


def test_usage_declining_needs_as_many_earlier_snapshots_as_periods(
    engine, make_record, baseline
) -> None:
    a = engine.assess(make_record(), AS_OF, [prior(1, baseline.score, usage_of(baseline) + 20)])

    assert RiskFlagCode.USAGE_DECLINING not in codes(a)


def test_a_snapshot_without_usage_breaks_the_decline(engine, make_record, baseline) -> None:
    usage = usage_of(baseline)
    history = [prior(2, baseline.score, None), prior(1, baseline.score, usage + 3)]

    a = engine.assess(make_record(), AS_OF, history)

    assert RiskFlagCode.USAGE_DECLINING not in codes(a)


def test_history_on_or_after_as_of_is_ignored(engine, make_record, baseline) -> None:
    """Recording an old date after a newer one must not compare with the future."""
    later = PriorAssessment(as_of=AS_OF + timedelta(days=7), score=100, band="green", dimensions={})
    same_day = PriorAssessment(as_of=AS_OF, score=100, band="green", dimensions={})

    a = engine.assess(make_record(), AS_OF, [later, same_day])

    assert a.trend is None
    assert a == baseline


def test_the_order_history_is_given_in_does_not_matter(engine, make_record, baseline) -> None:
    usage = usage_of(baseline)
    history = [prior(2, baseline.score + 15, usage + 8), prior(1, baseline.score + 12, usage + 3)]

    forward = engine.assess(make_record(), AS_OF, history)
    backward = engine.assess(make_record(), AS_OF, list(reversed(history)))

    assert forward.model_dump_json() == backward.model_dump_json()


def test_trend_flags_follow_the_other_flags_in_code_order(engine, make_record, baseline) -> None:
    history = [prior(1, 100)]

    a = engine.assess(make_record(payment_status="overdue"), AS_OF, history)

    order = [f.code for f in a.flags]
    assert order == sorted(order, key=list(RiskFlagCode).index)
    assert order[-1] is RiskFlagCode.SCORE_DROP


def test_a_score_drop_notifies_the_owner_and_opens_a_review(engine, make_record, baseline) -> None:
    a = engine.assess(make_record(), AS_OF, [prior(1, baseline.score + 15)])

    actions = {x.action: x for x in a.actions}
    assert "notify_owner_slack" in actions and "schedule_checkpoint" in actions
    assert any("score_drop" in e for e in actions["notify_owner_slack"].evidence)
    assert a.review_task is not None
    assert any(r.startswith("Score drop") for r in a.review_task.reasons)
    assert RiskFlagCode.SCORE_DROP in a.measurement_event.flags


def test_usage_declining_suggests_a_checkin_email(engine, make_record, baseline) -> None:
    usage = usage_of(baseline)
    history = [prior(2, baseline.score, usage + 8), prior(1, baseline.score, usage + 3)]

    a = engine.assess(make_record(), AS_OF, history)

    email = next(x for x in a.actions if x.action == "send_checkin_email")
    assert any("usage_declining" in e for e in email.evidence)


def test_trend_flags_never_move_the_score(engine, make_record, baseline) -> None:
    usage = usage_of(baseline)
    history = [prior(2, 100, usage + 8), prior(1, 100, usage + 3)]

    a = engine.assess(make_record(), AS_OF, history)

    assert codes(a) >= {RiskFlagCode.SCORE_DROP, RiskFlagCode.USAGE_DECLINING}
    assert (a.score, a.caps, a.band) == (baseline.score, baseline.caps, baseline.band)


def test_the_thresholds_come_from_the_policy(make_record, tmp_path, baseline) -> None:
    override = tmp_path / "history.yaml"
    override.write_text("history:\n  score_drop_points: 3\n", encoding="utf-8")
    engine = Engine(load_policy(override))

    a = engine.assess(make_record(), AS_OF, [prior(1, baseline.score + 3)])

    assert "down 3 points (threshold 3)" in flag(a, RiskFlagCode.SCORE_DROP).evidence


@pytest.mark.parametrize(
    ("section", "body"),
    [
        (
            "scoring",
            "  guard_rails:\n    - {id: fell, cap: 50, reason: x, "
            "when_any: [{flags_any: [score_drop]}]}\n",
        ),
        (
            "risk",
            "  themes:\n    slide:\n      label: Slide\n"
            "      when_any: [{flags_any: [usage_declining]}]\n",
        ),
    ],
    ids=["guard-rail", "theme"],
)
def test_a_policy_cannot_use_trend_flags_before_they_are_raised(tmp_path, section, body) -> None:
    override = tmp_path / "policy.yaml"
    override.write_text(f"{section}:\n{body}", encoding="utf-8")

    with pytest.raises(PolicyError, match="trend flags"):
        load_policy(override)
