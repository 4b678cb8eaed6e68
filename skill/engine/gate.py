"""Stage 9: the policy gate. Every layer may only tighten an action's status.

Layers, in order: the segment matrix, the automation level's cap for the
action's sensitivity, signal overrides, stop rules, and last the floor
(`assets/floor.yaml`), which no policy file can change: high-sensitivity and
customer-facing actions never run automatically, and commercial or ownership
actions stay a person's call whatever a policy file says. The final status is
the strictest verdict; the trace records what each layer said.
"""

from __future__ import annotations

from skill.assessment import PolicyDecision, trusted
from skill.engine.conditions import compile_rules
from skill.engine.context import AccountContext
from skill.policy import ActionSelector, CatalogueEntry, Floor, Gate, GateRule, policy_floor
from skill.vocabulary import (
    ActionKind,
    ActionPurpose,
    ActionStatus,
    AutomationLevel,
    GateLayer,
    Sensitivity,
)

# An override or stop rule that holds for an account: its place in the gate's rule
# list, and what it said.
FiredRule = tuple[int, PolicyDecision]

# Decisions are frozen, so identical ones are shared; the bound keeps memory
# flat when reasons vary from account to account.
_MAX_SHARED_DECISIONS = 4096
_RANK = {status: status.rank for status in ActionStatus}
_new_decision = trusted(PolicyDecision)


def _strictness(decision: PolicyDecision) -> int:
    return _RANK[decision.status]


def _selects(selector: ActionSelector, action_id: str, entry: CatalogueEntry) -> bool:
    return (
        (not selector.actions or action_id in selector.actions)
        and (not selector.kinds or entry.kind in selector.kinds)
        and (not selector.sensitivities or entry.sensitivity in selector.sensitivities)
        and (not selector.purposes or entry.purpose in selector.purposes)
    )


