"""Policy, weights and thresholds: data from `assets/policy/*.yaml`, validated on load.

A user file given with `--policy` is deep-merged over the defaults (mappings
merge, lists replace, a `key+:` list is appended to the default list) and the
result is validated as a whole, so an override can change one threshold
without restating the rest. `override_notes` says which default lists a file
replaced and which floor rules it would need.

The floor (`assets/floor.yaml`) is not part of the policy: no file can change
it, and the gate applies it after every policy layer.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skill.paths import assets_dir
from skill.record import Champion, ContractTerm, Lifecycle, PaymentStatus, Segment
from skill.vocabulary import (
    TREND_FLAGS,
    ActionKind,
    ActionPurpose,
    ActionStatus,
    AutomationLevel,
    Band,
    Confidence,
    Dimension,
    OpportunityCode,
    Priority,
    RiskFlagCode,
    Sensitivity,
    Severity,
    Tier,
)

POLICY_FILES = (
    "scoring.yaml",
    "risk.yaml",
    "opportunity.yaml",
    "actions.yaml",
    "gate.yaml",
    "history.yaml",
)


class PolicyError(ValueError):
    """An invalid policy file; the message names the file and the key."""


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- conditions: one small language for themes, guard rails, triggers and gates


class Condition(Strict):
    """All the given tests must hold. Unknown values (a missing dimension) never match."""

    flags_any: list[RiskFlagCode] = []
    flags_all: list[RiskFlagCode] = []
    flags_none: list[RiskFlagCode] = []
    themes_any: list[str] = []
    themes_none: list[str] = []
    bands_in: list[Band] = []
    tiers_in: list[Tier] = Field(default=[], description="The account's activity tier.")
    opportunities_any: list[OpportunityCode] = Field(
        default=[], description="Any of these opportunity flags is raised."
    )
    opportunities_none: list[OpportunityCode] = Field(
        default=[], description="None of these opportunity flags is raised."
    )
    segments_in: list[Segment] = []
    lifecycle_in: list[Lifecycle] = []
    lifecycle_not_in: list[Lifecycle] = []
    confidence_in: list[Confidence] = []
    account_evidence_in: list[Confidence] = Field(
        default=[],
        description="The account's own evidence level: confidence judged over only the "
        "sources connected in the input, so a source missing from the whole input does "
        "not count against each account.",
    )
    dimension_below: dict[Dimension, float] = {}
    dimension_at_least: dict[Dimension, float] = {}
    fields_equal: dict[str, str | bool | int | float] = {}
    fields_at_least: dict[str, float] = {}
    fields_missing: list[str] = []
    arr_at_least: float | None = None
    renewal_within_days: int | None = Field(
        default=None,
        description="Renewal date within this many days (or passed), on a contract whose "
        "term has a renewal_soon window: never for month-to-month by default.",
    )
    notes_mention_any: list[str] = Field(
        default=[], description="Lower-case words searched in notes and blocker_note."
    )

    @model_validator(mode="after")
    def _known_fields(self) -> Condition:
        from skill.record import INPUT_FIELDS

        unknown = sorted(
            (set(self.fields_equal) | set(self.fields_at_least) | set(self.fields_missing))
            - INPUT_FIELDS
        )
        if unknown:
            raise ValueError(f"unknown input field(s) {unknown}")
        return self

    def uses(
        self, what: Literal["themes", "bands", "trend_flags", "tiers", "opportunities"]
    ) -> bool:
        if what == "themes":
            return bool(self.themes_any or self.themes_none)
        if what == "trend_flags":
            named = {*self.flags_any, *self.flags_all, *self.flags_none}
            return bool(named & TREND_FLAGS)
        if what == "tiers":
            return bool(self.tiers_in)
        if what == "opportunities":
            return bool(self.opportunities_any or self.opportunities_none)
        return bool(self.bands_in)

    def decided_after_scoring(self) -> bool:
        """Uses what the engine decides after the score: band, tier or opportunity flags."""
        return self.uses("bands") or self.uses("tiers") or self.uses("opportunities")


class Rule(Strict):
    """A rule fires when any of its `when_any` conditions holds; empty means always."""

    when_any: list[Condition] = []


# --- scoring


class SignalRule(Strict):
    """How one signal becomes a 0-100 sub-score of its dimension."""

    dimension: Dimension
    weight: float = Field(
        default=1.0,
        ge=0,
        description="Weight within its dimension; 0 shows the signal's evidence but does not "
        "count it (a calibrated policy gives 0 to a signal that did not predict churn).",
    )
    curve: list[tuple[float, float]] | None = Field(
        default=None, description="Piecewise-linear [value, score] points, values ascending."
    )
    values: dict[str, float] | None = Field(default=None, description="Score per category.")
    min_count: int | None = Field(
        default=None,
        ge=1,
        description="Ratio signals only: below this many (the larger of the two counts) the "
        "change is too small to mean anything and scores as no change.",
    )

    @model_validator(mode="after")
    def _one_mapping(self) -> SignalRule:
        if (self.curve is None) == (self.values is None):
            raise ValueError("give exactly one of 'curve' or 'values'")
        if self.curve is not None:
            xs = [x for x, _ in self.curve]
            if len(xs) < 2 or xs != sorted(xs) or len(set(xs)) != len(xs):
                raise ValueError("curve needs two or more points with strictly ascending values")
            if any(not 0 <= s <= 100 for _, s in self.curve):
                raise ValueError("curve scores must be within 0-100")
        if self.values is not None and any(not 0 <= s <= 100 for s in self.values.values()):
            raise ValueError("category scores must be within 0-100")
        return self


ScoringSignals = dict[str, SignalRule]

KNOWN_SIGNALS = frozenset(
    {
        "seat_utilisation",
        "login_trend",
        "weekly_activity",
        "feature_adoption",
        "onboarding_progress",
        "open_tickets",
        "ticket_trend",
        "escalations",
        "sev1_open",
        "csat",
        "nps",
        "nps_response",
        "payment_status",
        "days_overdue",
        "expansion_signal",
        "discount_requested",
        "exec_touch",
        "champion",
        "customer_reply",
        "qbr_attended",
        "success_milestones",
    }
)


RATIO_SIGNALS = frozenset({"login_trend", "ticket_trend"})


class Threshold(Strict):
    min: float


class BandThreshold(Threshold):
    band: Band


class TierThreshold(Threshold):
    tier: Tier


class ConfidenceRule(Strict):
    min_coverage: float = Field(ge=0, le=1, description="Share of weight with data.")
    max_stale_sources: int = Field(ge=0)


class GuardRail(Rule):
    id: str
    cap: int = Field(ge=0, le=100)
    reason: str


class LegacyBracket(Strict):
    """Matches when the value is within the given bounds; no bounds matches anything."""

    at_least: float | None = None
    at_most: float | None = None
    points: int

    def matches(self, value: float) -> bool:
        return (self.at_least is None or value >= self.at_least) and (
            self.at_most is None or value <= self.at_most
        )


class LegacyField(Strict):
    field: str
    label: str
    metric: Literal[
        "seat_utilisation_pct", "adoption_pct", "open_tickets", "csat", "renewal_days", "blocker"
    ]
    brackets: list[LegacyBracket] = []
    values: dict[str, int] = {}


class LegacyBand(Strict):
    min: int
    label: str


class LegacyConfig(Strict):
    fields: list[LegacyField]
    bands: list[LegacyBand]


class Scoring(Strict):
    weights: dict[Segment, dict[Dimension, float]]
    signals: dict[str, SignalRule]
    bands: list[BandThreshold]
    tiers: list[TierThreshold]
    confidence: dict[Literal["high", "medium"], ConfidenceRule]
    stale_after_days: int = Field(gt=0)
    as_of_gap_warning_days: int = Field(
        default=365,
        gt=0,
        description="Warn once per run when as_of is further than this from the input's own "
        "dates (sync, reply, touch and survey dates).",
    )
    positive_factor_min: int = Field(
        ge=0, le=100, description="Evidence scoring at least this is a positive factor."
    )
    guard_rails: list[GuardRail]
    legacy: LegacyConfig

    @model_validator(mode="after")
    def _check(self) -> Scoring:
        for segment in Segment:
            weights = self.weights.get(segment)
            if weights is None:
                raise ValueError(f"weights: missing segment '{segment.value}'")
            total = sum(weights.values())
            if any(w < 0 for w in weights.values()) or abs(total - 1.0) > 0.01:
                raise ValueError(
                    f"weights.{segment.value}: weights must be >= 0 and sum to 1.0 (got {total:g})"
                )
        with_counts = sorted(n for n, r in self.signals.items() if r.min_count is not None)
        if set(with_counts) - RATIO_SIGNALS:
            raise ValueError(
                f"signals: min_count applies to {sorted(RATIO_SIGNALS)} only, "
                f"not {sorted(set(with_counts) - RATIO_SIGNALS)}"
            )
        unknown = sorted(set(self.signals) - KNOWN_SIGNALS)
        if unknown:
            raise ValueError(
                f"signals: unknown signal(s) {unknown}; known: {sorted(KNOWN_SIGNALS)}"
            )
        for name, ladder in (("bands", self.bands), ("tiers", self.tiers)):
            mins = [t.min for t in ladder]
            if mins != sorted(mins, reverse=True) or mins[-1] != 0:
                raise ValueError(f"{name}: thresholds must descend and end at min 0")
        for rail in self.guard_rails:
            if any(c.decided_after_scoring() for c in rail.when_any):
                raise ValueError(
                    f"guard_rails.{rail.id}: bands, tiers and opportunity flags are decided "
                    "after guard rails"
                )
            if any(c.uses("trend_flags") for c in rail.when_any):
                raise ValueError(
                    f"guard_rails.{rail.id}: trend flags ({', '.join(sorted(TREND_FLAGS))}) "
                    "are raised after guard rails"
                )
        return self


# --- risk flags and themes


class FlagRule(Strict):
    label: str
    severity: Severity
    hint: str


class UsageDropRule(FlagRule):
    max_change_pct: float = Field(lt=0, description="Logins or activity change at or below this.")
    min_logins: int = Field(
        ge=0,
        description="Logins prior 30d needed before a fall in logins counts (3 -> 1 does not).",
    )


class SupportSpikeRule(FlagRule):
    min_ratio: float = Field(gt=1)
    min_tickets: int = Field(ge=0)


class DetractorRule(FlagRule):
    max_nps: float
    max_nps_response: float
    max_csat: float


class PaymentRule(FlagRule):
    statuses: list[str]


class DaysRule(FlagRule):
    days: int = Field(ge=0)


# The shortest length of each contract term, in days: a renewal window this long
# would hold for every such account all the time (the 90-day window on a monthly
# contract was exactly that).
TERM_DAYS: dict[ContractTerm, int] = {
    ContractTerm.MONTHLY: 28,
    ContractTerm.QUARTERLY: 89,
    ContractTerm.ANNUAL: 365,
    ContractTerm.MULTI_YEAR: 730,
}

Window = Annotated[int, Field(ge=0)] | None


class TermWindows(Strict):
    """Days before the renewal date that count as "renewal soon", per contract term.

    null means never: a month-to-month contract renews every month, so its
    renewal date says nothing about risk.
    """

    monthly: Window
    quarterly: Window
    annual: Window
    multi_year: Window

    @model_validator(mode="after")
    def _shorter_than_the_term(self) -> TermWindows:
        for term, length in TERM_DAYS.items():
            days = getattr(self, term.value)
            if days is not None and days >= length:
                raise ValueError(
                    f"{term.value}: a {days}-day window is as long as the contract itself "
                    f"({length} days or more), so every {term.label} would always be "
                    "renewal soon; use fewer days, or null for never"
                )
        return self

    def window(self, term: ContractTerm) -> int | None:
        return getattr(self, term.value)


class RenewalSoonRule(FlagRule):
    days: int = Field(ge=0, description="The window when the record has no contract_term.")
    days_by_term: TermWindows

    def window(self, term: ContractTerm | None) -> int | None:
        """The account's window in days; None: its renewal date is never renewal soon."""
        return self.days if term is None else self.days_by_term.window(term)


