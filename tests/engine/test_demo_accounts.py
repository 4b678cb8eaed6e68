"""The demo accounts each show their lesson: seed 000's four, and a thriving fifth."""

from __future__ import annotations

import json
from datetime import date

import pytest

from skill.assessment import Action, Assessment
from skill.engine import assess_account
from skill.paths import assets_dir
from skill.policy import Policy
from skill.record import AccountRecord
from skill.vocabulary import (
    ActionPurpose,
    ActionStatus,
    AutomationLevel,
    Band,
    Dimension,
    OpportunityCode,
    RiskFlagCode,
    Tier,
)

F = RiskFlagCode


@pytest.fixture(scope="module")
def demo(policy: Policy) -> dict[str, Assessment]:
    data = json.loads((assets_dir() / "demo" / "accounts.json").read_text(encoding="utf-8"))
    as_of = date.fromisoformat(data["as_of"])
    results = [
        assess_account(AccountRecord.model_validate(row), policy, as_of, AutomationLevel.BALANCED)
        for row in data["accounts"]
    ]
    return {r.name.split()[0]: r for r in results}


def flags(result: Assessment) -> set[RiskFlagCode]:
    return {f.code for f in result.flags}


def themes(result: Assessment) -> set[str]:
    return {t.code for t in result.themes}


def actions(result: Assessment) -> dict[str, Action]:
    return {a.action: a for a in result.actions}


def test_there_are_five_demo_accounts(demo: dict[str, Assessment]) -> None:
    assert sorted(demo) == ["GreenSprout", "HarborView", "Lumen", "Northwind", "SilverPeak"]


def test_only_the_thriving_green_account_has_opportunities(demo: dict[str, Assessment]) -> None:
    assert {name for name, a in demo.items() if a.opportunities} == {"Lumen"}
    assert all(
        a.purpose is ActionPurpose.REMEDY
        for name, a_ in demo.items()
        if name != "Lumen"
        for a in a_.actions
    )


# --- Northwind: renewal pressure


def test_northwind_shows_renewal_pressure(demo: dict[str, Assessment]) -> None:
    northwind = demo["Northwind"]
    assert F.RENEWAL_SOON in flags(northwind)
    assert "renewal" in themes(northwind)
    assert northwind.days_to_renewal == 50


def test_northwind_discount_and_outreach_stay_with_a_person(demo: dict[str, Assessment]) -> None:
    planned = actions(demo["Northwind"])
    assert planned["create_discount_request"].status is ActionStatus.RECOMMEND_ONLY
    # The notes mention pricing for the renewal, so the check-in email is a person's call.
    assert planned["send_checkin_email"].status is ActionStatus.RECOMMEND_ONLY


def test_northwind_owner_reviews_the_renewal_risk(demo: dict[str, Assessment]) -> None:
    task = demo["Northwind"].review_task
    assert task is not None
    assert any(reason.startswith("Renewal risk") for reason in task.reasons)


# --- GreenSprout: onboarding friction, which the legacy score reads as churn risk


def test_greensprout_legacy_score_says_at_risk(demo: dict[str, Assessment]) -> None:
    assert demo["GreenSprout"].legacy.band == "At risk"


def test_greensprout_contextual_theme_is_onboarding_friction(demo: dict[str, Assessment]) -> None:
    greensprout = demo["GreenSprout"]
    assert themes(greensprout) == {"onboarding_friction"}
    assert greensprout.flags == []
    assert greensprout.band is not Band.RED


def test_greensprout_gets_recovery_and_a_checkpoint(demo: dict[str, Assessment]) -> None:
    planned = actions(demo["GreenSprout"])
    assert {"add_to_onboarding_recovery", "schedule_checkpoint"} <= set(planned)
    assert "escalate_to_specialist" not in planned
    assert "send_checkin_email" not in planned


# --- HarborView: a support crisis with a major blocker


