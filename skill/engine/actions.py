"""Stage 8: which catalogue actions the account's flags, themes and band call for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from skill.assessment import Action, trusted
from skill.engine.conditions import compile_rules
from skill.engine.context import AccountContext
from skill.engine.gate import PolicyGate
from skill.policy import Actions
from skill.vocabulary import Priority

_PRIORITY_RANK = {priority: priority.rank for priority in Priority}
_new_action = trusted(Action)


@dataclass
class _Triggered:
    priority: Priority
    evidence: list[str] = field(default_factory=list)


class ActionPlanner:
    """Stage 8 for one policy and gate: built once per run, called once per account."""

    def __init__(self, actions: Actions, gate: PolicyGate) -> None:
        self.actions = actions
        self.gate = gate
        self.triggers = tuple(
            (trigger.action, trigger.priority, trigger.reason) for trigger in actions.triggers
        )
        self.matches = compile_rules(actions.triggers)
        self.order = {action_id: i for i, action_id in enumerate(actions.catalogue)}
        # Days until due: the entry's own, else its priority's.
        self.due_after = {
            (action_id, priority): timedelta(
                days=actions.due_days_by_priority[priority]
                if entry.due_days is None
                else entry.due_days
            )
            for action_id, entry in actions.catalogue.items()
            for priority in Priority
        }

    def triggered(self, ctx: AccountContext) -> dict[str, _Triggered]:
        found: dict[str, _Triggered] = {}
        triggers = self.triggers
        for index, _, describe in self.matches(ctx):
            action, priority, reason = triggers[index]
            why = describe(ctx)
            line = reason if why == "always" else f"{reason} ({why})"
            hit = found.get(action)
            if hit is None:
                found[action] = _Triggered(priority, [line])
            else:
                if _PRIORITY_RANK[priority] > _PRIORITY_RANK[hit.priority]:
                    hit.priority = priority
                hit.evidence.append(line)
        return found

    def plan(self, ctx: AccountContext) -> list[Action]:
        """Triggered actions, gated, ordered by priority then catalogue order."""
        found = self.triggered(ctx)
        if not found:
            return []
        catalogue, gate, order, due_after = (
            self.actions.catalogue,
            self.gate,
            self.order,
            self.due_after,
        )
        fired = gate.fired_rules(ctx)
        as_of, owner = ctx.as_of, ctx.record.owner
        planned = []
        ranked = sorted(found, key=lambda a: (-_PRIORITY_RANK[found[a].priority], order[a]))
        for action_id in ranked:
            entry = catalogue[action_id]
            hit = found[action_id]
            status, trace = gate.decide(action_id, entry, ctx, fired)
            planned.append(
                _new_action(
                    action=action_id,
                    label=entry.label,
                    kind=entry.kind,
                    sensitivity=entry.sensitivity,
                    owner=entry.owner,
                    owner_name=owner if entry.owner == "csm" else None,
                    priority=hit.priority,
                    due_date=as_of + due_after[(action_id, hit.priority)],
                    status=status,
                    policy_trace=trace,
                    evidence=hit.evidence,
                    purpose=entry.purpose,
                )
            )
        return planned
