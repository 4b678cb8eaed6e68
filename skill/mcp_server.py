"""`account-health mcp`: the library's jobs as MCP tools, served over stdio.

A thin shell on the official `mcp` SDK (2.x, `MCPServer`). Each tool parses its
arguments the way the CLI parses its flags, calls the library and returns the
library's pydantic model, so the structured result has the same shape as the
CLI's `--format json` output (the tools that read records add `warnings`: what
the CLI prints as `warning:` lines, also logged to stderr as plain text).

A failure is an `isError` result whose structured content is `{code, field,
value, message}`, `message` worded as the CLI words the same mistake
(`ToolFailure`); `AccountHealthServer` also turns the SDK's argument-validation
errors into that shape, so no validation dump or link reaches the agent.

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
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError
from pydantic_core import to_jsonable_python

from skill import __version__
from skill.briefing import (
    DrafterChoice,
    LlmMode,
    policy_for_email,
    write_briefs,
    write_emails,
)
from skill.dialect import DialectError, ReadOptions
from skill.drafting import EmailKind
from skill.explain import ActionCatalogue, PolicyExplanation, action_catalogue, explain_policy
from skill.ingest import InputError
from skill.insights.measure import Measurement
from skill.insights.report import PortfolioReport
from skill.pipeline import AssessmentStream
from skill.policy import Policy, default_policy
from skill.record import AccountRecord, Segment
from skill.results import AssessmentResult, BriefResult, EmailDraftResult
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
EMAIL_KINDS = [kind.value for kind in EmailKind]

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


# --- tool errors: structured content, the CLI's wording


class ToolFailure(ToolError):
    """An anticipated tool failure: the result is `isError` with structured content
    `{code, field, value, message}`, and `message` (the CLI's wording, with the tool's
    argument names) is also the text content.

    Codes: invalid_argument, missing_argument, invalid_date, unknown_account,
    duplicate_account, invalid_record, invalid_input, no_database, no_history,
    llm_unavailable, unknown_tool, tool_error."""

    def __init__(
        self, code: str, message: str, *, field: str | None = None, value: Any = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.value = value
        self.message = message

    def content(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "field": self.field,
            "value": to_jsonable_python(self.value, fallback=repr),
            "message": self.message,
        }

    def result(self) -> CallToolResult:
        return CallToolResult(
            content=[TextContent(type="text", text=self.message)],
            structured_content=self.content(),
            is_error=True,
        )


def _location(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _argument_failure(error: Any) -> ToolFailure:
    """One argument that fails the input schema, worded as the CLI words a bad option
    ("Invalid value for '--limit': Input should be a valid integer, ..."), with the
    argument's name: pydantic's message for the one error, never its dump or links."""
    name = _location(tuple(error.get("loc", ())))
    if error.get("type") == "missing":
        return ToolFailure("missing_argument", f"Missing argument '{name}'.", field=name)
    return ToolFailure(
        "invalid_argument",
        f"Invalid value for '{name}': {error.get('msg', 'not valid')}",
        field=name,
        value=error.get("input"),
    )


def _failure(exc: ToolError, tool: str) -> ToolFailure:
    """The structured failure behind a `ToolError` the SDK raised or wrapped."""
    cause = exc.__cause__
    if isinstance(exc, ToolFailure):
        return exc
    if isinstance(cause, ToolFailure):
        return cause
    if isinstance(cause, ValidationError):
        return _argument_failure(cause.errors(include_url=False)[0])
    if cause is None and str(exc).startswith("Unknown tool"):
        return ToolFailure("unknown_tool", f"no tool named {tool!r}", field="name", value=tool)
    text = str(cause) if cause is not None else str(exc)
    return ToolFailure("tool_error", text)


class AccountHealthServer(MCPServer):
    """`MCPServer` whose anticipated tool failures, argument validation included, come
    back as structured content instead of the SDK's text (which for a bad argument is
    pydantic's dump with links to its site). Crashes keep the SDK's handling: a
    generic message to the client, the traceback in the server's log."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Any = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            failure = _failure(exc, name)
            logger.info("tool %s failed: %s: %s", name, failure.code, failure.message)
            return failure.result()


# --- argument parsing: the CLI's wording, with the tool's argument names


def _date_failure(name: str, value: str) -> ToolFailure:
    return ToolFailure(
        "invalid_date",
        f"{name} {value!r} is not a date; expected YYYY-MM-DD",
        field=name,
        value=value,
    )


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _date_failure("as_of", value) from None


def _optional_day(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _date_failure(name, value) from None


def _level(value: str) -> AutomationLevel:
    try:
        return AutomationLevel(value)
    except ValueError:
        choices = ", ".join(repr(level) for level in LEVELS)
        raise ToolFailure(
            "invalid_argument",
            f"Invalid value for 'automation_level': {value!r} is not one of {choices}.",
            field="automation_level",
            value=value,
        ) from None


def _email_kind(value: str) -> EmailKind:
    try:
        return EmailKind(value)
    except ValueError:
        raise ToolFailure(
            "invalid_argument",
            f"kind {value!r}: expected one of {', '.join(EMAIL_KINDS)}",
            field="kind",
            value=value,
        ) from None


def _segment(value: str) -> Segment:
    try:
        return Segment(value)
    except ValueError:
        raise ToolFailure(
            "invalid_argument",
            f"segment {value!r}: expected smb, mid_market or enterprise",
            field="segment",
            value=value,
        ) from None


def _read_options(date_format: str | None, decimal: str | None) -> ReadOptions:
    for name, value in (("date_format", date_format), ("decimal", decimal)):
        try:
            ReadOptions(**{name: value or None})
        except DialectError as exc:
            raise ToolFailure("invalid_argument", str(exc), field=name, value=value) from None
    try:
        return ReadOptions(date_format=date_format or None, decimal=decimal or None)
    except DialectError as exc:
        raise ToolFailure("invalid_argument", str(exc)) from None


def _log(message: str) -> None:
    if message.startswith("note:"):
        logger.info(message)
    else:
        logger.warning(message)


class Warnings(list[str]):
    """One call's warnings (unknown columns, sources not connected, drafting fallbacks):
    each logged to the server's stderr as plain text, as the CLI prints it, and kept
    for the tool's result."""

    def __call__(self, message: str) -> None:
        _log(message)
        if not message.startswith("note:"):
            self.append(message.removeprefix("warning: "))

    def warn(self, message: str) -> None:
        self(f"warning: {message}")


def _drafter(llm: str, err: Warnings) -> DrafterChoice:
    try:
        mode = LlmMode(llm)
    except ValueError:
        raise ToolFailure(
            "invalid_argument",
            f"llm {llm!r}: expected auto, anthropic or off",
            field="llm",
            value=llm,
        ) from None
    try:
        return DrafterChoice(mode, model=None, cache_dir=None, use_cache=True, err=err)
    except ValueError as exc:
        raise ToolFailure("llm_unavailable", str(exc), field="llm", value=llm) from None


def _input_failure(exc: InputError) -> ToolFailure:
    return ToolFailure("invalid_input", str(exc), field="accounts")


def _only_record(source: AssessmentStream, account_id: str, count: int) -> None:
    """The email tool's one account: a bad or second row for it, or none, is an error."""
    if source.rejected:
        # A bad or second row for this account: one email for it would be a guess.
        rejection = source.rejected[0]
        first = rejection.errors[0] if rejection.errors else None
        field = f"accounts[{rejection.row - 1}]"
        if first is not None and first.field is not None:
            field += f".{first.field}"
        raise ToolFailure(
            "invalid_record",
            rejection.reason,
            field=field,
            value=first.value if first is not None else None,
        )
    if count == 0:
        raise _unknown_account(account_id)
    if count > 1:
        raise ToolFailure(
            "duplicate_account",
            f"account_id {account_id} matches {count} records; expected one",
            field="account_id",
            value=account_id,
        )


def _unknown_account(account_id: str) -> ToolFailure:
    return ToolFailure(
        "unknown_account",
        f"no account matched account_id {account_id}",
        field="account_id",
        value=account_id,
    )


HOW_TO_RECORD = (
    "record assessments with `account-health run FILE --db PATH` and start the server with "
    "`account-health mcp --db PATH`"
)


def _history(db_path: Path | None) -> sqlite3.Connection:
    """The history database, which must exist: these tools never start an empty one."""
    from skill.store.db import DatabaseUnavailable, connect, default_db_path

    path = db_path or default_db_path()
    if not path.exists():
        raise _no_database(path, f"no history database at {path}; {HOW_TO_RECORD}")
    try:
        return connect(path, create=False)
    except DatabaseUnavailable as exc:
        raise _no_database(path, str(exc)) from None
    except OSError as exc:
        message = f"cannot open the history database {path}: {exc.strerror or exc}"
        raise _no_database(path, message) from None


def _no_database(path: Path, message: str) -> ToolFailure:
    """The server's database (`account-health mcp --db`) is missing or not a database."""
    return ToolFailure("no_database", message, field="db", value=str(path))


def _history_reader(db_path: Path | None, policy: Policy) -> HistoryReader:
    from skill.store.db import default_db_path
    from skill.store.history import HistoryReader, HistoryUnavailable

    path = db_path or default_db_path()
    try:
        return HistoryReader(path, policy.history.usage_decline_periods)
    except HistoryUnavailable as exc:
        raise _no_database(path, f"{exc}; {HOW_TO_RECORD}") from None


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
    server = AccountHealthServer(
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
        warnings: Warnings,
        history: HistoryReader | None = None,
        under: Policy | None = None,
    ) -> AssessmentStream:
        return AssessmentStream(
            _as_json(accounts),
            policy=under or policy,
            as_of=day,
            level=level,
            input_format="json",
            history=history,
            accounts=only,
            on_warning=warnings.warn,
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
    ) -> AssessmentResult:
        day, level = _day(as_of), _level(automation_level)
        options = _read_options(date_format, decimal)
        reader = _history_reader(db_path, policy) if use_history else None
        warnings = Warnings()
        try:
            # `skill.api.assess` on a file, with the warnings kept for the result.
            source = stream(accounts, day, level, None, options, warnings, reader)
            assessments = list(source)
            return AssessmentResult(
                as_of=day,
                automation_level=level,
                policy_version=policy.version,
                sources_not_connected=source.sources_not_connected,
                assessments=assessments,
                rejected=source.rejected,
                review_budget=source.review_budget(),
                warnings=warnings,
            )
        except InputError as exc:
            raise _input_failure(exc) from None
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
    ) -> BriefResult:
        day, level = _day(as_of), _level(automation_level)
        options = _read_options(date_format, decimal)
        warnings = Warnings()
        choice = _drafter(llm, warnings)
        only = {account_id} if account_id is not None else None
        source = stream(accounts, day, level, only, options, warnings)
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
                err=warnings,
            )
        except InputError as exc:
            raise _input_failure(exc) from None
        if account_id is not None and count == 0 and not source.rejected:
            raise _unknown_account(account_id)
        return BriefResult.model_validate({**json.loads(out.getvalue()), "warnings": warnings})

    @server.tool(
        description="Draft an email to one account's contact, in the owner's voice: kind "
        "checkin (default; when something needs attention), engagement (enablement resources "
        "for a steady account) or advocacy (ask a thriving customer for a case study, "
        "testimonial or referral). Always a draft: nothing is sent, and is_draft and "
        "requires_approval are always true. policy_status is the status of the kind's action "
        "(send_checkin_email, send_engagement_email, request_advocacy), never looser than "
        "approval_required; blocked means do not send (for example an advocacy ask while a "
        "severity-1 ticket is open). Do not send the email yourself, a person approves and "
        "sends it. " + GATE_CONTRACT,
        annotations=DRAFTING,
    )
    def draft_checkin_email(
        accounts: Accounts,
        account_id: Annotated[str, Field(description="The account to write to.")],
        as_of: AsOf,
        kind: Annotated[
            str,
            Field(
                description="checkin, engagement or advocacy.",
                json_schema_extra={"enum": EMAIL_KINDS},
            ),
        ] = "checkin",
        automation_level: Level = "balanced",
        llm: Llm = "auto",
        date_format: DateFormat = None,
        decimal: Decimal = None,
    ) -> EmailDraftResult:
        day, level = _day(as_of), _level(automation_level)
        email_kind = _email_kind(kind)
        options = _read_options(date_format, decimal)
        warnings = Warnings()
        choice = _drafter(llm, warnings)
        under = policy_for_email(policy, email_kind)
        source = stream(accounts, day, level, {account_id}, options, warnings, under=under)
        out = io.StringIO()
        try:
            count = write_emails(
                source, choice, output_format="json", out=out, err=warnings, kind=email_kind
            )
        except InputError as exc:
            raise _input_failure(exc) from None
        _only_record(source, account_id, count)
        return EmailDraftResult.model_validate({**json.loads(out.getvalue()), "warnings": warnings})

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
            raise ToolFailure(
                "invalid_argument",
                f"state {state!r}: expected one of {', '.join(OUTBOX_STATES)}",
                field="state",
                value=state,
            )
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
            raise ToolFailure("invalid_argument", str(exc)) from None
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
            raise ToolFailure(
                "invalid_argument",
                f"state {state!r}: expected one of {', '.join(REVIEW_STATES)}",
                field="state",
                value=state,
            )
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
        "reviewed and owner follow-through, overall and per segment; and `expansion`: how "
        "well the opportunity flags ranked expansions (rate with and without each flag, "
        "ROC AUC, n). " + GATE_CONTRACT,
        annotations=READ_ONLY,
    )
    def measure_score(as_of: AsOf) -> Measurement:
        from skill.insights.measure import measure

        day = _day(as_of)
        connection = _history(db_path)
        try:
            return measure(connection, policy, as_of=day)
        finally:
            connection.close()

    @server.tool(
        description="The weekly portfolio report for the latest recorded date on or before "
        "as_of: share of ARR by band, biggest movers, the accounts needing attention (ARR, "
        "renewal, flags, owner, next action), the executive briefing (red accounts by ARR at "
        "stake), the risk/opportunity matrix (accounts and ARR by band and opportunity flag, "
        "with each opportunity play proposed or held), the advocacy shortlist (advocates, "
        "their evidence and the ask's status), the open review queue and calibration "
        "status. " + GATE_CONTRACT,
        annotations=READ_ONLY,
    )
    def portfolio_report(
        as_of: AsOf,
        limit: Annotated[
            int, Field(description="Rows per table (attention, queue).", ge=1, le=500)
        ] = 25,
    ) -> PortfolioReport:
        from skill.insights.report import NoHistoryError
        from skill.insights.report import portfolio_report as build_report

        day = _day(as_of)
        connection = _history(db_path)
        try:
            return build_report(connection, policy, as_of=day, limit=limit)
        except NoHistoryError as exc:
            raise ToolFailure(
                "no_history", f"{exc}; nothing to report", field="as_of", value=as_of
            ) from None
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