class CountRule(FlagRule):
    min_count: int = Field(ge=1)


class StaleRule(FlagRule):
    max_survey_age_days: int = Field(gt=0)


class ConflictRule(FlagRule):
    min_gap: int = Field(gt=0, le=100)
    dimensions: list[Dimension]


class Flags(Strict):
    usage_drop: UsageDropRule
    support_spike: SupportSpikeRule
    nps_detractor: DetractorRule
    payment_issue: PaymentRule
    renewal_soon: RenewalSoonRule
    renewal_date_passed: FlagRule
    no_exec_touch: DaysRule
    recent_escalation: CountRule
    missed_milestones: CountRule
    unresponsive_customer: DaysRule
    major_blocker: FlagRule
    stale_evidence: StaleRule
    conflicting_evidence: ConflictRule
    # Thresholds in `history` (score_drop_points, usage_decline_periods).
    score_drop: FlagRule
    usage_declining: FlagRule


class ThemeRule(Rule):
    label: str


class Risk(Strict):
    flags: Flags
    themes: dict[str, ThemeRule]

    @model_validator(mode="after")
    def _check(self) -> Risk:
        for code, theme in self.themes.items():
            if any(c.uses("themes") or c.decided_after_scoring() for c in theme.when_any):
                raise ValueError(f"themes.{code}: a theme may use flags and dimensions only")
            if any(c.uses("trend_flags") for c in theme.when_any):
                raise ValueError(
                    f"themes.{code}: trend flags ({', '.join(sorted(TREND_FLAGS))}) "
                    "are raised after themes"
                )
        return self


