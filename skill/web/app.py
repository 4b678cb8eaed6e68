"""The browser workspace: Try it, Portfolio, Account, Queue, Upload, and the JSON API.

    app = create_app(WebConfig(db_path=Path("history.sqlite3")))

A shell like the CLI and the MCP server: each route parses the request, calls the
library (through `skill.web.workspace`) and renders a template. No route
computes a score, flag or status; approvals and reviews go through the same
store functions as `account-health actions approve` and `review done`, so the
same rules hold and each side sees what the other decided.

Pages are server-rendered (Jinja2, autoescaped). One small script from
`static/` updates Try it without a reload; every page works without it.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from skill import __version__
from skill.explain import explain_policy
from skill.insights.portfolio import (
    CHOICES,
    SORTS,
    NoHistoryError,
    PortfolioError,
    PortfolioQuery,
    portfolio_page,
    score_histories,
)
from skill.record import Segment
from skill.store.history import prior_assessments, stored_assessment
from skill.store.trends import trend_note
from skill.vocabulary import AutomationLevel
from skill.web import api
from skill.web.csrf import require_csrf
from skill.web.render import STATIC, environment, health_view
from skill.web.security import SecurityMiddleware
from skill.web.tryit import (
    LONG_TEXT,
    OTHER_FIELDS,
    SEED_COLUMNS,
    SUGGESTIONS,
    TryOutcome,
    default_as_of,
    demo_rows,
    field_help,
    records,
    rows_from_form,
)
from skill.web.uploads import UploadOutcome, handle_upload
from skill.web.workspace import (
    Warnings,
    WebConfig,
    WebError,
    Workspace,
    parse_day,
    parse_level,
)

PAGE_SIZE = 100
QUEUE_PAGE = 50
NAV = (
    ("/try", "Try it"),
    ("/portfolio", "Portfolio"),
    ("/queue", "Queue"),
    ("/upload", "Upload"),
    ("/api", "API"),
)


async def form_data(request: Request) -> FormData:
    return await request.form()


def create_app(config: WebConfig | None = None) -> FastAPI:
    config = config or WebConfig()
    workspace = Workspace(config)
    env = environment()
    app = FastAPI(
        title="Account Health workspace API",
        version=__version__,
        summary="The account-health library over HTTP: the same models as the CLI's "
        "--format json and the MCP tools.",
        description=api.DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.workspace = workspace
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.build_router(workspace))

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        guard = request.state.guard
        page = env.get_template(name).render(
            nav=NAV,
            path=request.url.path,
            csrf_token=guard.csrf_token,
            read_only=config.read_only,
            database=str(config.database),
            has_database=workspace.has_database(),
            policy_version=workspace.policy.version,
            policy_file=str(config.policy_file) if config.policy_file else None,
            **context,
        )
        return HTMLResponse(page, status_code=status)

    # -- errors -----------------------------------------------------------------

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
            "accept", ""
        )

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError) -> Response:
        if wants_json(request):
            return JSONResponse(exc.content(), status_code=exc.status)
        return render(request, "error.html", status=exc.status, error=exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        error = WebError(
            422,
            "missing_argument" if first.get("type") == "missing" else "invalid_argument",
            f"Missing argument '{where}'."
            if first.get("type") == "missing"
            else f"Invalid value for '{where}': {first.get('msg', 'not valid')}",
            field=where or None,
            value=first.get("input") if first.get("type") != "missing" else None,
        )
        return await web_error(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = "not_found" if exc.status_code == 404 else "http_error"
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return await web_error(request, WebError(exc.status_code, code, message))

    # -- pages ------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/portfolio" if workspace.has_database() else "/try", 303)

    def try_page(
        request: Request,
        rows: list[dict[str, str]],
        as_of_text: str,
        level_text: str,
        selected: int,
        status: int = 200,
    ) -> HTMLResponse:
        context = try_context(rows, as_of_text, level_text, selected)
        return render(request, "try.html", status=status, **context)

    def try_context(
        rows: list[dict[str, str]], as_of_text: str, level_text: str, selected: int
    ) -> dict[str, Any]:
        level = parse_level(level_text)
        selected = selected if 0 <= selected < len(rows) else 0
        context: dict[str, Any] = {
            "rows": rows,
            "seed_columns": SEED_COLUMNS,
            "other_fields": OTHER_FIELDS,
            "long_text": LONG_TEXT,
            "suggestions": SUGGESTIONS,
            "field_help": field_help,
            "as_of": as_of_text,
            "level": level.value,
            "levels": explain_policy(
                workspace.policy, levels=list(AutomationLevel)
            ).automation_levels,
            "selected": selected,
            "matrix": explain_policy(workspace.policy, levels=[level]),
            "segments": list(Segment),
            "errors": {},
            "row_errors": {},
            "as_of_error": None,
            "input_error": None,
            "outcome": None,
            "view": None,
        }
        try:
            day = parse_day("as_of", as_of_text)
        except WebError as exc:
            context["as_of_error"] = exc.message
            return context
        if day is None:
            context["as_of_error"] = "as_of is required; expected YYYY-MM-DD"
            return context
        try:
            result = workspace.assess_records(records(rows), as_of=day, level=level)
        except WebError as exc:
            context["input_error"] = exc.message
            return context
        outcome = TryOutcome.of(result, len(rows))
        context.update(
            outcome=outcome, errors=outcome.field_errors(), row_errors=outcome.row_errors()
        )
        assessment = outcome.assessed.get(selected)
        if assessment is not None:
            from skill.drafting import TemplateDrafter

            texts = TemplateDrafter().draft(assessment)
            context["view"] = health_view(assessment, texts, workspace.policy)
        return context

    @app.get("/try", response_class=HTMLResponse, include_in_schema=False)
    def try_it(request: Request) -> HTMLResponse:
        return try_page(request, demo_rows(), default_as_of().isoformat(), "balanced", 0)

    def _selected(form: FormData) -> int:
        text = str(form.get("account", "0"))
        return int(text) if text.isdigit() else 0

    @app.post(
        "/try",
        response_class=HTMLResponse,
        include_in_schema=False,
        dependencies=[Depends(require_csrf)],
    )
    def try_generate(
        request: Request, form: Annotated[FormData, Depends(form_data)]
    ) -> HTMLResponse:
        rows = rows_from_form(form) or demo_rows()
        return try_page(
            request,
            rows,
            str(form.get("as_of", "")),
            str(form.get("automation_level", "balanced")),
            _selected(form),
        )

    @app.post("/try/result", include_in_schema=False, dependencies=[Depends(require_csrf)])
    def try_result(form: Annotated[FormData, Depends(form_data)]) -> JSONResponse:
        """The parts of Try it that change with the inputs, for the page's script."""
        rows = rows_from_form(form)
        context = try_context(
            rows,
            str(form.get("as_of", "")),
            str(form.get("automation_level", "balanced")),
            _selected(form),
        )
        return JSONResponse(
            {
                "level": context["level"],
                "result_html": env.get_template("_try_result.html").render(**context),
                "matrix_html": env.get_template("_matrix.html").render(**context),
                "errors": {
                    **context["errors"],
                    **({"as_of": context["as_of_error"]} if context["as_of_error"] else {}),
                },
                "row_errors": {str(k): v for k, v in context["row_errors"].items()},
            }
        )

    @app.get("/portfolio", response_class=HTMLResponse, include_in_schema=False)
    def portfolio(request: Request) -> HTMLResponse:
        params = dict(request.query_params)
        values = {k: v for k, v in params.items() if k in PortfolioQuery.model_fields and v.strip()}
        field_errors: dict[str, str] = {}
        try:
            query = PortfolioQuery.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                name = str(error["loc"][0]) if error["loc"] else "query"
                field_errors[name] = f"{name} {values.get(name)!r}: {error['msg']}"
            query = PortfolioQuery.model_validate(
                {k: v for k, v in values.items() if k not in field_errors}
            )
        page_text = params.get("page", "1")
        page_number = int(page_text) if page_text.isdigit() and int(page_text) > 0 else 1
        context: dict[str, Any] = {
            "query": query,
            "values": values,
            "field_errors": field_errors,
            "choices": CHOICES,
            "sorts": SORTS,
            "page": None,
            "summary": None,
            "page_number": page_number,
            "problem": None,
        }
        if not workspace.has_database():
            context["problem"] = WebError(404, "no_database", "", value=str(config.database))
        else:
            offset = (page_number - 1) * PAGE_SIZE
            with workspace.history() as connection:
                try:
                    try:
                        page = portfolio_page(connection, query, limit=PAGE_SIZE, offset=offset)
                    except PortfolioError as exc:
                        field_errors["sort"] = str(exc)
                        query = query.model_copy(update={"sort": "score"})
                        page = portfolio_page(connection, query, limit=PAGE_SIZE, offset=offset)
                    context["summary"] = workspace.summary(connection, page.as_of)
                    context["page"] = page
                except NoHistoryError as exc:
                    message = f"{exc} in {config.database}; record a file first"
                    context["problem"] = WebError(404, "no_history", message)
        context["query"] = query
        context["link"] = lambda **changes: _link("/portfolio", {**values, **changes})
        return render(request, "portfolio.html", **context)

    def account_context(account_id: str) -> dict[str, Any]:
        with workspace.history() as connection:
            assessment = stored_assessment(connection, account_id)
            if assessment is None:
                raise WebError(
                    404,
                    "unknown_account",
                    f"no assessment recorded for account_id {account_id} in {config.database}",
                    field="account_id",
                    value=account_id,
                )
            history = score_histories(connection, [account_id]).get(account_id, [])
            prior = prior_assessments(connection, [(account_id, assessment.as_of)], 1)
            before = prior.get((account_id, assessment.as_of))
            trend = trend_note(assessment, before[-1] if before else None, workspace.policy.history)
            from skill.store.outbox import iter_actions
            from skill.store.reviews import iter_review_tasks

            pending = list(iter_actions(connection, state="pending", account=account_id))
            tasks = [
                t
                for t in iter_review_tasks(connection, account=account_id)
                if t.state in ("open", "also_at_risk")
            ]
        return {
            "view": health_view(assessment, None, workspace.policy),
            "history": history,
            "trend": trend,
            "pending": pending,
            "tasks": tasks,
            "brief": None,
            "email": None,
            "warnings": [],
        }

    @app.get("/accounts/{account_id}", response_class=HTMLResponse, include_in_schema=False)
    def account(request: Request, account_id: str) -> HTMLResponse:
        return render(request, "account.html", **account_context(account_id))

    @app.post(
        "/accounts/{account_id}/brief",
        response_class=HTMLResponse,
        include_in_schema=False,
        dependencies=[Depends(require_csrf)],
    )
    def account_brief(request: Request, account_id: str) -> HTMLResponse:
        context = account_context(account_id)
        warnings = Warnings()
        context["brief"] = workspace.brief(context["view"].a, warnings)
        texts = context["brief"].briefs[0].texts
        context["view"] = health_view(context["view"].a, texts, workspace.policy)
        context["warnings"] = warnings
        return render(request, "account.html", **context)

    @app.post(
        "/accounts/{account_id}/email",
        response_class=HTMLResponse,
        include_in_schema=False,
        dependencies=[Depends(require_csrf)],
    )
    def account_email(request: Request, account_id: str) -> HTMLResponse:
        context = account_context(account_id)
        warnings = Warnings()
        context["email"] = workspace.email(context["view"].a, warnings)
        context["warnings"] = warnings
        return render(request, "account.html", **context)

    # -- the approval queue and the review queue

    def queue_context(request: Request, problem: str | None = None) -> dict[str, Any]:
        from skill.store.outbox import get_action, iter_actions
        from skill.store.reviews import iter_review_tasks

        params = request.query_params
        owner = (params.get("owner") or "").strip() or None
        page_text = params.get("page", "1")
        page_number = int(page_text) if page_text.isdigit() and int(page_text) > 0 else 1
        offset = (page_number - 1) * QUEUE_PAGE
        context: dict[str, Any] = {
            "owner": owner or "",
            "page_number": page_number,
            "problem": problem,
            "notice": None,
            "actions": [],
            "more_actions": False,
            "tasks": [],
            "more_tasks": False,
            "link": lambda **changes: _link("/queue", {"owner": owner or "", **changes}),
        }
        with workspace.history() as connection:
            actions = list(
                iter_actions(
                    connection, state="pending", owner=owner, limit=QUEUE_PAGE + 1, offset=offset
                )
            )
            tasks = list(
                iter_review_tasks(
                    connection, state="open", owner=owner, limit=QUEUE_PAGE + 1, offset=offset
                )
            )
            decided = params.get("decided")
            if decided:
                try:
                    context["notice"] = get_action(connection, decided)
                except ValueError:
                    context["notice"] = None
            reviewed = params.get("reviewed")
            if reviewed:
                done = [t for t in iter_review_tasks(connection, account=reviewed, state="done")]
                context["reviewed"] = done[-1] if done else None
        context.update(
            actions=actions[:QUEUE_PAGE],
            more_actions=len(actions) > QUEUE_PAGE,
            tasks=tasks[:QUEUE_PAGE],
            more_tasks=len(tasks) > QUEUE_PAGE,
        )
        context.setdefault("reviewed", None)
        return context

    @app.get("/queue", response_class=HTMLResponse, include_in_schema=False)
    def queue(request: Request) -> HTMLResponse:
        return render(request, "queue.html", **queue_context(request))

    def decide(request: Request, verb: str, key: str, by: str, reason: str, back: str) -> Response:
        from skill.store.outbox import OutboxError, approve, reject

        workspace.refuse_if_read_only(f"{verb} actions")
        with workspace.history() as connection:
            try:
                if verb == "approve":
                    item = approve(connection, key, by, reason or None)
                else:
                    item = reject(connection, key, by, reason)
            except OutboxError as exc:
                raise WebError(409, "refused", str(exc), field="action_key", value=key) from None
        target = back if back.startswith("/") and not back.startswith("//") else "/queue"
        glue = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{glue}{urlencode({'decided': item.action_key})}", 303)

    @app.post(
        "/queue/actions/{key}/approve",
        include_in_schema=False,
        dependencies=[Depends(require_csrf)],
    )
    def queue_approve(
        request: Request,
        key: str,
        by: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
        back: Annotated[str, Form()] = "/queue",
    ) -> Response:
        return decide(request, "approve", key, by, reason, back)

    @app.post(
        "/queue/actions/{key}/reject", include_in_schema=False, dependencies=[Depends(require_csrf)]
    )
    def queue_reject(
        request: Request,
        key: str,
        by: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
        back: Annotated[str, Form()] = "/queue",
    ) -> Response:
        return decide(request, "reject", key, by, reason, back)

    @app.post(
        "/queue/reviews/{account_id}/done",
        include_in_schema=False,
        dependencies=[Depends(require_csrf)],
    )
    def queue_review_done(
        account_id: str,
        by: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
        as_of: Annotated[str, Form()] = "",
        back: Annotated[str, Form()] = "/queue",
    ) -> Response:
        from skill.store.reviews import ReviewError, complete_review

        workspace.refuse_if_read_only("record reviews")
        day = parse_day("as_of", as_of)
        with workspace.history() as connection:
            try:
                complete_review(connection, account_id, by=by, as_of=day, note=note.strip() or None)
            except ReviewError as exc:
                raise WebError(
                    409, "refused", str(exc), field="account_id", value=account_id
                ) from None
        target = back if back.startswith("/") and not back.startswith("//") else "/queue"
        glue = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{glue}{urlencode({'reviewed': account_id})}", 303)

    # -- upload

    @app.get("/upload", response_class=HTMLResponse, include_in_schema=False)
    def upload_form(request: Request) -> HTMLResponse:
        from datetime import date

        return render(
            request,
            "upload.html",
            outcome=None,
            as_of=date.today().isoformat(),
            level="balanced",
            mode="assess",
            date_format="",
            decimal="",
            max_mb=config.max_upload_bytes / (1024 * 1024),
        )

    @app.post(
        "/upload",
        response_class=HTMLResponse,
        include_in_schema=False,
        dependencies=[Depends(require_csrf)],
    )
    def upload(
        request: Request,
        file: Annotated[UploadFile, File()],
        mode: Annotated[str, Form()] = "assess",
        as_of: Annotated[str, Form()] = "",
        automation_level: Annotated[str, Form()] = "balanced",
        date_format: Annotated[str, Form()] = "",
        decimal: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        outcome: UploadOutcome = handle_upload(
            workspace,
            file,
            mode=mode,
            as_of=as_of,
            level=automation_level,
            date_format=date_format,
            decimal=decimal,
        )
        return render(
            request,
            "upload.html",
            status=200 if outcome.error is None else outcome.error.status,
            outcome=outcome,
            as_of=as_of,
            level=automation_level,
            mode=mode,
            date_format=date_format,
            decimal=decimal,
            max_mb=config.max_upload_bytes / (1024 * 1024),
        )

    # -- the API's own page

    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_page(request: Request) -> HTMLResponse:
        return render(request, "api.html", endpoints=api.endpoints(app.openapi()))

    app.add_middleware(
        SecurityMiddleware,
        token=config.token,
        secret=config.secret or secrets.token_bytes(32),
        allowed_hosts=config.allowed_hosts,
        max_body_bytes=config.max_upload_bytes + 64 * 1024,
    )
    return app


def _link(path: str, params: dict[str, Any]) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


__all__ = ["WebConfig", "create_app"]
