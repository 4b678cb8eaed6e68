"""`account-health demo` and `account-health policy show|check`."""

from __future__ import annotations

import json

DEMO_NAMES = (
    "Northwind Logistics",
    "GreenSprout Onboarding",
    "HarborView Manufacturing",
    "SilverPeak Enterprise",
    "Lumen Retail Group",
)
LEVELS = ("conservative", "balanced", "aggressive")
BAD_POLICY = "gate:\n  automation_levels:\n    balanced:\n      caps: {high: sometimes}\n"


def action_rows(text):
    return [line for line in text.splitlines() if line.startswith("| ") and "(`" in line]


# -- demo ----------------------------------------------------------------------------


def test_demo_without_a_level_compares_the_three_levels_for_all_five_accounts(cli):
    result = cli("demo")
    assert result.exit_code == 0, result.stderr
    for name in DEMO_NAMES:
        assert f"## {name}:" in result.stdout
    assert "| Action | Priority | conservative | balanced | aggressive |" in result.stdout


def test_demo_comparison_shows_the_thriving_accounts_opportunities_and_plays(cli):
    text = cli("demo").stdout
    lumen = text[text.index("## Lumen Retail Group:") :]
    assert "Opportunities: expansion_ready, advocate, loyal_customer." in lumen
    upsell = "| Flag upsell opportunity to the account executive ⇄ | medium |"
    assert f"{upsell} approval_required | auto | auto |" in lumen
    assert (
        "| Propose a loyalty benefit | medium | recommend_only | recommend_only | recommend_only |"
        in lumen
    )
    assert "Five demo accounts." in text


def test_demo_comparison_marks_actions_whose_status_depends_on_the_level(cli):
    result = cli("demo")
    assert "⇄ |" in result.stdout


def test_demo_with_a_level_prints_the_full_briefs(cli):
    result = cli("demo", "--automation-level", "aggressive")
    assert result.exit_code == 0, result.stderr
    for name in DEMO_NAMES:
        assert f"## Health: {name}" in result.stdout
    assert result.stdout.count("### Recommended actions") == 5
    assert "| conservative | balanced | aggressive |" not in result.stdout


def test_demo_json_has_the_five_assessments(cli):
    result = cli("demo", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [a["name"] for a in data["assessments"]] == list(DEMO_NAMES)
    assert data["as_of"] == "2026-11-23"
    assert data["rejected"] == []


def test_demo_runs_more_automatically_as_the_level_rises(cli):
    autos = []
    for level in LEVELS:
        data = json.loads(cli("demo", "--automation-level", level, "--format", "json").stdout)
        assert data["automation_level"] == level
        statuses = [a["status"] for x in data["assessments"] for a in x["actions"]]
        autos.append(statuses.count("auto"))
    assert autos[0] == 0
    assert autos[0] < autos[1] <= autos[2]


def test_demo_rejects_an_invalid_policy(cli, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(BAD_POLICY)
    result = cli("demo", "--policy", policy)
    assert result.exit_code == 2
    assert "caps.high" in result.stderr


# -- policy show ------------------------------------------------------------------------


def test_policy_show_prints_the_fourteen_actions_for_every_segment_and_level(cli):
    result = cli("policy", "show")
    assert result.exit_code == 0, result.stderr
    assert len(action_rows(result.stdout)) == 14  # seed 000's ten remedies, four opportunity plays
    header = result.stdout.splitlines()[0]
    assert header.count(" / ") == 9  # 3 segments x 3 levels
    assert "smb / conservative" in header
    assert "enterprise / aggressive" in header


def test_policy_show_for_one_segment_and_level_has_one_column(cli):
    result = cli("policy", "show", "--segment", "enterprise", "--automation-level", "balanced")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "| Action | Sensitivity | enterprise |"
    rows = action_rows(result.stdout)
    assert len(rows) == 14
    # The enterprise row of seed 000's matrix needs approval for everything at balanced;
    # the floor keeps discounts, loyalty benefits and ownership changes a person's call.
    ownership = [
        r
        for r in rows
        if "`reassign_ownership`" in r or "`create_discount" in r or "`propose_loyalty" in r
    ]
    assert [r for r in rows if r.endswith("| recommend_only |")] == ownership
    assert all(row.endswith("| approval_required |") for row in rows if row not in ownership)


def test_policy_show_cells_are_the_stricter_of_matrix_and_level_cap(cli):
    result = cli("policy", "show", "--segment", "smb", "--automation-level", "conservative")
    [row] = [r for r in action_rows(result.stdout) if "`add_to_onboarding_recovery`" in r]
    # smb baseline is auto; conservative caps medium sensitivity at recommend_only.
    assert row.endswith("| medium | recommend_only |")


def test_policy_show_lists_signal_overrides_and_stop_rules(cli):
    result = cli("policy", "show", "--segment", "smb", "--automation-level", "aggressive")
    assert "(stop rule) →" in result.stdout
    assert "commercially_sensitive" in result.stdout


def test_policy_show_json_is_the_whole_policy(cli):
    result = cli("policy", "show", "--format", "json")
    data = json.loads(result.stdout)
    assert len(data["gate"]["matrix"]) == 14


# -- policy check ------------------------------------------------------------------------


def test_policy_check_accepts_a_valid_override(cli, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "gate:\n  automation_levels:\n    balanced:\n      caps: {low: approval_required}\n"
    )
    result = cli("policy", "check", policy)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("ok: ")


def test_policy_check_rejects_a_bad_value_naming_the_key(cli, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(BAD_POLICY)
    result = cli("policy", "check", policy)
    assert result.exit_code == 2
    assert "gate.automation_levels.balanced.caps.high = 'sometimes'" in result.stderr
    assert result.stdout == ""


def test_policy_check_json_says_valid_with_the_version(cli, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("history:\n  score_drop_points: 15\n")

    result = cli("policy", "check", policy, "--format", "json")

    assert result.exit_code == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["valid"], verdict["file"], verdict["errors"]) == (True, str(policy), [])
    assert verdict["policy_version"]


def test_policy_check_json_lists_the_errors_on_stdout_too(cli, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(BAD_POLICY)

    result = cli("policy", "check", policy, "--format", "json")

    assert result.exit_code == 2
    verdict = json.loads(result.stdout)
    assert (verdict["valid"], verdict["policy_version"]) == (False, None)
    assert any("gate.automation_levels.balanced.caps.high" in e for e in verdict["errors"])


def test_policy_check_rejects_an_unknown_key_naming_it(cli, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("gate:\n  automation_levels:\n    balanced:\n      speed: 11\n")
    result = cli("policy", "check", policy)
    assert result.exit_code == 2
    assert "gate.automation_levels.balanced.speed" in result.stderr


def test_policy_check_rejects_broken_yaml(cli, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("gate: [1\n")
    result = cli("policy", "check", policy)
    assert result.exit_code == 2
    assert "YAML" in result.stderr


def test_policy_check_of_a_missing_file_exits_2(cli, tmp_path):
    result = cli("policy", "check", tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr
