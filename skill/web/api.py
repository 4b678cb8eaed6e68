"""The workspace's JSON API under /api/, described by /api/openapi.json.

Each endpoint returns the library's own model, the same shape as the CLI's
`--format json` and the MCP tools' results, so a team can script against a
running workspace. Errors are `{code, field, value, message}`, as the MCP
tools give them, with the CLI's wording.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from skill import __version__
from skill.assessment import Assessment
from skill.briefing import BriefRun, EmailDraftOut
from skill.explain import ActionCatalogue, PolicyExplanation, action_catalogue, explain_policy
from skill.insights.measure import Measurement
from skill.insights.portfolio import (
    MAX_LIMIT,
    NoHistoryError,
    PortfolioError,
    PortfolioPage,
    PortfolioQuery,
    PortfolioSummary,
    ScorePoint,
    latest_date,
    portfolio_page,
    score_histories,
)
from skill.insights.report import PortfolioReport
from skill.record import Segment
from skill.recording import RunDocument
from skill.results import AssessmentResult, BriefResult, EmailDraftResult
from skill.store.outbox import ActionList, OutboxItem
from skill.store.reviews import ReviewDone, ReviewTaskList
from skill.vocabulary import AutomationLevel, Band, RiskFlagCode
from skill.web.csrf import require_csrf
from skill.web.workspace import (
    Warnings,
    WebError,
    Workspace,
    parse_day,
    parse_level,
    read_options,
)

DESCRIPTION = """\
The account-health library over HTTP. Every result is the library's own model, the
shape of the CLI's `--format json` and of the MCP tools' results.

Authentication: on a workspace started with a token, send `Authorization: Bearer TOKEN`
on every request. State changes are POSTs; each needs the session's CSRF token in the
`X-CSRF-Token` header (from `GET /api/session`, with its session cookie), unless the
request carries the access token in its `Authorization` header.

Nothing here sends an email or carries out an action: approving records a person's
decision in the outbox, as `account-health actions approve` does; `actions export`
hands approved actions on.
"""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Session(Frozen):
    csrf_token: str = Field(description="Send as X-CSRF-Token on POST requests.")
    version: str
    policy_version: str
    database: str = Field(description="The history database this workspace reads and writes.")
    database_exists: bool
    read_only: bool = Field(description="Approvals, reviews and recording are refused.")


class AssessRequest(Frozen):
    accounts: list[Any] = Field(
        description="Account records with the input contract's field names, as in a JSON "
        "input file; a bad record comes back in `rejected` and the others are assessed."
    )
    as_of: str = Field(description="Assessment date, YYYY-MM-DD; the server never reads the clock.")
    automation_level: str = "balanced"
    account_id: str | None = Field(default=None, description="Only this account.")
    date_format: str | None = None
    decimal: str | None = None


class DraftRequest(AssessRequest):
    pass


class Decision(Frozen):
    by: str = Field(description="Who decides: a person's name.")
    reason: str | None = Field(default=None, description="Why; required to reject.")


class ReviewRequest(Frozen):
    by: str = Field(description="Who reviewed the account: a person's name.")
    note: str | None = None
    as_of: str | None = Field(default=None, description="The task of this date (default: latest).")


class AccountHistory(Frozen):
    account_id: str
    history: list[ScorePoint]


ERRORS = {
    status: {"description": text, "content": {"application/json": {"example": example}}}
    for status, text, example in (
        (
            400,
            "Bad input",
            {
                "code": "invalid_date",
                "field": "as_of",
                "value": "2026-13-01",
                "message": "as_of '2026-13-01' is not a date; expected YYYY-MM-DD",
            },
        ),
        (
            401,
            "Access token missing",
            {
                "code": "token_required",
                "field": None,
                "value": None,
                "message": "this workspace needs its access token",
            },
        ),
        (
            403,
            "CSRF token missing, or the workspace is read-only",
            {"code": "csrf_failed", "field": None, "value": None, "message": "..."},
        ),
        (
            404,
            "No such account, no database or no history",
            {"code": "unknown_account", "field": "account_id", "value": "ACC-9", "message": "..."},
        ),
        (
            409,
            "A decision the outbox refuses",
            {"code": "refused", "field": "action_key", "value": "3f9a1c2e", "message": "..."},
        ),
    )
}


def build_router(workspace: Workspace) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["account-health"], responses=ERRORS)
    policy = workspace.policy

    def history_error(exc: NoHistoryError, as_of: str | None) -> WebError:
        return WebError(404, "no_history", f"{exc}; nothing to show", field="as_of", value=as_of)

    @router.get("/session", response_model=Session, summary="This workspace and your CSRF token")
    def session(request: Request) -> Session:
        return Session(
            csrf_token=request.state.guard.csrf_token,
            version=__version__,
            policy_version=policy.version,
            database=str(workspace.config.database),
            database_exists=workspace.has_database(),
            read_only=workspace.config.read_only,
        )

    @router.get("/policy", response_model=PolicyExplanation, summary="The policy matrix explained")
    def policy_explained(
        segment: Segment | None = None, automation_level: AutomationLevel | None = None
    ) -> PolicyExplanation:
        """As the MCP tool `explain_policy`: each action's baseline status per segment and
        level, and the overrides and stop rules that can tighten it for an account."""
        return explain_policy(
            policy,
            [segment] if segment else None,
            [automation_level] if automation_level else None,
        )

    @router.get("/catalogue", response_model=ActionCatalogue, summary="The action catalogue")
    def catalogue() -> ActionCatalogue:
        return action_catalogue(policy)

    def _assess(body: AssessRequest):
        day = parse_day("as_of", body.as_of)
        if day is None:
            raise WebError(400, "missing_argument", "Missing argument 'as_of'.", field="as_of")
        level = parse_level(body.automation_level)
        options = read_options(body.date_format, body.decimal)
        only = {body.account_id} if body.account_id else None
        result = workspace.assess_records(
            body.accounts, as_of=day, level=level, options=options, accounts=only
        )
        if body.account_id and not result.assessments and not result.rejected:
            raise WebError(
                404,
                "unknown_account",
                f"no account matched account_id {body.account_id}",
                field="account_id",
                value=body.account_id,
            )
        return result

    @router.post(
        "/assess",
        response_model=AssessmentResult,
        dependencies=[Depends(require_csrf)],
        summary="Assess account records",
    )
    def assess(body: AssessRequest) -> AssessmentResult:
        """As `assess --format json` (and the MCP tool `assess_accounts`), plus `warnings`."""
        return _assess(body)

    @router.post(
        "/brief",
        response_model=BriefResult,
        dependencies=[Depends(require_csrf)],
        summary="Draft health briefs",
    )
    def brief(body: DraftRequest) -> BriefResult:
        """As `brief --format json`: each assessment with its prose (templates without an
        API key, Claude with one; `drafting` says which)."""
        result = _assess(body)
        warnings = Warnings(result.warnings)
        choice = workspace.drafter(warnings)
        from skill.briefing import Brief

        return BriefResult(
            as_of=result.as_of,
            automation_level=result.automation_level,
            policy_version=result.policy_version,
            drafting=choice.info,
            briefs=[Brief(assessment=a, texts=choice.drafter.draft(a)) for a in result.assessments],
            rejected=result.rejected,
            warnings=warnings,
        )

    @router.post(
        "/email",
        response_model=EmailDraftResult,
        dependencies=[Depends(require_csrf)],
        summary="Draft a check-in email (never sent)",
    )
    def email(body: DraftRequest) -> EmailDraftResult:
        """As `email --format json`: always a draft that needs approval; nothing is sent."""
        if not body.account_id:
            raise WebError(
                400, "missing_argument", "Missing argument 'account_id'.", field="account_id"
            )
        result = _assess(body)
        if result.rejected:
            rejection = result.rejected[0]
            raise WebError(400, "invalid_record", rejection.reason, field="accounts")
        warnings = Warnings(result.warnings)
        draft = workspace.email(result.assessments[0], warnings)
        return EmailDraftResult(**draft.model_dump(), warnings=warnings)

    # -- history

    @router.get("/portfolio", response_model=PortfolioPage, summary="One page of the portfolio")
    def portfolio(
        band: Band | None = None,
        segment: Segment | None = None,
        owner: str | None = None,
        flag: RiskFlagCode | None = None,
        arr_min: float | None = None,
        arr_max: float | None = None,
        renewal_from: date | None = None,
        renewal_to: date | None = None,
        sort: str = "score",
        as_of: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> PortfolioPage:
        """The accounts of the latest recorded date (or the latest on or before `as_of`),
        filtered and sorted; `next_offset` continues."""
        query = PortfolioQuery(
            band=band,
            segment=segment,
            owner=owner,
            flag=flag,
            arr_min=arr_min,
            arr_max=arr_max,
            renewal_from=renewal_from,
            renewal_to=renewal_to,
            sort=sort,
        )
        day = parse_day("as_of", as_of)
        with workspace.history() as connection:
            try:
                return portfolio_page(connection, query, as_of=day, limit=limit, offset=offset)
            except NoHistoryError as exc:
                raise history_error(exc, as_of) from None
            except PortfolioError as exc:
                raise WebError(
                    400, "invalid_argument", str(exc), field="sort", value=sort
                ) from None

    @router.get(
        "/portfolio/summary", response_model=PortfolioSummary, summary="ARR by band and movers"
    )
    def portfolio_summary(as_of: str | None = None) -> PortfolioSummary:
        day = parse_day("as_of", as_of)
        with workspace.history() as connection:
            try:
                return workspace.summary(connection, latest_date(connection, day))
            except NoHistoryError as exc:
                raise history_error(exc, as_of) from None

    def recorded(account_id: str, as_of: str | None) -> Assessment:
        from skill.store.history import stored_assessment

        day = parse_day("as_of", as_of)
        with workspace.history() as connection:
            found = stored_assessment(connection, account_id, day)
        if found is None:
            when = f" on {day}" if day else ""
            raise WebError(
                404,
                "unknown_account",
                f"no assessment recorded for account_id {account_id}{when}",
                field="account_id",
                value=account_id,
            )
        return found

    @router.get(
        "/accounts/{account_id}", response_model=Assessment, summary="An account's assessment"
    )
    def account(account_id: str, as_of: str | None = None) -> Assessment:
        """The recorded assessment (the latest, or of `as_of`), as `assess --format json`
        gives each account."""
        return recorded(account_id, as_of)

    @router.get(
        "/accounts/{account_id}/history", response_model=AccountHistory, summary="Score history"
    )
    def account_history(account_id: str) -> AccountHistory:
        with workspace.history() as connection:
            points = score_histories(connection, [account_id]).get(account_id, [])
        if not points:
            raise WebError(
                404,
                "unknown_account",
                f"no assessment recorded for account_id {account_id}",
                field="account_id",
                value=account_id,
            )
        return AccountHistory(account_id=account_id, history=points)

    @router.post(
        "/accounts/{account_id}/brief",
        response_model=BriefRun,
        dependencies=[Depends(require_csrf)],
        summary="Draft the health brief of a recorded account",
    )
    def account_brief(account_id: str, as_of: str | None = None) -> BriefRun:
        return workspace.brief(recorded(account_id, as_of), Warnings())

    @router.post(
        "/accounts/{account_id}/email",
        response_model=EmailDraftOut,
        dependencies=[Depends(require_csrf)],
        summary="Draft the check-in email of a recorded account (never sent)",
    )
    def account_email(account_id: str, as_of: str | None = None) -> EmailDraftOut:
        return workspace.email(recorded(account_id, as_of), Warnings())

    @router.get("/actions", response_model=ActionList, summary="The approval queue")
    def actions(
        state: str | None = "pending",
        owner: str | None = None,
        account_id: str | None = None,
        since: str | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 200,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> ActionList:
        """As `actions list --format json` (and the MCP tool `approval_queue`)."""
        from skill.store.outbox import OutboxError, list_actions

        first = parse_day("since", since)
        with workspace.history() as connection:
            try:
                items = list_actions(
                    connection,
                    state=state or None,
                    owner=owner,
                    account=account_id,
                    since=first,
                    limit=limit + 1,
                    offset=offset,
                )
            except OutboxError as exc:
                raise WebError(
                    400, "invalid_argument", str(exc), field="state", value=state
                ) from None
        more = offset + limit if len(items) > limit else None
        return ActionList(count=len(items[:limit]), actions=items[:limit], next_offset=more)

    def _decide(verb: str, key: str, body: Decision) -> OutboxItem:
        from skill.store.outbox import OutboxError, approve, reject

        workspace.refuse_if_read_only(f"{verb} actions")
        with workspace.history() as connection:
            try:
                if verb == "approve":
                    return approve(connection, key, body.by, body.reason)
                return reject(connection, key, body.by, body.reason or "")
            except OutboxError as exc:
                raise WebError(409, "refused", str(exc), field="action_key", value=key) from None

    @router.post(
        "/actions/{key}/approve",
        response_model=OutboxItem,
        dependencies=[Depends(require_csrf)],
        summary="Approve a pending action",
    )
    def approve_action(key: str, body: Decision) -> OutboxItem:
        """As `actions approve ID --by NAME`: only a pending approval_required action,
        once; blocked and recommend_only actions are refused (409)."""
        return _decide("approve", key, body)

    @router.post(
        "/actions/{key}/reject",
        response_model=OutboxItem,
        dependencies=[Depends(require_csrf)],
        summary="Reject a pending action",
    )
    def reject_action(key: str, body: Decision) -> OutboxItem:
        return _decide("reject", key, body)

    @router.get("/reviews", response_model=ReviewTaskList, summary="The owner review queue")
    def reviews(
        state: str | None = "open",
        owner: str | None = None,
        account_id: str | None = None,
        since: str | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 200,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> ReviewTaskList:
        """As `review list --format json` (and the MCP tool `review_queue`)."""
        from skill.store.reviews import ReviewError, list_review_tasks

        states = ("open", "done", "also_at_risk", "superseded")
        if state and state not in states:
            raise WebError(
                400,
                "invalid_argument",
                f"state {state!r}: expected one of {', '.join(states)}",
                field="state",
                value=state,
            )
        first = parse_day("since", since)
        with workspace.history() as connection:
            try:
                items = list_review_tasks(
                    connection,
                    state=state or None,  # type: ignore[arg-type]
                    owner=owner,
                    account=account_id,
                    since=first,
                    limit=limit + 1,
                    offset=offset,
                )
            except ReviewError as exc:
                raise WebError(400, "invalid_argument", str(exc)) from None
        more = offset + limit if len(items) > limit else None
        return ReviewTaskList(count=len(items[:limit]), tasks=items[:limit], next_offset=more)

    @router.post(
        "/reviews/{account_id}/done",
        response_model=ReviewDone,
        dependencies=[Depends(require_csrf)],
        summary="Record that a person reviewed an account",
    )
    def review_done(account_id: str, body: ReviewRequest) -> ReviewDone:
        """As `review done ACCOUNT_ID --by NAME`; it approves no action."""
        from skill.store.reviews import ReviewError, complete_review

        workspace.refuse_if_read_only("record reviews")
        day = parse_day("as_of", body.as_of)
        with workspace.history() as connection:
            try:
                return complete_review(
                    connection, account_id, by=body.by, as_of=day, note=body.note
                )
            except ReviewError as exc:
                raise WebError(
                    409, "refused", str(exc), field="account_id", value=account_id
                ) from None

    @router.get("/report", response_model=PortfolioReport, summary="The weekly portfolio report")
    def report(
        as_of: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 25
    ) -> PortfolioReport:
        """As `report --format json` (and the MCP tool `portfolio_report`)."""
        from skill.insights.report import portfolio_report

        day = parse_day("as_of", as_of)
        with workspace.history() as connection:
            try:
                return portfolio_report(connection, policy, as_of=day, limit=limit)
            except NoHistoryError as exc:
                raise history_error(exc, as_of) from None

    @router.get(
        "/measure", response_model=Measurement, summary="How well the score predicted outcomes"
    )
    def measure(as_of: str | None = None) -> Measurement:
        """As `measure --format json` (and the MCP tool `measure_score`)."""
        from skill.insights.measure import measure as run_measure

        day = parse_day("as_of", as_of)
        with workspace.history() as connection:
            return run_measure(connection, policy, as_of=day)

    @router.post(
        "/runs",
        response_model=RunDocument,
        dependencies=[Depends(require_csrf)],
        summary="Record a file in the history database",
    )
    def record_file(
        file: Annotated[UploadFile, File()],
        as_of: Annotated[str, Form()],
        automation_level: Annotated[str, Form()] = "balanced",
        date_format: Annotated[str, Form()] = "",
        decimal: Annotated[str, Form()] = "",
    ) -> RunDocument:
        """As `run FILE --format json`: the same file and date again records nothing."""
        from skill.web.uploads import handle_upload

        outcome = handle_upload(
            workspace,
            file,
            mode="record",
            as_of=as_of,
            level=automation_level,
            date_format=date_format,
            decimal=decimal,
        )
        if outcome.error is not None:
            raise outcome.error
        assert outcome.recorded is not None
        return outcome.recorded

    return router


def endpoints(openapi: dict[str, Any]) -> list[dict[str, str]]:
    """Method, path and summary of each documented endpoint, for the API page."""
    rows = []
    for path, methods in openapi.get("paths", {}).items():
        for method, operation in methods.items():
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": (operation.get("description") or "").split("\n\n")[0],
                }
            )
    return rows
