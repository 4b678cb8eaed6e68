"""`mcp`: the engine served to agents over stdio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skill.cli.common import (
    PolicyOption,
    fail,
    load_policy_or_exit,
)

MCP_EXTRA_HINT = "install the mcp extra: pip install 'account-health-skill[mcp]'"


def mcp(
    policy: PolicyOption = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="History database the history tools read (default: $ACCOUNT_HEALTH_DB, "
            "else ~/.local/share/account-health/history.sqlite3).",
        ),
    ] = None,
) -> None:
    """Serve the engine to agents as an MCP server over stdio.

    Tools: assess_accounts, explain_policy, list_actions, draft_brief,
    draft_checkin_email, and over the history database approval_queue,
    review_queue, measure_score and portfolio_report. --policy and --db hold for
    the server's lifetime.

    Needs the mcp extra: pip install 'account-health-skill[mcp]'.

    Example: account-health mcp --policy my-policy.yaml
    """
    loaded = load_policy_or_exit(policy)
    try:  # lazily: the other commands never pay for importing the SDK
        from skill.mcp_server import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "mcp":
            raise
        raise fail(MCP_EXTRA_HINT) from None
    serve(loaded, db)


def register(app: typer.Typer) -> None:
    app.command()(mcp)
