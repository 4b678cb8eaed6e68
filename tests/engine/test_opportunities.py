"""Opportunity flags: each at the edges of its thresholds, each with its evidence, none moving
the score.

The baseline account (tests/account_templates.py) is thriving and green, with
seats 90 of 100, logins 1000 vs 950 (+5%), the CRM's expansion signal, 9 of 10
features, CSAT 4.6 and NPS 45, a strong champion who replied 3 days ago, no
severity-1 ticket and a renewal 311 days out: expansion_ready and advocate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from skill.assessment import Assessment
from skill.engine import assess_account
from skill.policy import Policy, PolicyError, deep_merge, default_policy_data, load_policy
from skill.record import AccountRecord
from skill.vocabulary import Band, OpportunityCode, Tier

Assessor = Callable[..., Assessment]  # the `assess` fixture
RecordFactory = Callable[..., AccountRecord]  # the `make_record` fixture
AS_OF = date(2026, 11, 23)

EXPANSION = OpportunityCode.EXPANSION_READY
ADVOCATE = OpportunityCode.ADVOCATE
LOYAL = OpportunityCode.LOYAL_CUSTOMER
GROW = OpportunityCode.ROOM_TO_GROW

# Two of the three expansion signals; each edge test takes one away and moves another.
NO_CRM_SIGNAL = {"expansion_signal": False}
STEADY = {"weekly_activity": [40, 42, 41, 43], "features_adopted": 6, "expansion_signal": False}
# Sentiment through CSAT alone: no NPS to lean on.
CSAT_ONLY = {"nps": None}


def opportunities(result: Assessment) -> set[OpportunityCode]:
    return {o.code for o in result.opportunities}


def evidence(result: Assessment, code: OpportunityCode) -> str:
    return next(o.evidence for o in result.opportunities if o.code is code)


def policy_with(changes: dict[str, Any]) -> Policy:
    return Policy.model_validate(deep_merge(default_policy_data(), changes))


def test_the_baseline_account_is_ready_to_expand_and_an_advocate(assess: Assessor) -> None:
    result = assess()
    assert (result.band, result.tier) == (Band.GREEN, Tier.THRIVING)
    assert [o.code for o in result.opportunities] == [EXPANSION, ADVOCATE]


# --- expansion_ready: at least two of seats full and growing, expansion_signal, adoption


@pytest.mark.parametrize(("active_users", "raised"), [(90, True), (89, False)])
def test_expansion_seats_nearly_full_at_90_percent(
    assess: Assessor, active_users: int, raised: bool
) -> None:
    result = assess(active_users=active_users, **NO_CRM_SIGNAL)  # seats + adoption, or adoption
    assert (EXPANSION in opportunities(result)) is raised


@pytest.mark.parametrize(("logins", "raised"), [(1050, True), (1049, False)])
def test_expansion_seats_must_be_growing_by_5_percent(
    assess: Assessor, logins: int, raised: bool
) -> None:
    # The newest week (83) is 2% above the weeks before (81): only logins can show growth.
    result = assess(logins_30d=logins, logins_prev_30d=1000, **NO_CRM_SIGNAL)
    assert (EXPANSION in opportunities(result)) is raised


@pytest.mark.parametrize(("prior", "raised"), [(20, True), (19, False)])
def test_expansion_growth_in_logins_counts_from_20_prior_logins(
    assess: Assessor, prior: int, raised: bool
) -> None:
    result = assess(logins_30d=prior * 2, logins_prev_30d=prior, **NO_CRM_SIGNAL)
    assert (EXPANSION in opportunities(result)) is raised


def test_expansion_growth_can_come_from_the_newest_week(assess: Assessor) -> None:
    result = assess(logins_30d=None, weekly_activity=[78, 80, 79, 84], **NO_CRM_SIGNAL)
    assert "weekly activity 84% vs 79% average of the 3 weeks before: +6%" in evidence(
        result, EXPANSION
    )


@pytest.mark.parametrize(("adopted", "raised"), [(7, True), (6, False)])
def test_expansion_broad_adoption_at_70_percent(
    assess: Assessor, adopted: int, raised: bool
) -> None:
    result = assess(features_adopted=adopted, active_users=80)  # expansion_signal + adoption
    assert (EXPANSION in opportunities(result)) is raised


def test_expansion_needs_two_signals_not_one(assess: Assessor) -> None:
    result = assess(active_users=80, features_adopted=6)  # the CRM's expansion signal alone
    assert EXPANSION not in opportunities(result)


def test_expansion_needs_a_green_band(assess: Assessor) -> None:
    result = assess(sev1_open=1)  # capped at 64: yellow; every expansion signal still holds
    assert result.band is Band.YELLOW
    assert EXPANSION not in opportunities(result)


def test_expansion_evidence_names_each_signal(assess: Assessor) -> None:
    assert evidence(assess(), EXPANSION) == (
        "tier thriving, band green; seats 90% used (90 of 100) and growing (logins 1000 vs "
        "950 prior 30d: +5%); expansion signal in the CRM; 9 of 10 key features adopted (90%)"
    )


# --- advocate: positive sentiment, no open severity-1 ticket, a strong champion who replies


@pytest.mark.parametrize(("csat", "raised"), [(4.5, True), (4.4, False)])
def test_advocate_high_csat_from_4_5(assess: Assessor, csat: float, raised: bool) -> None:
    result = assess(csat=csat, **CSAT_ONLY)
    assert (ADVOCATE in opportunities(result)) is raised


@pytest.mark.parametrize(("nps", "raised"), [(50, True), (49, False)])
def test_advocate_promoter_account_nps_from_50(assess: Assessor, nps: int, raised: bool) -> None:
    result = assess(nps=nps, csat=4.0)
    assert (ADVOCATE in opportunities(result)) is raised


@pytest.mark.parametrize(("response", "raised"), [(9, True), (8, False)])
def test_advocate_promoter_response_from_9(assess: Assessor, response: int, raised: bool) -> None:
    result = assess(nps_response=response, csat=4.0, nps=None)
    assert (ADVOCATE in opportunities(result)) is raised


@pytest.mark.parametrize(("replied", "raised"), [("2026-11-09", True), ("2026-11-08", False)])
def test_advocate_champion_replied_within_14_days(
    assess: Assessor, replied: str, raised: bool
) -> None:
    result = assess(last_customer_reply_date=replied)
    assert (ADVOCATE in opportunities(result)) is raised


def test_advocate_needs_a_strong_champion(assess: Assessor) -> None:
    assert ADVOCATE not in opportunities(assess(champion="weak"))


@pytest.mark.parametrize(
    ("weekly", "raised"), [([76, 76, 76, 76], True), ([75, 75, 75, 75], False)]
)
def test_advocate_needs_the_thriving_tier(
    assess: Assessor, weekly: list[int], raised: bool
) -> None:
    result = assess(weekly_activity=weekly)
    assert (ADVOCATE in opportunities(result)) is raised


@pytest.mark.parametrize(("sev1", "raised"), [(0, True), (1, False), (None, False)])
def test_advocate_needs_no_open_severity_1_ticket_known(
    as_of: date, make_record: RecordFactory, sev1: int | None, raised: bool
) -> None:
    # Let a yellow band through, so the severity-1 cap alone does not decide it.
    policy = policy_with({"opportunity": {"flags": {"advocate": {"bands": ["green", "yellow"]}}}})
    result = assess_account(make_record(sev1_open=sev1), policy, as_of)
    assert (ADVOCATE in opportunities(result)) is raised


def test_advocate_evidence_names_sentiment_tickets_and_champion(assess: Assessor) -> None:
    assert evidence(assess(), ADVOCATE) == (
        "tier thriving, band green; CSAT 4.6 of 5; no open severity-1 ticket; strong champion, "
        "last customer reply 3 days ago"
    )


# --- loyal_customer: positive sentiment, paying on time, renewal ahead within 120 days


@pytest.mark.parametrize(("renewal", "raised"), [("2027-03-23", True), ("2027-03-24", False)])
def test_loyal_renewal_within_120_days(assess: Assessor, renewal: str, raised: bool) -> None:
    result = assess(renewal_date=renewal)  # 120 and 121 days after 2026-11-23
    assert (LOYAL in opportunities(result)) is raised


def test_loyal_never_on_a_month_to_month_contract(assess: Assessor) -> None:
    result = assess(renewal_date="2027-01-10", contract_term="monthly")
    assert LOYAL not in opportunities(result)


def test_loyal_not_once_the_renewal_date_passed(assess: Assessor) -> None:
    assert LOYAL not in opportunities(assess(renewal_date="2026-11-01"))


@pytest.mark.parametrize(("csat", "raised"), [(4.3, True), (4.2, False)])
def test_loyal_sentiment_edge(assess: Assessor, csat: float, raised: bool) -> None:
    result = assess(renewal_date="2027-03-03", csat=csat, **CSAT_ONLY)
    assert (LOYAL in opportunities(result)) is raised


def test_loyal_needs_payment_current(assess: Assessor) -> None:
    result = assess(renewal_date="2027-03-03", payment_status="overdue")
    assert result.band is Band.GREEN
    assert LOYAL not in opportunities(result)


def test_loyal_evidence_names_the_renewal(assess: Assessor) -> None:
    text = evidence(assess(renewal_date="2027-03-03", contract_term="annual"), LOYAL)
    assert text.endswith("payment current; renewal in 100 days (2027-03-03), annual contract")


# --- room_to_grow: steady, features left to adopt, a customer who replies


@pytest.mark.parametrize(("adopted", "raised"), [(6, True), (7, False)])
def test_room_to_grow_below_70_percent_adoption(
    assess: Assessor, adopted: int, raised: bool
) -> None:
    result = assess(**(STEADY | {"features_adopted": adopted}))
    assert result.tier is Tier.STEADY
    assert (GROW in opportunities(result)) is raised


@pytest.mark.parametrize(("replied", "raised"), [("2026-10-24", True), ("2026-10-23", False)])
def test_room_to_grow_customer_replied_within_30_days(
    assess: Assessor, replied: str, raised: bool
) -> None:
    result = assess(last_customer_reply_date=replied, **STEADY)
    assert (GROW in opportunities(result)) is raised


@pytest.mark.parametrize(("weekly", "tier"), [([26] * 4, Tier.STEADY), ([51] * 4, Tier.HEALTHY)])
def test_room_to_grow_only_in_the_steady_tier(
    assess: Assessor, weekly: list[int], tier: Tier
) -> None:
    result = assess(**(STEADY | {"weekly_activity": weekly}))
    assert result.tier is tier
    assert (GROW in opportunities(result)) is (tier is Tier.STEADY)


def test_room_to_grow_needs_the_adoption_known(assess: Assessor) -> None:
    assert GROW not in opportunities(assess(**(STEADY | {"features_adopted": None})))


# --- never moving the score


def test_opportunity_flags_never_move_the_score(as_of: date, make_record: RecordFactory) -> None:
    """The same accounts with every opportunity flag out of reach score exactly the same."""
    out_of_reach = {
        "opportunity": {
            "flags": {
                code.value: {"bands": ["red"], "tiers": ["at_risk"]} for code in OpportunityCode
            }
        }
    }
    none_possible = policy_with(out_of_reach)
    default = load_policy()
    for fields in ({}, STEADY, {"renewal_date": "2027-03-03"}, {"payment_status": "overdue"}):
        record = make_record(**fields)
        with_flags = assess_account(record, default, as_of)
        without = assess_account(record, none_possible, as_of)
        assert with_flags.opportunities and not without.opportunities
        assert (with_flags.score, with_flags.raw_score, with_flags.band, with_flags.tier) == (
            without.score,
            without.raw_score,
            without.band,
            without.tier,
        )
        assert with_flags.dimensions == without.dimensions
        assert with_flags.flags == without.flags and with_flags.themes == without.themes


def test_an_account_with_no_data_has_no_opportunity(as_of: date) -> None:
    record = AccountRecord.model_validate({"account_id": "ID-ONLY", "segment": "smb"})
    assert assess_account(record, load_policy(), as_of).opportunities == []


def test_a_policy_cannot_raise_an_opportunity_on_no_data(tmp_path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("opportunity:\n  flags:\n    advocate:\n      bands: [green, no_data]\n")
    with pytest.raises(PolicyError, match="no_data"):
        load_policy(path)


def test_a_guard_rail_cannot_read_opportunity_flags(tmp_path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "scoring:\n  guard_rails+:\n    - id: greedy\n      cap: 99\n      reason: greedy\n"
        "      when_any: [{opportunities_any: [advocate]}]\n"
    )
    with pytest.raises(PolicyError, match="decided after guard rails"):
        load_policy(path)


def test_the_measurement_event_lists_the_opportunities(assess: Assessor) -> None:
    assert assess().measurement_event.opportunities == [EXPANSION, ADVOCATE]
