"""`AnthropicDrafter`: prose from Claude, validated part by part, templates as the floor.

Every call goes through the official SDK. A draft is parsed against its text-only
schema, then checked by the guard; a failing draft gets one retry that names
its problems, and any part still failing is replaced by template text. API
faults (429, 529, 5xx, timeouts, connection errors, max_tokens, refusals) give
template text for that account and a warning, never an exception.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from skill.assessment import Assessment
from skill.drafting.base import AccountTexts, DraftSource, EmailKind, EmailTexts, overall_source
from skill.drafting.cache import DraftCache, Usage
from skill.drafting.drafts import BriefDraft, EmailDraft
from skill.drafting.facts import DraftFacts, build_facts, facts_hash, untrusted_notes
from skill.drafting.guard import check_brief, check_email
from skill.drafting.prompts import (
    brief_prompt,
    email_prompt,
    facts_key_material,
    retry_prompt,
    system_prompt,
    template_sources,
)
from skill.drafting.templates import TemplateDrafter

# A current fast model from the SDK's own list (anthropic.types.ModelParam).
DEFAULT_MODEL = "claude-haiku-5-5"
MODEL_ENV = "ACCOUNT_HEALTH_MODEL"
TIMEOUT_SECONDS = 60.0
CONNECT_TIMEOUT_SECONDS = 10.0
MAX_RETRIES = 2
MAX_TOKENS = {"brief": 2000, "email": 1000}

Warn = Callable[[str], None]
Parts = dict[str, str]
Problems = dict[str, list[str]]


def resolve_model(explicit: str | None = None) -> str:
    return explicit or os.environ.get(MODEL_ENV) or DEFAULT_MODEL


def make_client(*, max_retries: int = MAX_RETRIES, timeout: float = TIMEOUT_SECONDS) -> Any:
    """The SDK client as a user with a key would make it; it reads ANTHROPIC_API_KEY and
    ANTHROPIC_BASE_URL. Retries back off on 429/5xx; the timeout bounds a stuck request."""
    import anthropic
    import httpx2

    return anthropic.Anthropic(
        timeout=httpx2.Timeout(timeout, connect=CONNECT_TIMEOUT_SECONDS), max_retries=max_retries
    )


class DraftFault(Exception):
    """The API gave no usable text for this account; the caller falls back to templates."""


def _output_config(model: type[BaseModel]) -> dict[str, Any]:
    import anthropic

    return {"format": {"type": "json_schema", "schema": anthropic.transform_schema(model)}}


def _flatten(problems: Problems) -> list[str]:
    return [p for found in problems.values() for p in found]


def _schema_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False)[:10]:
        where = ".".join(str(p) for p in error["loc"]) or "response"
        problems.append(f"schema: {where}: {error['msg']}")
    return problems


def brief_parts(text: str, facts: DraftFacts) -> tuple[Parts, Problems]:
    """Parse and guard one brief. Only parts that pass are returned as usable."""
    try:
        draft = BriefDraft.model_validate_json(text)
    except ValidationError as exc:
        return {}, {"schema": _schema_problems(exc)}
    problems = check_brief(draft, facts)
    parts: Parts = {"summary_line": draft.summary_line, "narrative": draft.narrative}
    known = {a.action for a in facts.actions}
    for item in draft.rationales:
        if item.action in known and f"rationale:{item.action}" not in parts:
            parts[f"rationale:{item.action}"] = item.rationale
    usable = {part: value for part, value in parts.items() if part not in problems}
    return usable, problems


def email_parts(text: str, facts: DraftFacts) -> tuple[Parts, Problems]:
    try:
        draft = EmailDraft.model_validate_json(text)
    except ValidationError as exc:
        return {}, {"schema": _schema_problems(exc)}
    problems = check_email(draft, facts)
    parts = {"subject": draft.subject, "body": draft.body}
    return {k: v for k, v in parts.items() if k not in problems}, problems


Attempt = tuple[DraftSource, Parts]


def merge_parts(attempts: list[Attempt], template: Parts) -> tuple[Parts, dict[str, DraftSource]]:
    """Per part, the latest attempt that passed, else the template's text.

    Only the parts the template names exist in the result, so an unknown
    action id from a model never reaches the output.
    """
    merged: Parts = {}
    sources: dict[str, DraftSource] = {}
    for part, fallback in template.items():
        for source, parts in reversed(attempts):
            if part in parts:
                merged[part], sources[part] = parts[part], source
                break
        else:
            merged[part], sources[part] = fallback, DraftSource.TEMPLATE
    return merged, sources


def _brief_template_parts(texts: AccountTexts) -> Parts:
    parts = {"summary_line": texts.summary_line, "narrative": texts.narrative}
    parts.update({f"rationale:{a}": r for a, r in texts.rationales.items()})
    return parts


def _recipient(a: Assessment) -> str:
    name = a.untrusted_text.contact_name
    if not name:
        return f"the {a.name} team"
    return re.sub(r"[<>\r\n]+", " ", name).strip()[:120]


class AnthropicDrafter:
    """Drafts with Claude; falls back to `TemplateDrafter` text part by part."""

    def __init__(
        self,
        client: Any,
        *,
        model: str | None = None,
        cache: DraftCache | None = None,
        usage: Usage | None = None,
        warn: Warn | None = None,
    ) -> None:
        self.client = client
        self.model = resolve_model(model)
        self.cache = cache
        self.usage = usage or Usage()
        self.warn = warn or (lambda _message: None)
        self.templates = TemplateDrafter()
        self._system = system_prompt()
        self._prompt_sources = template_sources()

    # --- requests -------------------------------------------------------------

    def request_params(self, kind: str, messages: list[dict[str, str]]) -> dict[str, Any]:
        """The Messages API parameters; the same for a direct call and a batch request."""
        output = BriefDraft if kind == "brief" else EmailDraft
        return {
            "model": self.model,
            "max_tokens": MAX_TOKENS[kind],
            "system": [
                {"type": "text", "text": self._system, "cache_control": {"type": "ephemeral"}}
            ],
            "messages": messages,
            "output_config": _output_config(output),
        }

    def complete(self, kind: str, messages: list[dict[str, str]]) -> str:
        import anthropic

        try:
            response = self.client.messages.create(**self.request_params(kind, messages))
        except anthropic.APITimeoutError:
            raise DraftFault("the API timed out") from None
        except anthropic.APIConnectionError:
            raise DraftFault("could not connect to the API") from None
        except anthropic.APIStatusError as exc:
            raise DraftFault(f"the API answered {exc.status_code} ({_error_type(exc)})") from None
        self.usage.add(response.usage)
        return message_text(response)

    # --- briefs ---------------------------------------------------------------

    def _key(self, kind: str, facts: DraftFacts, a: Assessment) -> str:
        material = facts_key_material(facts, untrusted_notes(a))
        return facts_hash(kind, self.model, self._prompt_sources, material)

    def _cached(self, key: str, model: type[AccountTexts] | type[EmailTexts], account_id: str):
        if self.cache is None:
            return None
        payload = self.cache.get(key)
        if payload is None or payload.get("account_id") != account_id:
            return None
        try:
            texts = model.model_validate(payload)
        except ValidationError:
            return None
        self.usage.cache_hits += 1
        return texts

    def draft(self, assessment: Assessment) -> AccountTexts:
        facts = build_facts(assessment)
        key = self._key("brief", facts, assessment)
        cached = self._cached(key, AccountTexts, assessment.account_id)
        if cached is not None:
            return cached
        messages = [{"role": "user", "content": brief_prompt(facts, untrusted_notes(assessment))}]
        return self._finish_brief(assessment, facts, key, messages, first_text=None)

    def _finish_brief(
        self,
        assessment: Assessment,
        facts: DraftFacts,
        key: str,
        messages: list[dict[str, str]],
        first_text: str | None,
        fault: str | None = None,
    ) -> AccountTexts:
        attempts, reasons = self._attempts(
            "brief", facts, messages, brief_parts, first_text, fault, assessment.account_id
        )
        template = self.templates.draft(assessment)
        merged, sources = merge_parts(attempts, _brief_template_parts(template))
        texts = AccountTexts(
            account_id=assessment.account_id,
            summary_line=merged["summary_line"],
            narrative=merged["narrative"],
            rationales={a.action: merged[f"rationale:{a.action}"] for a in assessment.actions},
            draft_source=overall_source(sources),
            part_sources=sources,
            reasons=reasons,
        )
        self._store(key, texts)
        return texts

    def _attempts(
        self,
        kind: str,
        facts: DraftFacts,
        messages: list[dict[str, str]],
        parse: Callable[[str, DraftFacts], tuple[Parts, Problems]],
        first_text: str | None,
        fault: str | None,
        account_id: str,
    ) -> tuple[list[Attempt], list[str]]:
        """The first draft and, if it had problems, one retry that names them."""
        attempts: list[Attempt] = []
        reasons: list[str] = []
        try:
            if fault is not None:
                raise DraftFault(fault)
            text = first_text if first_text is not None else self.complete(kind, messages)
            parts, problems = parse(text, facts)
            attempts.append((DraftSource.LLM, parts))
            if problems:
                flat = _flatten(problems)
                reasons += [f"draft rejected: {p}" for p in flat]
                retry = [
                    *messages,
                    {"role": "assistant", "content": text[:20000] or "(empty)"},
                    {"role": "user", "content": retry_prompt(flat)},
                ]
                parts, problems = parse(self.complete(kind, retry), facts)
                attempts.append((DraftSource.LLM_RETRY, parts))
                reasons += [f"retry rejected: {p}" for p in _flatten(problems)]
        except DraftFault as exc:
            reasons.append(f"no usable response: {exc}")
            self.warn(f"warning: {account_id}: {exc}; using template text")
        return attempts, reasons

    def _store(self, key: str, texts: AccountTexts | EmailTexts) -> None:
        """Caches drafts with no template part; a fallback may succeed on the next run."""
        if texts.draft_source is DraftSource.TEMPLATE:
            self.usage.fallbacks += 1
        elif self.cache is not None:
            self.cache.put(key, texts.model_dump(mode="json"))

    # --- email ----------------------------------------------------------------

    def draft_email(
        self, assessment: Assessment, kind: EmailKind = EmailKind.CHECKIN
    ) -> EmailTexts:
        facts = build_facts(assessment)
        key = self._key(f"email:{kind}", facts, assessment)
        cached = self._cached(key, EmailTexts, assessment.account_id)
        if cached is not None:
            return cached
        prompt = email_prompt(facts, untrusted_notes(assessment), _recipient(assessment), kind)
        messages = [{"role": "user", "content": prompt}]
        attempts, reasons = self._attempts(
            "email", facts, messages, email_parts, None, None, assessment.account_id
        )
        template = self.templates.draft_email(assessment, kind)
        merged, sources = merge_parts(
            attempts, {"subject": template.subject, "body": template.body}
        )
        texts = EmailTexts(
            account_id=assessment.account_id,
            to_name=template.to_name,
            to_email=template.to_email,
            from_name=template.from_name,
            subject=merged["subject"],
            body=merged["body"],
            draft_source=overall_source(sources),
            part_sources=sources,
            reasons=reasons,
        )
        self._store(key, texts)
        return texts

    # --- batches --------------------------------------------------------------

    def draft_batch(
        self,
        assessments: Iterable[Assessment],
        *,
        resume_batch_id: str | None = None,
        poll_interval: float = 10.0,
        on_progress: Callable[[int, int], None] | None = None,
        on_submitted: Callable[[str], None] | None = None,
    ) -> dict[str, AccountTexts]:
        """Briefs for many accounts through the Message Batches API.

        Each request's `custom_id` is derived from its draft-cache key, so a run
        interrupted after submitting can be resumed with the batch id alone: the
        same input gives the same ids to join on.
        """
        import anthropic

        pending: dict[str, tuple[Assessment, DraftFacts, str, list[dict[str, str]]]] = {}
        results: dict[str, AccountTexts] = {}
        for assessment in assessments:
            facts = build_facts(assessment)
            key = self._key("brief", facts, assessment)
            cached = self._cached(key, AccountTexts, assessment.account_id)
            if cached is not None:
                results[assessment.account_id] = cached
                continue
            prompt = brief_prompt(facts, untrusted_notes(assessment))
            messages = [{"role": "user", "content": prompt}]
            pending[custom_id(key)] = (assessment, facts, key, messages)
        if not pending:
            return results

        try:
            batches = self.client.messages.batches
            if resume_batch_id:
                batch = batches.retrieve(resume_batch_id)
            else:
                batch = batches.create(
                    requests=[
                        {"custom_id": cid, "params": self.request_params("brief", item[3])}
                        for cid, item in pending.items()
                    ]
                )
            if on_submitted is not None:
                on_submitted(batch.id)
            while batch.processing_status != "ended":
                counts = batch.request_counts
                done = counts.succeeded + counts.errored + counts.canceled + counts.expired
                if on_progress is not None:
                    on_progress(done, done + counts.processing)
                time.sleep(poll_interval)
                batch = batches.retrieve(batch.id)
            if on_progress is not None:
                on_progress(len(pending), len(pending))
            outcomes = {entry.custom_id: entry.result for entry in batches.results(batch.id)}
        except (anthropic.APIError, DraftFault) as exc:
            reason = f"batch failed: {exc.__class__.__name__}"
            self.warn(f"warning: {reason}; using template text for {len(pending)} account(s)")
            outcomes = {}

        for cid, (assessment, facts, key, messages) in pending.items():
            outcome = outcomes.get(cid)
            first_text, fault = None, None
            if outcome is None:
                fault = "no result in the batch"
            elif outcome.type != "succeeded":
                fault = f"batch request {outcome.type}"
            else:
                self.usage.add(outcome.message.usage)
                try:
                    first_text = message_text(outcome.message)
                except DraftFault as exc:
                    fault = str(exc)
            results[assessment.account_id] = self._finish_brief(
                assessment, facts, key, messages, first_text, fault
            )
        return results


def custom_id(key: str) -> str:
    return f"brief-{key[:58]}"


def message_text(message: Any) -> str:
    """The response's text, or a fault for a cut-off or refused answer."""
    if message.stop_reason == "max_tokens":
        raise DraftFault("the response was cut off at max_tokens")
    if message.stop_reason == "refusal":
        raise DraftFault("the model declined to answer")
    return "".join(block.text for block in message.content if block.type == "text")


def _error_type(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return error["type"]
    return type(exc).__name__
