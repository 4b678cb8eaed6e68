"""The JSON API: the library's models, as the CLI prints them with --format json."""

from __future__ import annotations

import json

import pytest
from account_templates import DEMO_COUNT
from web_support import LATEST, cli_json, csrf

from skill.demo import demo_file


@pytest.fixture
def api(client):
    """The client with the session's CSRF header, as a script would send it."""
    client.headers["X-CSRF-Token"] = csrf(client)
    return client


def demo_accounts() -> list[dict]:
    return json.loads(demo_file().read_text(encoding="utf-8"))["accounts"]


def test_the_openapi_document_lists_every_endpoint(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/session", "/api/policy", "/api/catalogue", "/api/assess", "/api/brief",
        "/api/email", "/api/portfolio", "/api/portfolio/summary", "/api/accounts/{account_id}",
        "/api/accounts/{account_id}/history", "/api/actions", "/api/actions/{key}/approve",
        "/api/actions/{key}/reject", "/api/reviews", "/api/reviews/{account_id}/done",
        "/api/report", "/api/measure", "/api/runs",
    ):  # fmt: skip
        assert path in paths
    assert not any(not p.startswith("/api/") for p in paths)


def test_assess_gives_the_clis_document_plus_warnings(api, tmp_path):
    reply = api.post("/api/assess", json={"accounts": demo_accounts(), "as_of": "2026-11-23"})
    cli = cli_json("assess", str(demo_file()), "--as-of", "2026-11-23")
    body = reply.json()
    assert body.pop("warnings") == []
    assert body == cli


def test_assess_rejects_a_bad_record_and_keeps_the_others(api):
    accounts = demo_accounts()
    accounts[1]["csat"] = 9
    body = api.post("/api/assess", json={"accounts": accounts, "as_of": "2026-11-23"}).json()
    assert len(body["assessments"]) == len(accounts) - 1
    assert body["rejected"][0]["errors"][0]["field"] == "csat"


def test_a_bad_date_is_an_error_in_the_mcp_shape(api):
    reply = api.post("/api/assess", json={"accounts": [], "as_of": "2026-13-01"})
    assert reply.status_code == 400
    assert reply.json() == {
        "code": "invalid_date",
        "field": "as_of",
        "value": "2026-13-01",
        "message": "as_of '2026-13-01' is not a date; expected YYYY-MM-DD",
    }


def test_a_bad_argument_names_it(client):
    reply = client.get("/api/portfolio", params={"band": "purple"})
    assert reply.status_code == 422
    assert reply.json()["field"] == "band"
    assert reply.json()["message"].startswith("Invalid value for 'band'")