# --- opportunity flags


Percent = Annotated[float, Field(ge=0, le=100)]


class OpportunityRule(Strict):
    """An opportunity flag's wording and where it may be raised: never in other bands or tiers."""

    label: str
    hint: str
    bands: list[Band] = Field(min_length=1, description="The account's band must be one of these.")
    tiers: list[Tier] = Field(min_length=1, description="The account's tier must be one of these.")

    @model_validator(mode="after")
    def _not_without_data(self) -> OpportunityRule:
        if Band.NO_DATA in self.bands or Tier.NO_DATA in self.tiers:
            raise ValueError("an account with no data (no_data) has no opportunity to read")
        return self


class ExpansionRule(OpportunityRule):
    """Room to sell more: at least `min_signals` of seats nearly full and growing,
    the CRM's expansion signal, and broad feature adoption."""

    min_signals: int = Field(ge=1, le=3, description="How many of the three signals must hold.")
    seats_full_pct: Percent = Field(description="active_users / licensed_seats at least this.")
    min_growth_pct: float = Field(
        gt=0,
        description="Usage growing: logins vs the prior 30 days, or the newest week of "
        "weekly_activity vs the mean of up to 4 weeks before it, up at least this much.",
    )
    min_logins: int = Field(ge=0, description="A rise in logins counts from this many prior.")
    broad_adoption_pct: Percent = Field(
        description="features_adopted / features_total at least this."
    )


