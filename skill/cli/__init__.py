"""`account-health`: a thin shell over the library. JSON on stdout, diagnostics on stderr.

One module per command group, each registering on the app built here; they import
only `skill.cli.common`, never each other.

Exit codes: 0 every record assessed; 2 usage error (unknown flag, missing file,
invalid policy file); 3 some records rejected (the rest were assessed).
"""

from __future__ import annotations

import os
import sys

import typer

from skill.cli import actions, assess, db, insights, mcp, policy, review, schema, serve
from skill.cli.mcp import MCP_EXTRA_HINT
from skill.cli.schema import SCHEMA_NAMES

__all__ = ["MCP_EXTRA_HINT", "SCHEMA_NAMES", "app", "main"]

app = typer.Typer(
    name="account-health",
    help=(
        "Account Health Action Engine: score customer accounts and propose policy-gated "
        "actions.\n\nExample: account-health assess accounts.csv --format json"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(policy.policy_app, name="policy")
assess.register(app)
schema.register(app)
mcp.register(app)
serve.register(app)
# History commands come last in --help: the outbox, reviews, then outcomes, measure,
# calibrate, report, and the database's own upkeep.
app.add_typer(actions.actions_app, name="actions")
app.add_typer(review.review_app, name="review")
insights.register(app)
app.add_typer(db.db_app, name="db")


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        # The reader (`| head`) closed the pipe: stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
