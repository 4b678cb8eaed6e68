"""The policy as data an agent can read: the action catalogue and the effective matrix.

`render_policy_matrix` draws the same matrix as a Markdown table for people; these
models carry it as structured data (the MCP server's `explain_policy` and
`list_actions` tools return them).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from skill.policy import ActionSelector, FloorRule, GateRule, Policy, floor_minimum, policy_floor
from skill.record import Segment
from skill.vocabulary import (
    ActionKind,
    ActionPurpose,
    ActionStatus,
    AutomationLevel,
    GateLayer,
    Sensitivity,
)

STATUS_MEANINGS: dict[ActionStatus, str] = {
    ActionStatus.AUTO: "may run without a person",
    ActionStatus.APPROVAL_REQUIRED: "a person approves before it runs",
    ActionStatus.RECOMMEND_ONLY: "a suggestion; a person decides and does it",
    ActionStatus.BLOCKED: "must not happen",
}

MATRIX_NOTE = (
    "Each baseline is the strictest of the segment matrix, the automation level's cap "
    "for the action's sensitivity and the policy floor, which no policy file can change "
    "(high-sensitivity and customer-facing actions are never auto; pricing, discount, "
    "contract, renewal, cancellation and ownership actions are at least recommend_only). "
    "Signal overrides and stop rules can tighten an action further for a given account; "
    "statuses never loosen."
)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ActionInfo(Frozen):
    """One catalogue entry."""

    id: str = Field(description="Stable action id, e.g. send_checkin_email.")
    label: str
    sensitivity: Sensitivity
    kind: ActionKind
    owner: str = Field(description="Owner role, e.g. csm.")
    due_days: int | None = Field(description="Days to the due date, when fixed for this action.")
    purpose: ActionPurpose = Field(
        description="remedy: fixes a problem; opportunity: a play on an opportunity flag."
    )


class ActionCatalogue(Frozen):
    policy_version: str
    actions: list[ActionInfo]


class ActionPolicy(Frozen):
    """One row of the effective matrix."""

    action: str = Field(description="Stable action id.")
    label: str
    sensitivity: Sensitivity
    kind: ActionKind
    baseline: dict[Segment, dict[AutomationLevel, ActionStatus]] = Field(
        description="segment -> automation level -> effective baseline status."
    )


class GateRuleInfo(Frozen):
    """A signal override or stop rule: when it holds for an account, it tightens actions."""

    id: str
    layer: GateLayer
    status: ActionStatus = Field(description="The status the rule tightens matching actions to.")
    reason: str
    applies_to: ActionSelector = Field(description="Empty lists mean every action.")
    when_any: list[dict[str, Any]] = Field(
        description="The rule holds when any condition holds (all tests in one condition "
        "must hold); an empty list means always."
    )


class PolicyExplanation(Frozen):
    policy_version: str
    segments: list[Segment]
    automation_levels: dict[AutomationLevel, str] = Field(
        description="The levels shown, with what each allows."
    )
    statuses: dict[ActionStatus, str] = Field(description="What each status means.")
    note: str
    actions: list[ActionPolicy]
    signal_overrides: list[GateRuleInfo]
    stop_rules: list[GateRuleInfo]
    floor: list[FloorRule] = Field(
        description="The floor, applied after every policy layer; no policy file changes it."
    )


def action_catalogue(policy: Policy) -> ActionCatalogue:
    return ActionCatalogue(
        policy_version=policy.version,
        actions=[
            ActionInfo(
                id=action_id,
                label=entry.label,
                sensitivity=entry.sensitivity,
                kind=entry.kind,
                owner=entry.owner,
                due_days=entry.due_days,
                purpose=entry.purpose,
            )
            for action_id, entry in policy.actions.catalogue.items()
        ],
    )


def _rule(rule: GateRule, layer: GateLayer) -> GateRuleInfo:
    return GateRuleInfo(
        id=rule.id,
        layer=layer,
        status=rule.status,
        reason=rule.reason,
        applies_to=rule.applies_to,
        when_any=[c.model_dump(mode="json", exclude_defaults=True) for c in rule.when_any],
    )


def explain_policy(
    policy: Policy,
    segments: list[Segment] | None = None,
    levels: list[AutomationLevel] | None = None,
) -> PolicyExplanation:
    """The effective baseline per action, segment and level, plus the per-account rules."""
    segments = segments or list(Segment)
    levels = levels or list(AutomationLevel)
    gate = policy.gate
    floor = policy_floor().floor
    rows = []
    for action_id, entry in policy.actions.catalogue.items():
        least = floor_minimum(action_id, entry)
        baseline = {
            segment: {
                level: gate.matrix[action_id][segment]
                .at_least(gate.automation_levels[level].caps[entry.sensitivity])
                .at_least(least)
                for level in levels
            }
            for segment in segments
        }
        rows.append(
            ActionPolicy(
                action=action_id,
                label=entry.label,
                sensitivity=entry.sensitivity,
                kind=entry.kind,
                baseline=baseline,
            )
        )
    return PolicyExplanation(
        policy_version=policy.version,
        segments=segments,
        automation_levels={lv: gate.automation_levels[lv].description for lv in levels},
        statuses=STATUS_MEANINGS,
        note=MATRIX_NOTE,
        actions=rows,
        signal_overrides=[_rule(r, GateLayer.SIGNAL_OVERRIDE) for r in gate.signal_overrides],
        stop_rules=[_rule(r, GateLayer.STOP_RULE) for r in gate.stop_rules],
        floor=floor,
    )
