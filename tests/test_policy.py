"""Policy as data: the defaults load, a user file merges over them, bad files are named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from skill.policy import Policy, PolicyError, deep_merge, load_policy
from skill.record import Segment
from skill.vocabulary import ActionPurpose, ActionStatus, AutomationLevel, Sensitivity

AUTO = ActionStatus.AUTO
APPROVE = ActionStatus.APPROVAL_REQUIRED

# Seed 000's "Deterministic policy matrix by account segment", row by row.
SEED_000_MATRIX: dict[str, tuple[ActionStatus, ActionStatus, ActionStatus]] = {
    #                              SMB      Mid-market  Enterprise
    "create_discount_request": (APPROVE, APPROVE, APPROVE),
    "reassign_ownership": (APPROVE, APPROVE, APPROVE),
    "send_checkin_email": (APPROVE, APPROVE, APPROVE),
    "add_to_onboarding_recovery": (AUTO, APPROVE, APPROVE),
    "create_support_task": (AUTO, APPROVE, APPROVE),
    "escalate_to_specialist": (AUTO, AUTO, AUTO),
    "add_to_nurture_campaign": (AUTO, AUTO, APPROVE),
    "notify_owner_slack": (AUTO, AUTO, APPROVE),
    "schedule_checkpoint": (AUTO, AUTO, APPROVE),
    "update_health_score": (AUTO, AUTO, APPROVE),
}

# Seed 004's plays per tier, added after seed 000's ten remedies.
OPPORTUNITY_PLAYS = {
    "flag_upsell_opportunity",
    "send_engagement_email",
    "request_advocacy",
    "propose_loyalty_benefit",
}

# Seed 000 puts each action's sensitivity in brackets after its name.
SEED_000_SENSITIVITY = {
    "create_discount_request": Sensitivity.HIGH,
    "reassign_ownership": Sensitivity.HIGH,
    "send_checkin_email": Sensitivity.HIGH,
    "add_to_onboarding_recovery": Sensitivity.MEDIUM,
    "create_support_task": Sensitivity.MEDIUM,
    "escalate_to_specialist": Sensitivity.MEDIUM,
    "add_to_nurture_campaign": Sensitivity.LOW,
    "notify_owner_slack": Sensitivity.LOW,
    "schedule_checkpoint": Sensitivity.LOW,
    "update_health_score": Sensitivity.LOW,
}


def write_override(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "my-policy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def load_error(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy(write_override(tmp_path, data))
    return str(caught.value)


# --- the defaults


def test_default_policy_loads(policy: Policy) -> None:
    assert set(policy.actions.catalogue) == set(SEED_000_MATRIX) | OPPORTUNITY_PLAYS
    assert set(policy.gate.automation_levels) == set(AutomationLevel)


def test_default_matrix_is_seed_000_exactly(policy: Policy) -> None:
    matrix = {
        action: (row[Segment.SMB], row[Segment.MID_MARKET], row[Segment.ENTERPRISE])
        for action, row in policy.gate.matrix.items()
        if action in SEED_000_MATRIX
    }
    assert matrix == SEED_000_MATRIX


def test_default_sensitivities_are_seed_000s(policy: Policy) -> None:
    sensitivities = {
        a: entry.sensitivity
        for a, entry in policy.actions.catalogue.items()
        if a in SEED_000_SENSITIVITY
    }
    assert sensitivities == SEED_000_SENSITIVITY


def test_only_the_opportunity_plays_have_the_opportunity_purpose(policy: Policy) -> None:
    purposes = {a: entry.purpose for a, entry in policy.actions.catalogue.items()}
    assert {a for a, p in purposes.items() if p is ActionPurpose.OPPORTUNITY} == OPPORTUNITY_PLAYS


def test_default_weights_sum_to_one_per_segment(policy: Policy) -> None:
    for segment in Segment:
        assert sum(policy.scoring.weights[segment].values()) == pytest.approx(1.0)


def test_enterprise_leans_on_relationship_and_commercial_smb_on_usage(policy: Policy) -> None:
    weights = policy.scoring.weights
    assert max(weights[Segment.SMB], key=weights[Segment.SMB].__getitem__) == "usage"
    enterprise = sorted(weights[Segment.ENTERPRISE], key=weights[Segment.ENTERPRISE].__getitem__)
    assert set(enterprise[-2:]) == {"commercial", "relationship"}


def test_policy_version_is_a_stable_content_hash(tmp_path: Path, policy: Policy) -> None:
    assert load_policy().version == policy.version
    changed = load_policy(
        write_override(tmp_path, {"risk": {"flags": {"renewal_soon": {"days": 60}}}})
    )
    assert changed.version != policy.version


# --- overrides


def test_override_changes_one_threshold_and_keeps_the_rest(tmp_path: Path, policy: Policy) -> None:
    custom = load_policy(
        write_override(tmp_path, {"risk": {"flags": {"renewal_soon": {"days": 60}}}})
    )
    assert custom.risk.flags.renewal_soon.days == 60
    assert custom.risk.flags.renewal_soon.label == policy.risk.flags.renewal_soon.label
    assert custom.risk.flags.no_exec_touch == policy.risk.flags.no_exec_touch
    assert custom.gate == policy.gate


def test_override_changes_one_contract_term_window(tmp_path: Path, policy: Policy) -> None:
    data = {"risk": {"flags": {"renewal_soon": {"days_by_term": {"quarterly": 45}}}}}
    windows = load_policy(write_override(tmp_path, data)).risk.flags.renewal_soon.days_by_term
    assert windows.quarterly == 45
    assert windows.annual == policy.risk.flags.renewal_soon.days_by_term.annual


def test_override_changes_one_matrix_cell(tmp_path: Path, policy: Policy) -> None:
    data = {"gate": {"matrix": {"escalate_to_specialist": {"enterprise": "recommend_only"}}}}
    custom = load_policy(write_override(tmp_path, data))
    row = custom.gate.matrix["escalate_to_specialist"]
    assert row[Segment.ENTERPRISE] is ActionStatus.RECOMMEND_ONLY
    assert row[Segment.SMB] is ActionStatus.AUTO
    assert custom.gate.matrix["send_checkin_email"] == policy.gate.matrix["send_checkin_email"]


def test_override_list_replaces_the_default_list(tmp_path: Path) -> None:
    custom = load_policy(write_override(tmp_path, {"gate": {"signal_overrides": []}}))
    assert custom.gate.signal_overrides == []


def test_empty_override_file_is_the_default(tmp_path: Path, policy: Policy) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_policy(path) == policy


def test_deep_merge_merges_mappings_and_replaces_lists() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 2}
    assert deep_merge(base, {"a": {"y": [3]}}) == {"a": {"x": 1, "y": [3]}, "b": 2}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 2}


# --- invalid files are named by key


def test_invalid_matrix_status_names_the_cell(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, {"gate": {"matrix": {"send_checkin_email": {"smb": "sometimes"}}}}
    )
    assert "gate.matrix.send_checkin_email.smb" in message
    assert "sometimes" in message
    assert "my-policy.yaml" in message


def test_weights_not_summing_to_one_name_the_segment(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"scoring": {"weights": {"smb": {"usage": 0.9}}}})
    assert "weights.smb" in message
    assert "sum to 1.0" in message


def test_a_renewal_window_as_long_as_its_contract_term_is_named(tmp_path: Path) -> None:
    data = {"risk": {"flags": {"renewal_soon": {"days_by_term": {"monthly": 90}}}}}
    message = load_error(tmp_path, data)
    assert "risk.flags.renewal_soon.days_by_term" in message
    assert "monthly: a 90-day window is as long as the contract itself" in message


def test_a_measurement_auc_floor_below_a_coin_toss_is_named(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"measurement": {"min_auc": 0.3}})
    assert "measurement.min_auc = 0.3" in message


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"colour": "blue"})
    assert "colour" in message


def test_non_monotone_automation_caps_are_named(tmp_path: Path) -> None:
    data = {"gate": {"automation_levels": {"aggressive": {"caps": {"high": "recommend_only"}}}}}
    message = load_error(tmp_path, data)
    assert "automation_levels.aggressive.caps.high" in message


def test_trigger_naming_an_unknown_action_is_named(tmp_path: Path) -> None:
    data = {"actions": {"triggers": [{"action": "send_fax", "priority": "high", "reason": "x"}]}}
    message = load_error(tmp_path, data)
    assert "triggers[0].action" in message
    assert "send_fax" in message


def test_gate_rule_naming_an_unknown_action_is_named(tmp_path: Path) -> None:
    rule = {"id": "no_fax", "status": "blocked", "reason": "x", "applies_to": {"actions": ["fax"]}}
    message = load_error(tmp_path, {"gate": {"stop_rules": [rule]}})
    assert "no_fax" in message
    assert "fax" in message


def test_condition_naming_an_unknown_theme_is_named(tmp_path: Path) -> None:
    rule = {"id": "x", "status": "blocked", "reason": "x", "when_any": [{"themes_any": ["gloom"]}]}
    assert "gloom" in load_error(tmp_path, {"gate": {"stop_rules": [rule]}})


def test_condition_naming_an_unknown_input_field_is_named(tmp_path: Path) -> None:
    rule = {
        "id": "x",
        "status": "blocked",
        "reason": "x",
        "when_any": [{"fields_missing": ["hat"]}],
    }
    assert "hat" in load_error(tmp_path, {"gate": {"stop_rules": [rule]}})


def test_matrix_row_for_an_unknown_action_is_named(tmp_path: Path) -> None:
    row = {"smb": "auto", "mid_market": "auto", "enterprise": "auto"}
    assert "send_fax" in load_error(tmp_path, {"gate": {"matrix": {"send_fax": row}}})


def test_catalogue_action_without_a_matrix_row_is_named(tmp_path: Path) -> None:
    entry = {"label": "Send fax", "sensitivity": "low", "kind": "notification", "owner": "csm"}
    message = load_error(tmp_path, {"actions": {"catalogue": {"send_fax": entry}}})
    assert "gate.matrix" in message
    assert "send_fax" in message


def test_unknown_signal_is_named(tmp_path: Path) -> None:
    data = {"scoring": {"signals": {"vibes": {"dimension": "usage", "values": {"good": 100}}}}}
    assert "vibes" in load_error(tmp_path, data)


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.yaml")


def test_broken_yaml_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("gate: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(path)


def test_top_level_list_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="mapping"):
        load_policy(path)
