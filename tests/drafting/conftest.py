"""Recorded LLM exchanges: vcrpy cassettes replayed through the real Anthropic SDK.

Mark a test `@pytest.mark.vcr` and take `anthropic_client`: by default every
request is answered from `tests/cassettes/<module>.<test>.yaml` and nothing
touches the network. To record, run with `--record-mode=rewrite` (or `once`):
the `standin` fixture then starts the local Messages API stand-in
(`tests/llm_standin.py`) and the client talks to it. With
`ACCOUNT_HEALTH_RECORD_REAL=1` the client talks to the real API instead, and
only tests marked `llm_real` may record (hostile scenarios come from the
stand-in alone). See `tests/cassettes/README.md`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_standin import STANDIN_URL, StandIn

CASSETTE_DIR = Path(__file__).resolve().parent.parent / "cassettes"
RECORD_REAL_ENV = "ACCOUNT_HEALTH_RECORD_REAL"
REAL_API_URL = "https://api.anthropic.com"
TEST_API_KEY = "test-key-not-a-secret"
REDACTED = "REDACTED"

#: Response ids (`msg_…`, `msgbatch_…`, `req_…`) become fixed placeholders such as `msg_scrubbed`.
RESPONSE_ID = re.compile(r"\b(msgbatch|msg|req)_(?!scrubbed\b)[A-Za-z0-9_]+")
#: Request headers that carry credentials: kept as REDACTED (to show one was sent) or dropped.
FILTER_HEADERS = [
    ("x-api-key", REDACTED),
    ("authorization", REDACTED),
    ("anthropic-organization-id", None),
    ("request-id", None),
    ("cookie", None),
]
#: Any other request header whose name suggests a credential is dropped.
_KEY_HEADER = re.compile(r"key|auth|token|secret|cookie|session", re.IGNORECASE)
#: Response headers that identify an organization, a request or a session.
_DROP_RESPONSE_HEADERS = {
    "request-id",
    "x-request-id",
    "anthropic-organization-id",
    "anthropic-workspace-id",
    "set-cookie",
    "cookie",
    "cf-ray",
}


def recording_real() -> bool:
    return os.environ.get(RECORD_REAL_ENV) == "1"


def scrub_ids(text: str) -> str:
    return RESPONSE_ID.sub(lambda m: f"{m.group(1)}_scrubbed", text)


def scrub_request(request: Any) -> Any:
    """Runs on every request, recorded or replayed, so both sides match the same way.

    The real API's origin is rewritten to the stand-in's, so a cassette recorded
    against either replays with the client pointed at `STANDIN_URL`; ids in the
    path (`/v1/messages/batches/msgbatch_…`) get the same placeholders as responses.
    """
    uri = request.uri
    if uri.startswith(REAL_API_URL):
        uri = STANDIN_URL + uri[len(REAL_API_URL) :]
    request.uri = scrub_ids(uri)
    for name in list(request.headers):
        if _KEY_HEADER.search(name) and request.headers[name] != REDACTED:
            del request.headers[name]
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = {}
    for name, values in response.get("headers", {}).items():
        if name.lower() in _DROP_RESPONSE_HEADERS:
            continue
        headers[name] = [scrub_ids(v) if isinstance(v, str) else v for v in values]
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            body = scrub_ids(text).encode("utf-8")
    elif isinstance(body, str):
        body = scrub_ids(body)
    if body is not None:
        response["body"]["string"] = body
        for name in headers:
            if name.lower() == "content-length":
                size = len(body.encode("utf-8") if isinstance(body, str) else body)
                headers[name] = [str(size)]
    response["headers"] = headers
    return response


def _record_mode(request: pytest.FixtureRequest) -> str:
    """`--record-mode`, else a `vcr(record_mode=...)` mark, else "none" (replay only)."""
    cli = request.config.getoption("--record-mode", default=None)
    if cli:
        return cli
    for mark in request.node.iter_markers(name="vcr"):
        if "record_mode" in mark.kwargs:
            return mark.kwargs["record_mode"]
    return "none"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Against the real API, record only `llm_real` tests; skip before a cassette is wiped."""
    if not recording_real() or item.get_closest_marker("vcr") is None:
        return
    if (item.config.getoption("--record-mode", default=None) or "none") == "none":
        return
    if item.get_closest_marker("llm_real") is None:
        pytest.skip("hostile scenarios are recorded from the stand-in only, never the real API")


@pytest.fixture
def vcr_config(record_mode: str) -> dict[str, Any]:
    return {
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
        "filter_headers": FILTER_HEADERS,
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        # pytest-recording lets vcr_config's record_mode beat `--record-mode`, so pass the
        # CLI value through (its `record_mode` fixture is "none" when the option is absent).
        "record_mode": record_mode,
    }


@pytest.fixture
def vcr_cassette_dir() -> str:
    """One folder for every module: `tests/cassettes/`."""
    return str(CASSETTE_DIR)


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    """`<module>.<Class>.<test[param]>`, so one folder holds every module's cassettes."""
    from pytest_recording.plugin import get_default_cassette_name

    marker = request.node.get_closest_marker("default_cassette")
    if marker is not None:
        return marker.args[0]
    module = request.node.path.stem
    return f"{module}.{get_default_cassette_name(request.cls, request.node.name)}"


@pytest.fixture
def standin(request: pytest.FixtureRequest) -> Iterator[StandIn | None]:
    """The local stand-in while recording from it; None when replaying or recording the real API."""
    if _record_mode(request) == "none" or recording_real():
        yield None
        return
    with StandIn() as server:
        yield server


@pytest.fixture
def anthropic_client(
    request: pytest.FixtureRequest, standin: StandIn | None, vcr: Any
) -> Iterator[Any]:
    """The real SDK client: stand-in URL and a dummy key unless recording the real API.

    When replaying, teardown checks that every request the client made was
    answered from the cassette and every recorded exchange was used. Without
    that, a missing or stale cassette would surface only as the drafter's
    connection-error fallback, and the test could pass for the wrong reason.
    """
    anthropic = pytest.importorskip("anthropic")
    if recording_real():
        api_key = os.environ.get("ANTHROPIC_API_KEY")
        if not api_key:
            pytest.fail(f"{RECORD_REAL_ENV}=1 needs ANTHROPIC_API_KEY in the environment")
        base_url = REAL_API_URL
    else:
        api_key, base_url = TEST_API_KEY, STANDIN_URL

    sent: list[str] = []

    def count(http_request: Any) -> None:
        sent.append(f"{http_request.method} {http_request.url}")

    http_client = anthropic.DefaultHttpxClient(event_hooks={"request": [count]})
    client = anthropic.Anthropic(
        api_key=api_key,
        base_url=base_url,
        max_retries=0,
        timeout=10,
        http_client=http_client,
    )
    try:
        yield client
    finally:
        client.close()
    if vcr is not None and _record_mode(request) == "none":
        cassette = getattr(vcr, "_path", "?")
        unanswered = len(sent) - vcr.play_count
        assert unanswered == 0, (
            f"{unanswered} of {len(sent)} request(s) were not in cassette {cassette}; "
            "re-record it (see tests/cassettes/README.md). Requests: " + "; ".join(sent)
        )
        assert vcr.all_played, (
            f"cassette {cassette} holds {len(vcr)} exchange(s) but only {vcr.play_count} "
            "were used; the drafter's requests changed, so re-record it"
        )
