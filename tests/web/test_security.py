"""Who may ask what: the token, the Host check, CSRF, the upload cap and the headers."""

from __future__ import annotations

import pytest
from web_support import csrf, pending

from skill.web.security import token_problem

TOKEN = "s3cret-token-for-tests-0123"


@pytest.fixture
def guarded(make_client, db):
    return make_client(db_path=db, token=TOKEN, allowed_hosts=None)


@pytest.mark.parametrize("path", ["/portfolio", "/static/app.css", "/api/session", "/try"])
def test_with_a_token_every_request_needs_it(guarded, path):
    response = guarded.get(path)
    assert response.status_code == 401
    assert "needs its access token" in response.text


def test_an_api_request_without_the_token_gets_a_json_error(guarded):
    assert guarded.get("/api/portfolio").json()["code"] == "token_required"


def test_the_bearer_header_opens_the_api(guarded):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/api/portfolio", headers=headers).status_code == 200


def test_a_wrong_token_is_refused(guarded):
    headers = {"Authorization": "Bearer not-the-token-at-all"}
    assert guarded.get("/api/portfolio", headers=headers).status_code == 401


def test_the_login_link_sets_a_cookie_and_drops_the_token_from_the_url(guarded):
    response = guarded.get(f"/login?token={TOKEN}&next=/queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/queue"
    assert TOKEN not in response.headers["set-cookie"]
    assert guarded.get("/portfolio").status_code == 200


def test_the_login_link_goes_nowhere_off_site(guarded):
    response = guarded.get(f"/login?token={TOKEN}&next=//evil.example", follow_redirects=False)
    assert response.headers["location"] == "/"


def test_a_header_token_needs_no_csrf_token(guarded):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    items = guarded.get("/api/actions", headers=headers).json()["actions"]
    key = items[0]["action_key"]
    response = guarded.post(
        f"/api/actions/{key}/approve", json={"by": "Morgan Lee"}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["decision"]["decided_by"] == "Morgan Lee"


def test_a_post_without_the_csrf_token_is_refused(client):
    key = pending(client)[0]["action_key"]
    response = client.post(f"/queue/actions/{key}/approve", data={"by": "Mallory"})
    assert response.status_code == 403
    assert "security token is missing or out of date" in response.text
    assert key in {a["action_key"] for a in pending(client)}


def test_a_csrf_token_of_another_session_is_refused(client, make_client, db):
    other = make_client(db_path=db)
    key = pending(client)[0]["action_key"]
    data = {"by": "Mallory", "csrf_token": csrf(other)}
    response = client.post(f"/queue/actions/{key}/approve", data=data)
    assert response.status_code == 403


def test_an_api_post_without_the_csrf_header_is_refused(client):
    response = client.post("/api/assess", json={"accounts": [], "as_of": "2026-11-23"})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


def test_a_foreign_host_name_is_refused_on_loopback(make_client, db):
    client = make_client(db_path=db, base_url="http://rebound.example:8765")
    response = client.get("/portfolio")
    assert response.status_code == 400
    assert "unexpected Host header" in response.text


def test_pages_carry_the_security_headers(client):
    headers = client.get("/try").headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def test_the_session_cookie_is_http_only_and_same_site(client):
    cookie = client.get("/try").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_pages_have_no_inline_script(client):
    import re

    for path in ("/try", "/portfolio", "/accounts/ACC-1001", "/queue", "/upload", "/api"):
        html = client.get(path).text
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/app.js" defer>']
        assert " style=" not in html and "<style" not in html
        assert not re.search(r"\son[a-z]+=", html)


def test_a_body_over_the_cap_is_refused_before_it_is_read(make_client, db):
    client = make_client(db_path=db, max_upload_bytes=1000)
    token = csrf(client)
    files = {"file": ("big.csv", b"account_id,segment\n" + b"A,smb\n" * 20_000)}
    response = client.post(
        "/upload", data={"csrf_token": token, "as_of": "2026-11-23"}, files=files
    )
    assert response.status_code == 413
    assert "the workspace takes at most" in response.text


def test_a_short_token_is_refused():
    assert "use at least 16" in token_problem("0.0.0.0", "short")


def test_loopback_needs_no_token():
    assert token_problem("127.0.0.1", None) is None
    assert token_problem("::1", None) is None
