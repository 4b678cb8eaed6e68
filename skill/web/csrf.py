"""The CSRF check every POST route depends on (see skill.web.security for the session)."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from skill.web.security import CSRF_FIELD, CSRF_HEADER, Guard
from skill.web.workspace import WebError


async def require_csrf(request: Request) -> None:
    """A POST's CSRF check: the session's token in the form or the X-CSRF-Token header.

    Refused with 403 (`csrf_failed`) when missing or wrong. A request that carried
    the access token in a header needs none (no browser adds that header cross-site).
    """
    guard: Guard = request.state.guard
    if guard.token_header:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            given = (await request.form()).get(CSRF_FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given, guard.csrf_token):
        raise WebError(
            403,
            "csrf_failed",
            "the form's security token is missing or out of date: reload the page and try "
            "again (API clients: send X-CSRF-Token from GET /api/session)",
        )
