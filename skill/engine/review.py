"""Stage 10: the owner review task and the measurement event (seed 003)."""

from __future__ import annotations

import functools
import hashlib
import weakref
from collections.abc import Callable
from datetime import date, timedelta
from typing import NamedTuple

from skill.assessment import Action, MeasurementEvent, ReviewTask, trusted, trusted_from_fields
from skill.engine.conditions import Matches, compile_rules
from skill.engine.context import AccountContext
from skill.policy import ReviewConfig, Rule
from skill.vocabulary import AutomationLevel, Band, Confidence, OpportunityCode, RiskFlagCode, Tier

_new_review_task = trusted(ReviewTask)
_new_measurement_event = trusted_from_fields(MeasurementEvent)


class _ReviewRules(NamedTuple):
    reasons: tuple[str, ...]
    matches: Callable[[AccountContext], Matches]  # one rule per reason
    never_cut: Callable[[AccountContext], Matches]  # the budget's never_cut, one rule
    # The config's values a task copies, read out of the policy model once.
    owner_role: str
    due_after: timedelta
    checklist: tuple[str, ...]


# Compiled per review config, by identity; an entry goes with its policy.
_COMPILED: dict[int, tuple[weakref.ref[ReviewConfig], _ReviewRules]] = {}


def review_rules(config: ReviewConfig) -> _ReviewRules:
    """The config's reasons and budget rules, compiled (once per config)."""
    return _rules(config)


def _rules(config: ReviewConfig) -> _ReviewRules:
    key = id(config)
    entry = _COMPILED.get(key)
    if entry is None or entry[0]() is not config:
        never_cut = config.budget.never_cut if config.budget is not None else []
        rules = _ReviewRules(
            tuple(config.reasons),
            compile_rules([Rule(when_any=[cond]) for cond in config.reasons.values()]),
            compile_rules([Rule(when_any=never_cut)] if never_cut else []),
            config.owner_role,
            timedelta(days=config.due_days),
            tuple(config.checklist),
        )
        entry = (weakref.ref(config, functools.partial(_forget, key)), rules)
        _COMPILED[key] = entry
    return entry[1]


def _forget(key: int, _: object) -> None:
    _COMPILED.pop(key, None)


def review_task(
    config: ReviewConfig,
    ctx: AccountContext,
    rules: _ReviewRules | None = None,
    new_task: Callable[..., ReviewTask] = _new_review_task,
) -> ReviewTask | None:
    """The task when any reason holds; whether the run's budget may defer it is marked too.

    `rules`: `review_rules(config)`, for a caller that asks once per run; `new_task`:
    how the task is made (`trusted(ReviewTask)`, or `plain` for a `Plain`).
    """
    if rules is None:
        rules = _rules(config)
    matched = rules.matches(ctx)
    if not matched:
        return None
    names = rules.reasons
    return new_task(
        ctx.record.owner or "unassigned",
        rules.owner_role,
        ctx.as_of + rules.due_after,
        [names[index] for index, _, _ in matched],
        list(rules.checklist),
        budget_exempt=bool(rules.never_cut(ctx)),
    )


_SHA256 = hashlib.sha256()


def _event_id(key: str) -> str:
    """The first 16 hex digits of the key's SHA-256 (copying a fresh hash object is
    quicker than making one)."""
    digest = _SHA256.copy()
    digest.update(key.encode())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _event_key_tail(as_of: date, level: AutomationLevel, policy_version: str) -> str:
    """The part of the event id's key that a run shares: nearly every account's as_of."""
    return f"{as_of.isoformat()}|{level}|{policy_version}"


def measurement_event(
    ctx: AccountContext,
    *,
    score: int | None,
    band: Band,
    tier: Tier,
    confidence: Confidence,
    legacy_total: int,
    legacy_band: str,
    flags: list[RiskFlagCode],
    opportunities: list[OpportunityCode],
    actions: list[Action],
    level: AutomationLevel,
    policy_version: str,
    new_event: Callable[[dict], MeasurementEvent] = _new_measurement_event,
) -> MeasurementEvent:
    """A deterministic id, so the same assessment logged twice is the same event.

    `new_event`: how it is made from its fields (`trusted_from_fields(MeasurementEvent)`,
    or `from_fields(plain, MeasurementEvent)` for a `Plain`).
    """
    account_id, as_of = ctx.record.account_id, ctx.as_of
    key = f"{account_id}|{_event_key_tail(as_of, level, policy_version)}"
    return new_event(
        {
            "event_id": _event_id(key),
            "event_type": "health_assessed",
            "account_id": account_id,
            "as_of": as_of,
            "score": score,
            "band": band,
            "tier": tier,
            "confidence": confidence,
            "legacy_total": legacy_total,
            "legacy_band": legacy_band,
            "flags": flags,
            "opportunities": opportunities,
            "action_statuses": {a.action: a.status for a in actions},
            "policy_version": policy_version,
        }
    )
