"""Data and helpers shared by the workspace tests."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from skill.cli import app

DATES = ("2026-11-23", "2026-11-30")
LATEST = DATES[-1]
SCRIPT_NOTE = "<script>document.title='pwned';window.__pwned=1</script> Call back about the outage"
BLOCK_SLACK = {"gate": {"matrix": {"notify_owner_slack": {"mid_market": "blocked"}}}}


def csrf(client) -> str:
    """The session's CSRF token, as the pages' forms carry it."""
    return client.get("/api/session").json()["csrf_token"]


def cli_json(*args: str) -> dict:
    """Run the CLI in-process and read its JSON document."""
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def pending(client, **params) -> list[dict]:
    return client.get("/api/actions", params={"state": "pending", **params}).json()["actions"]