class SentimentBar(Strict):
    """Positive sentiment: any one of these is enough."""

    min_nps: float = Field(ge=-100, le=100, description="Account NPS at least this.")
    min_nps_response: float = Field(ge=0, le=10, description="Latest 0-10 response at least.")
    min_csat: float = Field(ge=1, le=5, description="CSAT at least this.")


class AdvocateRule(OpportunityRule, SentimentBar):
    """A customer who would speak for the product: positive sentiment, no open
    severity-1 ticket, a strong champion who replies."""

    champions: list[Champion] = Field(min_length=1, description="Champion strength needed.")
    max_reply_days: int = Field(ge=0, description="Last customer reply at most this many days ago.")
    max_sev1_open: int = Field(ge=0, description="Open severity-1 tickets at most (known).")


class LoyaltyRule(OpportunityRule, SentimentBar):
    """A happy customer who pays on time, with a renewal coming: the moment a person may
    consider a loyalty benefit."""

    renewal_within_days: int = Field(
        gt=0,
        description="Renewal date within this many days, on a contract whose term has a "
        "renewal_soon window (never month-to-month by default).",
    )
    payment_statuses: list[PaymentStatus] = Field(min_length=1)


class RoomToGrowRule(OpportunityRule):
    """Moderately engaged, responsive, with key features still unused: enablement can lift it."""

    max_adoption_pct: Percent = Field(description="features_adopted / features_total below this.")
    max_reply_days: int = Field(ge=0, description="Last customer reply at most this many days ago.")


class OpportunityFlags(Strict):
    expansion_ready: ExpansionRule
    advocate: AdvocateRule
    loyal_customer: LoyaltyRule
    room_to_grow: RoomToGrowRule


class Opportunity(Strict):
    """Opportunity flags: read after band and tier, never fed back into the score."""

    flags: OpportunityFlags


# --- actions


class CatalogueEntry(Strict):
    label: str
    sensitivity: Sensitivity
    kind: ActionKind
    owner: str
    due_days: int | None = Field(default=None, ge=0, description="Overrides due_days_by_priority.")
    purpose: ActionPurpose = Field(
        default=ActionPurpose.REMEDY,
        description="remedy: fixes a problem; opportunity: acts on an opportunity flag "
        "(gate rules can select it with applies_to.purposes).",
    )


class Trigger(Rule):
    action: str
    priority: Priority
    reason: str


