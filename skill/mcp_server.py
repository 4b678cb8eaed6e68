"""`account-health mcp`: the library's jobs as MCP tools, served over stdio.

A thin shell on the official `mcp` SDK (2.x, `MCPServer`). Each tool parses its
arguments the way the CLI parses its flags (same error wording, raised as a tool
error), calls the library and returns the library's pydantic model, so the
structured result has the same shape as the CLI's `--format json` output.

Accounts arrive as a list of records (the input contract, `skill/record.py`) and
are read exactly as a JSON file would be: spelling variants and column aliases
apply, and a bad record comes back in `rejected` while the others are assessed.

`as_of` is a required argument: the server never reads the clock, so the same
call gives the same answer tomorrow.

Needs the optional extra: pip install 'account-health-skill[mcp]'.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sqlite3
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from skill import __version__
from skill.api import assess
from skill.assessment import AssessmentRun
from skill.briefing import (
    BriefRun,
    DrafterChoice,
    EmailDraftOut,
    LlmMode,
    write_briefs,
    write_emails,
)
from skill.dialect import DialectError, ReadOptions
from skill.explain import ActionCatalogue, PolicyExplanation, action_catalogue, explain_policy
from skill.ingest import InputError
from skill.measure import Measurement
from skill.pipeline import AssessmentStream
from skill.policy import Policy, default_policy
from skill.record import AccountRecord, Segment
from skill.report import PortfolioReport
from skill.store.outbox import ActionList
from skill.store.reviews import ReviewTaskList
from skill.vocabulary import AutomationLevel

if TYPE_CHECKING:
    from skill.store.history import HistoryReader

logger = logging.getLogger("account_health.mcp")

SERVER_NAME = "account-health"

GATE_CONTRACT = (
    "Every action carries a policy `status` decided by the engine. Only an `auto` action may "
    "run without a person. You must not carry out an `approval_required`, `recommend_only` or "
    "`blocked` action yourself: `approval_required` waits for a named person's approval, "
    "`recommend_only` is for a person to decide and do, `blocked` must not happen at all. "
    "Report these to the account owner instead."
)

INSTRUCTIONS = (
    "Account Health Action Engine: deterministic customer-account health scores, risk flags "
    "and policy-gated actions. The tools only read and draft; nothing is sent, written or "
    "changed. " + GATE_CONTRACT + " Pass `as_of` (YYYY-MM-DD, usually today's date): the "
    "server never reads the clock. The history tools (approval_queue, review_queue, "
    "measure_score, portfolio_report) read the history database that `account-health run` "
    "records into; approving actions and closing reviews stay with people, on the CLI."
)

LEVELS = [level.value for level in AutomationLevel]
OUTBOX_STATES = ["ready", "pending", "approved", "rejected", "recommended", "blocked", "superseded"]
REVIEW_STATES = ["open", "done", "also_at_risk", "superseded"]
LLM_MODES = [mode.value for mode in LlmMode]

_RECORD_ITEM: dict[str, Any] = {
    "type": "object",
    "description": "One account record. account_id and segment are required; every signal "
    "is optional (absent means not known). A record that fails validation is returned in "
    "`rejected` with the reason, and the others are still assessed.",
    "properties": {
        name: {"description": info.description or name}
        for name, info in AccountRecord.model_fields.items()
    },
    "additionalProperties": True,
}

# `Any` items: a row that is not an object is rejected on its own, like a bad record.
Accounts = Annotated[
    list[Any],
    Field(
        description="Account records, one object per account, with the field names of the "
        "input contract (as in a JSON input file for `account-health assess`).",
        json_schema_extra={"items": _RECORD_ITEM},
    ),
]
AsOf = Annotated[
    str,
    Field(
        description="Assessment date, YYYY-MM-DD (usually today). Required: the server "
        "never reads the clock. A record's own as_of field wins for that record.",
        json_schema_extra={"format": "date"},
    ),
]
Level = Annotated[
    str,
    Field(
        description="How much may run without a person: conservative, balanced or aggressive.",
        json_schema_extra={"enum": LEVELS},
    ),
]
Llm = Annotated[
    str,
    Field(
        description="auto: Anthropic when ANTHROPIC_API_KEY is set in the server's environment, "
        "templates otherwise; anthropic: require the API; off: templates only.",
        json_schema_extra={"enum": LLM_MODES},
    ),
]

DateFormat = Annotated[
    str | None,
    Field(
        description="How text dates are written, as a strptime format such as %m/%d/%Y or "
        "%d.%m.%Y. Default: ISO 8601 (YYYY-MM-DD) only.",
    ),
]
Decimal = Annotated[
    str | None,
    Field(
        description="The decimal mark of numbers written as text: comma (45000,50) or point "
        "($84,000.50). Default: none, and a number that reads two ways (45000,50; 1,234) "
        "is rejected naming both readings. JSON numbers are always numbers.",
        json_schema_extra={"enum": ["comma", "point", None]},
    ),
]
Since = Annotated[
    str | None,
    Field(description="Only items assessed on or after this date (YYYY-MM-DD)."),
]
Limit = Annotated[int, Field(description="At most this many items.", ge=1, le=5000)]
Offset = Annotated[
    int, Field(description="Skip this many first; next_offset in a result continues.", ge=0)
]

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
DRAFTING = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)


# --- argument parsing: the CLI's wording, with the tool's argument names


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ToolError(f"as_of {value!r} is not a date; expected YYYY-MM-DD") from None


def _optional_day(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ToolError(f"{name} {value!r} is not a date; expected YYYY-MM-DD") from None


def _level(value: str) -> AutomationLevel:
    try:
        return AutomationLevel(value)
    except ValueError:
        choices = ", ".join(repr(level) for level in LEVELS)
        raise ToolError(
            f"Invalid value for 'automation_level': {value!r} is not one of {choices}."
        ) from None


def _segment(value: str) -> Segment:
    try:
        return Segment(value)
    except ValueError:
        raise ToolError(f"segment {value!r}: expected smb, mid_market or enterprise") from None


def _read_options(date_format: str | None, decimal: str | None) -> ReadOptions:
    try:
        return ReadOptions(date_format=date_format or None, decimal=decimal or None)
    except DialectError as exc:
        raise ToolError(str(exc)) from None


def _log(message: str) -> None:
    if message.startswith("note:"):
        logger.info(message)
    else:
        logger.warning(message)


def _drafter(llm: str) -> DrafterChoice:
    try:
        mode = LlmMode(llm)
    except ValueError:
        raise ToolError(f"llm {llm!r}: expected auto, anthropic or off") from None
    try:
        return DrafterChoice(mode, model=None, cache_dir=None, use_cache=True, err=_log)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


HOW_TO_RECORD = (
    "record assessments with `account-health run FILE --db PATH` and start the server with "
    "`account-health mcp --db PATH`"
)


def _history(db_path: Path | None) -> sqlite3.Connection:
    """The history database, which must exist: these tools never start an empty one."""
    from skill.store.db import DatabaseUnavailable, connect, default_db_path

    path = db_path or default_db_path()
    if not path.exists():
        raise ToolError(f"no history database at {path}; {HOW_TO_RECORD}")
    try:
        return connect(path, create=False)
    except DatabaseUnavailable as exc:
        raise ToolError(str(exc)) from None


def _history_reader(db_path: Path | None, policy: Policy) -> HistoryReader:
    from skill.store.db import default_db_path
    from skill.store.history import HistoryReader, HistoryUnavailable

    try:
        return HistoryReader(db_path or default_db_path(), policy.history.usage_decline_periods)
    except HistoryUnavailable as exc:
        raise ToolError(f"{exc}; {HOW_TO_RECORD}") from None


def _as_json(accounts: list[Any]) -> io.StringIO:
    """The records as the JSON document a file would hold, for the library's reader."""
    text = io.StringIO(json.dumps(accounts))
    text.name = "accounts"
    return text


