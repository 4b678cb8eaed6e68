"""The Markdown brief: seed 002's layout, then the legacy and actions tables."""

from __future__ import annotations

from datetime import date

import pytest

from skill.assessment import PriorAssessment
from skill.drafting import TemplateDrafter
from skill.engine import Engine
from skill.record import Segment
from skill.render.markdown import cell, render_assessment, render_policy_matrix
from skill.vocabulary import AutomationLevel

PRODUCT_GONE = {
    "active_users": None,
    "licensed_seats": None,
    "logins_30d": None,
    "logins_prev_30d": None,
    "weekly_activity": None,
    "features_adopted": None,
    "features_total": None,
    "product_synced_at": None,
}


@pytest.fixture
def render(policy):
    def run(assessment):
        return render_assessment(assessment, TemplateDrafter().draft(assessment), policy)

    return run


def order(text, *markers):
    found = [text.index(marker) for marker in markers]
    return found == sorted(found)


def section(text, heading):
    """The lines under `heading` up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = lines.index("", start)
    return lines[start:end]


def test_a_green_account_shows_the_score_before_the_risk_flags(assess, render):
    assessment = assess()
    assert assessment.band.value == "green"
    assert order(render(assessment), "## Health: Testco", "**Score:** ", "### Risk Flags")


def test_an_at_risk_account_shows_the_risk_flags_first(assess, render):
    assessment = assess(blocker="major")
    assert assessment.band.value != "green"
    assert order(render(assessment), "## Health: Testco", "### Risk Flags", "**Score:** ")


def test_the_sections_follow_seed_002_then_the_two_tables(assess, render):
    text = render(assess())
    assert order(
        text,
        "### Factors",
        "**Positive:**",
        "**Negative:**",
        "**Missing data:**",
        "### Inputs Used",
        "### Legacy score",
        "### Recommended actions",
    )


def test_the_header_names_the_contract_term_next_to_the_renewal(assess, render):
    text = render(assess(contract_term="annual"))
    assert "_mid_market · active · renewal in 311d (annual contract)_" in text


def test_the_score_line_carries_the_score_and_the_summary_line(assess, render):
    assessment = assess()
    texts = TemplateDrafter().draft(assessment)
    assert f"**Score:** {assessment.score} — {texts.summary_line}\n" in render(assessment)


def test_no_flags_says_so(assess, render):
    assert section(render(assess()), "### Risk Flags") == ["No risk flags."]


def test_each_flag_is_a_bullet_with_its_evidence(assess, render):
    assessment = assess(payment_status="overdue", days_overdue=45, blocker="major")
    bullets = section(render(assessment), "### Risk Flags")
    assert len(bullets) == len(assessment.flags) >= 2
    for bullet, flag in zip(bullets, assessment.flags, strict=True):
        assert bullet.startswith(f"- {flag.label}: {flag.evidence}")


def test_a_guard_rail_cap_is_a_negative_factor(assess, render):
    text = render(assess(blocker="major"))
    negatives = text.split("**Negative:**", 1)[1].split("**Missing data:**", 1)[0]
    assert "(major_blocker)" in negatives


def test_missing_dimensions_are_listed_under_missing_data(assess, render):
    text = render(assess(success_milestones_missed=None, success_milestones_total=None))
    [line] = [x for x in text.splitlines() if x.startswith("**Missing data:**")]
    assert "outcomes" in line


def test_complete_data_says_no_missing_data(assess, render):
    assert "**Missing data:** None." in render(assess())


def test_an_absent_source_is_not_connected(assess, render):
    inputs = section(render(assess(**PRODUCT_GONE)), "### Inputs Used")
    assert "- Product analytics: Not connected" in inputs
    assert not any(line.startswith("- CRM: Not connected") for line in inputs)


def test_a_connected_source_lists_the_fields_used_and_the_sync_date(assess, render):
    inputs = section(render(assess()), "### Inputs Used")
    [support] = [line for line in inputs if line.startswith("- Support platform:")]
    assert "open_tickets" in support
    assert "synced 2026-11-22" in support


def test_the_legacy_table_has_each_field_and_the_total_with_band(assess, render):
    assessment = assess()
    rows = section(render(assessment), "### Legacy score (additive baseline)")
    assert rows[0] == "| Field | Value | Points |"
    assert len(rows) == 2 + len(assessment.legacy.rows) + 1
    assert rows[-1] == f"| **Total** | | **{assessment.legacy.total}** · {assessment.legacy.band} |"


def test_the_actions_table_has_one_row_per_action_with_its_status(assess, render):
    assessment = assess(blocker="major")
    rows = section(render(assessment), "### Recommended actions")
    assert rows[0] == "| Kind | Action | Owner | Priority | Status | Rationale |"
    body = rows[2:]
    assert len(body) == len(assessment.actions)
    for row, action in zip(body, assessment.actions, strict=True):
        assert f"| {action.label} |" in row
        assert f"| {action.status.value} |" in row


def test_the_csm_owner_is_shown_by_name_and_role(assess, render):
    rows = section(render(assess(blocker="major")), "### Recommended actions")
    assert any("| Alex Kim (csm) |" in row for row in rows)


def test_an_account_with_no_actions_says_so(assess, render):
    assessment = assess().model_copy(update={"actions": []})
    assert section(render(assessment), "### Recommended actions") == ["No actions triggered."]


def test_table_cells_stay_on_one_row_and_escape_pipes():
    assert cell("Pat | Lee\nand  co") == "Pat \\| Lee and co"


def test_an_owner_with_a_pipe_does_not_break_the_actions_table(assess, render):
    rows = section(render(assess(owner="Pat | Lee", blocker="major")), "### Recommended actions")
    for row in rows:
        assert row.replace("\\|", "").count("|") == 7


def test_the_owner_review_is_shown_when_there_is_one(assess, render):
    assessment = assess(blocker="major")
    assert assessment.review_task is not None
    assert f"reviews by {assessment.review_task.due_date}" in render(assessment)


def test_template_prose_is_labelled(assess, render):
    assert "_Prose from templates (no LLM)._" in render(assess())


def test_rendering_is_deterministic(assess, render):
    assert render(assess(blocker="major")) == render(assess(blocker="major"))


def test_policy_matrix_cells_are_the_stricter_of_matrix_and_level_cap(policy):
    text = render_policy_matrix(policy, [Segment.SMB], [AutomationLevel.CONSERVATIVE])
    [row] = [line for line in text.splitlines() if "`update_health_score`" in line]
    # smb baseline is auto; conservative caps low sensitivity at approval_required.
    assert row.endswith("| low | approval_required |")


def test_policy_matrix_labels_columns_with_level_only_when_several_levels(policy):
    levels = list(AutomationLevel)
    text = render_policy_matrix(policy, [Segment.ENTERPRISE], levels)
    header = text.splitlines()[0]
    assert header == (
        "| Action | Sensitivity | enterprise / conservative | enterprise / balanced "
        "| enterprise / aggressive |"
    )


def test_with_history_a_trend_line_follows_the_band(policy, make_record, as_of, render):
    earlier = PriorAssessment(as_of=date(2026, 11, 16), score=100, band="green", dimensions={})
    a = Engine(policy).assess(make_record(csat=3.5), as_of, [earlier])

    text = render(a)

    line = f"Trend: down {100 - a.score} since 2026-11-16 (was 100)"
    assert line in text
    assert order(text, "Band **", line, "### Factors")


def test_without_history_there_is_no_trend_line(assess, render):
    assert "Trend:" not in render(assess())


def test_opportunities_follow_the_risk_flags_as_their_own_section(assess, render):
    text = render(assess())
    assert order(text, "### Risk Flags", "### Opportunities", "### Factors")
    assert section(text, "### Opportunities")[1].startswith(
        "- Advocate: tier thriving, band green; CSAT 4.6 of 5;"
    )


def test_an_account_without_opportunities_has_no_such_section(assess, render):
    assert "### Opportunities" not in render(assess(blocker="major"))


def test_an_opportunity_play_says_so_in_its_kind(assess, render):
    rows = section(render(assess()), "### Recommended actions")
    [ask] = [r for r in rows if "Ask for a case study" in r]
    assert ask.startswith("| Customer-facing · opportunity |")
    [update] = [r for r in rows if "Update CSM health score" in r]
    assert update.startswith("| Data update |")