class ReviewBudget(Strict):
    """At most `max_share` of a run's accounts keep an open review task.

    The engine still marks every account a reason holds for; the run ranks those
    accounts and lists the ones over the budget as "also at risk".
    """

    max_share: float = Field(gt=0, le=1, description="Share of the run's accounts, 0-1.")
    min_tasks: int = Field(
        default=1,
        ge=0,
        description="A run keeps at least this many tasks whatever its size, so a small "
        "run is not cut to nothing.",
    )
    rank_by: Literal["risk_x_arr", "risk"] = Field(
        default="risk_x_arr",
        description="risk_x_arr: (100 - score) x ARR, unknown ARR counting as 0 so those "
        "accounts rank after every account with ARR, by risk; risk: (100 - score) alone.",
    )
    never_cut: list[Condition] = Field(
        default=[],
        description="An account matching any of these keeps its task whatever the budget; "
        "such tasks still count against it.",
    )


class ReviewConfig(Rule):
    owner_role: str
    due_days: int = Field(ge=0)
    reasons: dict[str, Condition] = Field(description="Reason text -> when it applies.")
    checklist: list[str]
    budget: ReviewBudget | None = Field(
        default=None, description="Caps the share of a run's accounts with a review task."
    )


class Actions(Strict):
    catalogue: dict[str, CatalogueEntry]
    due_days_by_priority: dict[Priority, int]
    triggers: list[Trigger]
    review_task: ReviewConfig

    @model_validator(mode="after")
    def _check(self) -> Actions:
        for i, trigger in enumerate(self.triggers):
            if trigger.action not in self.catalogue:
                raise ValueError(f"triggers[{i}].action: unknown action '{trigger.action}'")
        missing = sorted(set(Priority) - set(self.due_days_by_priority))
        if missing:
            raise ValueError(f"due_days_by_priority: missing {missing}")
        return self


# --- policy gate


class LevelConfig(Strict):
    description: str
    caps: dict[Sensitivity, ActionStatus]


class ActionSelector(Strict):
    """Which actions a gate rule constrains; empty selector means every action."""

    actions: list[str] = []
    kinds: list[ActionKind] = []
    sensitivities: list[Sensitivity] = []
    purposes: list[ActionPurpose] = []


class GateRule(Rule):
    id: str
    applies_to: ActionSelector = ActionSelector()
    status: ActionStatus
    reason: str


class Gate(Strict):
    matrix: dict[str, dict[Segment, ActionStatus]]
    automation_levels: dict[AutomationLevel, LevelConfig]
    signal_overrides: list[GateRule]
    stop_rules: list[GateRule]

    @model_validator(mode="after")
    def _check(self) -> Gate:
        ids = [r.id for r in (*self.signal_overrides, *self.stop_rules)]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"signal_overrides/stop_rules: rule ids must be unique: {duplicates}")
        for action, row in self.matrix.items():
            missing = sorted(s.value for s in set(Segment) - set(row))
            if missing:
                raise ValueError(f"matrix.{action}: missing segment(s) {missing}")
        for level in AutomationLevel:
            if level not in self.automation_levels:
                raise ValueError(f"automation_levels: missing level '{level.value}'")
            missing = sorted(
                s.value for s in set(Sensitivity) - set(self.automation_levels[level].caps)
            )
            if missing:
                raise ValueError(f"automation_levels.{level.value}.caps: missing {missing}")
        ordered = list(AutomationLevel)
        for looser, stricter in zip(ordered[1:], ordered[:-1], strict=True):
            for sensitivity in Sensitivity:
                loose = self.automation_levels[looser].caps[sensitivity]
                strict = self.automation_levels[stricter].caps[sensitivity]
                if loose.rank > strict.rank:
                    raise ValueError(
                        f"automation_levels.{looser.value}.caps.{sensitivity.value}: '{loose}' is "
                        f"stricter than {stricter.value}'s '{strict}'; a more aggressive level "
                        "may not be stricter"
                    )
        return self


class SmoothingConfig(Strict):
    """Noisy dimensions blend in the previous snapshot's value, so noise does not move the score."""

    dimensions: list[Dimension]
    weight_of_latest: float = Field(gt=0, le=1, description="1 means no smoothing.")
    max_gap_days: int = Field(gt=0, description="An older previous snapshot is not blended in.")