# --- the server


def build_server(policy: Policy | None = None, db_path: Path | None = None) -> MCPServer:
    """The MCP server; `policy` (default: the bundled one) and `db_path` (default:
    $ACCOUNT_HEALTH_DB, else the user's data directory) hold for its lifetime."""
    policy = policy or default_policy()
    server = MCPServer(
        SERVER_NAME,
        title="Account Health Action Engine",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )

    def stream(
        accounts: list[Any],
        day: date,
        level: AutomationLevel,
        only: set[str] | None,
        options: ReadOptions,
    ) -> AssessmentStream:
        return AssessmentStream(
            _as_json(accounts),
            policy=policy,
            as_of=day,
            level=level,
            input_format="json",
            accounts=only,
            on_warning=lambda message: _log(f"warning: {message}"),
            options=options,
        )

    @server.tool(
        description="Assess customer accounts: 0-100 health score, band, tier, confidence, "
        "risk flags and themes (an account with no signal at all gets score null and band "
        "no_data, never a guess), and the triggered actions, each with its policy status and "
        "a trace of every policy layer. Bad records come back in `rejected` with the reason. "
        + GATE_CONTRACT,
        annotations=READ_ONLY,
    )
    def assess_accounts(
        accounts: Accounts,
        as_of: AsOf,
        automation_level: Level = "balanced",
        use_history: Annotated[
            bool,
            Field(
                description="Read each account's earlier recorded assessments from the server's "
                "history database (read-only) to raise the trend flags score_drop and "
                "usage_declining and fill `trend`. Off: no history is read."
            ),
        ] = False,
        date_format: DateFormat = None,
        decimal: Decimal = None,
    ) -> AssessmentRun:
        day, level = _day(as_of), _level(automation_level)
        options = _read_options(date_format, decimal)
        reader = _history_reader(db_path, policy) if use_history else None
        try:
            return assess(
                _as_json(accounts),
                as_of=day,
                level=level,
                policy=policy,
                input_format="json",
                history=reader,
                options=options,
            )
        except InputError as exc:
            raise ToolError(str(exc)) from None
        finally:
            if reader is not None:
                reader.close()

    @server.tool(
        name="explain_policy",
        description="Explain the policy: for each action its sensitivity, kind and effective "
        "baseline status per segment and automation level, plus the signal overrides and stop "
        "rules that can tighten an action further for a given account. " + GATE_CONTRACT,
        annotations=READ_ONLY,
    )
    def explain_policy_tool(
        segment: Annotated[
            str | None,
            Field(description="Only this segment: smb, mid_market or enterprise (default: all)."),
        ] = None,
        automation_level: Annotated[
            str | None,
            Field(
                description="Only this level: conservative, balanced or aggressive "
                "(default: all three).",
                json_schema_extra={"enum": [*LEVELS, None]},
            ),
        ] = None,
    ) -> PolicyExplanation:
        segments = [_segment(segment)] if segment else None
        levels = [_level(automation_level)] if automation_level else None
        return explain_policy(policy, segments, levels)

    @server.tool(
        description="List the action catalogue: each action's id, label, sensitivity, kind and "
        "owner role. Whether an action may run for an account is its status in an assessment. "
        + GATE_CONTRACT,
        annotations=READ_ONLY,
    )
    def list_actions() -> ActionCatalogue:
        return action_catalogue(policy)

    @server.tool(
        description="Narrative health briefs: each account's assessment (the engine's "
        "decisions, unchanged) plus prose: a summary line, a narrative and a rationale per "
        "action. Prose comes from templates unless the Anthropic API is used; `drafting` says "
        "which. " + GATE_CONTRACT,
        annotations=DRAFTING,
    )
    def draft_brief(
        accounts: Accounts,
        as_of: AsOf,
        automation_level: Level = "balanced",
        account_id: Annotated[
            str | None, Field(description="Only this account (default: every account).")
        ] = None,
        llm: Llm = "auto",
        date_format: DateFormat = None,
        decimal: Decimal = None,
    ) -> BriefRun:
        day, level = _day(as_of), _level(automation_level)
        options = _read_options(date_format, decimal)
        choice = _drafter(llm)
        only = {account_id} if account_id is not None else None
        source = stream(accounts, day, level, only, options)
        out = io.StringIO()
        try:
            count = write_briefs(
                source,
                choice,
                output_format="json",
                out=out,
                policy=policy,
                as_of=day,
                level=level,
                err=_log,
            )
        except InputError as exc:
            raise ToolError(str(exc)) from None
        if only is not None and count == 0 and not source.rejected:
            raise ToolError(f"no account matched account_id {account_id}")
        return BriefRun.model_validate_json(out.getvalue())

    @server.tool(
        description="Draft a check-in email to one account's contact, in the owner's voice. "
        "Always a draft: nothing is sent, and is_draft and requires_approval are always true. "
        "policy_status is the check-in action's status, never looser than approval_required; "
        "do not send the email yourself, a person approves and sends it. " + GATE_CONTRACT,
        annotations=DRAFTING,
    )
    def draft_checkin_email(
        accounts: Accounts,
        account_id: Annotated[str, Field(description="The account to write to.")],
        as_of: AsOf,
        automation_level: Level = "balanced",
        llm: Llm = "auto",
        date_format: DateFormat = None,
        decimal: Decimal = None,
    ) -> EmailDraftOut:
        day, level = _day(as_of), _level(automation_level)
        options = _read_options(date_format, decimal)
        choice = _drafter(llm)
        source = stream(accounts, day, level, {account_id}, options)
        out = io.StringIO()
        try:
            count = write_emails(source, choice, output_format="json", out=out, err=_log)
        except InputError as exc:
            raise ToolError(str(exc)) from None
        if source.rejected:
            # A bad or second row for this account: one email for it would be a guess.
            raise ToolError(source.rejected[0].reason)
        if count == 0:
            raise ToolError(f"no account matched account_id {account_id}")
        if count > 1:
            raise ToolError(f"account_id {account_id} matches {count} records; expected one")
        return EmailDraftOut.model_validate_json(out.getvalue())

    @server.tool(
        description="The approval queue from the history database: recorded actions with "
        "their engine status, outbox state (pending: waiting for a person's decision; ready: "
        "auto, to export; approved, rejected, recommended, blocked) and any decision (who, "
        "when, why). Read-only: decisions are made by named people with `account-health "
        "actions approve|reject`. " + GATE_CONTRACT,
        annotations=READ_ONLY,
    )
    def approval_queue(
        state: Annotated[
            str | None,
            Field(
                description="Only this outbox state (default: pending).",
                json_schema_extra={"enum": [*OUTBOX_STATES, None]},
            ),
        ] = "pending",
        owner: Annotated[
            str | None, Field(description="Only this owner: a name or a role (csm).")
        ] = None,
        account_id: Annotated[str | None, Field(description="Only this account.")] = None,
        since: Since = None,
        limit: Limit = 200,
        offset: Offset = 0,
    ) -> ActionList:
        from skill.store.outbox import OutboxError, list_actions

        if state is not None and state not in OUTBOX_STATES:
            raise ToolError(f"state {state!r}: expected one of {', '.join(OUTBOX_STATES)}")
        connection = _history(db_path)
        try:
            items = list_actions(
                connection,
                state=state,
                owner=owner,
                account=account_id,
                since=_optional_day("since", since),
                limit=limit + 1,
                offset=offset,
            )
        except OutboxError as exc:
            raise ToolError(str(exc)) from None
        finally:
            connection.close()
        more = offset + limit if len(items) > limit else None
        return ActionList(count=len(items[:limit]), actions=items[:limit], next_offset=more)

    @server.tool(
        description="The owner review queue (the human review point) from the history "
        "database: each task's account, date, owner, due date and reasons, and who closed it. "
        "Read-only: a person records their review with `account-health review done`. "
        + GATE_CONTRACT,
        annotations=READ_ONLY,
    )
    def review_queue(
        state: Annotated[
            str | None,
            Field(
                description="open (default), done, also_at_risk (over the run's review "
                "budget), or null for all.",
                json_schema_extra={"enum": [*REVIEW_STATES, None]},
            ),
        ] = "open",
        owner: Annotated[str | None, Field(description="Only this owner's tasks.")] = None,
        account_id: Annotated[str | None, Field(description="Only this account.")] = None,
        since: Since = None,
        limit: Limit = 200,
        offset: Offset = 0,
    ) -> ReviewTaskList:
        from skill.store.reviews import list_review_tasks

        if state is not None and state not in REVIEW_STATES:
            raise ToolError(f"state {state!r}: expected one of {', '.join(REVIEW_STATES)}")
        connection = _history(db_path)
        try:
            items = list_review_tasks(
                connection,
                state=state,
                owner=owner,
                account=account_id,
                since=_optional_day("since", since),
                limit=limit + 1,
                offset=offset,
            )
        finally:
            connection.close()
        more = offset + limit if len(items) > limit else None
        return ReviewTaskList(count=len(items[:limit]), tasks=items[:limit], next_offset=more)

    @server.tool(
        description="How well the health score predicted what happened (the measurement "
        "plan), over everything recorded up to as_of. Read `verdict` first: ok, weak (the "
        "score ranks churn poorly here; its reasons say why and calibrate is the next step) "
        "or insufficient_data. Then: ROC AUC and churn rate by band and tier "
        "next to the legacy additive score, false positives, missed risks, score changes "
        "reviewed and owner follow-through, overall and per segment. " + GATE_CONTRACT,
        annotations=READ_ONLY,
    )
    def measure_score(as_of: AsOf) -> Measurement:
        from skill.measure import measure

        day = _day(as_of)
        connection = _history(db_path)
        try:
            return measure(connection, policy, as_of=day)
        finally:
            connection.close()

    @server.tool(
        description="The weekly portfolio report for the latest recorded date on or before "
        "as_of: share of ARR by band, biggest movers, the accounts needing attention (ARR, "
        "renewal, flags, owner, next action), the open review queue and calibration status. "
        + GATE_CONTRACT,
        annotations=READ_ONLY,
    )
    def portfolio_report(
        as_of: AsOf,
        limit: Annotated[
            int, Field(description="Rows per table (attention, queue).", ge=1, le=500)
        ] = 25,
    ) -> PortfolioReport:
        from skill.report import NoHistoryError
        from skill.report import portfolio_report as build_report

        day = _day(as_of)
        connection = _history(db_path)
        try:
            return build_report(connection, policy, as_of=day, limit=limit)
        except NoHistoryError as exc:
            raise ToolError(f"{exc}; nothing to report") from None
        finally:
            connection.close()

    return server


def serve(policy: Policy | None = None, db_path: Path | None = None) -> None:
    """Run the server over stdin/stdout until the client closes stdin (or Ctrl-C)."""
    if sys.stdin.isatty():
        sys.stderr.write(
            "account-health mcp: serving MCP (JSON-RPC) on stdin/stdout for an MCP host to "
            "start; Ctrl-C to stop.\n"
        )
    with contextlib.suppress(KeyboardInterrupt):
        build_server(policy, db_path).run("stdio")
