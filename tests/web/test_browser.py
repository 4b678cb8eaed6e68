"""The workspace in a real browser: Playwright driving the system's Chromium.

One server and one browser for the whole module. Skipped, with one line saying
how to install it, when Playwright or Chromium is missing. Screenshots of each
page go to test-artifacts/screenshots/ (not committed).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ACCOUNT_HEALTH_CHROMIUM") or shutil.which("chromium") or ""
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None
if sync_playwright is None or not Path(CHROMIUM).is_file():
    pytest.skip(
        "browser tests need Chromium and Playwright: apt-get install chromium "
        "(and pip install playwright)",
        allow_module_level=True,
    )

import uvicorn  # noqa: E402
from web_support import cli_json  # noqa: E402

from skill import assess  # noqa: E402
from skill.demo import demo_as_of, demo_file  # noqa: E402
from skill.web.app import create_app  # noqa: E402
from skill.web.workspace import WebConfig  # noqa: E402

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
RANK = ["auto", "approval_required", "recommend_only", "blocked"]


@pytest.fixture(scope="module")
def db(demo_history, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("browser") / "history.sqlite3"
    shutil.copy(demo_history, copy)
    return copy


@pytest.fixture(scope="module")
def base_url(db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(WebConfig(db_path=db)), host="127.0.0.1", port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the workspace did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()


def statuses_on(page) -> dict[str, str]:
    found = {}
    for row in page.locator("#try-result tr[data-action]").all():
        found[row.get_attribute("data-action")] = row.locator("[data-status]").get_attribute(
            "data-status"
        )
    return found


def wait_for_update(page, before: str | None) -> None:
    page.wait_for_function(
        "(before) => document.getElementById('try-result').getAttribute('data-updates') !== before"
        " && !document.getElementById('try-form').hasAttribute('aria-busy')",
        arg=before,
    )


def updates(page) -> str | None:
    return page.locator("#try-result").get_attribute("data-updates")


def test_switching_levels_changes_statuses_as_assess_reports_them(page, base_url):
    page.goto(f"{base_url}/try")
    before = updates(page)
    page.check("input[name=account][value='3']")
    wait_for_update(page, before)
    seen = {}
    for level in ("conservative", "balanced", "aggressive"):
        before = updates(page)
        page.check(f"input[name=automation_level][value={level}]")
        wait_for_update(page, before)
        assert page.locator("#try-result").get_attribute("data-level") == level
        expected = assess(demo_file(), as_of=demo_as_of(), level=level).assessments[3]
        seen[level] = statuses_on(page)
        assert seen[level] == {a.action: a.status.value for a in expected.actions}
    assert seen["conservative"] != seen["aggressive"]
    assert page.url.endswith("/try")  # no page load: the script updated the result


def test_a_major_blocker_makes_customer_facing_actions_stricter(page, base_url):
    page.goto(f"{base_url}/try")
    trace = "#try-result tr[data-kind=customer_facing] details.trace"
    assert "major_blocker_outreach" not in " ".join(page.locator(trace).all_text_contents())
    before_statuses = statuses_on(page)
    before = updates(page)
    page.fill("#f-0-blocker", "major")
    page.press("#f-0-blocker", "Tab")
    wait_for_update(page, before)
    traces = page.locator(trace).all_text_contents()
    assert traces and all("major_blocker_outreach" in t for t in traces)
    after = statuses_on(page)
    assert all(RANK.index(after[a]) >= RANK.index(s) for a, s in before_statuses.items())


def test_a_bad_value_shows_the_clis_message_next_to_the_field(page, base_url):
    page.goto(f"{base_url}/try")
    before = updates(page)
    page.fill("#f-1-csat", "9")
    page.press("#f-1-csat", "Tab")
    wait_for_update(page, before)
    message = page.locator("[data-error-for='a1.csat']")
    assert message.is_visible()
    assert message.text_content().startswith("row 2 (account_id 'ACC-1002'): csat = '9'")
    assert page.get_attribute("#f-1-csat", "aria-invalid") == "true"


def test_approving_in_the_queue_records_the_decision_for_the_cli(page, base_url, db):
    page.goto(f"{base_url}/queue?owner=Morgan%20Lee")
    row = page.locator("table.queue tr[data-key]").first
    key = row.get_attribute("data-key")
    row.locator("form[action$='/approve'] input[name=by]").fill("Morgan Lee")
    row.locator("form[action$='/approve'] input[name=reason]").fill("champion confirmed")
    row.locator("button.approve").click()
    page.wait_for_url("**/queue?owner=Morgan+Lee&decided=*")
    assert "approved" in page.locator(".notice").text_content()
    assert page.locator(f"table.queue tr[data-key='{key}']").count() == 0
    approved = cli_json("actions", "list", "--state", "approved", "--db", str(db))["actions"]
    decision = next(a for a in approved if a["action_key"] == key)["decision"]
    assert (decision["decided_by"], decision["reason"]) == ("Morgan Lee", "champion confirmed")


def test_a_script_in_a_crm_note_is_shown_as_text_and_never_runs(page, base_url):
    page.goto(f"{base_url}/accounts/ACC-1003")
    note = page.locator("blockquote.note[data-field=notes]").text_content()
    assert note.startswith("<script>document.title='pwned'")
    assert page.evaluate("window.__pwned") is None
    assert page.title() != "pwned"


def test_every_page_loads_without_a_console_error(page, base_url):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, path in (
        ("try-it", "/try"),
        ("portfolio", "/portfolio"),
        ("account", "/accounts/ACC-1001"),
        ("queue", "/queue"),
        ("upload", "/upload"),
        ("api", "/api"),
    ):
        page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert page.console_errors == []  # a CSP violation or a missing file would be one
