"""`account-health assess`: what belongs to the run, not to one account.

A source no record of the input has data for is reported once and opens no
review task or approval on its own; the review budget caps the run's review
tasks and lists the rest as also at risk.
"""

from __future__ import annotations

import json

import pytest
from account_templates import CRM_FIELDS
from cli_support import AS_OF, HEALTHY

SUPPORT_FIELDS = (
    "open_tickets",
    "tickets_30d",
    "tickets_prev_30d",
    "escalations_90d",
    "sev1_open",
    "support_synced_at",
)
NOT_CONNECTED = "not connected in this input"
EVIDENCE = "Evidence to check - this account's data is stale, conflicting or incomplete"


def product_only(account_id: str) -> dict:
    """The healthy account with no CRM and no support field: confidence low."""
    left_out = {*CRM_FIELDS, *SUPPORT_FIELDS}
    return {k: v for k, v in {**HEALTHY, "account_id": account_id}.items() if k not in left_out}


PRODUCT_ONLY = [product_only(f"ACC-{i}") for i in range(1, 4)]


def assess_json(cli, path, *args):
    result = cli("assess", path, "--as-of", AS_OF, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return result, json.loads(result.stdout)


def evidence_stops(assessment: dict) -> list[str]:
    return [
        decision["rule"]
        for action in assessment["actions"]
        for decision in action["policy_trace"]
        if decision["rule"] == "evidence_missing"
    ]


@pytest.mark.parametrize("kind", ["csv", "jsonl", "json"])
def test_a_source_with_no_data_in_the_input_is_reported_once(cli, write_input, kind):
    result, document = assess_json(cli, write_input(PRODUCT_ONLY, kind))
    assert result.stderr.count(NOT_CONNECTED) == 1
    assert "CRM, support platform" in result.stderr
    assert document["sources_not_connected"] == ["crm", "support"]


def test_a_column_empty_in_every_row_is_not_connected(cli, write_input):
    rows = [{**account, "open_tickets": "", "csat": ""} for account in PRODUCT_ONLY]
    _, document = assess_json(cli, write_input(rows, "csv"))
    assert document["sources_not_connected"] == ["crm", "support"]


def test_sources_not_connected_open_no_review_task_and_hold_back_no_action(cli, write_input):
    _, document = assess_json(cli, write_input(PRODUCT_ONLY, "csv"))
    for assessment in document["assessments"]:
        assert assessment["confidence"] == "low"
        assert "CRM not connected in this input" in assessment["confidence_reasons"]
        assert assessment["review_task"] is None
        assert evidence_stops(assessment) == []


def test_a_source_missing_for_one_account_only_still_opens_its_review(cli, write_input):
    gap = {**HEALTHY, "account_id": "ACC-GAP", **dict.fromkeys(CRM_FIELDS, "")}
    _, document = assess_json(cli, write_input([HEALTHY, gap], "csv"))
    assert document["sources_not_connected"] == []
    by_id = {a["account_id"]: a for a in document["assessments"]}
    assert by_id["ACC-GAP"]["review_task"]["reasons"] == [EVIDENCE]
    assert evidence_stops(by_id["ACC-GAP"])
    assert by_id["ACC-1"]["review_task"] is None


def test_markdown_says_once_what_is_not_connected(cli, write_input):
    result = cli("assess", write_input(PRODUCT_ONLY), "--as-of", AS_OF, "--format", "md")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("**Not connected in this input:**") == 1
    assert result.stdout.startswith("> **Not connected in this input:** CRM, support platform.")


# -- the review budget -------------------------------------------------------------


@pytest.fixture
def tight_budget(tmp_path):
    path = tmp_path / "budget.yaml"
    path.write_text(
        "actions:\n  review_task:\n    budget: {max_share: 0.25, min_tasks: 1}\n", encoding="utf-8"
    )
    return path


def escalated(count: int) -> list[dict]:
    """Accounts with an escalation (a review reason), ARR rising with the number."""
    return [
        {**HEALTHY, "account_id": f"ACC-{i:02d}", "arr": 10000 * i, "escalations_90d": 1}
        for i in range(1, count + 1)
    ]


def test_the_budget_is_reported_with_the_accounts_also_at_risk(cli, write_input, tight_budget):
    path = write_input(escalated(8), "csv")
    result, document = assess_json(cli, path, "--policy", tight_budget)
    budget = document["review_budget"]
    assert (budget["accounts"], budget["limit"], budget["flagged"], budget["kept"]) == (8, 2, 8, 2)
    deferred = [a["account_id"] for a in budget["also_at_risk"]]
    assert deferred == [f"ACC-{i:02d}" for i in range(6, 0, -1)]
    assert "review budget: 2 of 8 account(s) keep a review task" in result.stderr


def test_markdown_ends_with_the_review_budget(cli, write_input, tight_budget):
    path = write_input(escalated(8), "csv")
    result = cli("assess", path, "--as-of", AS_OF, "--format", "md", "--policy", tight_budget)
    tail = result.stdout.rsplit("## Review budget", 1)[1]
    assert "2 of 8 accounts keep an owner review task" in tail
    assert "### Also at risk" in tail and "| 3 | ACC-06 |" in tail


def test_the_same_input_gives_byte_identical_json_with_the_budget(cli, write_input, tight_budget):
    path = write_input(escalated(8) + PRODUCT_ONLY, "csv")
    args = ("assess", path, "--as-of", AS_OF, "--format", "json", "--policy", tight_budget)
    first, second = cli(*args).stdout, cli(*args).stdout
    assert first == second
    assert json.loads(first)["review_budget"]["also_at_risk"]


def test_the_order_of_the_input_does_not_change_the_budget(cli, write_input, tight_budget):
    forward = write_input(escalated(8), "csv", name="forward.csv")
    backward = write_input(escalated(8)[::-1], "csv", name="backward.csv")
    budgets = [
        assess_json(cli, path, "--policy", tight_budget)[1]["review_budget"]
        for path in (forward, backward)
    ]
    assert budgets[0] == budgets[1]