def test_harborview_flags_the_major_blocker(demo: dict[str, Assessment]) -> None:
    assert {F.MAJOR_BLOCKER, F.SUPPORT_SPIKE, F.RECENT_ESCALATION} <= flags(demo["HarborView"])


def test_harborview_score_is_capped_by_a_named_rail(demo: dict[str, Assessment]) -> None:
    harborview = demo["HarborView"]
    assert "major_blocker" in {c.code for c in harborview.caps}
    assert harborview.score < harborview.raw_score
    assert harborview.band is not Band.GREEN


def test_harborview_gets_support_task_and_specialist(demo: dict[str, Assessment]) -> None:
    planned = actions(demo["HarborView"])
    assert {"create_support_task", "escalate_to_specialist"} <= set(planned)
    assert "add_to_nurture_campaign" not in planned


def test_harborview_injected_instruction_approves_nothing(demo: dict[str, Assessment]) -> None:
    harborview = demo["HarborView"]
    assert "IGNORE PREVIOUS INSTRUCTIONS" in (harborview.untrusted_text.notes or "")
    assert actions(harborview)["send_checkin_email"].status is ActionStatus.APPROVAL_REQUIRED


# --- SilverPeak: strong usage hides relationship and outcome risk (seed 003's example)


def test_silverpeak_usage_is_strong_but_the_band_is_not_green(demo: dict[str, Assessment]) -> None:
    silverpeak = demo["SilverPeak"]
    usage = next(d for d in silverpeak.dimensions if d.dimension is Dimension.USAGE)
    assert usage.score >= 70
    assert silverpeak.band is not Band.GREEN


def test_silverpeak_names_the_vanity_usage_cap(demo: dict[str, Assessment]) -> None:
    assert [c.code for c in demo["SilverPeak"].caps] == ["vanity_usage"]


def test_silverpeak_flags_missed_milestones_and_silence(demo: dict[str, Assessment]) -> None:
    assert {F.MISSED_MILESTONES, F.UNRESPONSIVE_CUSTOMER} <= flags(demo["SilverPeak"])


def test_silverpeak_legacy_score_says_healthy(demo: dict[str, Assessment]) -> None:
    assert demo["SilverPeak"].legacy.band == "Healthy"


def test_silverpeak_is_high_value_so_a_person_reviews(demo: dict[str, Assessment]) -> None:
    silverpeak = demo["SilverPeak"]
    assert silverpeak.review_task is not None
    assert all(a.status is not ActionStatus.AUTO for a in silverpeak.actions)


# --- Lumen: a thriving customer, and the opportunity plays for it


def test_lumen_is_thriving_and_green_with_no_risk_flag(demo: dict[str, Assessment]) -> None:
    lumen = demo["Lumen"]
    assert (lumen.band, lumen.tier, lumen.flags) == (Band.GREEN, Tier.THRIVING, [])


def test_lumen_is_ready_to_expand_an_advocate_and_loyal(demo: dict[str, Assessment]) -> None:
    assert [o.code for o in demo["Lumen"].opportunities] == [
        OpportunityCode.EXPANSION_READY,
        OpportunityCode.ADVOCATE,
        OpportunityCode.LOYAL_CUSTOMER,
    ]


def test_lumen_upsell_heads_up_runs_and_the_asks_stay_with_people(
    demo: dict[str, Assessment],
) -> None:
    planned = actions(demo["Lumen"])
    assert planned["flag_upsell_opportunity"].status is ActionStatus.AUTO  # internal, to the AE
    assert planned["request_advocacy"].status is ActionStatus.APPROVAL_REQUIRED
    assert planned["propose_loyalty_benefit"].status is ActionStatus.RECOMMEND_ONLY
    assert all(
        planned[a].purpose is ActionPurpose.OPPORTUNITY
        for a in ("flag_upsell_opportunity", "request_advocacy", "propose_loyalty_benefit")
    )
