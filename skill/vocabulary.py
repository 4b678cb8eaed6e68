"""The words every stage shares: stable ids that agents and policy files rely on."""

from __future__ import annotations

from enum import StrEnum


class Dimension(StrEnum):
    USAGE = "usage"
    ADOPTION = "adoption"
    SUPPORT = "support"
    SATISFACTION = "satisfaction"
    COMMERCIAL = "commercial"
    RELATIONSHIP = "relationship"
    OUTCOMES = "outcomes"


class Source(StrEnum):
    """Where signals come from; a source with no data and no sync date is not connected."""

    CRM = "crm"
    SUPPORT = "support"
    PRODUCT = "product"


class Band(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    NO_DATA = "no_data"  # no signal at all: the score is not known


class Tier(StrEnum):
    THRIVING = "thriving"
    HEALTHY = "healthy"
    STEADY = "steady"
    AT_RISK = "at_risk"
    NO_DATA = "no_data"  # no signal at all


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class RiskFlagCode(StrEnum):
    USAGE_DROP = "usage_drop"
    SUPPORT_SPIKE = "support_spike"
    NPS_DETRACTOR = "nps_detractor"
    PAYMENT_ISSUE = "payment_issue"
    RENEWAL_SOON = "renewal_soon"
    RENEWAL_DATE_PASSED = "renewal_date_passed"
    NO_EXEC_TOUCH = "no_exec_touch"
    RECENT_ESCALATION = "recent_escalation"
    MISSED_MILESTONES = "missed_milestones"
    UNRESPONSIVE_CUSTOMER = "unresponsive_customer"
    MAJOR_BLOCKER = "major_blocker"
    STALE_EVIDENCE = "stale_evidence"
    CONFLICTING_EVIDENCE = "conflicting_evidence"
    # Raised only with history: the account's earlier recorded assessments.
    SCORE_DROP = "score_drop"
    USAGE_DECLINING = "usage_declining"


# Raised after scoring, from history: guard rails and themes cannot see them.
TREND_FLAGS = frozenset({RiskFlagCode.SCORE_DROP, RiskFlagCode.USAGE_DECLINING})


class OpportunityCode(StrEnum):
    """Opportunity flags: what a healthy account could become. They never move the score."""

    EXPANSION_READY = "expansion_ready"
    ADVOCATE = "advocate"
    LOYAL_CUSTOMER = "loyal_customer"
    ROOM_TO_GROW = "room_to_grow"


class ActionStatus(StrEnum):
    """Ordered from least to most restrictive; a policy layer may only move right."""

    AUTO = "auto"
    APPROVAL_REQUIRED = "approval_required"
    RECOMMEND_ONLY = "recommend_only"
    BLOCKED = "blocked"

    @property
    def rank(self) -> int:
        return _STATUS_RANK[self]

    def at_least(self, other: ActionStatus) -> ActionStatus:
        """The stricter of the two."""
        return self if self.rank >= other.rank else other


_STATUS_RANK = {status: rank for rank, status in enumerate(ActionStatus)}


class Sensitivity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ActionKind(StrEnum):
    CUSTOMER_FACING = "customer_facing"
    INTERNAL_TASK = "internal_task"
    NOTIFICATION = "notification"
    DATA_UPDATE = "data_update"


class ActionPurpose(StrEnum):
    """Why an action exists: to fix a problem, or to act on an opportunity."""

    REMEDY = "remedy"
    OPPORTUNITY = "opportunity"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return {"high": 2, "medium": 1, "low": 0}[self.value]


class AutomationLevel(StrEnum):
    CONSERVATIVE = "conservative"
    BALANCED = "balanced"
    AGGRESSIVE = "aggressive"


class GateLayer(StrEnum):
    """The layers of the policy gate, in the order they are applied."""

    MATRIX = "matrix"
    AUTOMATION_LEVEL = "automation_level"
    SIGNAL_OVERRIDE = "signal_override"
    STOP_RULE = "stop_rule"
    # Not policy: the floor no policy file can loosen, applied last.
    FLOOR = "floor"
