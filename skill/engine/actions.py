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


@dataclass(slots=True)
class _Triggered:
    priority: Priority
    rank: int  # the priority's rank
    evidence: list[str] = field(default_factory=list)


class ActionPlanner:
    """Stage 8 for one policy and gate: built once per run, called once per account."""

    def __init__(self, actions: Actions, gate: PolicyGate) -> None:
        self.actions = actions
        self.gate = gate
        self.triggers = tuple(
            (trigger.action, trigger.priority, trigger.reason, _PRIORITY_RANK[trigger.priority])
            for trigger in actions.triggers
        )
        self.matches = compile_rules(actions.triggers)
        # Each catalogue entry with its place in the catalogue (the order among equals).
        self.static = {
            action_id: (entry, i) for i, (action_id, entry) in enumerate(actions.catalogue.items())
        }
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
            action, priority, reason, rank = triggers[index]
            why = describe(ctx)
            line = reason if why == "always" else f"{reason} ({why})"
            hit = found.get(action)
            if hit is None:
                found[action] = _Triggered(priority, rank, [line])
            else:
                if rank > hit.rank:
                    hit.priority, hit.rank = priority, rank
                hit.evidence.append(line)
        return found

    def plan(self, ctx: AccountContext) -> list[Action]:
        """Triggered actions, gated, ordered by priority then catalogue order."""
        found = self.triggered(ctx)
        if not found:
            return []
        gate, static, due_after = self.gate, self.static, self.due_after
        fired = gate.fired(ctx)
        as_of, owner, segment = ctx.as_of, ctx.record.owner, ctx.record.segment
        planned = []
        ranked = sorted(found.items(), key=lambda item: (-item[1].rank, static[item[0]][1]))
        for action_id, hit in ranked:
            entry = static[action_id][0]
            status, trace = gate.decide_for(action_id, entry, segment, fired)
            planned.append(
                _new_action(
                    action_id,
                    entry.label,
                    entry.kind,
                    entry.sensitivity,
                    entry.owner,
                    owner if entry.owner == "csm" else None,
                    hit.priority,
                    as_of + due_after[(action_id, hit.priority)],
                    status,
                    trace,
                    hit.evidence,
                    entry.purpose,
                )
            )
        return planned
