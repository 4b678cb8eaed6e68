"""The policy floor: what no policy file can loosen, and what `policy check` says about it.

Also list overrides: a file that replaces a default list is warned about, and
`key+:` appends instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from account_templates import healthy
from click.testing import Result
from typer.testing import CliRunner

from skill.cli import app
from skill.engine import assess_account
from skill.policy import PolicyError, load_policy, override_notes
from skill.record import AccountRecord
from skill.vocabulary import ActionStatus, AutomationLevel, GateLayer

AS_OF = date(2026, 11, 23)
SEGMENTS = ("smb", "mid_market", "enterprise")

#: The file from the issue: the matrix says auto, the aggressive cap is lifted for
#: high sensitivity, and every stop rule and override is gone.
HOSTILE = {
    "gate": {
        "matrix": {"create_discount_request": {s: "auto" for s in SEGMENTS}},
        "automation_levels": {"aggressive": {"caps": {"high": "auto"}}},
        "stop_rules": [],
        "signal_overrides": [],
    }
}


@pytest.fixture
def cli() -> Callable[..., Result]:
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def write(tmp_path: Path, data: dict[str, Any], name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def discount_account() -> AccountRecord:
    return AccountRecord.model_validate(
        healthy(account_id="ACC-D", segment="smb", discount_requested=True, as_of=AS_OF)
    )


def test_a_hostile_file_cannot_make_a_discount_request_automatic(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, HOSTILE))
    result = assess_account(discount_account(), policy, AS_OF, AutomationLevel.AGGRESSIVE)
    [discount] = [a for a in result.actions if a.action == "create_discount_request"]
    assert discount.status is ActionStatus.RECOMMEND_ONLY
    floor = [d for d in discount.policy_trace if d.layer is GateLayer.FLOOR]
    assert [d.rule for d in floor] == [
        "high_sensitivity_needs_a_person",
        "commercial_terms_are_a_persons_call",
    ]
    assert discount.policy_trace[-len(floor) :] == floor  # the floor is the last layer


def test_a_customer_facing_action_is_never_auto_even_when_everything_says_auto(
    tmp_path: Path,
) -> None:
    everything_auto = {
        "gate": {
            "matrix": {"add_to_nurture_campaign": {s: "auto" for s in SEGMENTS}},
            "stop_rules": [],
            "signal_overrides": [],
        }
    }
    policy = load_policy(write(tmp_path, everything_auto))
    record = AccountRecord.model_validate(
        healthy(account_id="ACC-N", segment="smb", features_adopted=1, features_total=10)
    )
    result = assess_account(record, policy, AS_OF, AutomationLevel.AGGRESSIVE)
    [nurture] = [a for a in result.actions if a.action == "add_to_nurture_campaign"]
    assert nurture.status is ActionStatus.APPROVAL_REQUIRED
    assert nurture.policy_trace[-1].rule == "customer_facing_needs_a_person"


def test_a_new_action_about_prices_is_held_by_its_words(tmp_path: Path) -> None:
    """A catalogue entry the floor has never heard of is still caught by what it says."""
    data = {
        "actions": {
            "catalogue": {
                "offer_price_cut": {
                    "label": "Offer a loyalty price cut",
                    "sensitivity": "low",
                    "kind": "internal_task",
                    "owner": "csm",
                }
            },
            "triggers+": [
                {
                    "action": "offer_price_cut",
                    "priority": "low",
                    "reason": "Always.",
                    "when_any": [],
                }
            ],
        },
        "gate": {"matrix": {"offer_price_cut": {s: "auto" for s in SEGMENTS}}},
    }
    policy = load_policy(write(tmp_path, data))
    notes = override_notes(data, policy)
    assert len(notes.needs_floor) == 1
    assert notes.needs_floor[0].startswith(
        "actions.catalogue.offer_price_cut, gate.matrix.offer_price_cut.enterprise"
    )
    assert "commercial_terms_are_a_persons_call" in notes.needs_floor[0]


# --- the opportunity plays against the floor

PLAYS = ("flag_upsell_opportunity", "send_engagement_email", "request_advocacy")
#: Every opportunity play automatic in the matrix, every level cap lifted, the plays
#: re-labelled as low-sensitivity internal work, and every stop rule and override gone.
HOSTILE_PLAYS = {
    "actions": {
        "catalogue": {
            "request_advocacy": {"kind": "internal_task", "sensitivity": "low"},
            "send_engagement_email": {"kind": "internal_task", "sensitivity": "low"},
            "propose_loyalty_benefit": {"kind": "data_update", "sensitivity": "low"},
        }
    },
    "gate": {
        "matrix": {
            play: {s: "auto" for s in SEGMENTS} for play in (*PLAYS, "propose_loyalty_benefit")
        },
        "automation_levels": {
            "aggressive": {"caps": {"low": "auto", "medium": "auto", "high": "auto"}}
        },
        "stop_rules": [],
        "signal_overrides": [],
    },
}
THRIVING_NEAR_RENEWAL = {"renewal_date": "2027-03-03"}
STEADY = {"weekly_activity": [40, 42, 41, 43], "features_adopted": 6, "expansion_signal": False}


def play_statuses(policy, **fields: Any) -> dict[str, ActionStatus]:
    statuses = {}
    for segment in SEGMENTS:
        record = AccountRecord.model_validate(healthy(segment=segment, **fields))
        result = assess_account(record, policy, AS_OF, AutomationLevel.AGGRESSIVE)
        for action in result.actions:
            statuses[f"{action.action}/{segment}"] = action.status
    return statuses


def test_a_hostile_file_cannot_free_the_advocacy_ask_or_the_loyalty_benefit(
    tmp_path: Path,
) -> None:
    policy = load_policy(write(tmp_path, HOSTILE_PLAYS))
    found = play_statuses(policy, **THRIVING_NEAR_RENEWAL)
    for segment in SEGMENTS:
        # an upsell heads-up is internal: a policy may make it automatic
        assert found[f"flag_upsell_opportunity/{segment}"] is ActionStatus.AUTO
        assert found[f"request_advocacy/{segment}"] is ActionStatus.APPROVAL_REQUIRED
    for segment in ("mid_market", "enterprise"):
        assert found[f"propose_loyalty_benefit/{segment}"] is ActionStatus.RECOMMEND_ONLY


def test_a_hostile_file_cannot_send_the_engagement_email_on_its_own(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, HOSTILE_PLAYS))
    found = play_statuses(policy, **STEADY)
    assert [found[f"send_engagement_email/{s}"] for s in SEGMENTS] == [
        ActionStatus.APPROVAL_REQUIRED
    ] * 3


def test_the_floor_names_the_rules_that_held_the_advocacy_ask(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, HOSTILE_PLAYS))
    record = AccountRecord.model_validate(healthy(**THRIVING_NEAR_RENEWAL))
    result = assess_account(record, policy, AS_OF, AutomationLevel.AGGRESSIVE)
    [ask] = [a for a in result.actions if a.action == "request_advocacy"]
    floor = [d.rule for d in ask.policy_trace if d.layer is GateLayer.FLOOR]
    assert floor == ["customer_facing_needs_a_person", "advocacy_asks_need_a_person"]


def test_policy_check_names_each_play_the_floor_would_have_to_hold(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, HOSTILE_PLAYS))
    needs = override_notes(HOSTILE_PLAYS, policy).needs_floor
    held = {line.split(": would let ")[1].split(" ")[0] for line in needs}
    # the discount request too: the file drops the stop rule that held it
    assert held == {
        "request_advocacy",
        "send_engagement_email",
        "propose_loyalty_benefit",
        "create_discount_request",
    }
    assert any("advocacy_asks_need_a_person" in line for line in needs)


def test_the_floor_cannot_be_changed_by_a_policy_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"floor": [{"id": "nothing", "at_least": "auto", "reason": "x"}]})
    with pytest.raises(PolicyError, match="floor: the policy floor cannot be changed"):
        load_policy(path)


def test_the_default_policy_needs_no_notes(tmp_path: Path) -> None:
    notes = override_notes({}, load_policy())
    assert (notes.replaced_lists, notes.needs_floor) == ([], [])


# --- policy check


def test_policy_check_refuses_the_hostile_file_naming_each_key(cli, tmp_path: Path) -> None:
    result = cli("policy", "check", write(tmp_path, HOSTILE))
    assert result.exit_code == 2
    assert "would need the policy floor" in result.stderr
    for key in (
        "gate.matrix.create_discount_request.smb",
        "gate.automation_levels.aggressive.caps.high",
        "gate.stop_rules",
    ):
        assert key in result.stderr
    assert result.stdout == ""


def test_policy_check_json_lists_floor_problems_as_errors(cli, tmp_path: Path) -> None:
    result = cli("policy", "check", write(tmp_path, HOSTILE), "--format", "json")
    assert result.exit_code == 2
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is False
    assert any("high_sensitivity_needs_a_person" in e for e in verdict["errors"])


def test_every_command_given_such_a_file_warns_and_applies_the_floor(cli, tmp_path: Path) -> None:
    result = cli("policy", "show", "--format", "json", "--policy", write(tmp_path, HOSTILE))
    assert result.exit_code == 0
    assert "gate.matrix.create_discount_request.smb" in result.stderr
    assert "the floor applies" in result.stderr


# --- lists: replaced with a warning, or appended with key+


ONE_TRIGGER = {
    "action": "schedule_checkpoint",
    "priority": "low",
    "reason": "Every account gets a checkpoint.",
    "when_any": [],
}


def test_replacing_a_default_list_is_warned_naming_the_key(cli, tmp_path: Path) -> None:
    result = cli("policy", "check", write(tmp_path, {"actions": {"triggers": [ONE_TRIGGER]}}))
    assert result.exit_code == 0
    assert "warning: " in result.stderr
    assert "actions.triggers: this list replaces the default list" in result.stderr
    assert "'triggers+:'" in result.stderr


def test_a_plus_key_adds_one_trigger_and_keeps_the_others(cli, tmp_path: Path) -> None:
    default_count = len(load_policy().actions.triggers)
    path = write(tmp_path, {"actions": {"triggers+": [ONE_TRIGGER]}})
    policy = load_policy(path)
    assert len(policy.actions.triggers) == default_count + 1
    assert policy.actions.triggers[-1].reason == "Every account gets a checkpoint."
    result = cli("policy", "check", path)
    assert (result.exit_code, result.stderr) == (0, "")


def test_a_plus_key_needs_a_list(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"actions.triggers\+: '\+' appends to a list"):
        load_policy(write(tmp_path, {"actions": {"triggers+": {"action": "x"}}}))
