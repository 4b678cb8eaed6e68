"""Approvals and reviews from the browser: the CLI's rules, recorded where the CLI looks."""

from __future__ import annotations

import shutil
from datetime import date

from web_support import cli_json, csrf, pending

from skill.store.history import idempotency_key
from skill.vocabulary import ActionStatus


def approve(client, key: str, by: str = "Morgan Lee", reason: str = "spoke to the champion"):
    data = {"csrf_token": csrf(client), "by": by, "reason": reason, "back": "/queue"}
    return client.post(f"/queue/actions/{key}/approve", data=data, follow_redirects=False)


def test_approving_removes_the_action_from_pending(client):
    key = pending(client, owner="Morgan Lee")[0]["action_key"]
    response = approve(client, key)
    assert response.status_code == 303
    assert response.headers["location"] == f"/queue?decided={key}"
    assert key not in {a["action_key"] for a in pending(client)}


def test_a_browser_decision_is_what_actions_list_shows(client, db):
    key = pending(client, owner="Morgan Lee")[0]["action_key"]
    approve(client, key, by="Morgan Lee", reason="spoke to the champion")
    listed = cli_json("actions", "list", "--state", "approved", "--db", str(db))["actions"]
    decision = next(a for a in listed if a["action_key"] == key)["decision"]
    assert decision["decision"] == "approve"
    assert decision["decided_by"] == "Morgan Lee"
    assert decision["reason"] == "spoke to the champion"


def test_a_cli_decision_leaves_the_queue_page(client, db):
    key = pending(client)[0]["action_key"]
    cli_json("actions", "approve", key, "--by", "Dana Reyes", "--db", str(db))
    assert f"/queue/actions/{key}/approve" not in client.get("/queue").text


def test_the_page_says_what_was_decided(client):
    key = pending(client, owner="Morgan Lee")[0]["action_key"]
    page = approve(client, key, by="Morgan Lee")
    notice = client.get(page.headers["location"]).text
    assert "<strong>approved</strong> by Morgan Lee" in notice


def test_a_second_decision_is_refused(client):
    key = pending(client)[0]["action_key"]
    approve(client, key, by="Morgan Lee")
    response = approve(client, key, by="Sam Okafor")
    assert response.status_code == 409
    assert "cannot be approved: it was already approved by Morgan Lee" in response.text


def test_approving_a_blocked_action_is_refused(make_client, blocked_history, tmp_path):
    db = tmp_path / "blocked.sqlite3"
    shutil.copy(blocked_history, db)
    client = make_client(db_path=db)
    key = idempotency_key("ACC-1001", "notify_owner_slack", date(2026, 11, 23))
    item = client.get("/api/actions", params={"state": "blocked"}).json()["actions"]
    assert key in {a["action_key"] for a in item}
    response = approve(client, key)
    assert response.status_code == 409
    assert "cannot be approved: it is blocked" in response.text
    listed = cli_json("actions", "list", "--state", "blocked", "--db", str(db))["actions"]
    assert next(a for a in listed if a["action_key"] == key)["decision"] is None


def test_approving_a_recommend_only_action_is_refused(client):
    item = client.get("/api/actions", params={"state": "recommended"}).json()["actions"][0]
    assert item["status"] == ActionStatus.RECOMMEND_ONLY.value
    response = approve(client, item["action_key"])
    assert response.status_code == 409
    assert "it is recommend_only" in response.text


def test_a_rejection_needs_a_reason(client):
    key = pending(client)[0]["action_key"]
    data = {"csrf_token": csrf(client), "by": "Morgan Lee", "reason": " "}
    response = client.post(f"/queue/actions/{key}/reject", data=data)
    assert response.status_code == 409
    assert "a rejection needs a reason" in response.text
    assert key in {a["action_key"] for a in pending(client)}


def test_a_decision_needs_a_name(client):
    key = pending(client)[0]["action_key"]
    response = approve(client, key, by="  ")
    assert response.status_code == 409
    assert "a decision needs the name of who made it" in response.text


def test_review_done_records_who_and_the_note(client, db):
    task = client.get("/api/reviews").json()["tasks"][0]
    data = {"csrf_token": csrf(client), "by": "Dana Reyes", "note": "usage dip explained"}
    response = client.post(
        f"/queue/reviews/{task['account_id']}/done", data=data, follow_redirects=False
    )
    assert response.status_code == 303
    done = cli_json("review", "list", "--state", "done", "--db", str(db))["tasks"]
    closed = next(t for t in done if t["account_id"] == task["account_id"])
    assert (closed["done_by"], closed["note"]) == ("Dana Reyes", "usage dip explained")


def test_read_only_hides_and_refuses_decisions(make_client, db):
    client = make_client(db_path=db, read_only=True)
    key = pending(client)[0]["action_key"]
    assert 'class="approve"' not in client.get("/queue").text
    response = approve(client, key)
    assert response.status_code == 403
    assert "read-only" in response.text
    assert key in {a["action_key"] for a in pending(client)}
