"""Stage 8: which catalogue actions the account's flags, themes and band call for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from skill.assessment import Action
from skill.engine.conditions import describe_match, first_match
from skill.engine.context import AccountContext
from skill.engine.gate import PolicyGate
from skill.policy import Actions
from skill.vocabulary import Priority


@dataclass
class _Triggered:
    priority: Priority
    evidence: list[str] = field(default_factory=list)


def triggered_actions(actions: Actions, ctx: AccountContext) -> dict[str, _Triggered]:
    found: dict[str, _Triggered] = {}
    for trigger in actions.triggers:
        matched = first_match(trigger, ctx)
        if matched is None:
            continue
        why = describe_match(matched, ctx)
        line = trigger.reason if why == "always" else f"{trigger.reason} ({why})"
        hit = found.get(trigger.action)
        if hit is None:
            found[trigger.action] = _Triggered(trigger.priority, [line])
        else:
            if trigger.priority.rank > hit.priority.rank:
                hit.priority = trigger.priority
            hit.evidence.append(line)
    return found


def plan_actions(actions: Actions, gate: PolicyGate, ctx: AccountContext) -> list[Action]:
    """Triggered actions, gated, ordered by priority then catalogue order."""
    found = triggered_actions(actions, ctx)
    order = {action_id: i for i, action_id in enumerate(actions.catalogue)}
    fired = gate.fired_rules(ctx) if found else []
    planned = []
    for action_id in sorted(found, key=lambda a: (-found[a].priority.rank, order[a])):
        entry = actions.catalogue[action_id]
        hit = found[action_id]
        status, trace = gate.decide(action_id, entry, ctx, fired)
        due_days = entry.due_days
        if due_days is None:
            due_days = actions.due_days_by_priority[hit.priority]
        planned.append(
            Action(
                action=action_id,
                label=entry.label,
                kind=entry.kind,
                sensitivity=entry.sensitivity,
                owner=entry.owner,
                owner_name=ctx.record.owner if entry.owner == "csm" else None,
                priority=hit.priority,
                due_date=ctx.as_of + timedelta(days=due_days),
                status=status,
                policy_trace=trace,
                evidence=hit.evidence,
            )
        )
    return planned