class HistoryConfig(Strict):
    score_drop_points: int = Field(gt=0)
    score_drop_noise_multiple: float = Field(
        ge=0, description="score_drop also needs a fall this many times the account's usual step."
    )
    score_drop_noise_snapshots: int = Field(
        ge=2, description="Earlier snapshots needed before the account's usual step is known."
    )
    usage_decline_periods: int = Field(ge=2)
    trend_steady_within: int = Field(ge=0)
    smoothing: SmoothingConfig
    band_hysteresis_points: int = Field(
        ge=0, le=10, description="A band changes only when the score clears the line by this."
    )


class RelativeRisk(Strict):
    red: float = Field(gt=1)
    yellow: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> RelativeRisk:
        if self.yellow >= self.red:
            raise ValueError("yellow must be below red")
        return self


class CalibrationConfig(Strict):
    """How `calibrate` fits points per signal; see REFERENCE.md, "Calibration"."""

    horizon_days: int = Field(gt=0, description="Churn within this many days of a snapshot.")
    bins: int = Field(ge=2, le=20, description="Most bins per numeric signal (quantiles).")
    min_bin_share: float = Field(gt=0, lt=0.5, description="A smaller bin merges with a neighbour.")
    regularisation: list[float] = Field(
        min_length=1, description="Inverse L2 strengths tried by cross-validation."
    )
    folds: int = Field(ge=2, le=20, description="Cross-validation folds, by account.")
    points_to_double_odds: float = Field(
        gt=0, le=100, description="Calibrated score points that double the odds of churn."
    )
    smoothing_choices: list[float] = Field(
        min_length=1, description="History smoothing tried (this snapshot's share; 1 is none)."
    )
    smoothing_auc_cost: float = Field(
        ge=0, lt=0.5, description="The most training AUC the chosen smoothing may cost."
    )
    segment_shrink: float = Field(
        ge=0, description="Churned snapshots' worth of pull towards the pooled coefficients."
    )
    min_auc_gain: float = Field(
        ge=0, lt=0.5, description="A signal enters the scorecard if it adds this much CV AUC."
    )
    band_relative_risk: RelativeRisk = Field(
        description="Calibrated bands: red at this multiple of the base churn rate, yellow at this."
    )
    directions: dict[str, Literal["higher", "lower"]] = Field(
        description="Signals whose direction is known: higher or lower values are healthier. "
        "Their points are kept monotone; every other signal is free."
    )

    @model_validator(mode="after")
    def _known(self) -> CalibrationConfig:
        unknown = sorted(set(self.directions) - KNOWN_SIGNALS)
        if unknown:
            raise ValueError(f"directions: unknown signal(s) {unknown}")
        if any(c <= 0 for c in self.regularisation):
            raise ValueError("regularisation: every value must be above 0")
        if any(not 0 < w <= 1 for w in self.smoothing_choices):
            raise ValueError("smoothing_choices: each must be above 0 and at most 1")
        return self


class MeasurementConfig(Strict):
    min_outcomes: int = Field(ge=2)
    min_churned: int = Field(ge=1)
    holdout_share: float = Field(gt=0, lt=1)
    churn_outcomes: list[Literal["churned", "downgraded", "renewed", "expanded"]]
    report_movers: int = Field(ge=1)
    min_auc: float = Field(
        ge=0.5, le=1, description="measure calls the score weak below this ROC AUC."
    )
    min_band_outcomes: int = Field(
        ge=1, description="A band's churn rate enters the order check from this many outcomes."
    )
    calibration: CalibrationConfig


class ChurnModel(Strict):
    """Churn probability from the final score, fitted by `calibrate` on the company's outcomes."""

    intercept: float
    per_point: float = Field(lt=0, description="Log-odds of churn per score point (negative).")
    horizon_days: int = Field(gt=0)
    fitted_as_of: str = Field(description="The date `calibrate` was run for.")


# --- the floor: what no policy file can loosen


class FloorRule(Strict):
    """An action this rule selects never ends looser than `at_least`.

    It selects an action when any list matches: the id, the kind, the
    sensitivity, or a word found in the lower-cased id and label.
    """

    id: str
    at_least: ActionStatus
    reason: str
    actions: list[str] = []
    kinds: list[ActionKind] = []
    sensitivities: list[Sensitivity] = []
    words: list[str] = []

    def selects(self, action_id: str, entry: CatalogueEntry) -> bool:
        text = f"{action_id} {entry.label}".lower()
        return (
            action_id in self.actions
            or entry.kind in self.kinds
            or entry.sensitivity in self.sensitivities
            or any(word in text for word in self.words)
        )


class Floor(Strict):
    floor: list[FloorRule] = Field(min_length=1)


_FLOOR: Floor | None = None


