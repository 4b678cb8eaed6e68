"""Stages 5 and 6: risk flags at their thresholds, with evidence, and the themes they feed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from skill.assessment import Assessment, RiskFlag
from skill.vocabulary import Band, RiskFlagCode, Severity

Assessor = Callable[..., Assessment]  # the `assess` fixture

F = RiskFlagCode


def codes(result: Assessment) -> set[RiskFlagCode]:
    return {f.code for f in result.flags}


def flag(result: Assessment, code: RiskFlagCode) -> RiskFlag:
    return next(f for f in result.flags if f.code is code)


def themes(result: Assessment) -> set[str]:
    return {t.code for t in result.themes}


def test_healthy_baseline_raises_no_flags_and_no_themes(assess: Assessor) -> None:
    result = assess()
    assert result.flags == []
    assert result.themes == []


def test_flag_is_raised_even_when_the_score_is_green(assess: Assessor) -> None:
    result = assess(renewal_date="2027-01-12")
    assert result.band is Band.GREEN
    assert F.RENEWAL_SOON in codes(result)


def test_flag_carries_label_severity_and_hint_from_policy(assess: Assessor) -> None:
    raised = flag(assess(blocker="major"), F.MAJOR_BLOCKER)
    assert raised.label == "Major blocker"
    assert raised.severity is Severity.HIGH
    assert raised.hint


def test_flags_come_in_a_stable_order(assess: Assessor) -> None:
    result = assess(blocker="major", renewal_date="2027-01-12", payment_status="failed")
    assert [f.code for f in result.flags] == [F.PAYMENT_ISSUE, F.RENEWAL_SOON, F.MAJOR_BLOCKER]


# --- usage drop


def test_usage_drop_at_25_percent_fewer_logins(assess: Assessor) -> None:
    result = assess(logins_30d=750, logins_prev_30d=1000)
    assert flag(result, F.USAGE_DROP).evidence == "logins 750 vs 1000 prior 30d: -25%"


def test_no_usage_drop_at_24_percent_fewer_logins(assess: Assessor) -> None:
    assert F.USAGE_DROP not in codes(assess(logins_30d=760, logins_prev_30d=1000))


def test_usage_drop_from_weekly_activity(assess: Assessor) -> None:
    result = assess(logins_30d=None, weekly_activity=[60, 60, 60, 60, 40])
    assert flag(result, F.USAGE_DROP).evidence == (
        "weekly activity 40% vs 60% average of the 4 weeks before: -33%"
    )


def test_no_usage_drop_from_fewer_than_three_weeks(assess: Assessor) -> None:
    assert F.USAGE_DROP not in codes(assess(logins_30d=None, weekly_activity=[60, 10]))


# --- support spike


def test_support_spike_when_tickets_rise_by_half_and_reach_five(assess: Assessor) -> None:
    result = assess(tickets_30d=6, tickets_prev_30d=4)
    assert flag(result, F.SUPPORT_SPIKE).evidence == "tickets 6 vs 4 prior 30d: +50%"


def test_no_support_spike_below_five_tickets(assess: Assessor) -> None:
    assert F.SUPPORT_SPIKE not in codes(assess(tickets_30d=4, tickets_prev_30d=1))


def test_no_support_spike_when_the_rise_is_small(assess: Assessor) -> None:
    assert F.SUPPORT_SPIKE not in codes(assess(tickets_30d=7, tickets_prev_30d=5))


def test_support_spike_from_zero_prior_tickets(assess: Assessor) -> None:
    assert F.SUPPORT_SPIKE in codes(assess(tickets_30d=5, tickets_prev_30d=0))


# --- sentiment


@pytest.mark.parametrize(
    ("fields", "evidence"),
    [
        ({"nps": 0}, "account NPS 0"),
        ({"nps": None, "nps_response": 6}, "latest NPS response 6 of 10"),
        ({"nps": None, "csat": 2}, "CSAT 2 of 5"),
    ],
)
def test_nps_detractor(assess: Assessor, fields: dict[str, float], evidence: str) -> None:
    assert flag(assess(**fields), F.NPS_DETRACTOR).evidence == evidence


def test_no_detractor_just_above_the_thresholds(assess: Assessor) -> None:
    result = assess(nps=1, nps_response=7, csat=2.1)
    assert F.NPS_DETRACTOR not in codes(result)


# --- commercial


def test_payment_issue_names_status_and_days(assess: Assessor) -> None:
    result = assess(payment_status="overdue", days_overdue=20)
    assert flag(result, F.PAYMENT_ISSUE).evidence == "payment overdue, 20 days overdue"


def test_failed_payment_is_a_payment_issue(assess: Assessor) -> None:
    assert flag(assess(payment_status="failed"), F.PAYMENT_ISSUE).evidence == "payment failed"


# --- renewal and relationship


def test_renewal_soon_at_90_days(assess: Assessor) -> None:
    result = assess(renewal_date="2027-02-21")
    assert flag(result, F.RENEWAL_SOON).evidence == "renewal in 90 days (2027-02-21)"


def test_no_renewal_soon_at_91_days(assess: Assessor) -> None:
    assert F.RENEWAL_SOON not in codes(assess(renewal_date="2027-02-22"))


def test_a_passed_renewal_date_is_not_renewal_soon_but_says_the_date_passed(
    assess: Assessor,
) -> None:
    result = assess(renewal_date="2019-11-13")
    assert F.RENEWAL_SOON not in {f.code for f in result.flags}
    assert flag(result, F.RENEWAL_DATE_PASSED).evidence == (
        "renewal date 2019-11-13 passed 2567 days ago: the contract lapsed, "
        "or renewed without the date being updated"
    )


# as_of is 2026-11-23: 2026-11-28 is 5 days out, 2027-02-21 is 90, 2027-02-22 is 91.


def test_a_monthly_contract_is_never_renewal_soon(assess: Assessor) -> None:
    result = assess(contract_term="monthly", renewal_date="2026-11-28")
    assert F.RENEWAL_SOON not in codes(result)
    assert "renewal" not in themes(result)


def test_a_passed_renewal_date_on_a_monthly_contract_is_not_renewal_soon(
    assess: Assessor,
) -> None:
    assert F.RENEWAL_SOON not in codes(assess(contract_term="monthly", renewal_date="2026-11-13"))


def test_an_annual_contract_is_renewal_soon_at_90_days_and_says_so(assess: Assessor) -> None:
    result = assess(contract_term="annual", renewal_date="2027-02-21")
    evidence = flag(result, F.RENEWAL_SOON).evidence
    assert evidence == "renewal in 90 days (2027-02-21), annual contract"


def test_an_annual_contract_is_not_renewal_soon_at_91_days(assess: Assessor) -> None:
    assert F.RENEWAL_SOON not in codes(assess(contract_term="annual", renewal_date="2027-02-22"))


def test_a_quarterly_contract_is_renewal_soon_within_30_days_only(assess: Assessor) -> None:
    assert F.RENEWAL_SOON in codes(assess(contract_term="quarterly", renewal_date="2026-12-23"))
    assert F.RENEWAL_SOON not in codes(assess(contract_term="quarterly", renewal_date="2026-12-24"))


def test_a_multi_year_contract_is_renewal_soon_180_days_out(assess: Assessor) -> None:
    result = assess(contract_term="Multi-year", renewal_date="2027-05-22")
    assert flag(result, F.RENEWAL_SOON).evidence.endswith(", multi-year contract")


def test_without_a_contract_term_the_90_day_rule_holds(assess: Assessor) -> None:
    assert F.RENEWAL_SOON in codes(assess(contract_term=None, renewal_date="2027-02-21"))
    assert F.RENEWAL_SOON not in codes(assess(contract_term=None, renewal_date="2027-02-22"))


def test_no_exec_touch_at_90_days(assess: Assessor) -> None:
    result = assess(last_exec_touch_date="2026-08-25")
    assert flag(result, F.NO_EXEC_TOUCH).evidence == "last executive touch 90 days ago"


def test_exec_touch_89_days_ago_is_fine(assess: Assessor) -> None:
    assert F.NO_EXEC_TOUCH not in codes(assess(last_exec_touch_date="2026-08-26"))


def test_unresponsive_customer_at_30_days(assess: Assessor) -> None:
    result = assess(last_customer_reply_date="2026-10-24")
    assert flag(result, F.UNRESPONSIVE_CUSTOMER).evidence == "no customer reply for 30 days"


def test_reply_29_days_ago_is_fine(assess: Assessor) -> None:
    assert F.UNRESPONSIVE_CUSTOMER not in codes(assess(last_customer_reply_date="2026-10-25"))


# --- support, outcomes, blockers


def test_recent_escalation(assess: Assessor) -> None:
    result = assess(escalations_90d=2)
    assert flag(result, F.RECENT_ESCALATION).evidence == "2 escalations in the last 90 days"


def test_missed_milestones_from_two(assess: Assessor) -> None:
    result = assess(success_milestones_missed=2, success_milestones_total=5)
    assert flag(result, F.MISSED_MILESTONES).evidence == "2 of 5 success-plan milestones missed"
    assert F.MISSED_MILESTONES not in codes(assess(success_milestones_missed=1))


def test_major_blocker_points_to_the_note(assess: Assessor) -> None:
    result = assess(blocker="major", blocker_note="SSO broken")
    assert (
        flag(result, F.MAJOR_BLOCKER).evidence == "a major blocker is open (see the blocker note)"
    )


def test_minor_blocker_is_not_a_flag(assess: Assessor) -> None:
    assert F.MAJOR_BLOCKER not in codes(assess(blocker="minor"))


# --- evidence quality


def test_stale_source_is_stale_evidence(assess: Assessor) -> None:
    result = assess(product_synced_at="2026-11-03")
    assert flag(result, F.STALE_EVIDENCE).evidence == (
        "product analytics last synced 2026-11-03 (20 days ago)"
    )


def test_old_survey_is_stale_evidence(assess: Assessor) -> None:
    result = assess(last_survey_date="2026-05-01")
    assert flag(result, F.STALE_EVIDENCE).evidence == "last survey 206 days ago"


def test_conflicting_satisfaction_signals(assess: Assessor) -> None:
    result = assess(csat=4.8, nps=-40)
    assert flag(result, F.CONFLICTING_EVIDENCE).evidence == (
        "satisfaction: csat scores 95 but nps scores 30"
    )


# --- themes


def test_onboarding_account_with_low_adoption_is_onboarding_friction(assess: Assessor) -> None:
    result = assess(lifecycle="onboarding", features_adopted=2, features_total=10)
    assert themes(result) == {"onboarding_friction"}
    [theme] = result.themes
    assert theme.because == "lifecycle onboarding; adoption 27 < 60"


def test_same_signals_after_onboarding_are_an_adoption_gap(assess: Assessor) -> None:
    result = assess(lifecycle="active", features_adopted=2, features_total=10)
    assert themes(result) == {"adoption_gap"}


def test_renewal_theme_follows_the_renewal_flag(assess: Assessor) -> None:
    assert "renewal" in themes(assess(renewal_date="2027-01-12"))


def test_support_strain_theme(assess: Assessor) -> None:
    assert "support_strain" in themes(assess(blocker="major"))


def test_relationship_theme_when_the_champion_left(assess: Assessor) -> None:
    result = assess(champion="departed")
    assert "relationship" in themes(result)


def test_commercial_theme_when_a_discount_is_requested(assess: Assessor) -> None:
    assert "commercial" in themes(assess(discount_requested=True))


def test_outcome_theme_from_missed_milestones(assess: Assessor) -> None:
    assert "outcome" in themes(assess(success_milestones_missed=2))


def test_sentiment_theme_from_a_detractor(assess: Assessor) -> None:
    assert "sentiment" in themes(assess(nps=-10))


def test_detectors_run_in_the_order_flags_are_published() -> None:
    """Flags come out unsorted, in detection order: that order must be RiskFlagCode's."""
    from skill.engine.flags import _DETECTORS

    detected = [*_DETECTORS, RiskFlagCode.STALE_EVIDENCE, RiskFlagCode.CONFLICTING_EVIDENCE]
    assert detected == list(RiskFlagCode)[: len(detected)]
