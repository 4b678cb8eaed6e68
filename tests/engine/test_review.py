"""Stage 10: the owner review task and the measurement event (seed 003)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from account_templates import CRM_FIELDS

from skill.assessment import Assessment
from skill.policy import Policy
from skill.vocabulary import AutomationLevel, Band, Confidence, RiskFlagCode, Source

Assessor = Callable[..., Assessment]  # the `assess` fixture


RENEWAL_RISK = "Renewal risk - renewal is close and the account is not green"
ESCALATION = "Escalation - an escalation or major blocker is open"
HIGH_VALUE = "High-value account - ARR of 250,000 or more and not green"
EVIDENCE = "Evidence to check - this account's data is stale, conflicting or incomplete"
NO_CRM = dict.fromkeys(CRM_FIELDS)
SLIPPING = {
    "active_users": 30,
    "logins_30d": 500,
    "weekly_activity": [40, 38, 35, 30],
    "features_adopted": 3,
    "champion": "weak",
    "csat": 3.0,
}
RENEWAL_IN_50_DAYS = "2027-01-12"


def test_healthy_account_needs_no_review(assess: Assessor) -> None:
    assert assess().review_task is None


def test_renewal_risk_needs_review_when_not_green(assess: Assessor) -> None:
    result = assess(renewal_date=RENEWAL_IN_50_DAYS, blocker="major")
    assert result.band is not Band.GREEN
    assert result.review_task is not None
    assert result.review_task.reasons == [RENEWAL_RISK, ESCALATION]


def test_close_renewal_on_a_green_account_needs_no_review(assess: Assessor) -> None:
    result = assess(renewal_date=RENEWAL_IN_50_DAYS)
    assert result.band is Band.GREEN
    assert result.review_task is None


def test_escalation_needs_review(assess: Assessor) -> None:
    task = assess(escalations_90d=1).review_task
    assert task is not None
    assert task.reasons == [ESCALATION]


def test_high_value_account_that_is_not_green_needs_review(assess: Assessor) -> None:
    result = assess(arr=250000, **SLIPPING)
    assert result.band is not Band.GREEN
    assert result.review_task is not None
    assert result.review_task.reasons == [HIGH_VALUE]
    assert assess(arr=249999, **SLIPPING).review_task is None


def test_healthy_high_value_account_needs_no_review(assess: Assessor) -> None:
    assert assess(arr=900000).review_task is None


def test_low_confidence_needs_review(assess: Assessor) -> None:
    task = assess(product_synced_at="2026-11-01", support_synced_at="2026-11-01").review_task
    assert task is not None
    assert task.reasons == [EVIDENCE]


def test_a_source_missing_from_the_whole_input_opens_no_review(assess: Assessor) -> None:
    result = assess(input_sources={Source.PRODUCT, Source.SUPPORT}, **NO_CRM)
    assert result.confidence is Confidence.LOW
    assert result.review_task is None


def test_a_source_missing_for_this_account_only_opens_a_review(assess: Assessor) -> None:
    task = assess(input_sources=set(Source), **NO_CRM).review_task
    assert task is not None
    assert task.reasons == [EVIDENCE]


def test_a_major_blocker_on_a_high_value_account_is_exempt_from_the_budget(
    assess: Assessor,
) -> None:
    task = assess(arr=300000, blocker="major").review_task
    assert task is not None and task.budget_exempt
    small = assess(arr=60000, blocker="major").review_task
    assert small is not None and not small.budget_exempt


def test_review_task_names_owner_due_date_and_checklist(assess: Assessor) -> None:
    task = assess(escalations_90d=1).review_task
    assert task is not None
    assert task.owner == "Alex Kim"
    assert task.owner_role == "csm"
    assert task.due_date == date(2026, 11, 26)
    assert "Check the evidence behind each flag against the source system." in task.checklist


def test_review_task_without_owner_is_unassigned(assess: Assessor) -> None:
    task = assess(escalations_90d=1, owner=None).review_task
    assert task is not None
    assert task.owner == "unassigned"


# --- measurement event


def test_every_assessment_logs_a_measurement_event(assess: Assessor, policy: Policy) -> None:
    result = assess(blocker="major", discount_requested=True)
    event = result.measurement_event
    assert event.event_type == "health_assessed"
    assert event.account_id == "ACC-TEST"
    assert event.as_of == date(2026, 11, 23)
    assert (event.score, event.band, event.tier) == (result.score, result.band, result.tier)
    assert event.confidence is result.confidence
    assert (event.legacy_total, event.legacy_band) == (result.legacy.total, result.legacy.band)
    assert event.flags == [RiskFlagCode.MAJOR_BLOCKER]
    assert event.action_statuses == {a.action: a.status for a in result.actions}
    assert event.policy_version == policy.version


def test_event_id_is_stable_for_the_same_assessment(assess: Assessor) -> None:
    assert assess().measurement_event.event_id == assess().measurement_event.event_id


def test_event_id_differs_by_account_date_and_level(assess: Assessor) -> None:
    ids = {
        assess().measurement_event.event_id,
        assess(account_id="ACC-OTHER").measurement_event.event_id,
        assess(as_of="2026-11-30").measurement_event.event_id,
        assess(level=AutomationLevel.AGGRESSIVE).measurement_event.event_id,
    }
    assert len(ids) == 4
