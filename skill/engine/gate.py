"""Stage 9: the policy gate. Every layer may only tighten an action's status.

Layers, in order: the segment matrix (seed 000), the automation level's cap for
the action's sensitivity, signal overrides, and seed 003's stop rules. The
final status is the strictest verdict; the trace records what each layer said.
"""

from __future__ import annotations

from skill.assessment import PolicyDecision
from skill.engine.conditions import describe_match, first_match
from skill.engine.context import AccountContext
from skill.policy import ActionSelector, CatalogueEntry, Gate
from skill.vocabulary import ActionStatus, AutomationLevel, GateLayer


def _selects(selector: ActionSelector, action_id: str, entry: CatalogueEntry) -> bool:
    return (
        (not selector.actions or action_id in selector.actions)
        and (not selector.kinds or entry.kind in selector.kinds)
        and (not selector.sensitivities or entry.sensitivity in selector.sensitivities)
    )


class PolicyGate:
    def __init__(self, gate: Gate, level: AutomationLevel) -> None:
        self.gate = gate
        self.level = level
        self.level_caps = gate.automation_levels[level].caps

    def decide(
        self, action_id: str, entry: CatalogueEntry, ctx: AccountContext
    ) -> tuple[ActionStatus, list[PolicyDecision]]:
        segment = ctx.record.segment
        baseline = self.gate.matrix[action_id][segment]
        trace = [
            PolicyDecision(
                layer=GateLayer.MATRIX,
                rule=f"{action_id}/{segment.value}",
                status=baseline,
                reason=f"Segment policy for {segment.value}.",
            ),
            PolicyDecision(
                layer=GateLayer.AUTOMATION_LEVEL,
                rule=f"{self.level.value}/{entry.sensitivity.value}",
                status=self.level_caps[entry.sensitivity],
                reason=f"{self.level.value.capitalize()} automation allows at most "
                f"'{self.level_caps[entry.sensitivity].value}' for {entry.sensitivity.value}-"
                "sensitivity actions.",
            ),
        ]
        for layer, rules in (
            (GateLayer.SIGNAL_OVERRIDE, self.gate.signal_overrides),
            (GateLayer.STOP_RULE, self.gate.stop_rules),
        ):
            for rule in rules:
                if not _selects(rule.applies_to, action_id, entry):
                    continue
                matched = first_match(rule, ctx)
                if matched is None:
                    continue
                why = describe_match(matched, ctx)
                reason = rule.reason if why == "always" else f"{rule.reason} ({why})"
                trace.append(
                    PolicyDecision(layer=layer, rule=rule.id, status=rule.status, reason=reason)
                )
        status = ActionStatus.AUTO
        for decision in trace:
            status = status.at_least(decision.status)
        return status, trace