def test_brief_drafts_from_templates_without_a_key(api, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    body = api.post(
        "/api/brief",
        json={"accounts": demo_accounts(), "as_of": "2026-11-23", "account_id": "ACC-1002"},
    ).json()
    assert body["drafting"]["source"] == "template"
    assert [b["assessment"]["account_id"] for b in body["briefs"]] == ["ACC-1002"]


def test_email_is_a_draft_needing_approval(api, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    body = api.post(
        "/api/email",
        json={"accounts": demo_accounts(), "as_of": "2026-11-23", "account_id": "ACC-1004"},
    ).json()
    assert body["is_draft"] is True and body["requires_approval"] is True


def test_email_for_an_unknown_account_is_a_404(api):
    reply = api.post(
        "/api/email", json={"accounts": demo_accounts(), "as_of": "2026-11-23", "account_id": "X"}
    )
    assert reply.status_code == 404
    assert reply.json()["code"] == "unknown_account"


def test_policy_and_catalogue_match_the_cli(client):
    policy = client.get("/api/policy", params={"segment": "smb"}).json()
    assert policy["segments"] == ["smb"]
    catalogue = client.get("/api/catalogue").json()
    assert {a["id"] for a in catalogue["actions"]} == {r["action"] for r in policy["actions"]}


def test_portfolio_pages_with_next_offset(client):
    first = client.get("/api/portfolio", params={"limit": 3, "sort": "-arr"}).json()
    assert first["total"] == DEMO_COUNT and first["next_offset"] == 3
    second = client.get("/api/portfolio", params={"limit": 3, "offset": 3, "sort": "-arr"}).json()
    assert second["next_offset"] is None
    arr = [r["arr"] for r in first["rows"] + second["rows"]]
    assert arr == sorted(arr, reverse=True)


def test_portfolio_summary_matches_the_report(client):
    summary = client.get("/api/portfolio/summary").json()
    report = client.get("/api/report").json()
    assert summary["arr_by_band"] == report["arr_by_band"]
    assert summary["movers"] == report["movers"]


def test_account_is_the_recorded_assessment(client, db):
    body = client.get("/api/accounts/ACC-1001").json()
    assert body["as_of"] == LATEST
    history = client.get("/api/accounts/ACC-1001/history").json()["history"]
    assert [p["as_of"] for p in history] == ["2026-11-23", LATEST]
    assert history[-1]["score"] == body["score"]


def test_unknown_account_is_a_404_naming_it(client):
    reply = client.get("/api/accounts/ACC-404")
    assert reply.status_code == 404
    assert reply.json()["value"] == "ACC-404"


def test_account_brief_and_email(api, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    brief = api.post("/api/accounts/ACC-1001/brief").json()
    assert brief["briefs"][0]["assessment"]["as_of"] == LATEST
    email = api.post("/api/accounts/ACC-1001/email").json()
    assert email["account_id"] == "ACC-1001" and email["is_draft"] is True


def test_actions_list_is_actions_list_json(client, db):
    api_list = client.get("/api/actions", params={"limit": 5000}).json()
    cli = cli_json("actions", "list", "--state", "pending", "--db", str(db))
    assert api_list == cli


def test_approve_and_reject_through_the_api(api, db):
    first, second = api.get("/api/actions").json()["actions"][:2]
    approved = api.post(f"/api/actions/{first['action_key']}/approve", json={"by": "Sam Okafor"})
    assert approved.json()["state"] == "approved"
    rejected = api.post(
        f"/api/actions/{second['action_key']}/reject", json={"by": "Sam Okafor", "reason": "later"}
    )
    assert rejected.json()["decision"]["reason"] == "later"
    again = api.post(f"/api/actions/{first['action_key']}/approve", json={"by": "Sam Okafor"})
    assert again.status_code == 409 and again.json()["code"] == "refused"


def test_reviews_and_review_done(api, db):
    tasks = api.get("/api/reviews").json()
    assert tasks == cli_json("review", "list", "--state", "open", "--db", str(db))
    account = tasks["tasks"][0]["account_id"]
    done = api.post(f"/api/reviews/{account}/done", json={"by": "Dana Reyes", "note": "ok"})
    assert done.json()["task"]["done_by"] == "Dana Reyes"


def test_report_and_measure_match_the_cli(client, db):
    assert client.get("/api/report", params={"as_of": LATEST}).json() == cli_json(
        "report", "--as-of", LATEST, "--db", str(db)
    )
    assert client.get("/api/measure", params={"as_of": LATEST}).json() == cli_json(
        "measure", "--as-of", LATEST, "--db", str(db)
    )


def test_history_endpoints_without_a_database_say_how_to_create_one(make_client, tmp_path):
    client = make_client(db_path=tmp_path / "none.sqlite3")
    reply = client.get("/api/portfolio")
    assert reply.status_code == 404
    assert reply.json()["code"] == "no_database"
    assert "account-health run FILE --db" in reply.json()["message"]


def test_recording_into_a_file_that_is_not_a_database_is_refused(make_client, tmp_path):
    path = tmp_path / "notes.sqlite3"
    path.write_text("account_id,outcome\nA,churned\n", encoding="utf-8")
    api = make_client(db_path=path)
    api.headers["X-CSRF-Token"] = csrf(api)
    files = {"file": ("demo.json", demo_file().read_bytes())}
    reply = api.post("/api/runs", data={"as_of": "2026-12-07"}, files=files)
    assert reply.status_code == 404
    assert reply.json()["code"] == "no_database"
    assert reply.json()["message"] == f"{path} is not a usable history database: not a SQLite file"
    assert path.read_text(encoding="utf-8") == "account_id,outcome\nA,churned\n"


def test_recording_a_file_through_the_api(api, db):
    files = {"file": ("demo.json", demo_file().read_bytes())}
    reply = api.post("/api/runs", data={"as_of": "2026-12-07"}, files=files)
    assert reply.status_code == 200
    assert reply.json()["recorded"] == DEMO_COUNT
    assert api.get("/api/portfolio").json()["as_of"] == "2026-12-07"
