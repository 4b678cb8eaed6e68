"""Each page renders what it is for, from the recorded history, and says plainly what is missing."""

from __future__ import annotations

import re
from html import unescape

from account_templates import DEMO_COUNT
from web_support import LATEST, SCRIPT_NOTE


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_home_opens_the_portfolio_when_there_is_history(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/portfolio"


def test_home_opens_try_it_without_a_database(make_client, tmp_path):
    response = make_client(db_path=tmp_path / "none.sqlite3").get("/", follow_redirects=False)
    assert response.headers["location"] == "/try"


def test_portfolio_lists_every_account_of_the_latest_date(client):
    page = text(client.get("/portfolio").text)
    assert f"{DEMO_COUNT} of {DEMO_COUNT} accounts assessed on {LATEST}" in page
    for name in ("Northwind Logistics", "GreenSprout Onboarding", "HarborView Manufacturing"):
        assert name in page


def test_portfolio_shows_arr_by_band_and_movers(client):
    summary = client.get("/api/portfolio/summary").json()
    page = text(client.get("/portfolio").text)
    assert "Share of ARR by band" in page and "Biggest movers" in page
    mover = summary["movers"][0]
    assert f"{mover['previous_score']} → {mover['score']}" in page


def test_portfolio_draws_a_score_line_per_account(client):
    html = client.get("/portfolio").text
    assert html.count('class="sparkline"') == DEMO_COUNT
    assert html.count('<polyline class="spark-line"') == DEMO_COUNT  # two recorded dates each


def test_portfolio_filters_by_band_and_flag(client):
    rows = client.get("/api/portfolio").json()["rows"]
    flag = rows[0]["flags"][0]
    with_flag = {r["name"] for r in rows if flag in r["flags"]}
    page = text(client.get("/portfolio", params={"flag": flag}).text)
    assert f"{len(with_flag)} of {DEMO_COUNT} accounts" in page
    for row in rows:
        assert (row["name"] in page) == (row["name"] in with_flag)


def test_portfolio_sorts_by_arr_descending(client):
    html = client.get("/portfolio", params={"sort": "-arr"}).text
    names = re.findall(r'<a href="/accounts/[^"]+">([^<]+)</a><div class="muted small">', html)
    arr = {r["name"]: r["arr"] for r in client.get("/api/portfolio").json()["rows"]}
    assert names == sorted(arr, key=lambda n: -arr[n])


def test_portfolio_names_a_bad_filter_value_next_to_its_field(client):
    response = client.get("/portfolio", params={"arr_min": "lots"})
    assert response.status_code == 200
    assert "arr_min &#39;lots&#39;: Input should be a valid number" in response.text


def test_portfolio_pages_by_one_hundred(client):
    page = text(client.get("/portfolio", params={"page": "2"}).text)
    assert "No account matches these filters." in page


def test_portfolio_without_a_database_says_how_to_create_one(make_client, tmp_path):
    missing = tmp_path / "none.sqlite3"
    response = make_client(db_path=missing).get("/portfolio")
    assert response.status_code == 200
    page = text(response.text)
    assert f"No history database at {missing}" in page
    assert f"account-health run FILE --as-of DATE --db {missing}" in page
    assert not missing.exists()


def test_account_page_shows_the_latest_assessment_in_full(client):
    assessment = client.get("/api/accounts/ACC-1001").json()
    page = text(client.get("/accounts/ACC-1001").text)
    assert "Health: Northwind Logistics" in page
    assert f"as of {LATEST}" in page
    for flag in assessment["flags"]:
        assert flag["label"] in page
    for dimension in assessment["dimensions"]:
        assert dimension["evidence"][0]["text"] in page
    assert assessment["review_task"]["reasons"][0] in page
    assert "Legacy health score (additive baseline)" in page


def test_account_page_charts_the_score_history_with_the_trend_note(client):
    html = client.get("/accounts/ACC-1001").text
    assert html.count('class="score-chart"') == 1
    assert html.count('<circle class="dot band-') == 2
    assert "since 2026-11-23" in text(html)


def test_account_page_lists_the_accounts_pending_actions_with_decisions(client):
    keys = [
        a["action_key"]
        for a in client.get("/api/actions", params={"account_id": "ACC-1001"}).json()["actions"]
        if a["state"] == "pending"
    ]
    html = client.get("/accounts/ACC-1001").text
    assert keys
    for key in keys:
        assert f'action="/queue/actions/{key}/approve"' in html


def test_unknown_account_is_a_404_naming_it(client):
    response = client.get("/accounts/ACC-404")
    assert response.status_code == 404
    assert "no assessment recorded for account_id ACC-404" in text(response.text)


def test_a_script_in_a_crm_note_is_shown_as_text(client):
    html = client.get("/accounts/ACC-1003").text
    assert "<script>document.title" not in html
    assert "&lt;script&gt;document.title=&#39;pwned&#39;" in html
    assert SCRIPT_NOTE.split("</script>")[1].strip() in text(html)
    assert len(re.findall(r"<script\b", html)) == 1  # only the page's own, from /static


def test_brief_button_drafts_from_templates_and_says_nothing_is_sent(client, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    token = client.get("/api/session").json()["csrf_token"]
    page = text(client.post("/accounts/ACC-1002/brief", data={"csrf_token": token}).text)
    assert "Drafts only: nothing is sent." in page
    assert "Words from templates (ANTHROPIC_API_KEY is not set)" in page


def test_email_button_shows_a_draft_that_needs_approval(client, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    token = client.get("/api/session").json()["csrf_token"]
    page = text(client.post("/accounts/ACC-1004/email", data={"csrf_token": token}).text)
    assert "Draft: needs approval before sending. Nothing has been sent." in page
    assert "Subject:" in page


def test_queue_lists_pending_actions_and_open_reviews(client):
    actions = client.get("/api/actions").json()["actions"]
    tasks = client.get("/api/reviews").json()["tasks"]
    html = client.get("/queue").text
    assert html.count('class="approve"') == len(actions) > 0
    assert html.count(">Review done</button>") == len(tasks) > 0


def test_queue_filters_by_owner(client):
    owner = "Morgan Lee"
    theirs = client.get("/api/actions", params={"owner": owner}).json()["actions"]
    html = client.get("/queue", params={"owner": owner}).text
    assert html.count('class="approve"') == len(theirs) > 0
    listed = html.split("Pending approval")[1].split("Owner reviews")[0]
    assert "Priya Natarajan" not in listed and "Dana Reyes" not in listed


def test_queue_without_a_database_is_a_404_saying_how_to_create_one(make_client, tmp_path):
    response = make_client(db_path=tmp_path / "none.sqlite3").get("/queue")
    assert response.status_code == 404
    assert "no history database at" in text(response.text)


def test_upload_page_offers_assess_and_record(client):
    page = text(client.get("/upload").text)
    assert "Assess only (nothing is recorded)" in page
    assert "Record in the history database" in page


def test_api_page_lists_the_documented_endpoints(client):
    page = text(client.get("/api").text)
    assert "/api/openapi.json" in page
    for path in ("/api/assess", "/api/portfolio", "/api/actions/{key}/approve"):
        assert path in page


def test_an_unknown_page_is_a_404(client):
    assert client.get("/nowhere").status_code == 404
