"""Stage 9: the policy gate. Every layer may only tighten an action's status.

Layers, in order: the segment matrix, the automation level's cap for the
action's sensitivity, signal overrides, stop rules, and last the floor
(`assets/floor.yaml`), which no policy file can change: high-sensitivity and
customer-facing actions never run automatically, and commercial or ownership
actions stay a person's call whatever a policy file says. The final status is
the strictest verdict; the trace records what each layer said.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from skill.assessment import Maker, PolicyDecision, as_is, held_value, trusted
from skill.engine.conditions import compile_rules
from skill.engine.context import AccountContext
from skill.policy import ActionSelector, CatalogueEntry, Floor, Gate, GateRule, policy_floor
from skill.record import Segment
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
# A decision's status is a member, or on plain output its value (see `held_value`); a
# str enum hashes and compares as its value, so these tables answer for both.
_STATUS = {status: status for status in ActionStatus}
_RANK = {status: status.rank for status in ActionStatus}


def _strictness(decision: PolicyDecision) -> int:
    return _RANK[decision.status]


def _strictest(decisions: Iterable[PolicyDecision]) -> ActionStatus:
    return _STATUS[max(decisions, key=_strictness).status]


def _selects(selector: ActionSelector, action_id: str, entry: CatalogueEntry) -> bool:
    return (
        (not selector.actions or action_id in selector.actions)
        and (not selector.kinds or entry.kind in selector.kinds)
        and (not selector.sensitivities or entry.sensitivity in selector.sensitivities)
        and (not selector.purposes or entry.purpose in selector.purposes)
    )


class PolicyGate:
    def __init__(
        self,
        gate: Gate,
        level: AutomationLevel,
        floor: Floor | None = None,
        *,
        make: Maker = trusted,
        keep: Callable[[PolicyDecision], PolicyDecision] = as_is,
    ) -> None:
        """`make`: how its decisions are made, `trusted` (models) or `plain`; `keep`: how
        `decide_for`'s traces hold them (see `SharedPieces.keep`)."""
        self.make = make
        new_decision = self._new_decision = make(PolicyDecision)
        self._held = held = held_value(make)
        # How `decide_for`'s traces keep the decisions, which nothing reads back.
        self._keep = keep
        self.gate = gate
        self.floor = floor or policy_floor()
        # The floor's verdicts per action, by everything a floor rule reads.
        self._floor: dict[tuple[str, str, ActionKind, Sensitivity], list[PolicyDecision]] = {}
        self.level = level
        self.level_caps = gate.automation_levels[level].caps
        # Validated (the policy's values), then made as the gate makes its decisions.
        self._matrix = {
            (action_id, segment): new_decision(
                **PolicyDecision(
                    layer=GateLayer.MATRIX,
                    rule=f"{action_id}/{segment}",
                    status=status,
                    reason=f"Segment policy for {segment}.",
                ).__dict__
                | {"layer": held(GateLayer.MATRIX), "status": held(status)}
            )
            for action_id, row in gate.matrix.items()
            for segment, status in row.items()
        }
        self._caps = {
            sensitivity: new_decision(
                **PolicyDecision(
                    layer=GateLayer.AUTOMATION_LEVEL,
                    rule=f"{level}/{sensitivity}",
                    status=cap,
                    reason=f"{level.capitalize()} automation allows at most '{cap}' for "
                    f"{sensitivity}-sensitivity actions.",
                ).__dict__
                | {"layer": held(GateLayer.AUTOMATION_LEVEL), "status": held(cap)}
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
        # Each with the form a trace keeps it in (see `written_once`).
        self._shared: dict[
            tuple[GateLayer, str, ActionStatus, str], tuple[PolicyDecision, PolicyDecision]
        ] = {}
        # What `decide_for` works out once per action and segment (see `_fix`).
        self._fixed: dict[tuple[str, Segment], tuple] = {}
        # Each rule's status, as its rank: what it does to an action it applies to.
        self._rule_ranks = tuple(_RANK[rule.status] for _, rule in self._rules)
        self._rule_statuses = tuple(rule.status for _, rule in self._rules)

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
        return self._decision_kept(index, why)[0]

    def _decision_kept(self, index: int, why: str) -> tuple[PolicyDecision, PolicyDecision]:
        """`_decision`, and the same decision as a trace keeps it (see `written_once`)."""
        layer, rule = self._rules[index]
        reason = rule.reason if why == "always" else f"{rule.reason} ({why})"
        key = (layer, rule.id, rule.status, reason)
        known = self._shared.get(key)
        if known is None:
            held = self._held
            decision = self._new_decision(
                layer=held(layer), rule=rule.id, status=held(rule.status), reason=reason
            )
            known = (decision, self._keep(decision))
            if len(self._shared) < _MAX_SHARED_DECISIONS:
                self._shared[key] = known
        return known

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
        """The action's status on this account and the trace of every layer, plainly.

        `decide_for` is the same, faster, and is what the engine calls; this is what
        it is tested against.
        """
        if fired is None:
            fired = self.fired_rules(ctx)
        selected = self._selection(action_id, entry)
        trace = [self._matrix[(action_id, ctx.record.segment)], self._caps[entry.sensitivity]]
        trace += [decision for index, decision in fired if selected[index]]
        trace += self._floor_decisions(action_id, entry)
        return _strictest(trace), trace

    def decide_for(
        self, action_id: str, entry: CatalogueEntry, segment: Segment, fired: FiredRules
    ) -> tuple[ActionStatus, list[PolicyDecision]]:
        """`decide` for an account of `segment` on which `fired` holds.

        What does not depend on the account (the matrix and cap decisions, the floor's,
        their strictest status, which rules apply to the action) is worked out once per
        action and segment; per account only the rules that held are looked at.
        """
        fixed = self._fixed.get((action_id, segment))
        if fixed is None or fixed[0] is not entry:
            fixed = self._fix(action_id, entry, segment)
        _, head, floor, status, rank, selected = fixed
        trace = [*head]
        made = fired.made
        ranks, statuses = self._rule_ranks, self._rule_statuses
        for index, _, describe in fired.matched:
            if selected[index]:
                decision = made.get(index)
                if decision is None:
                    decision = made[index] = self._decision_kept(index, describe(fired.ctx))[1]
                trace.append(decision)
                if ranks[index] > rank:
                    rank, status = ranks[index], statuses[index]
        trace += floor
        return status, trace

    def _fix(self, action_id: str, entry: CatalogueEntry, segment: Segment) -> tuple:
        """What `decide_for` needs of an action and segment before it looks at an account:
        the entry it is for, the trace's first and last decisions, their status and its
        rank, and which rules apply."""
        head = (self._matrix[(action_id, segment)], self._caps[entry.sensitivity])
        floor = tuple(self._floor_decisions(action_id, entry))
        strictest = _strictest((*head, *floor))
        keep = self._keep
        fixed = (
            entry,
            tuple(map(keep, head)),
            tuple(map(keep, floor)),
            strictest,
            _RANK[strictest],
            self._selection(action_id, entry),
        )
        self._fixed[(action_id, segment)] = fixed
        return fixed

    def _floor_decisions(self, action_id: str, entry: CatalogueEntry) -> list[PolicyDecision]:
        key = (action_id, entry.label, entry.kind, entry.sensitivity)
        decisions = self._floor.get(key)
        if decisions is None:
            decisions = [
                self._new_decision(
                    **PolicyDecision(
                        layer=GateLayer.FLOOR,
                        rule=rule.id,
                        status=rule.at_least,
                        reason=rule.reason,
                    ).__dict__
                    | {"layer": self._held(GateLayer.FLOOR), "status": self._held(rule.at_least)}
                )
                for rule in self.floor.floor
                if rule.selects(action_id, entry)
            ]
            self._floor[key] = decisions
        return decisions


class FiredRules:
    """The overrides and stop rules that hold for one account.

    Matched once; a rule's description (which reads the account) is written only when
    an action it applies to is decided (`PolicyGate.decide_for`), and then once. Most
    rules that hold apply to none of the account's actions, and their words appear
    nowhere.
    """

    __slots__ = ("ctx", "made", "matched")

    def __init__(self, gate: PolicyGate, ctx: AccountContext) -> None:
        self.ctx = ctx
        self.matched = gate._matches(ctx)
        # Each described rule's decision as a trace keeps it, by its place in the rule list.
        self.made: dict[int, PolicyDecision] = {}
