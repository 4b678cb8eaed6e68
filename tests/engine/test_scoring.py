"""Stages 2-4: composite score, renormalised weights, confidence, guard-rail caps, bands, tiers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from skill.assessment import Assessment
from skill.policy import Policy
from skill.vocabulary import Band, Confidence, Dimension, Source, Tier

Assessor = Callable[..., Assessment]  # the `assess` fixture

CRM_FIELDS = [
    "csat",
    "nps",
    "last_survey_date",
    "payment_status",
    "expansion_signal",
    "discount_requested",
    "last_exec_touch_date",
    "champion",
    "last_customer_reply_date",
    "qbr_attended",
    "success_milestones_missed",
    "success_milestones_total",
    "blocker",
    "crm_synced_at",
]
NO_OUTCOMES = {"success_milestones_missed": None, "success_milestones_total": None}
TWO_WEEKS_AND_A_DAY_AGO = "2026-11-08"
VANITY = {  # strong usage, but two of five milestones missed and no reply for 53 days
    "success_milestones_missed": 2,
    "success_milestones_total": 5,
    "last_customer_reply_date": "2026-10-01",
}
STRUGGLING: dict[str, Any] = {
    "active_users": 10,
    "logins_30d": 200,
    "weekly_activity": [20, 15, 10],
    "features_adopted": 1,
    "open_tickets": 12,
    "csat": 1.5,
    "nps": -60,
    "champion": "departed",
    "last_customer_reply_date": "2026-09-01",
    "success_milestones_missed": 4,
}


def without(fields: list[str]) -> dict[str, Any]:
    return dict.fromkeys(fields)


# --- composite and renormalisation


def test_composite_is_the_weighted_mean_of_the_dimensions(assess: Assessor) -> None:
    result = assess(csat=2.5, champion="weak", open_tickets=6)
    expected = sum(d.score * d.weight for d in result.dimensions)
    assert abs(result.raw_score - expected) <= 0.5
    assert result.score == result.raw_score


def test_full_data_uses_the_segment_weights(assess: Assessor, policy: Policy) -> None:
    weights = {d.dimension: d.weight for d in assess(segment="enterprise").dimensions}
    assert weights == policy.scoring.weights["enterprise"]


def test_missing_dimension_is_dropped_and_weights_renormalised(
    assess: Assessor, policy: Policy
) -> None:
    result = assess(**NO_OUTCOMES)
    weights = {d.dimension: d.weight for d in result.dimensions}
    assert Dimension.OUTCOMES not in weights
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
    mid_market = policy.scoring.weights["mid_market"]
    assert weights[Dimension.USAGE] == pytest.approx(mid_market["usage"] / 0.87, abs=1e-4)


def test_missing_dimension_is_not_scored_as_zero(assess: Assessor) -> None:
    assert assess(**NO_OUTCOMES).score >= assess().score - 1


# --- confidence


def test_full_fresh_data_is_high_confidence(assess: Assessor) -> None:
    result = assess()
    assert result.confidence is Confidence.HIGH
    assert result.confidence_reasons == ["100% of the score's weight has data"]


def test_small_gap_keeps_high_confidence_but_names_it(assess: Assessor) -> None:
    result = assess(**NO_OUTCOMES)
    assert result.confidence is Confidence.HIGH
    assert result.confidence_reasons == ["87% of the score's weight has data", "missing: outcomes"]


def test_no_crm_is_low_confidence(assess: Assessor) -> None:
    result = assess(**without(CRM_FIELDS))
    assert result.confidence is Confidence.LOW
    assert result.confidence_reasons[0] == "52% of the score's weight has data"


def test_account_evidence_equals_confidence_when_the_input_is_not_known(
    assess: Assessor,
) -> None:
    result = assess(**without(CRM_FIELDS))
    assert result.account_evidence is result.confidence is Confidence.LOW


def test_a_source_missing_from_the_whole_input_lowers_confidence_not_account_evidence(
    assess: Assessor,
) -> None:
    result = assess(input_sources={Source.PRODUCT, Source.SUPPORT}, **without(CRM_FIELDS))
    assert result.confidence is Confidence.LOW
    assert result.account_evidence is Confidence.HIGH
    assert "CRM not connected in this input" in result.confidence_reasons
    assert result.confidence_reasons[-1] == (
        "account evidence high: 100% of the weight of the sources in this input has data"
    )


def test_a_source_in_the_input_but_missing_for_this_account_lowers_account_evidence(
    assess: Assessor,
) -> None:
    result = assess(input_sources=set(Source), **without(CRM_FIELDS))
    assert result.account_evidence is Confidence.LOW


def test_stale_sources_lower_account_evidence_whatever_the_input(assess: Assessor) -> None:
    result = assess(
        input_sources={Source.PRODUCT, Source.SUPPORT},
        product_synced_at=TWO_WEEKS_AND_A_DAY_AGO,
        support_synced_at=TWO_WEEKS_AND_A_DAY_AGO,
        **without(CRM_FIELDS),
    )
    assert result.account_evidence is Confidence.LOW


def test_no_product_data_is_medium_confidence(assess: Assessor) -> None:
    product = ["active_users", "licensed_seats", "logins_30d", "logins_prev_30d"]
    result = assess(**without([*product, "weekly_activity", "features_adopted", "features_total"]))
    assert result.confidence is Confidence.MEDIUM
    assert "missing: usage, adoption" in result.confidence_reasons


def test_one_stale_source_lowers_confidence_to_medium(assess: Assessor) -> None:
    result = assess(product_synced_at=TWO_WEEKS_AND_A_DAY_AGO)
    assert result.confidence is Confidence.MEDIUM
    assert "stale: product" in result.confidence_reasons


def test_two_stale_sources_give_low_confidence(assess: Assessor) -> None:
    result = assess(product_synced_at="2026-11-01", support_synced_at="2026-11-01")
    assert result.confidence is Confidence.LOW
    assert "stale: support, product" in result.confidence_reasons


def test_source_synced_exactly_14_days_ago_is_not_stale(assess: Assessor) -> None:
    assert assess(product_synced_at="2026-11-09").confidence is Confidence.HIGH


def test_conflicting_signals_lower_confidence_one_step(assess: Assessor) -> None:
    result = assess(csat=4.8, nps=-40)
    assert result.confidence is Confidence.MEDIUM
    assert "signals conflict" in result.confidence_reasons
    assert assess(csat=4.8, nps=-40, product_synced_at="2026-11-01").confidence is Confidence.LOW


# --- guard rails


def test_vanity_usage_cannot_stay_green(assess: Assessor) -> None:
    result = assess(**VANITY)
    assert result.raw_score >= 70
    assert result.band is not Band.GREEN
    [cap] = result.caps
    assert cap.code == "vanity_usage"
    assert result.score == cap.cap == 64
    assert "milestones" in cap.reason


def test_vanity_cap_needs_both_missed_milestones_and_silence(assess: Assessor) -> None:
    assert assess(success_milestones_missed=2, success_milestones_total=5).caps == []
    assert assess(last_customer_reply_date="2026-10-01").caps == []


def test_vanity_cap_needs_strong_usage(assess: Assessor) -> None:
    weak_usage = {"active_users": 20, "logins_30d": 500, "weekly_activity": [30, 30, 30]}
    assert "vanity_usage" not in {c.code for c in assess(**VANITY, **weak_usage).caps}


def test_major_blocker_caps_the_band(assess: Assessor) -> None:
    result = assess(blocker="major")
    assert result.raw_score >= 70
    assert [c.code for c in result.caps] == ["major_blocker"]
    assert result.score == 60
    assert result.band is Band.YELLOW


@pytest.mark.parametrize(
    ("fields", "code", "cap"),
    [
        ({"payment_status": "failed"}, "failed_payment", 60),
        ({"sev1_open": 1}, "open_sev1", 64),
        (
            {"champion": "departed", "renewal_date": "2027-01-12"},
            "champion_departed_near_renewal",
            50,
        ),
    ],
)
def test_other_caps_are_named(
    assess: Assessor, fields: dict[str, Any], code: str, cap: int
) -> None:
    result = assess(**fields)
    assert [c.code for c in result.caps] == [code]
    assert result.score == cap


def test_every_cap_that_held_is_named_tightest_last(assess: Assessor) -> None:
    result = assess(blocker="major", sev1_open=1)
    assert [(c.code, c.cap) for c in result.caps] == [
        ("open_sev1", 64),
        ("major_blocker", 60),
        ("support_crisis", 44),
    ]
    assert result.score == 44


def test_a_major_blocker_alone_keeps_the_account_out_of_green_not_in_red(assess: Assessor) -> None:
    result = assess(blocker="major")
    assert [c.code for c in result.caps] == ["major_blocker"]
    assert result.band is Band.YELLOW


def test_a_major_blocker_with_a_severity_1_ticket_open_is_red(assess: Assessor) -> None:
    result = assess(blocker="major", sev1_open=1)
    assert result.band is Band.RED
    assert result.caps[-1].code == "support_crisis"


def test_cap_above_the_raw_score_is_not_listed(assess: Assessor) -> None:
    result = assess(**STRUGGLING, blocker="major")
    assert result.raw_score < 60
    assert result.caps == []
    assert result.score == result.raw_score


# --- bands


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100, Band.GREEN),
        (70, Band.GREEN),
        (69, Band.YELLOW),
        (45, Band.YELLOW),
        (44, Band.RED),
        (0, Band.RED),
    ],
)
def test_band_thresholds(policy: Policy, score: int, band: Band) -> None:
    from skill.engine.scoring import band_for

    assert band_for(score, policy.scoring) is band


def test_healthy_account_is_green(assess: Assessor) -> None:
    assert assess().band is Band.GREEN


def test_struggling_account_is_red(assess: Assessor) -> None:
    result = assess(**STRUGGLING)
    assert result.band is Band.RED
    assert result.score < 45


# --- tiers (seed 004)


@pytest.mark.parametrize(
    ("activity", "tier"),
    [
        ([76, 76], Tier.THRIVING),
        ([75, 76], Tier.HEALTHY),  # mean 75.5 is not yet 76
        ([51], Tier.HEALTHY),
        ([50], Tier.STEADY),
        ([26], Tier.STEADY),
        ([25], Tier.AT_RISK),
        ([0, 10, 20], Tier.AT_RISK),
    ],
)
def test_tier_from_mean_weekly_activity(
    assess: Assessor, activity: list[float], tier: Tier
) -> None:
    result = assess(weekly_activity=activity)
    assert result.tier is tier
    assert result.tier_basis == "weekly_activity"


def test_tier_from_the_score_without_weekly_activity(assess: Assessor) -> None:
    result = assess(weekly_activity=None, blocker="major")
    assert result.score == 60
    assert result.tier is Tier.HEALTHY
    assert result.tier_basis == "score"


def test_tier_and_band_can_disagree(assess: Assessor) -> None:
    # Seed 004 reads activity only: a capped account can still be "thriving".
    result = assess(**VANITY)
    assert result.tier is Tier.THRIVING
    assert result.band is Band.YELLOW
