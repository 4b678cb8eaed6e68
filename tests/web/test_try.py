"""Try it: the demo table assessed as the CLI assesses a file of it, messages included."""

from __future__ import annotations

import re

from web_support import csrf

from skill import assess
from skill.demo import demo_as_of, demo_file
from skill.web.tryit import demo_rows


def form(token: str, level: str = "balanced", account: int = 0, **changes: str) -> dict[str, str]:
    """The Try it form as the page posts it: the demo rows, with `a{row}.{field}` changes."""
    data = {"csrf_token": token, "rows": "4", "as_of": demo_as_of().isoformat()}
    data.update({"automation_level": level, "account": str(account)})
    for index, row in enumerate(demo_rows()):
        data.update({f"a{index}.{k}": v for k, v in row.items()})
    data.update({k.replace("__", "."): v for k, v in changes.items()})
    return data


def statuses(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'<tr data-action="([a-z_]+)"[^>]*>.*?data-status="([a-z_]+)"', html, re.S)
    )


def test_the_page_starts_with_the_demo_accounts_and_a_result(client):
    html = client.get("/try").text
    for name in ("Northwind Logistics", "GreenSprout Onboarding", "SilverPeak Enterprise"):
        assert f'value="{name}"' in html
    assert "Health: Northwind Logistics" in html
    assert "Deterministic policy matrix by account segment" in html


def test_the_automation_levels_carry_their_descriptions(client, policy):
    html = client.get("/try").text
    for level in policy.gate.automation_levels.values():
        assert level.description in html


def test_each_level_gives_the_statuses_assess_gives(client):
    token = csrf(client)
    for level in ("conservative", "balanced", "aggressive"):
        reply = client.post("/try/result", data=form(token, level, account=3)).json()
        expected = assess(demo_file(), as_of=demo_as_of(), level=level).assessments[3]
        assert reply["level"] == level
        assert statuses(reply["result_html"]) == {
            a.action: a.status.value for a in expected.actions
        }


def test_the_matrix_follows_the_level(client, policy):
    from skill.explain import explain_policy
    from skill.vocabulary import AutomationLevel

    token = csrf(client)
    html = client.post("/try/result", data=form(token, "aggressive")).json()["matrix_html"]
    row = explain_policy(policy, levels=[AutomationLevel.AGGRESSIVE]).actions[0]
    cells = re.findall(r'class="status status-([a-z_]+)"', html)[:3]
    assert cells == [s[AutomationLevel.AGGRESSIVE].value for s in row.baseline.values()]


def test_a_bad_value_gets_the_clis_message_next_to_its_field(client):
    token = csrf(client)
    reply = client.post("/try/result", data=form(token, a1__csat="9")).json()
    message = reply["errors"]["a1.csat"]
    assert message.startswith("row 2 (account_id 'ACC-1002'): csat = '9': ")
    assert "expected CSAT score from 1 to 5" in message


def test_a_bad_row_leaves_the_others_assessed(client):
    token = csrf(client)
    reply = client.post("/try/result", data=form(token, account=0, a1__csat="9")).json()
    assert "Health: Northwind Logistics" in reply["result_html"]


def test_the_selected_bad_row_says_why_it_was_not_assessed(client):
    token = csrf(client)
    reply = client.post("/try/result", data=form(token, account=1, a1__csat="9")).json()
    assert "Row 2 could not be assessed: row 2 (account_id" in reply["result_html"]


def test_a_bad_date_is_named(client):
    token = csrf(client)
    reply = client.post("/try/result", data={**form(token), "as_of": "2026-13-01"}).json()
    assert reply["errors"]["as_of"] == "as_of '2026-13-01' is not a date; expected YYYY-MM-DD"


def rows(html: str) -> dict[str, tuple[str, str, str]]:
    """Action id -> (kind, status, the row's HTML with its policy trace)."""
    found = re.findall(
        r'<tr data-action="([a-z_]+)" data-kind="([a-z_]+)">'
        r'(.*?data-status="([a-z_]+)".*?)</details>',
        html,
        re.S,
    )
    return {action: (kind, status, row) for action, kind, row, status in found}


def test_a_major_blocker_puts_customer_facing_actions_under_its_override(client):
    token = csrf(client)
    before = client.post("/try/result", data=form(token, "aggressive", account=0)).json()
    after = client.post(
        "/try/result", data=form(token, "aggressive", account=0, a0__blocker="major")
    ).json()
    old, new = rows(before["result_html"]), rows(after["result_html"])
    facing = [a for a, (kind, _, _) in new.items() if kind == "customer_facing"]
    assert facing
    assert all("major_blocker_outreach" not in old[a][2] for a in facing)
    assert all("major_blocker_outreach" in new[a][2] for a in facing)
    rank = ["auto", "approval_required", "recommend_only", "blocked"]
    assert all(rank.index(new[a][1]) >= rank.index(old[a][1]) for a in old)


def test_the_form_works_without_script(client):
    token = csrf(client)
    response = client.post("/try", data=form(token, "conservative", account=2))
    assert response.status_code == 200
    assert "Health: HarborView Manufacturing" in response.text
    assert 'value="conservative" checked' in response.text


def test_a_note_with_a_script_tag_is_text_in_the_result(client):
    token = csrf(client)
    note = "<script>alert(1)</script>"
    reply = client.post("/try/result", data=form(token, a0__notes=note)).json()
    assert "<script>alert(1)" not in reply["result_html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply["result_html"]
