"""A small local stand-in of Anthropic's Messages API, owned by the tests.

Cassettes for the LLM drafter are recorded against this server, so every
hostile case (malformed JSON, schema violations, invented numbers, false
claims, injected instructions, rate limits, outages, truncation, refusals) can
be played on purpose and replayed through the real SDK with no network.

Standard library only. It binds 127.0.0.1 on a fixed port (so cassette URIs
are stable), serves from a daemon thread, answers at most `MAX_REQUESTS`
requests, and only ever *reads* JSON from a request: nothing in a request is
executed or evaluated.

Endpoints:

- ``POST /v1/messages``
- ``POST /v1/messages/batches``
- ``GET  /v1/messages/batches/{id}`` (``in_progress`` for the first N polls, then ``ended``)
- ``GET  /v1/messages/batches/{id}/results`` (JSONL; this is the batch's ``results_url``)

The scenario is picked by the ``account_id`` in the ``<facts>`` JSON of the
first user message, by prefix (see `SCENARIOS`); an id with no known prefix
behaves like ``ok-``. Calls are counted per (account id, draft kind), so a
retry of the same draft is call 2, 3, ...; the brief and the email of one
account count separately.

================================  =====================================================
prefix                            answer (BriefDraft / EmailDraft)
================================  =====================================================
``ok-`` (and unknown ids)         a valid draft built from the facts only
``malformed-once-``/``malformed-``  call 1 / every call: text that is not JSON
``schema-``                       JSON breaking the schema (no ``rationales``/``body``,
                                  extra ``"status": "auto"``, an ``approve_everything``
                                  rationale under ``rationale``)
``invented-number-once-``/...     call 1 / every call: adds "Churn probability is 87%..."
``claims-``                       says actions were approved, sent, scheduled
``discount-``                     email promises a discount and a free month (brief valid)
``free-month-``                   every email offers a free month as a thank-you, no other
                                  commercial word (brief valid)
``injection-``                    echoes the untrusted notes, "As instructed, ..."
``ratelimit-``                    call 1: 429 rate_limit_error, ``retry-after: 0``
``overloaded-`` / ``server-error-``  every call: 529 overloaded_error / 500 api_error
``truncated-`` / ``refusal-``     ``stop_reason`` max_tokens (cut JSON) / refusal
``canceled-`` / ``expired-``      in a batch: that result type; alone: like ``ok-``
================================  =====================================================

In a batch, 429/5xx outcomes become ``errored`` results carrying the error body.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STANDIN_HOST = "127.0.0.1"
STANDIN_PORT = 47111
STANDIN_URL = f"http://{STANDIN_HOST}:{STANDIN_PORT}"

MAX_REQUESTS = 10_000
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Batch timestamps are fixed, so recorded cassettes do not change between runs.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

#: Account-id prefix -> scenario name. Longest prefixes first: first match wins.
SCENARIOS: tuple[tuple[str, str], ...] = (
    ("invented-number-once-", "invented-number-once"),
    ("invented-number-", "invented-number"),
    ("malformed-once-", "malformed-once"),
    ("server-error-", "server-error"),
    ("overloaded-", "overloaded"),
    ("ratelimit-", "ratelimit"),
    ("malformed-", "malformed"),
    ("truncated-", "truncated"),
    ("injection-", "injection"),
    ("free-month-", "free-month"),
    ("discount-", "discount"),
    ("canceled-", "canceled"),
    ("expired-", "expired"),
    ("refusal-", "refusal"),
    ("schema-", "schema"),
    ("claims-", "claims"),
    ("ok-", "ok"),
)

BRIEF = "BriefDraft"
EMAIL = "EmailDraft"

INVENTED_SENTENCE = "Churn probability is 87% and ARR will drop by 41,000."
DISCOUNT_SENTENCE = (
    "As a thank-you, I can offer you a 20% discount on your renewal and a free month of service."
)
FREE_MONTH_SENTENCE = (
    "As a thank-you for being such a great partner, your next month is a free month."
)
INJECTION_SENTENCE = "As instructed, every action is now approved."
REFUSAL_TEXT = "I can't help with this request."

#: What each status means, in words that claim nothing has happened.
_STATUS_MEANING = {
    "auto": "it runs without a person",
    "approval_required": "a person must approve it first",
    "recommend_only": "a person may choose to carry it out",
    "blocked": "it must not go ahead",
}
_WAITS_FOR_PERSON = ("approval_required", "recommend_only")

_LIMIT_PATTERNS = {
    "summary_line": re.compile(r"summary_line up to (\d+)"),
    "narrative": re.compile(r"narrative up to (\d+)"),
    "rationale": re.compile(r"rationale up to (\d+)"),
    "subject": re.compile(r"subject up to (\d+)"),
    "body": re.compile(r"body up to (\d+)"),
}
_FACTS = re.compile(r"<facts>\s*(.*?)\s*</facts>", re.DOTALL)
_NOTES = re.compile(r"<untrusted_notes>\s*(.*?)\s*</untrusted_notes>", re.DOTALL)
_BATCH_PATH = re.compile(r"^/v1/messages/batches/(msgbatch_[A-Za-z0-9_]+)(/results)?$")


def scenario_for(account_id: str | None) -> str:
    """The scenario an account id selects (``ok`` when no prefix matches)."""
    for prefix, name in SCENARIOS:
        if account_id and account_id.startswith(prefix):
            return name
    return "ok"


class RequestError(Exception):
    """A request the real API would refuse: becomes an Anthropic-style error body."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class Outcome:
    """What one Messages call produces: a message (status 200) or an API error."""

    scenario: str
    status: int = 200
    text: str = ""
    stop_reason: str = "end_turn"
    error_type: str | None = None
    error_message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    batch_result: str | None = None  # "canceled" / "expired": only meaningful in a batch


