"""Stage 8: which catalogue actions the account's flags, themes and band call for."""

from __future__ import annotations

from datetime import timedelta

from skill.assessment import Action, from_fields, held_value
from skill.engine.conditions import compile_rules
from skill.engine.context import AccountContext
from skill.engine.gate import FiredRules, PolicyGate
from skill.policy import Actions
from skill.vocabulary import Priority

_PRIORITY_RANK = {priority: priority.rank for priority in Priority}


class ActionPlanner:
    """Stage 8 for one policy and gate: built once per run, called once per account."""

    def __init__(self, actions: Actions, gate: PolicyGate) -> None:
        self.actions = actions
        self.gate = gate
        self._new_action = from_fields(gate.make, Action)
        self.triggers = tuple(
            (trigger.action, trigger.priority, trigger.reason, _PRIORITY_RANK[trigger.priority])
            for trigger in actions.triggers
        )
        self.matches = compile_rules(actions.triggers)
        held = held_value(gate.make)
        # Each catalogue entry with its place in the catalogue (the order among equals)
        # and the values an action copies from it, read once.
        self.static = {
            action_id: (
                entry,
                i,
                entry.label,
                entry.kind,
                entry.sensitivity,
                entry.owner,
                held(entry.purpose),  # nothing reads it back: a plain action holds its value
            )
            for i, (action_id, entry) in enumerate(actions.catalogue.items())
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

    def triggered(self, ctx: AccountContext) -> dict[str, list]:
        """Each triggered action: [its rank, its priority, its evidence lines].

        The highest priority of the triggers that fired wins; every one's reason is kept.
        """
        found: dict[str, list] = {}
        triggers = self.triggers
        for index, _, describe in self.matches(ctx):
            action, priority, reason, rank = triggers[index]
            why = describe(ctx)
            line = reason if why == "always" else f"{reason} ({why})"
            hit = found.get(action)
            if hit is None:
                found[action] = [rank, priority, [line]]
            else:
                if rank > hit[0]:
                    hit[0], hit[1] = rank, priority
                hit[2].append(line)
        return found

    def plan(self, ctx: AccountContext) -> list[Action]:
        """Triggered actions, gated, ordered by priority then catalogue order."""
        found = self.triggered(ctx)
        if not found:
            return []
        decide, static, due_after = self.gate.decide_for, self.static, self.due_after
        fired = FiredRules(self.gate, ctx)
        as_of, owner, segment = ctx.as_of, ctx.record.owner, ctx.record.segment
        planned = []
        new_action = self._new_action
        # (-rank, catalogue place) is unique per action: the action id is never compared.
        for _, _, action_id in sorted([(-h[0], static[a][1], a) for a, h in found.items()]):
            entry, _, label, kind, sensitivity, role, purpose = static[action_id]
            _, priority, evidence = found[action_id]
            status, trace = decide(action_id, entry, segment, fired)
            planned.append(
                new_action(
                    {
                        "action": action_id,
                        "label": label,
                        "kind": kind,
                        "sensitivity": sensitivity,
                        "owner": role,
                        "owner_name": owner if role == "csm" else None,
                        "priority": priority,
                        "due_date": as_of + due_after[(action_id, priority)],
                        "status": status,
                        "policy_trace": trace,
                        "evidence": evidence,
                        "purpose": purpose,
                    }
                )
            )
        return planned
