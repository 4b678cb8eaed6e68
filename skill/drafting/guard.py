"""The guard: checks a model's draft against the facts after schema validation.

A draft passes only if it says what the engine decided and nothing more: no
number the facts do not hold, no claim that a non-automatic action happened,
no commercial promise to a customer, names spelled as in the facts, lengths
within limits. Each problem is named per part, so one bad rationale falls
back to template text without losing the rest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from skill.drafting.drafts import BriefDraft, EmailDraft
from skill.drafting.facts import DraftFacts


@dataclass(frozen=True)
class Limits:
    summary_line: int = 240
    narrative: int = 1500
    rationale: int = 500
    subject: int = 120
    body: int = 2000


LIMITS = Limits()

_NUMBER = re.compile(r"(?<![A-Za-z0-9_])[-+−]?\d[\d,]*(?:\.\d+)?")
_CLAIM_VERBS = (
    "approved|sent|scheduled|created|escalated|submitted|filed|notified|updated|completed|"
    "executed|enrolled|added|assigned|reassigned|requested|emailed|booked|actioned|launched"
)
_CLAIM = re.compile(
    rf"\b(?:(?:has|have|had|was|were|is|are|been|got|already|now)\s+(?:already\s+|now\s+|just\s+)?"
    rf"(?:been\s+)?(?:{_CLAIM_VERBS})"
    rf"|(?:I|we|I've|we've|I have|we have)\s+(?:already\s+|just\s+)?(?:{_CLAIM_VERBS}))\b",
    re.IGNORECASE,
)
_COMMERCIAL = re.compile(
    r"\b(?:discount\w*|pric(?:e|es|ing|ed)|credits?|refund\w*|rebate\w*|contract\w*|"
    r"renewal terms?|cancel\w*|terminat\w*|waive\w*|"
    r"free (?:month|months|weeks?|seats?|licen[cs]es?|users?|upgrades?|add-?ons?|access|"
    r"service|period|plan|tier|trial)|(?:bonus|extra) (?:month|months|seats?|licen[cs]es?)|"
    r"percent off|money back|invoice\w*|billing|"
    # benefits offered to a customer: a loyalty gesture, a gift, anything in return
    r"loyalt\w*|perks?|rewards?|complimentary|free of charge|on the house|"
    r"at no (?:extra |additional )?(?:cost|charge)|gift\w*|vouchers?|coupons?|"
    r"in (?:exchange|return) for)\b|%\s*off|[$€£]\s?\d",
    re.IGNORECASE,
)
# A customer email must not say anything was decided or done for them either.
_EMAIL_CLAIM = re.compile(
    r"\b(?:(?:has|have|had|was|were|is|are|been|already|now)\s+(?:already\s+|now\s+|just\s+)?"
    r"(?:been\s+)?|(?:I|we|I've|we've|I have|we have)\s+(?:already\s+|just\s+)?)"
    r"(?:decided|agreed|confirmed|selected|granted|arranged|applied|reserved|activated|"
    r"credited|upgraded|featured|published|shared|attached)\b",
    re.IGNORECASE,
)
_INJECTION_ECHO = re.compile(
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) instructions|"
    r"system prompt|as instructed|disregard (?:the |all )?(?:rules|instructions)",
    re.IGNORECASE,
)


def numbers_in(text: str) -> set[str]:
    """Numbers as canonical strings: `62`, `62%`, `62.0` and `+62` are all `62`."""
    found = set()
    for raw in _NUMBER.findall(text):
        cleaned = raw.replace(",", "").replace("−", "-").lstrip("+")
        try:
            value = float(cleaned)
        except ValueError:
            continue
        found.add(_canonical(abs(value)))
    return found


def _canonical(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def allowed_numbers(facts: DraftFacts) -> set[str]:
    """Every number the facts contain, dates split into their parts."""
    text = json.dumps(facts.model_dump(mode="json"), ensure_ascii=False)
    allowed = numbers_in(text.replace("-", " "))
    allowed |= numbers_in(text)
    return allowed


def _number_problems(part: str, text: str, allowed: set[str]) -> list[str]:
    invented = sorted(numbers_in(text) - allowed, key=lambda n: (len(n), n))
    if not invented:
        return []
    return [f"{part}: numbers not in the facts: {', '.join(invented)}"]


def _length_problem(part: str, text: str, limit: int) -> list[str]:
    if not text.strip():
        return [f"{part}: empty"]
    if len(text) > limit:
        return [f"{part}: {len(text)} characters, limit {limit}"]
    return []


def _claim_problem(part: str, text: str, pattern: re.Pattern[str] = _CLAIM) -> list[str]:
    match = pattern.search(text)
    if match:
        return [f"{part}: claims an action was carried out ({match.group(0)!r}); it was not"]
    return []


def _echo_problem(part: str, text: str) -> list[str]:
    match = _INJECTION_ECHO.search(text)
    if match:
        return [f"{part}: repeats instructions from untrusted text ({match.group(0)!r})"]
    return []


def check_brief(draft: BriefDraft, facts: DraftFacts) -> dict[str, list[str]]:
    """Problems per part: `summary_line`, `narrative`, `rationale:<action id>`, `rationales`."""
    allowed = allowed_numbers(facts)
    problems: dict[str, list[str]] = {}

    def add(part: str, found: list[str]) -> None:
        if found:
            problems.setdefault(part, []).extend(found)

    for part, text, limit in (
        ("summary_line", draft.summary_line, LIMITS.summary_line),
        ("narrative", draft.narrative, LIMITS.narrative),
    ):
        add(part, _length_problem(part, text, limit))
        add(part, _number_problems(part, text, allowed))
        add(part, _claim_problem(part, text))
        add(part, _echo_problem(part, text))
    if facts.account_name not in draft.narrative:
        add("narrative", [f"narrative: must name the account exactly as {facts.account_name!r}"])

    expected = [a.action for a in facts.actions]
    given = [r.action for r in draft.rationales]
    unknown = sorted(set(given) - set(expected))
    missing = [a for a in expected if a not in given]
    repeated = sorted({a for a in given if given.count(a) > 1})
    if unknown or missing or repeated:
        detail = []
        if unknown:
            detail.append(f"unknown action ids {unknown}")
        if missing:
            detail.append(f"missing rationales for {missing}")
        if repeated:
            detail.append(f"more than one rationale for {repeated}")
        add("rationales", [f"rationales: {'; '.join(detail)}; give exactly one per id {expected}"])

    statuses = {a.action: a.status for a in facts.actions}
    for item in draft.rationales:
        if item.action not in statuses:
            continue
        part = f"rationale:{item.action}"
        add(part, _length_problem(part, item.rationale, LIMITS.rationale))
        add(part, _number_problems(part, item.rationale, allowed))
        add(part, _echo_problem(part, item.rationale))
        if statuses[item.action] != "auto":
            add(part, _claim_problem(part, item.rationale))
    return problems


def check_email(draft: EmailDraft, facts: DraftFacts) -> dict[str, list[str]]:
    """Problems for a customer-facing email of any kind: `subject` and `body`."""
    allowed = allowed_numbers(facts)
    problems: dict[str, list[str]] = {}
    for part, text, limit in (
        ("subject", draft.subject, LIMITS.subject),
        ("body", draft.body, LIMITS.body),
    ):
        found = _length_problem(part, text, limit)
        found += _number_problems(part, text, allowed)
        found += _claim_problem(part, text) or _claim_problem(part, text, _EMAIL_CLAIM)
        found += _echo_problem(part, text)
        commercial = _COMMERCIAL.search(text)
        if commercial:
            found.append(
                f"{part}: customer-facing text mentions {commercial.group(0)!r}; price, discount, "
                "benefits and gifts, credit, contract, renewal terms and cancellation are for "
                "a person to raise"
            )
        if found:
            problems[part] = found
    if facts.owner_name and facts.owner_name not in draft.body:
        problems.setdefault("body", []).append(
            f"body: must be signed by the owner exactly as {facts.owner_name!r}"
        )
    return problems
