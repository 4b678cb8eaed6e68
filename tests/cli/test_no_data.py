"""An account with only its identity fields is assessed, not rejected: no score,
band and tier no_data, lowest confidence, nothing automatic, a review task asking
the owner to connect data, and it is counted by run, report and measure."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
FILE = EXPORTS / "identity-only.csv"
AS_OF = ("--as-of", "2026-11-20")

Cli = Callable[..., Result]


def _assessed(result: Result) -> dict[str, dict]:
    return {a["account_id"]: a for a in json.loads(result.stdout)["assessments"]}


def test_identity_only_account_is_assessed_as_no_data(cli: Cli) -> None:
    result = cli("assess", FILE, *AS_OF, "--format", "json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["rejected"] == []
    accounts = _assessed(result)
    assert set(accounts) == {"ACME-1", "NEW-1", "BETA-2"}
    new = accounts["NEW-1"]
    assert new["score"] is None and new["raw_score"] is None
    assert new["band"] == "no_data" and new["tier"] == "no_data"
    assert new["confidence"] == "low" and new["account_evidence"] == "low"
    assert new["dimensions"] == [] and new["caps"] == [] and new["trend"] is None
    assert {m["dimension"] for m in new["missing_data"]} == {
        "usage",
        "adoption",
        "support",
        "satisfaction",
        "commercial",
        "relationship",
        "outcomes",
    }
    assert all(not s["connected"] and not s["fields_used"] for s in new["sources"])
    assert new["actions"], "the engine still proposes what a person may do"
    for action in new["actions"]:
        assert action["status"] != "auto"
        assert "evidence_missing" in [t["rule"] for t in action["policy_trace"]]
    reasons = new["review_task"]["reasons"]
    assert any("connect" in r for r in reasons)
    assert new["measurement_event"]["score"] is None
    # The other accounts keep their scores.
    assert isinstance(accounts["ACME-1"]["score"], int)
    assert isinstance(accounts["BETA-2"]["score"], int)


def test_no_data_renders_without_inventing_a_number(cli: Cli) -> None:
    table = cli("assess", FILE, *AS_OF, "--format", "table")
    assert table.exit_code == 0, table.stderr
    assert "no_data" in table.stdout and "None" not in table.stdout
    brief = cli("brief", FILE, *AS_OF, "--account", "NEW-1", "--format", "md")
    assert brief.exit_code == 0, brief.stderr
    assert "**Score:** no data" in brief.stdout
    assert "No data: no signal for this account" in brief.stdout
    assert "There is no score: connect these sources" in brief.stdout
    assert "**Score:** None" not in brief.stdout and "scores None" not in brief.stdout


def test_run_report_and_measure_count_the_no_data_account(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    run = cli("run", FILE, *AS_OF, "--db", db, "--format", "json")
    assert run.exit_code == 0, run.stderr
    report = cli("report", "--db", db, "--format", "json")
    assert report.exit_code == 0, report.stderr
    body = json.loads(report.stdout)
    assert body["accounts"] == 3
    bands = {b["band"]: b for b in body["arr_by_band"]}
    assert bands["no_data"]["accounts"] == 1 and bands["no_data"]["arr"] == 30000
    # A second week: a scored account after a no_data one has no delta against null.
    again = cli("run", FILE, "--as-of", "2026-11-27", "--db", db, "--format", "json")
    assert again.exit_code == 0, again.stderr
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text(
        "account_id,outcome,date\nNEW-1,churned,2026-12-01\nACME-1,renewed,2026-12-01\n"
        "BETA-2,churned,2026-12-01\n",
        encoding="utf-8",
    )
    assert cli("outcomes", "import", outcomes, "--db", db).exit_code == 0
    measure = cli("measure", "--db", db, "--as-of", "2026-12-02", "--format", "json")
    assert measure.exit_code == 0, measure.stderr
    m = json.loads(measure.stdout)
    (overall,) = [r for r in m["ranking"] if r["scope"] == "all"]
    assert overall["n"] == 3 and overall["without_score"] == 1
    no_data = [r for r in m["churn_by_band"] if r["group"] == "no_data"]
    assert no_data and no_data[0]["n"] == 1 and no_data[0]["churned"] == 1
    text = cli("measure", "--db", db, "--as-of", "2026-12-02")
    assert text.exit_code == 0, text.stderr
    assert "left out of the health score AUC" in text.stdout
