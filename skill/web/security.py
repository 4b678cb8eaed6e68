"""What stands between the workspace and a request: the access token, the session and its
CSRF token, the Host check, the upload cap and the security headers.

One ASGI middleware, in front of every route and static file:

- Token. With an access token configured (required for any host but loopback),
  every request needs it: an `Authorization: Bearer TOKEN` or `X-Account-Health-Token`
  header, or the login cookie that `GET /login?token=TOKEN` sets. Without it: 401.
- Host. Bound to loopback without a token, a request must name a loopback host
  (`127.0.0.1`, `localhost`, `[::1]`): a page on another site that rebinds its
  own name to 127.0.0.1 is refused (DNS rebinding).
- Session. A random session cookie (HttpOnly, SameSite=Strict); the CSRF token
  of a session is an HMAC of it under a per-process secret. Every POST must
  carry it (form field `csrf_token` or header `X-CSRF-Token`), checked in
  `require_csrf`; a request that authenticated with the token *header* needs
  none, since no browser attaches that header to a cross-site request.
- Uploads. A request body longer than the cap is refused with 413 before it is read.
- Headers. A Content-Security-Policy that allows scripts and styles from this
  server only (no inline script, no inline style), framing by nobody, no
  referrer, no caching of pages, no MIME sniffing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "ah_session"
LOGIN_COOKIE = "ah_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_HEADER = "x-account-health-token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MIN_TOKEN_LENGTH = 16

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


def is_loopback(host: str) -> bool:
    """127.0.0.1 (any 127.x), localhost or ::1: reachable from this machine only."""
    return host.strip("[]").lower() in LOOPBACK_HOSTS or host.startswith("127.")


def token_problem(host: str, token: str | None) -> str | None:
    """Why `serve` must not start with this host and token, or None when it may."""
    if token is not None and len(token.strip()) < MIN_TOKEN_LENGTH:
        return (
            f"--token is {len(token.strip())} characters; use at least {MIN_TOKEN_LENGTH}, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(24))'"
        )
    if token is None and not is_loopback(host):
        return (
            f"--host {host} serves beyond this machine: every request must then carry an "
            "access token; give one with --token TOKEN or ACCOUNT_HEALTH_TOKEN (e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )
    return None


def login_cookie_value(token: str) -> str:
    """What the login cookie holds: a digest of the token, never the token itself."""
    return hashlib.sha256(f"account-health-login:{token}".encode()).hexdigest()


def csrf_token_for(secret: bytes, session: str) -> str:
    return hmac.new(secret, f"csrf:{session}".encode(), hashlib.sha256).hexdigest()


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is ignored, as browsers do
                continue
    return {key: morsel.value for key, morsel in jar.items()}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _host_name(scope: Scope) -> str:
    """The Host header's name, without the port or an IPv6 address's brackets."""
    raw = (_header(scope, b"host") or "").strip().lower()
    if raw.startswith("["):
        return raw[1 : raw.find("]")] if "]" in raw else raw[1:]
    return raw.rsplit(":", 1)[0] if ":" in raw else raw


def _cookie_header(name: str, value: str, *, max_age: int | None = None) -> tuple[bytes, bytes]:
    text = f"{name}={value}; Path=/; HttpOnly; SameSite=Strict"
    if max_age is not None:
        text += f"; Max-Age={max_age}"
    return (b"set-cookie", text.encode("latin-1"))


class Guard:
    """The security state of one request, kept in `scope["state"]["guard"]`."""

    def __init__(self, session: str, csrf_token: str, token_header: bool) -> None:
        self.session = session
        self.csrf_token = csrf_token
        #: Authenticated by the token in a header: not something a browser sends cross-site.
        self.token_header = token_header


class SecurityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        secret: bytes,
        allowed_hosts: tuple[str, ...] | None,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.token = token
        self.secret = secret
        self.allowed_hosts = allowed_hosts
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope.get("path", "")
        is_api = path.startswith("/api/") or path == "/api"
        cookies = _cookies(scope)
        extra: list[tuple[bytes, bytes]] = []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {h for h, _ in SECURITY_HEADERS}
                ]
                headers += list(SECURITY_HEADERS)
                if not path.startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                headers += extra
                elapsed = (time.perf_counter() - started) * 1000
                headers.append((b"server-timing", f"app;dur={elapsed:.1f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        host = _host_name(scope)
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            await _refuse(
                send_with_headers,
                400,
                is_api,
                "bad_host",
                f"unexpected Host header {host!r}: open the workspace at http://127.0.0.1",
            )
            return

        token_header = False
        if self.token is not None:
            given = _header(scope, TOKEN_HEADER.encode())
            bearer = _header(scope, b"authorization") or ""
            if bearer.lower().startswith("bearer "):
                given = bearer[7:].strip()
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            if given is not None and hmac.compare_digest(given, self.token):
                token_header = True
            elif path == "/login" and hmac.compare_digest(query.get("token", ""), self.token):
                # The link `serve` prints: set the login cookie, then drop the token from the URL.
                target = query.get("next", "/")
                if not target.startswith("/") or target.startswith("//"):
                    target = "/"
                extra.append(_cookie_header(LOGIN_COOKIE, login_cookie_value(self.token)))
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 303,
                        "headers": [(b"location", target.encode("latin-1"))],
                    }
                )
                await send_with_headers({"type": "http.response.body", "body": b""})
                return
            elif not hmac.compare_digest(
                cookies.get(LOGIN_COOKIE, ""), login_cookie_value(self.token)
            ):
                await _refuse(
                    send_with_headers,
                    401,
                    is_api,
                    "token_required",
                    "this workspace needs its access token: open the link `account-health "
                    "serve` printed (/login?token=...), or send the header "
                    "`Authorization: Bearer TOKEN`",
                )
                return

        session = cookies.get(SESSION_COOKIE, "")
        if len(session) < 32:
            session = secrets.token_urlsafe(32)
            extra.append(_cookie_header(SESSION_COOKIE, session))
        state = scope.setdefault("state", {})
        state["guard"] = Guard(session, csrf_token_for(self.secret, session), token_header)

        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await _refuse(
                send_with_headers,
                413,
                is_api,
                "too_large",
                f"the request is {int(length):,} bytes; the workspace takes at most "
                f"{self.max_body_bytes:,} bytes (serve --max-upload-mb)",
            )
            return
        started_response = False

        async def send_tracked(message: Message) -> None:
            nonlocal started_response
            started_response = True
            await send_with_headers(message)

        try:
            await self.app(scope, _capped(receive, self.max_body_bytes), send_tracked)
        except BodyTooLarge:
            if started_response:
                raise
            await _refuse(
                send_with_headers,
                413,
                is_api,
                "too_large",
                f"the request is over {self.max_body_bytes:,} bytes; the workspace takes at "
                "most that much (serve --max-upload-mb)",
            )


class BodyTooLarge(Exception):
    """A request body without a declared length ran past the cap."""


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(f"the request body is over {limit:,} bytes")
        return message

    return wrapped


async def _refuse(send: Send, status: int, is_api: bool, code: str, message: str) -> None:
    if is_api:
        body = json.dumps({"code": code, "field": None, "value": None, "message": message})
        content_type = b"application/json"
    else:
        from markupsafe import escape

        body = (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{status}</title></head>"
            f"<body><main><h1>{status}</h1><p class=error>{escape(message)}</p></main>"
            "</body></html>"
        )
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type)],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def login_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/login?{urlencode({'token': token})}"