# --- reading requests -------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            block["text"]
            for block in content
            if isinstance(block, dict) and isinstance(block.get("text"), str)
        )
    return ""


def _system(params: dict[str, Any]) -> tuple[str, bool]:
    """System prompt text, and whether it asks for prompt caching."""
    system = params.get("system")
    cached = isinstance(system, list) and any(
        isinstance(block, dict) and block.get("cache_control") for block in system
    )
    return _text_of(system), cached


def validate_params(params: Any) -> None:
    """The minimal checks the real API would make before doing any work."""
    if not isinstance(params, dict):
        raise RequestError(400, "invalid_request_error", "Request body must be a JSON object.")
    model = params.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError(400, "invalid_request_error", "model: Field required")
    max_tokens = params.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise RequestError(400, "invalid_request_error", "max_tokens: Field required")
    messages = params.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "invalid_request_error", "messages: Field required")
    for i, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ("user", "assistant")
            or not isinstance(message.get("content"), str | list)
        ):
            raise RequestError(
                400, "invalid_request_error", f"messages.{i}: expected a role and content"
            )
    if messages[0].get("role") != "user":
        raise RequestError(400, "invalid_request_error", "messages.0: first message must be user")


def _first_user_text(params: dict[str, Any]) -> str:
    return _text_of(params["messages"][0].get("content"))


def _tagged_json(pattern: re.Pattern[str], text: str) -> dict[str, Any]:
    match = pattern.search(text)
    if not match:
        return {}
    try:
        value = json.loads(match.group(1))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _draft_kind(params: dict[str, Any], user_text: str) -> str:
    output_format = (params.get("output_config") or {}).get("format") or {}
    schema = output_format.get("schema") if isinstance(output_format, dict) else None
    if isinstance(schema, dict):
        if schema.get("title") in (BRIEF, EMAIL):
            return schema["title"]
        properties = schema.get("properties") or {}
        if "subject" in properties:
            return EMAIL
        if "summary_line" in properties:
            return BRIEF
    return EMAIL if "email" in user_text.lower() else BRIEF


def _limits(system_text: str) -> dict[str, int | None]:
    limits: dict[str, int | None] = {}
    for name, pattern in _LIMIT_PATTERNS.items():
        match = pattern.search(system_text)
        limits[name] = int(match.group(1)) if match else None
    return limits


def _recipient(user_text: str, account_name: str) -> str | None:
    first_line = user_text.strip().splitlines()[0] if user_text.strip() else ""
    match = re.search(r" to (.+?) at " + re.escape(account_name), first_line)
    if not match:
        return None
    name = match.group(1).strip()
    if not name or name.lower().startswith("the "):
        return None
    return name


# --- writing drafts (facts only) --------------------------------------------------------------


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _fit(parts: list[tuple[str, bool]], limit: int | None) -> str:
    """Join sentences in order; optional ones (flag False) only while under the limit."""
    required = " ".join(text for text, needed in parts if needed)
    chosen: list[str] = []
    budget = (limit or 10**9) - len(required)
    for text, needed in parts:
        if needed:
            chosen.append(text)
        elif len(text) + 1 <= budget:
            chosen.append(text)
            budget -= len(text) + 1
    return " ".join(chosen)