class PolicyGate:
    def __init__(self, gate: Gate, level: AutomationLevel, floor: Floor | None = None) -> None:
        self.gate = gate
        self.floor = floor or policy_floor()
        # The floor's verdicts per action, by everything a floor rule reads.
        self._floor: dict[tuple[str, str, ActionKind, Sensitivity], list[PolicyDecision]] = {}
        self.level = level
        self.level_caps = gate.automation_levels[level].caps
        self._matrix = {
            (action_id, segment): PolicyDecision(
                layer=GateLayer.MATRIX,
                rule=f"{action_id}/{segment}",
                status=status,
                reason=f"Segment policy for {segment}.",
            )
            for action_id, row in gate.matrix.items()
            for segment, status in row.items()
        }
        self._caps = {
            sensitivity: PolicyDecision(
                layer=GateLayer.AUTOMATION_LEVEL,
                rule=f"{level}/{sensitivity}",
                status=cap,
                reason=f"{level.capitalize()} automation allows at most '{cap}' for "
                f"{sensitivity}-sensitivity actions.",
            )
            for sensitivity, cap in self.level_caps.items()
        }
        self._rules: list[tuple[GateLayer, GateRule]] = [
            *((GateLayer.SIGNAL_OVERRIDE, r) for r in gate.signal_overrides),
            *((GateLayer.STOP_RULE, r) for r in gate.stop_rules),
        ]
        self._matches = compile_rules([rule for _, rule in self._rules])
        # Which rules constrain an action, by everything `_selects` reads; filled as
        # actions are first decided. And the last answer per action with the entry it
        # was for: the same entry object is asked about on every account.
        self._selected_by_value: dict[
            tuple[str, ActionKind, Sensitivity, ActionPurpose], tuple[bool, ...]
        ] = {}
        self._selected: dict[str, tuple[CatalogueEntry, tuple[bool, ...]]] = {}
        # Keyed by everything a decision holds: rule ids need not be unique across a
        # user's rules, and two rules sharing an id must not share a status.
        self._shared: dict[tuple[GateLayer, str, ActionStatus, str], PolicyDecision] = {}
        # (status, trace, entry) by action, catalogue entry, segment and applied decisions.
        self._decided: dict[tuple[object, ...], tuple[ActionStatus, tuple, CatalogueEntry]] = {}

    def fired_rules(self, ctx: AccountContext) -> list[FiredRule]:
        """Overrides and stop rules that hold for this account, evaluated once per account."""
        return [
            (index, self._decision(index, describe(ctx)))
            for index, _, describe in self._matches(ctx)
        ]

    def fired(self, ctx: AccountContext) -> FiredRules:
        """`fired_rules`, each rule described only when an action it applies to asks."""
        return FiredRules(self, ctx)

    def _decision(self, index: int, why: str) -> PolicyDecision:
        """What rule `index` says on an account where it held for the reason `why`."""
        layer, rule = self._rules[index]
        reason = rule.reason if why == "always" else f"{rule.reason} ({why})"
        key = (layer, rule.id, rule.status, reason)
        decision = self._shared.get(key)
        if decision is None:
            decision = _new_decision(layer=layer, rule=rule.id, status=rule.status, reason=reason)
            if len(self._shared) < _MAX_SHARED_DECISIONS:
                self._shared[key] = decision
        return decision

    def _selection(self, action_id: str, entry: CatalogueEntry) -> tuple[bool, ...]:
        """Whether each override and stop rule applies to this action."""
        known = self._selected.get(action_id)
        if known is not None and known[0] is entry:
            return known[1]
        key = (action_id, entry.kind, entry.sensitivity, entry.purpose)
        selected = self._selected_by_value.get(key)
        if selected is None:
            selected = tuple(_selects(rule.applies_to, action_id, entry) for _, rule in self._rules)
            self._selected_by_value[key] = selected
        self._selected[action_id] = (entry, selected)
        return selected

    def decide(
        self,
        action_id: str,
        entry: CatalogueEntry,
        ctx: AccountContext,
        fired: list[FiredRule] | None = None,
    ) -> tuple[ActionStatus, list[PolicyDecision]]:
        if fired is None:
            return self.decide_for(action_id, entry, ctx.record.segment, self.fired(ctx))
        selected = self._selection(action_id, entry)
        applied = [decision for index, decision in fired if selected[index]]
        return self._verdict(action_id, entry, ctx.record.segment, applied)

    def decide_for(
        self, action_id: str, entry: CatalogueEntry, segment: str, fired: FiredRules
    ) -> tuple[ActionStatus, list[PolicyDecision]]:
        """`decide` for an account of `segment` on which `fired` holds."""
        applied = fired.applied(self._selection(action_id, entry))
        return self._verdict(action_id, entry, segment, applied)

    def _verdict(
        self, action_id: str, entry: CatalogueEntry, segment: str, applied: list[PolicyDecision]
    ) -> tuple[ActionStatus, list[PolicyDecision]]:
        # The same action, segment and fired rules give the same trace: worked out once.
        # Keyed by the decisions' identity; the entry holds them, so an id is not reused
        # while its entry lives.
        key = (action_id, id(entry), segment, *map(id, applied))
        known = self._decided.get(key)
        if known is None:
            trace = [self._matrix[(action_id, segment)], self._caps[entry.sensitivity]]
            trace += applied
            trace += self._floor_decisions(action_id, entry)
            known = (max(trace, key=_strictness).status, tuple(trace), entry)
            if len(self._decided) < _MAX_SHARED_DECISIONS:
                self._decided[key] = known
        return known[0], list(known[1])

    def _floor_decisions(self, action_id: str, entry: CatalogueEntry) -> list[PolicyDecision]:
        key = (action_id, entry.label, entry.kind, entry.sensitivity)
        decisions = self._floor.get(key)
        if decisions is None:
            decisions = [
                PolicyDecision(
                    layer=GateLayer.FLOOR, rule=rule.id, status=rule.at_least, reason=rule.reason
                )
                for rule in self.floor.floor
                if rule.selects(action_id, entry)
            ]
            self._floor[key] = decisions
        return decisions


class FiredRules:
    """The overrides and stop rules that hold for one account.

    Matched once; a rule's description (which reads the account) is written only when
    an action it applies to is decided, and then once. Most rules that hold apply to
    none of the account's actions, and their words appear nowhere.
    """

    __slots__ = ("_ctx", "_gate", "_made", "_matched")

    def __init__(self, gate: PolicyGate, ctx: AccountContext) -> None:
        self._gate = gate
        self._ctx = ctx
        self._matched = gate._matches(ctx)
        self._made: dict[int, PolicyDecision] = {}

    def applied(self, selected: tuple[bool, ...]) -> list[PolicyDecision]:
        """The decisions of the rules that held, of those `selected`, in rule order."""
        applied = []
        made = self._made
        for index, _, describe in self._matched:
            if selected[index]:
                decision = made.get(index)
                if decision is None:
                    decision = self._gate._decision(index, describe(self._ctx))
                    made[index] = decision
                applied.append(decision)
        return applied
