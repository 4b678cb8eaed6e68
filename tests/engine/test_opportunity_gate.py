"""The opportunity plays pass the same policy gate as every remedy: the segment matrix, the
automation level, signal overrides, the stop rules that hold them while an account is in
trouble, and the floor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from skill.assessment import Action, Assessment
from skill.engine import assess_account
from skill.policy import Policy, deep_merge, default_policy_data
from skill.record import AccountRecord
from skill.vocabulary import ActionStatus, AutomationLevel, Band, GateLayer, Tier

Assessor = Callable[..., Assessment]  # the `assess` fixture
RecordFactory = Callable[..., AccountRecord]  # the `make_record` fixture

AUTO = ActionStatus.AUTO
APPROVE = ActionStatus.APPROVAL_REQUIRED
RECOMMEND = ActionStatus.RECOMMEND_ONLY
BLOCKED = ActionStatus.BLOCKED
LEVELS = (AutomationLevel.CONSERVATIVE, AutomationLevel.BALANCED, AutomationLevel.AGGRESSIVE)
SEGMENTS = ("smb", "mid_market", "enterprise")

# Thriving and green, renewal 100 days out (inside the loyalty window, outside renewal soon):
# upsell, advocacy ask and, outside SMB, a loyalty benefit.
THRIVING = {"renewal_date": "2027-03-03"}
# Steady with features left to adopt: the engagement email.
STEADY = {"weekly_activity": [40, 42, 41, 43], "features_adopted": 6, "expansion_signal": False}

# Each play's status per segment (smb, mid_market, enterprise), per level: the segment matrix
# tightened by the level's cap for its sensitivity and the floor. Written out by hand.
EXPECTED: dict[str, dict[AutomationLevel, tuple[ActionStatus | None, ...]]] = {
    # low sensitivity, internal: matrix auto, auto, approval
    "flag_upsell_opportunity": {
        AutomationLevel.CONSERVATIVE: (APPROVE, APPROVE, APPROVE),
        AutomationLevel.BALANCED: (AUTO, AUTO, APPROVE),
        AutomationLevel.AGGRESSIVE: (AUTO, AUTO, APPROVE),
    },
    # medium, customer-facing: matrix approval everywhere; never auto (floor)
    "send_engagement_email": {
        AutomationLevel.CONSERVATIVE: (RECOMMEND, RECOMMEND, RECOMMEND),
        AutomationLevel.BALANCED: (APPROVE, APPROVE, APPROVE),
        AutomationLevel.AGGRESSIVE: (APPROVE, APPROVE, APPROVE),
    },
    # high, customer-facing: matrix approval everywhere
    "request_advocacy": {
        AutomationLevel.CONSERVATIVE: (RECOMMEND, RECOMMEND, RECOMMEND),
        AutomationLevel.BALANCED: (APPROVE, APPROVE, APPROVE),
        AutomationLevel.AGGRESSIVE: (APPROVE, APPROVE, APPROVE),
    },
    # high, touches pricing: recommend_only everywhere; not proposed to SMB at all
    "propose_loyalty_benefit": {
        AutomationLevel.CONSERVATIVE: (None, RECOMMEND, RECOMMEND),
        AutomationLevel.BALANCED: (None, RECOMMEND, RECOMMEND),
        AutomationLevel.AGGRESSIVE: (None, RECOMMEND, RECOMMEND),
    },
}


def find(result: Assessment, action_id: str) -> Action | None:
    return next((a for a in result.actions if a.action == action_id), None)


def blocked_by(action: Action) -> list[str]:
    return [
        d.rule
        for d in action.policy_trace
        if d.layer is GateLayer.STOP_RULE and d.status is BLOCKED
    ]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("action_id", list(EXPECTED))
def test_each_play_at_every_level_and_segment_matches_the_matrix(
    assess: Assessor, action_id: str, level: AutomationLevel
) -> None:
    shape = STEADY if action_id == "send_engagement_email" else THRIVING
    found = []
    for segment in SEGMENTS:
        action = find(assess(segment=segment, level=level, **shape), action_id)
        found.append(None if action is None else action.status)
        if action is not None:
            assert action.policy_trace[0].rule == f"{action_id}/{segment}"
            assert action.policy_trace[1].rule == f"{level}/{action.sensitivity}"
    assert tuple(found) == EXPECTED[action_id][level]


def test_the_plays_carry_owner_kind_priority_and_due_date(assess: Assessor) -> None:
    result = assess(segment="enterprise", **THRIVING)
    upsell, ask, loyalty = (
        find(result, a)
        for a in ("flag_upsell_opportunity", "request_advocacy", "propose_loyalty_benefit")
    )
    assert upsell is not None and ask is not None and loyalty is not None
    assert (upsell.owner, upsell.kind.value, upsell.priority.value) == (
        "account_executive",
        "internal_task",
        "high",  # enterprise: the account executive plans it first
    )
    assert upsell.due_date == date(2026, 11, 25)  # high priority: 2 days
    assert (ask.owner, ask.owner_name, ask.kind.value) == ("csm", "Alex Kim", "customer_facing")
    assert (loyalty.owner, loyalty.sensitivity.value) == ("account_executive", "high")
    assert {a.purpose.value for a in (upsell, ask, loyalty)} == {"opportunity"}


def test_upsell_priority_is_medium_outside_enterprise(assess: Assessor) -> None:
    upsell = find(assess(segment="smb", **THRIVING), "flag_upsell_opportunity")
    assert upsell is not None and upsell.priority.value == "medium"


def test_a_loyalty_benefit_is_a_persons_call_by_the_commercial_stop_rule(assess: Assessor) -> None:
    loyalty = find(assess(level=AutomationLevel.AGGRESSIVE, **THRIVING), "propose_loyalty_benefit")
    assert loyalty is not None
    assert "commercially_sensitive" in [d.rule for d in loyalty.policy_trace]


def test_an_upsell_close_to_renewal_goes_to_a_person(assess: Assessor) -> None:
    upsell = find(assess(renewal_date="2026-12-20"), "flag_upsell_opportunity")
    assert upsell is not None and upsell.status is APPROVE
    assert "upsell_near_renewal" in [d.rule for d in upsell.policy_trace]


def test_selling_and_asking_while_onboarding_stay_a_persons_call(assess: Assessor) -> None:
    result = assess(lifecycle="onboarding", **THRIVING)
    for action_id in ("flag_upsell_opportunity", "request_advocacy", "propose_loyalty_benefit"):
        action = find(result, action_id)
        assert action is not None and action.status.rank >= RECOMMEND.rank
        assert "still_onboarding" in [d.rule for d in action.policy_trace]


def test_a_pricing_note_holds_the_advocacy_ask_like_any_outreach(assess: Assessor) -> None:
    ask = find(assess(notes="Asked about pricing for more seats."), "request_advocacy")
    assert ask is not None and ask.status is RECOMMEND
    assert "commercial_topic_in_notes" in [d.rule for d in ask.policy_trace]


# --- the stop rules: no opportunity play on an account in trouble


def eager(**changes: Any) -> Policy:
    """A policy that asks every thriving account, whatever its flags: the stop rules still hold."""
    ask_everyone = {
        "action": "request_advocacy",
        "priority": "low",
        "reason": "Ask every thriving account.",
        "when_any": [{"tiers_in": ["thriving"]}],
    }
    return Policy.model_validate(
        deep_merge(default_policy_data(), {"actions": {"triggers+": [ask_everyone]}, **changes})
    )


RED_BUT_THRIVING = {
    "champion": "departed",
    "last_customer_reply_date": "2026-08-01",
    "last_exec_touch_date": "2026-01-01",
    "success_milestones_missed": 4,
    "open_tickets": 14,
    "escalations_90d": 3,
    "tickets_30d": 10,
    "tickets_prev_30d": 2,
    "discount_requested": True,
    "logins_30d": 200,
    "features_adopted": 2,
    "csat": 3.0,
    "nps": 10,
    "qbr_attended": False,
    "active_users": 30,
}


@pytest.mark.parametrize(
    ("trouble", "rule"),
    [
        ({"sev1_open": 1}, "opportunity_severe_ticket"),
        ({"payment_status": "overdue", "days_overdue": 12}, "opportunity_payment_overdue"),
        ({"nps": -10}, "opportunity_detractor"),
        ({"blocker": "major"}, "opportunity_major_blocker"),
        (RED_BUT_THRIVING, "opportunity_red_band"),
    ],
)
def test_each_stop_rule_blocks_an_advocacy_ask_and_the_trace_names_it(
    as_of: date, make_record: RecordFactory, trouble: dict[str, Any], rule: str
) -> None:
    for level in LEVELS:
        result = assess_account(make_record(**trouble), eager(), as_of, level)
        assert result.tier is Tier.THRIVING
        ask = find(result, "request_advocacy")
        assert ask is not None and ask.status is BLOCKED
        assert rule in blocked_by(ask)


def test_the_red_band_rule_holds_on_its_own(as_of: date, make_record: RecordFactory) -> None:
    result = assess_account(make_record(**RED_BUT_THRIVING), eager(), as_of)
    assert result.band is Band.RED
    ask = find(result, "request_advocacy")
    assert ask is not None and blocked_by(ask) == ["opportunity_red_band"]


def test_no_stop_rule_holds_a_healthy_ask(as_of: date, make_record: RecordFactory) -> None:
    ask = find(assess_account(make_record(), eager(), as_of), "request_advocacy")
    assert ask is not None and ask.status is APPROVE and blocked_by(ask) == []


def test_the_default_triggers_meet_the_stop_rules_too(assess: Assessor) -> None:
    """An advocate whose invoice is overdue: the flag stands, the plays are held."""
    result = assess(payment_status="overdue", days_overdue=12)
    assert {o.code.value for o in result.opportunities} == {"expansion_ready", "advocate"}
    for action_id in ("flag_upsell_opportunity", "request_advocacy"):
        action = find(result, action_id)
        assert action is not None and action.status is BLOCKED
        assert blocked_by(action) == ["opportunity_payment_overdue"]


def test_the_stop_rules_leave_the_remedies_alone(assess: Assessor) -> None:
    result = assess(payment_status="overdue", days_overdue=12)
    notify = find(result, "notify_owner_slack")
    assert notify is not None and notify.status is AUTO
    assert blocked_by(notify) == []