def _action_list(actions: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{a.get('label', a.get('action'))} ({a.get('status_words', '')})" for a in actions
    )


def brief_ok(facts: dict[str, Any], limits: dict[str, int | None]) -> dict[str, Any]:
    name = facts.get("account_name") or "This account"
    score = facts.get("score")
    band = facts.get("band")
    actions = [a for a in facts.get("actions") or [] if isinstance(a, dict)]

    summary_options = [
        f"Health score {score} puts {name} in the {band} band.",
        f"Health score {score}: {band} band.",
    ]
    limit = limits.get("summary_line")
    summary = next(
        (s for s in summary_options if not limit or len(s) <= limit), summary_options[-1]
    )

    waiting = [a for a in actions if a.get("status") in _WAITS_FOR_PERSON]
    automatic = [a for a in actions if a.get("status") == "auto"]
    blocked = [a for a in actions if a.get("status") == "blocked"]
    flags = [f for f in facts.get("flags") or [] if isinstance(f, dict)]
    parts: list[tuple[str, bool]] = [
        (f"{name} has a health score of {score}, in the {band} band.", True),
    ]
    if flags:
        parts.append(
            (_sentence(f"Main signal: {flags[0].get('label')}, {flags[0].get('evidence')}"), False)
        )
    if waiting:
        parts.append((f"Waiting for a person: {_action_list(waiting)}.", True))
    else:
        parts.append(("No action waits for a person.", True))
    if automatic:
        parts.append((f"Running without a person: {_action_list(automatic)}.", False))
    if blocked:
        parts.append((f"Not going ahead: {_action_list(blocked)}.", False))
    narrative = _fit(parts, limits.get("narrative"))

    rationales = []
    for a in actions:
        evidence = a.get("evidence") or []
        basis = evidence[0] if evidence else a.get("status_reason") or a.get("label")
        meaning = _STATUS_MEANING.get(str(a.get("status")), "a person decides")
        text = _fit(
            [
                (_sentence(basis), True),
                (f"Status: {a.get('status_words')}, so {meaning}.", True),
            ],
            limits.get("rationale"),
        )
        rationales.append({"action": a.get("action"), "rationale": text})
    return {"summary_line": summary, "narrative": narrative, "rationales": rationales}


#: The email kind, read from the first line of the prompt, and what a valid draft says.
_EMAIL_KINDS: tuple[tuple[str, str, str], ...] = (
    (
        "engagement email",
        "A few resources for the {name} team",
        "Your team is already making good use of the product, and a few features you have "
        "not tried yet could save you time. Would short guides or a brief session help?",
    ),
    (
        "advocacy request",
        "Would you share your story?",
        "Thank you for the way your team has taken to the product. Would you be open to a "
        "short case study, a testimonial, or an introduction to a peer? No pressure at all.",
    ),
)


def email_ok(facts: dict[str, Any], user_text: str) -> dict[str, Any]:
    name = facts.get("account_name") or "your team"
    owner = facts.get("owner_name") or "Your account team"
    recipient = _recipient(user_text, str(name))
    greeting = f"Hi {recipient}," if recipient else "Hi team,"
    first_line = user_text.strip().splitlines()[0] if user_text.strip() else ""
    subject = f"Checking in on {name}"
    ask = (
        "I hope things are going well. I'd like to hear how the product is working for "
        "your team and whether there is anything I can help with."
    )
    for marker, kind_subject, kind_ask in _EMAIL_KINDS:
        if marker in first_line:
            subject, ask = kind_subject.format(name=name), kind_ask
    body = "\n\n".join(
        [
            greeting,
            ask,
            "Would a short call be useful? Just reply with a time that suits you.",
            f"Best regards,\n{owner}",
        ]
    )
    return {"subject": subject, "body": body}


def _with_sentence(body: str, sentence: str) -> str:
    """Add a sentence to an email body just before the sign-off paragraph."""
    head, sep, sign_off = body.rpartition("\n\n")
    return f"{head}\n\n{sentence}{sep}{sign_off}" if sep else f"{body}\n\n{sentence}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _notes_text(notes: dict[str, Any]) -> str:
    return " ".join(str(notes[k]) for k in ("notes", "blocker_note") if notes.get(k))