def policy_floor() -> Floor:
    """The floor from `assets/floor.yaml`, read once; a broken file is a bug, not user input."""
    global _FLOOR
    if _FLOOR is None:
        _FLOOR = Floor.model_validate(_read_yaml(assets_dir() / "floor.yaml"))
    return _FLOOR


def floor_minimum(action_id: str, entry: CatalogueEntry) -> ActionStatus:
    """The least restrictive status the floor allows this action."""
    least = ActionStatus.AUTO
    for rule in policy_floor().floor:
        if rule.selects(action_id, entry):
            least = least.at_least(rule.at_least)
    return least


class Policy(Strict):
    scoring: Scoring
    risk: Risk
    opportunity: Opportunity
    actions: Actions
    gate: Gate
    history: HistoryConfig
    measurement: MeasurementConfig
    churn_model: ChurnModel | None = None

    @model_validator(mode="after")
    def _cross_check(self) -> Policy:
        catalogue = set(self.actions.catalogue)
        if set(self.gate.matrix) != catalogue:
            missing = sorted(catalogue - set(self.gate.matrix))
            extra = sorted(set(self.gate.matrix) - catalogue)
            raise ValueError(
                f"gate.matrix must list every catalogue action: missing {missing}, extra {extra}"
            )
        themes = set(self.risk.themes)
        rules = [*self.gate.signal_overrides, *self.gate.stop_rules]
        for rule in rules:
            unknown = sorted(set(rule.applies_to.actions) - catalogue)
            if unknown:
                raise ValueError(f"gate rule '{rule.id}': unknown action(s) {unknown}")
        conditions = [
            c
            for r in (*rules, *self.actions.triggers, *self.scoring.guard_rails)
            for c in r.when_any
        ]
        conditions += list(self.actions.review_task.reasons.values())
        if self.actions.review_task.budget is not None:
            conditions += self.actions.review_task.budget.never_cut
        for condition in conditions:
            unknown = sorted((set(condition.themes_any) | set(condition.themes_none)) - themes)
            if unknown:
                raise ValueError(f"unknown theme(s) {unknown}; defined: {sorted(themes)}")
        return self

    @cached_property
    def version(self) -> str:
        """A short content hash, so a measurement event names the policy that decided it."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


# --- loading


APPEND = "+"


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge, lists and scalars replace; `key+: [...]` appends to the list at `key`."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(key, str) and key.endswith(APPEND) and isinstance(value, list):
            name = key[: -len(APPEND)]
            current = merged.get(name)
            merged[name] = [*current, *value] if isinstance(current, list) else list(value)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def replaced_lists(base: dict[str, Any], override: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys where `override` replaces a non-empty default list (not a `key+:` append)."""
    found = []
    for key, value in override.items():
        current = base.get(key)
        where = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(current, dict):
            found += replaced_lists(current, value, f"{where}.")
        elif isinstance(current, list) and current and current != value:
            found.append(where)
    return found


def replaced_list_warning(key: str) -> str:
    return (
        f"{key}: this list replaces the default list; to add to it instead, "
        f"write '{key.rsplit('.', 1)[-1]}{APPEND}:'"
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def default_policy_data() -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in POLICY_FILES:
        data = deep_merge(data, _read_yaml(assets_dir() / "policy" / name))
    return data


def _describe(exc: ValidationError, origin: str) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        value = error.get("input")
        shown = "" if isinstance(value, dict | list) else f" = {value!r}"
        lines.append(f"{origin}: {key}{shown}: {error['msg']}")
    return "\n".join(lines)


def _check_override(data: dict[str, Any], path: Path) -> None:
    if "floor" in data:
        raise PolicyError(
            f"{path}: floor: the policy floor cannot be changed by a policy file "
            "(it is assets/floor.yaml, applied after every policy layer)"
        )
    _check_appends(data, str(path), "")


def _check_appends(data: dict[str, Any], origin: str, prefix: str) -> None:
    for key, value in data.items():
        if isinstance(key, str) and key.endswith(APPEND) and not isinstance(value, list):
            raise PolicyError(f"{origin}: {prefix}{key}: '{APPEND}' appends to a list; give a list")
        if isinstance(value, dict):
            _check_appends(value, origin, f"{prefix}{key}.")


def load_policy(override: Path | None = None) -> Policy:
    """The default policy, with the user's file merged over it when given."""
    data = default_policy_data()
    origin = "assets/policy"
    if override is not None:
        user = _read_yaml(Path(override))
        _check_override(user, Path(override))
        data = deep_merge(data, user)
        origin = str(override)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_describe(exc, origin)) from None


