"""`serve`: the workspace in the browser, on this machine by default."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from skill.cli.common import PolicyOption, err, fail, load_policy_or_exit

WEB_EXTRA_HINT = "install the web extra: pip install 'account-health-skill[web]'"
TOKEN_ENV = "ACCOUNT_HEALTH_TOKEN"
WEB_PACKAGES = ("fastapi", "uvicorn", "starlette", "multipart", "python_multipart")


def serve(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="History database the portfolio, account and queue pages read, and approvals "
            "and uploads write (default: $ACCOUNT_HEALTH_DB, else "
            "~/.local/share/account-health/history.sqlite3). Try it needs none.",
        ),
    ] = None,
    policy: PolicyOption = None,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. Anything but loopback (127.0.0.1, localhost, ::1) "
            "needs --token.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")
    ] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar=TOKEN_ENV,
            show_envvar=True,
            help="Access token every request must carry (a header, or the cookie the printed "
            "login link sets); at least 16 characters.",
        ),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only", help="Hide and refuse approve, reject, review done and recording."
        ),
    ] = False,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", min=0.01, help="Largest upload accepted, in MB.")
    ] = 5.0,
    llm: Annotated[
        str,
        typer.Option(
            "--llm",
            help="Drafting of briefs and emails: auto (Claude when ANTHROPIC_API_KEY is set, "
            "templates otherwise) or off (templates).",
        ),
    ] = "auto",
) -> None:
    """Serve the workspace in the browser: Try it, Portfolio, Account, Queue, Upload, and a
    JSON API under /api/.

    Binds 127.0.0.1 by default. Every state change is a POST with a CSRF token; nothing
    sends an email or carries out an action. Needs the web extra:
    pip install 'account-health-skill[web]'.

    Example: account-health serve --db history.sqlite3 --port 8765
    """
    from skill.web.security import is_loopback, token_problem

    if llm not in ("auto", "off"):
        raise fail(f"--llm {llm!r}: expected auto or off")
    problem = token_problem(host, token)
    if problem is not None:
        raise fail(problem)
    loaded = load_policy_or_exit(policy)
    try:  # lazily: the other commands never pay for importing the web stack
        import uvicorn

        from skill.web.app import create_app
        from skill.web.security import login_url
        from skill.web.workspace import WebConfig
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in WEB_PACKAGES:
            raise
        raise fail(WEB_EXTRA_HINT) from None
    config = WebConfig(
        db_path=db,
        policy=loaded,
        policy_file=policy,
        token=token,
        read_only=read_only,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        allowed_hosts=("127.0.0.1", "localhost", "::1")
        if token is None and is_loopback(host)
        else None,
        llm=llm,
    )
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}/"
    where = config.database
    err(
        f"account-health workspace on {base} (history database {where}"
        f"{'' if where.is_file() else ', not created yet'}"
        f"{'; read-only' if read_only else ''}); Ctrl-C to stop"
    )
    if token is not None:
        err(f"open {login_url(base, token)} to sign in")
    sys.stderr.flush()
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=os.environ.get("ACCOUNT_HEALTH_LOG_LEVEL", "warning"),
        server_header=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(serve)