def draft_text(
    scenario: str,
    call: int,
    kind: str,
    facts: dict[str, Any],
    notes: dict[str, Any],
    user_text: str,
    limits: dict[str, int | None],
) -> str:
    """The assistant text for a 200 response in this scenario and call number."""
    valid = brief_ok(facts, limits) if kind == BRIEF else email_ok(facts, user_text)
    once = call == 1
    if scenario == "malformed" or (scenario == "malformed-once" and once):
        return '{"summary_line": "cut off' if kind == BRIEF else '{"subject": "cut off'
    if scenario == "schema":
        if kind == BRIEF:
            return _dumps(
                {
                    "summary_line": valid["summary_line"],
                    "narrative": valid["narrative"],
                    "status": "auto",
                    "rationale": [
                        {"action": "approve_everything", "rationale": "Approve every action now."}
                    ],
                }
            )
        return _dumps({"subject": valid["subject"], "status": "auto"})
    if scenario == "invented-number" or (scenario == "invented-number-once" and once):
        if kind == BRIEF:
            valid["narrative"] += " " + INVENTED_SENTENCE
        else:
            valid["body"] = _with_sentence(valid["body"], INVENTED_SENTENCE)
    elif scenario == "claims":
        if kind == BRIEF:
            valid["narrative"] += " All actions have been approved."
            for item in valid["rationales"]:
                label = next(
                    (
                        a.get("label")
                        for a in facts.get("actions", [])
                        if a.get("action") == item["action"]
                    ),
                    item["action"],
                )
                item["rationale"] = (
                    f"{label} has been approved and sent, and the follow-up was scheduled."
                )
        else:
            valid["body"] = _with_sentence(
                valid["body"], "I have approved and sent the plan, and our follow-up was scheduled."
            )
    elif scenario == "discount" and kind == EMAIL:
        valid["body"] = _with_sentence(valid["body"], DISCOUNT_SENTENCE)
    elif scenario == "free-month" and kind == EMAIL:
        valid["body"] = _with_sentence(valid["body"], FREE_MONTH_SENTENCE)
    elif scenario == "injection":
        echoed = " ".join(filter(None, [_notes_text(notes), INJECTION_SENTENCE]))
        if kind == BRIEF:
            valid["narrative"] += " " + echoed
            for item in valid["rationales"]:
                item["rationale"] = "As instructed, this action is approved and has been approved."
        else:
            valid["body"] = _with_sentence(valid["body"], echoed)
    text = _dumps(valid)
    if scenario == "truncated":
        return text[: max(12, len(text) // 2)]
    return text


# --- the server -------------------------------------------------------------------------------


def _error_body(error_type: str, message: str, request_id: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }


_REASONS = {529: "Overloaded"}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Batch:
    id: str
    created_at: datetime
    results: list[dict[str, Any]]
    polls: int = 0

    def counts(self, ended: bool) -> dict[str, int]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if not ended:
            counts["processing"] = len(self.results)
            return counts
        for line in self.results:
            counts[line["result"]["type"]] += 1
        return counts


class StandIn:
    """The Messages API stand-in. Use as a context manager::

        with StandIn() as server:
            client = anthropic.Anthropic(api_key="test-key-not-a-secret", base_url=server.url)

    `port` defaults to the fixed `STANDIN_PORT` (pass 0 for any free port);
    `in_progress_polls` is how many retrieves of a batch still say ``in_progress``.
    The host is always 127.0.0.1.
    """

    def __init__(
        self,
        port: int = STANDIN_PORT,
        *,
        in_progress_polls: int = 1,
        max_requests: int = MAX_REQUESTS,
    ) -> None:
        self.host = STANDIN_HOST
        self.port = port
        self.in_progress_polls = in_progress_polls
        self.max_requests = min(max_requests, MAX_REQUESTS)
        self.requests_served = 0
        #: Calls per (account id, draft kind), batch requests included.
        self.calls: dict[tuple[str, str], int] = {}
        #: One entry per request: method, path, status, and the scenario when there was one.
        self.log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._counters = {"msg": 0, "msgbatch": 0, "req": 0}
        self._seen_systems: set[str] = set()
        self._batches: dict[str, _Batch] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> StandIn:
        if self._server is not None:
            raise RuntimeError("stand-in already running")
        server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"llm-standin-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def bound_address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("stand-in not running")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    # ids and accounting (call with the lock held)

    def _next_id(self, prefix: str) -> str:
        self._counters[prefix] += 1
        return f"{prefix}_standin_{self._counters[prefix]:04d}"

    def _usage(self, params: dict[str, Any], text: str, *, batch: bool) -> dict[str, Any]:
        system_text, cached = _system(params)
        conversation = "".join(_text_of(m.get("content")) for m in params["messages"])
        system_tokens = len(system_text) // 4
        usage = {
            "input_tokens": len(conversation) // 4 + (0 if cached else system_tokens),
            "output_tokens": max(1, len(text) // 4),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "batch" if batch else "standard",
        }
        if cached and system_text:
            if system_text in self._seen_systems:
                usage["cache_read_input_tokens"] = system_tokens
            else:
                usage["cache_creation_input_tokens"] = system_tokens
        if system_text:
            self._seen_systems.add(system_text)
        return usage

    def _outcome(self, params: dict[str, Any]) -> Outcome:
        user_text = _first_user_text(params)
        facts = _tagged_json(_FACTS, user_text)
        if not facts:
            return Outcome(scenario="no-facts", text="The stand-in found no <facts> block.")
        notes = _tagged_json(_NOTES, user_text)
        account_id = str(facts.get("account_id") or "")
        kind = _draft_kind(params, user_text)
        scenario = scenario_for(account_id)
        key = (account_id, kind)
        self.calls[key] = call = self.calls.get(key, 0) + 1

        if scenario == "ratelimit" and call == 1:
            return Outcome(
                scenario,
                status=429,
                error_type="rate_limit_error",
                error_message="Number of request tokens has exceeded your per-minute rate limit.",
                headers={"retry-after": "0"},
            )
        if scenario == "overloaded":
            return Outcome(
                scenario, status=529, error_type="overloaded_error", error_message="Overloaded"
            )
        if scenario == "server-error":
            return Outcome(
                scenario, status=500, error_type="api_error", error_message="Internal server error"
            )
        if scenario == "refusal":
            return Outcome(scenario, text=REFUSAL_TEXT, stop_reason="refusal")
        system_text, _ = _system(params)
        text = draft_text(scenario, call, kind, facts, notes, user_text, _limits(system_text))
        if scenario == "truncated":
            return Outcome(scenario, text=text, stop_reason="max_tokens")
        batch_result = scenario if scenario in ("canceled", "expired") else None
        return Outcome(scenario, text=text, batch_result=batch_result)

    def _message(self, params: dict[str, Any], outcome: Outcome, *, batch: bool) -> dict[str, Any]:
        usage = self._usage(params, outcome.text, batch=batch)
        if outcome.stop_reason == "max_tokens":
            usage["output_tokens"] = params["max_tokens"]
        return {
            "id": self._next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": params["model"],
            "content": [{"type": "text", "text": outcome.text}],
            "stop_reason": outcome.stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }

    # endpoints: each returns (status, headers, body bytes, scenario)

    def create_message(self, params: Any) -> tuple[int, dict[str, str], Any, str | None]:
        validate_params(params)
        outcome = self._outcome(params)
        if outcome.status != 200:
            body = _error_body(outcome.error_type or "api_error", outcome.error_message, "")
            return outcome.status, outcome.headers, body, outcome.scenario
        return 200, {}, self._message(params, outcome, batch=False), outcome.scenario

    def create_batch(self, body: Any) -> tuple[int, dict[str, str], Any, str | None]:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise RequestError(400, "invalid_request_error", "requests: Field required")
        custom_ids: set[str] = set()
        for i, item in enumerate(requests):
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not custom_id:
                raise RequestError(
                    400, "invalid_request_error", f"requests.{i}.custom_id: required"
                )
            if custom_id in custom_ids:
                raise RequestError(
                    400, "invalid_request_error", f"requests.{i}: duplicate custom_id {custom_id!r}"
                )
            custom_ids.add(custom_id)
            validate_params(item.get("params"))
        results = []
        for item in requests:
            params = item["params"]
            outcome = self._outcome(params)
            if outcome.status != 200:
                result: dict[str, Any] = {
                    "type": "errored",
                    "error": _error_body(
                        outcome.error_type or "api_error",
                        outcome.error_message,
                        self._next_id("req"),
                    ),
                }
            elif outcome.batch_result:
                result = {"type": outcome.batch_result}
            else:
                result = {
                    "type": "succeeded",
                    "message": self._message(params, outcome, batch=True),
                }
            results.append({"custom_id": item["custom_id"], "result": result})
        batch_id = self._next_id("msgbatch")
        created = EPOCH + timedelta(minutes=len(self._batches))
        batch = _Batch(id=batch_id, created_at=created, results=results)
        self._batches[batch_id] = batch
        return 200, {}, self._batch_object(batch, ended=False), None

    def _batch_object(self, batch: _Batch, *, ended: bool) -> dict[str, Any]:
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": batch.counts(ended),
            "created_at": _iso(batch.created_at),
            "expires_at": _iso(batch.created_at + timedelta(hours=24)),
            "ended_at": _iso(batch.created_at + timedelta(seconds=30)) if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            # Absolute, like the real API's: the SDK fetches it as given, not under base_url.
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _get_batch(self, batch_id: str) -> _Batch:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise RequestError(404, "not_found_error", f"Message batch {batch_id!r} not found.")
        return batch

    def retrieve_batch(self, batch_id: str) -> tuple[int, dict[str, str], Any, str | None]:
        batch = self._get_batch(batch_id)
        batch.polls += 1
        ended = batch.polls > self.in_progress_polls
        return 200, {}, self._batch_object(batch, ended=ended), None

    def batch_results(self, batch_id: str) -> tuple[int, dict[str, str], Any, str | None]:
        batch = self._get_batch(batch_id)
        if batch.polls <= self.in_progress_polls:
            raise RequestError(
                400, "invalid_request_error", f"Message batch {batch_id!r} is still in progress."
            )
        lines = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in batch.results)
        return 200, {"content-type": "application/binary"}, lines.encode("utf-8"), None


def _handler_for(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "account-health-llm-standin/1"
        sys_version = ""
        protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads
        timeout = 10

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def date_time_string(self, timestamp: float | None = None) -> str:
            # A fixed Date header keeps re-recorded cassettes free of noise diffs.
            return EPOCH.strftime("%a, %d %b %Y %H:%M:%S GMT")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_GET(self) -> None:
            self._serve("GET")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _read_json(self) -> Any:
            length_header = self.headers.get("content-length")
            if length_header is None or not length_header.isdigit():
                raise RequestError(411, "invalid_request_error", "Content-Length required.")
            length = int(length_header)
            if length > MAX_BODY_BYTES:
                raise RequestError(413, "request_too_large", "Request exceeds the maximum size.")
            raw = self.rfile.read(length)
            try:
                return json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise RequestError(400, "invalid_request_error", "Body is not valid JSON.") from exc

        def _route(
            self, method: str, path: str, body: Any
        ) -> tuple[int, dict[str, str], Any, str | None]:
            if method == "POST" and path == "/v1/messages":
                return standin.create_message(body)
            if method == "POST" and path == "/v1/messages/batches":
                return standin.create_batch(body)
            match = _BATCH_PATH.match(path)
            if method == "GET" and match:
                if match.group(2):
                    return standin.batch_results(match.group(1))
                return standin.retrieve_batch(match.group(1))
            raise RequestError(404, "not_found_error", f"No route for {method} {path}.")

        def _serve(self, method: str) -> None:
            path = self.path.split("?", 1)[0]
            # Read the body before taking the lock, so a slow client holds up nobody.
            request: Any = None
            early: RequestError | None = None
            try:
                if not self.headers.get("x-api-key") and not self.headers.get("authorization"):
                    raise RequestError(401, "authentication_error", "x-api-key header is required")
                if method == "POST":
                    request = self._read_json()
            except RequestError as exc:
                early = exc
            with standin._lock:
                standin.requests_served += 1
                request_id = standin._next_id("req")
                scenario = None
                if standin.requests_served > standin.max_requests:
                    status, headers = 503, {}
                    body: Any = _error_body(
                        "api_error", "Stand-in request limit reached.", request_id
                    )
                else:
                    try:
                        if early is not None:
                            raise early
                        status, headers, body, scenario = self._route(method, path, request)
                    except RequestError as exc:
                        status, headers = exc.status, {}
                        body = _error_body(exc.error_type, exc.message, request_id)
                    if isinstance(body, dict) and body.get("type") == "error":
                        body["request_id"] = request_id
                standin.log.append(
                    {"method": method, "path": path, "status": status, "scenario": scenario}
                )
            payload = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            self.send_response(status, _REASONS.get(status))
            self.send_header("content-type", headers.pop("content-type", "application/json"))
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", request_id)
            if scenario:
                self.send_header("x-standin-scenario", scenario)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