class OverrideNotes(BaseModel):
    """What a policy file does beyond its values: lists it replaces, floor rules it would need."""

    replaced_lists: list[str]
    needs_floor: list[str]


def _loosest(policy: Policy, action_id: str, entry: CatalogueEntry) -> dict[tuple, ActionStatus]:
    """The loosest status each (segment, level) can give the action before the floor."""
    gate = policy.gate
    always = [
        rule.status
        for rule in (*gate.signal_overrides, *gate.stop_rules)
        if not rule.when_any and _rule_selects(rule, action_id, entry)
    ]
    found = {}
    for segment in Segment:
        for level in AutomationLevel:
            status = gate.matrix[action_id][segment].at_least(
                gate.automation_levels[level].caps[entry.sensitivity]
            )
            for rule_status in always:
                status = status.at_least(rule_status)
            found[(segment, level)] = status
    return found


def _rule_selects(rule: GateRule, action_id: str, entry: CatalogueEntry) -> bool:
    selector = rule.applies_to
    return (
        (not selector.actions or action_id in selector.actions)
        and (not selector.kinds or entry.kind in selector.kinds)
        and (not selector.sensitivities or entry.sensitivity in selector.sensitivities)
        and (not selector.purposes or entry.purpose in selector.purposes)
    )


def floor_needs(policy: Policy) -> dict[tuple[str, str], list[tuple[Segment, AutomationLevel]]]:
    """(action, floor rule) -> the segments and levels where only the floor holds the action."""
    needs: dict[tuple[str, str], list[tuple[Segment, AutomationLevel]]] = {}
    for action_id, entry in policy.actions.catalogue.items():
        rules = [r for r in policy_floor().floor if r.selects(action_id, entry)]
        if not rules:
            continue
        loosest = _loosest(policy, action_id, entry)
        for rule in rules:
            where = [key for key, status in loosest.items() if status.rank < rule.at_least.rank]
            if where:
                needs[(action_id, rule.id)] = where
    return needs


def _has_key(data: dict[str, Any], dotted: str) -> bool:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return False
        if part in node:
            node = node[part]
        elif f"{part}{APPEND}" in node:
            node = node[f"{part}{APPEND}"]
        else:
            return False
    return True


def override_notes(user: dict[str, Any], policy: Policy) -> OverrideNotes:
    """Lists `user` replaces, and each floor rule the merged `policy` would need.

    A floor rule the default policy already relies on is not the file's doing
    and is not listed; for the others, the file's own keys that let the action
    past the floor are named.
    """
    rules = {r.id: r for r in policy_floor().floor}
    before = floor_needs(default_policy())
    needs = []
    for (action_id, rule_id), where in floor_needs(policy).items():
        new = [w for w in where if w not in before.get((action_id, rule_id), [])]
        if not new:
            continue
        entry = policy.actions.catalogue[action_id]
        candidates = [f"actions.catalogue.{action_id}"]
        candidates += sorted({f"gate.matrix.{action_id}.{s.value}" for s, _ in new})
        candidates += sorted(
            {f"gate.automation_levels.{lv.value}.caps.{entry.sensitivity.value}" for _, lv in new}
        )
        defaults = default_policy().gate
        candidates += [
            f"gate.{name}"
            for name in ("signal_overrides", "stop_rules")
            if any(
                not r.when_any and _rule_selects(r, action_id, entry)
                for r in getattr(defaults, name)
            )
        ]
        keys = [c for c in candidates if _has_key(user, c)] or candidates[1:2]
        rule = rules[rule_id]
        examples = ", ".join(f"{s.value} at {lv.value}" for s, lv in new[:3])
        more = f" and {len(new) - 3} more" if len(new) > 3 else ""
        needs.append(
            f"{', '.join(keys)}: would let {action_id} be looser than '{rule.at_least}' "
            f"({examples}{more}); the policy floor ({rule_id}) holds it: {rule.reason}"
        )
    return OverrideNotes(
        replaced_lists=replaced_lists(default_policy_data(), user), needs_floor=needs
    )


def read_override(path: Path) -> dict[str, Any]:
    """A user's policy file as data, unmerged (for `override_notes`)."""
    return _read_yaml(Path(path))


_DEFAULT: Policy | None = None


def default_policy() -> Policy:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_policy()
    return _DEFAULT
