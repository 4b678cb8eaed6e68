"""Stage 8: which actions the flags, themes and band call for; priority, owner and due date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from skill.assessment import Action, Assessment
from skill.vocabulary import ActionKind, ActionPurpose, Priority, Sensitivity

Assessor = Callable[..., Assessment]  # the `assess` fixture

ONBOARDING_FRICTION = {"lifecycle": "onboarding", "features_adopted": 2}
RENEWAL_IN_50_DAYS = "2027-01-12"


def action_ids(result: Assessment) -> list[str]:
    return [a.action for a in result.actions]


def remedy_ids(result: Assessment) -> list[str]:
    """The remedies only: the healthy baseline account also gets opportunity plays."""
    return [a.action for a in result.actions if a.purpose is ActionPurpose.REMEDY]


def action(result: Assessment, action_id: str) -> Action:
    return next(a for a in result.actions if a.action == action_id)


def test_healthy_account_gets_no_remedy_but_the_health_score_update(assess: Assessor) -> None:
    [only] = [a for a in assess().actions if a.purpose is ActionPurpose.REMEDY]
    assert only.action == "update_health_score"
    assert only.priority is Priority.LOW
    assert only.evidence == ["Keep the CRM health score in step with this assessment."]


def test_onboarding_friction_gets_recovery_and_a_checkpoint(assess: Assessor) -> None:
    result = assess(**ONBOARDING_FRICTION)
    assert remedy_ids(result) == [
        "add_to_onboarding_recovery",
        "schedule_checkpoint",
        "update_health_score",
    ]
    recovery = action(result, "add_to_onboarding_recovery")
    assert recovery.priority is Priority.HIGH
    assert recovery.evidence == [
        "Onboarding friction, not churn risk; a recovery sequence gets the rollout back on "
        "track. (themes onboarding_friction)"
    ]


def test_low_adoption_after_onboarding_gets_the_nurture_campaign(assess: Assessor) -> None:
    result = assess(features_adopted=2)
    assert "add_to_nurture_campaign" in action_ids(result)
    assert "add_to_onboarding_recovery" not in action_ids(result)


def test_no_nurture_campaign_during_a_major_blocker(assess: Assessor) -> None:
    assert "add_to_nurture_campaign" not in action_ids(assess(features_adopted=2, blocker="major"))


def test_support_spike_gets_a_support_task(assess: Assessor) -> None:
    result = assess(tickets_30d=8, tickets_prev_30d=2)
    task = action(result, "create_support_task")
    assert task.evidence == ["Support load needs a named owner. (flags support_spike)"]
    assert "escalate_to_specialist" not in action_ids(result)


def test_open_sev1_gets_a_support_task(assess: Assessor) -> None:
    assert "create_support_task" in action_ids(assess(sev1_open=1))


def test_major_blocker_gets_support_task_and_specialist(assess: Assessor) -> None:
    result = assess(blocker="major")
    assert action_ids(result)[:3] == [
        "create_support_task",
        "escalate_to_specialist",
        "notify_owner_slack",
    ]
    assert action(result, "escalate_to_specialist").evidence == [
        "A major blocker needs specialist help. (flags major_blocker)"
    ]


def test_support_spike_with_escalation_goes_to_a_specialist(assess: Assessor) -> None:
    result = assess(tickets_30d=8, tickets_prev_30d=2, escalations_90d=1)
    assert "escalate_to_specialist" in action_ids(result)


def test_discount_request_is_medium_priority(assess: Assessor) -> None:
    request = action(assess(discount_requested=True), "create_discount_request")
    assert request.priority is Priority.MEDIUM
    assert request.evidence == ["The customer asked for a discount. (discount requested: yes)"]


def test_discount_request_near_renewal_is_high_and_keeps_both_reasons(assess: Assessor) -> None:
    request = action(
        assess(discount_requested=True, renewal_date=RENEWAL_IN_50_DAYS), "create_discount_request"
    )
    assert request.priority is Priority.HIGH
    assert len(request.evidence) == 2
    assert "flags renewal_soon" in request.evidence[0]


def test_account_without_owner_gets_reassigned(assess: Assessor) -> None:
    result = assess(owner=None)
    reassign = action(result, "reassign_ownership")
    assert reassign.priority is Priority.HIGH
    assert reassign.evidence == ["No owner is assigned to the account. (owner missing)"]


def test_quiet_customer_gets_a_checkin_email(assess: Assessor) -> None:
    email = action(assess(last_customer_reply_date="2026-10-01"), "send_checkin_email")
    assert email.priority is Priority.HIGH
    assert email.kind is ActionKind.CUSTOMER_FACING
    assert "flags unresponsive_customer" in email.evidence[0]


def test_renewal_soon_on_a_green_account_gets_only_a_checkpoint(assess: Assessor) -> None:
    result = assess(renewal_date=RENEWAL_IN_50_DAYS)
    assert remedy_ids(result) == ["schedule_checkpoint", "update_health_score"]


def test_high_severity_flag_notifies_the_owner(assess: Assessor) -> None:
    notify = action(assess(payment_status="overdue"), "notify_owner_slack")
    assert notify.evidence == [
        "The account is red or carries a high-severity risk. (flags payment_issue)"
    ]


def test_actions_are_ordered_by_priority_then_catalogue(assess: Assessor) -> None:
    result = assess(blocker="major", discount_requested=True, features_adopted=2)
    ranks = [a.priority.rank for a in result.actions]
    assert ranks == sorted(ranks, reverse=True)
    assert action_ids(result) == [
        "create_support_task",
        "escalate_to_specialist",
        "notify_owner_slack",
        "create_discount_request",
        "schedule_checkpoint",
        "update_health_score",
    ]


def test_action_carries_catalogue_label_kind_sensitivity_and_owner(assess: Assessor) -> None:
    task = action(assess(blocker="major"), "create_support_task")
    assert task.label == "Create support task"
    assert task.kind is ActionKind.INTERNAL_TASK
    assert task.sensitivity is Sensitivity.MEDIUM
    assert task.owner == "support_lead"
    assert task.owner_name is None


def test_csm_actions_name_the_account_owner(assess: Assessor) -> None:
    notify = action(assess(blocker="major"), "notify_owner_slack")
    assert notify.owner == "csm"
    assert notify.owner_name == "Alex Kim"


# --- due dates: priority sets the default, the catalogue can fix it


@pytest.mark.parametrize(
    ("fields", "action_id", "due"),
    [
        ({"blocker": "major"}, "create_support_task", date(2026, 11, 25)),  # high: 2 days
        ({"discount_requested": True}, "create_discount_request", date(2026, 11, 28)),  # medium: 5
        ({"features_adopted": 2}, "add_to_nurture_campaign", date(2026, 12, 3)),  # low: 10
        ({"blocker": "major"}, "notify_owner_slack", date(2026, 11, 23)),  # fixed: same day
        ({"blocker": "major"}, "schedule_checkpoint", date(2026, 11, 30)),  # fixed: 7 days
        ({}, "update_health_score", date(2026, 11, 23)),  # fixed: same day
    ],
)
def test_due_dates(assess: Assessor, fields: dict, action_id: str, due: date) -> None:
    assert action(assess(**fields), action_id).due_date == due


def test_due_date_counts_from_the_records_own_as_of(assess: Assessor) -> None:
    result = assess(as_of="2026-12-01", blocker="major")
    assert result.as_of == date(2026, 12, 1)
    assert action(result, "create_support_task").due_date == date(2026, 12, 3)
