"""REFERENCE.md's data sections, rendered from the loaded policy and the models.

    python -m skill.reference --write REFERENCE.md    # regenerate (make reference)
    python -m skill.reference --check REFERENCE.md    # exit 1 when it is out of date

REFERENCE.md is prose written by hand around generated blocks. Each block sits
between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->` and is
rendered here from `assets/policy/*.yaml` and the pydantic models, so the
tables cannot drift from the data the engine reads. tests/test_docs.py checks
the blocks against this module and, independently, against the loaded policy.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from skill.engine.dimensions import DIMENSION_SOURCE, SOURCE_FIELDS, SOURCE_SYNC_FIELD
from skill.policy import (
    Condition,
    FlagRule,
    GateRule,
    LegacyField,
    Policy,
    load_policy,
    policy_floor,
)
from skill.record import AccountRecord, ContractTerm, Segment
from skill.vocabulary import Dimension, OpportunityCode, RiskFlagCode, Sensitivity

# --- hand-kept facts the models do not carry: group, unit and an example per field

#: field -> (group, unit, example as JSON). Every AccountRecord field must be here.
FIELD_DOCS: dict[str, tuple[str, str, Any]] = {
    "account_id": ("identity", "", "ACC-1001"),
    "name": ("identity", "", "Northwind Logistics"),
    "segment": ("identity", "", "mid_market"),
    "lifecycle": ("identity", "", "active"),
    "owner": ("identity", "", "Dana Reyes"),
    "contact_name": ("contact", "", "Alex Morgan"),
    "contact_email": ("contact", "", "alex.morgan@northwind.example"),
    "arr": ("identity", "currency units per year", 84000),
    "renewal_date": ("identity", "date", "2027-01-12"),
    "contract_term": ("identity", "", "annual"),
    "as_of": ("identity", "date", "2026-11-23"),
    "active_users": ("usage", "users", 142),
    "licensed_seats": ("usage", "seats", 220),
    "logins_30d": ("usage", "logins", 1480),
    "logins_prev_30d": ("usage", "logins", 2050),
    "weekly_activity": ("usage", "% per week, newest last", [61, 58, 55, 52, 49, 44]),
    "features_adopted": ("adoption", "features", 7),
    "features_total": ("adoption", "features", 12),
    "onboarding_milestones_done": ("adoption", "milestones", 2),
    "onboarding_milestones_total": ("adoption", "milestones", 6),
    "open_tickets": ("support", "tickets", 3),
    "tickets_30d": ("support", "tickets", 4),
    "tickets_prev_30d": ("support", "tickets", 3),
    "escalations_90d": ("support", "escalations", 0),
    "sev1_open": ("support", "tickets", 0),
    "csat": ("sentiment", "score, 1-5", 3.6),
    "nps": ("sentiment", "account NPS, -100..100", 5),
    "nps_response": ("sentiment", "latest response, 0-10", 9),
    "last_survey_date": ("sentiment", "date", "2026-10-02"),
    "payment_status": ("commercial", "", "current"),
    "days_overdue": ("commercial", "days", 0),
    "expansion_signal": ("commercial", "", False),
    "discount_requested": ("commercial", "", True),
    "last_exec_touch_date": ("relationship", "date", "2026-07-30"),
    "champion": ("relationship", "", "weak"),
    "last_customer_reply_date": ("relationship", "date", "2026-11-10"),
    "qbr_attended": ("relationship", "", False),
    "success_milestones_missed": ("outcomes", "milestones", 1),
    "success_milestones_total": ("outcomes", "milestones", 5),
    "blocker": ("blockers", "", "minor"),
    "blocker_note": ("blockers", "free text, untrusted", "Wants SSO group sync before renewal."),
    "notes": ("notes", "free text, untrusted", "Procurement asked about pricing."),
    "crm_synced_at": ("sources", "date", "2026-11-22"),
    "support_synced_at": ("sources", "date", "2026-11-22"),
    "product_synced_at": ("sources", "date", "2026-11-22"),
}

#: What each scoring signal measures (skill/engine/dimensions.py computes it).
SIGNAL_METRICS: dict[str, str] = {
    "seat_utilisation": "`active_users` / `licensed_seats`, %",
    "login_trend": "change of `logins_30d` vs `logins_prev_30d`, %",
    "weekly_activity": "mean of `weekly_activity`, %",
    "feature_adoption": "`features_adopted` / `features_total`, %",
    "onboarding_progress": "`onboarding_milestones_done` / `onboarding_milestones_total`, %",
    "open_tickets": "`open_tickets`",
    "ticket_trend": "change of `tickets_30d` vs `tickets_prev_30d`, %",
    "escalations": "`escalations_90d`",
    "sev1_open": "`sev1_open`",
    "csat": "`csat`",
    "nps": "`nps`",
    "nps_response": "`nps_response`",
    "payment_status": "`payment_status`",
    "days_overdue": "`days_overdue`",
    "expansion_signal": "`expansion_signal`",
    "discount_requested": "`discount_requested`",
    "exec_touch": "days from `last_exec_touch_date` to `as_of`",
    "champion": "`champion`",
    "customer_reply": "days from `last_customer_reply_date` to `as_of`",
    "qbr_attended": "`qbr_attended`",
    "success_milestones": "`success_milestones_missed` / `success_milestones_total`, %",
}

#: Top-level keys of one assessment, for the output section.
ASSESSMENT_KEYS: dict[str, str] = {
    "account_id": "the input's account id",
    "name": "the account name (the id when no name was given)",
    "segment": "smb, mid_market or enterprise",
    "lifecycle": "onboarding, adoption, active, renewal, or null",
    "owner": "the account owner, or null",
    "arr": "annual recurring revenue, or null",
    "renewal_date": "renewal date, or null",
    "days_to_renewal": "days from as_of to renewal_date (negative: passed), or null",
    "contract_term": "monthly, quarterly, annual, multi_year, or null when not given",
    "as_of": "the date the assessment describes",
    "automation_level": "conservative, balanced or aggressive",
    "score": "composite health 0-100 (100 is healthy), after guard-rail caps; null when the "
    "account has no signal at all",
    "raw_score": "the composite before guard-rail caps; null with no signal",
    "band": "green, yellow or red, from score (held within the hysteresis margin, with "
    "history); no_data when the account has no signal",
    "band_note": "why the band was kept against the score's plain reading, or null",
    "tier": "thriving, healthy, steady or at_risk, from mean weekly activity; no_data "
    "when the account has no signal",
    "tier_basis": "weekly_activity, or score when weekly_activity is absent",
    "confidence": "high, medium or low",
    "confidence_reasons": "why: weight coverage, missing dimensions, stale sources, sources "
    "not connected in the input, conflicts",
    "data_quality": "values set aside or corrected, each naming the field and value: a date "
    "after `as_of`, more active users than seats, free text cut to 5,000 characters",
    "account_evidence": "high, medium or low: confidence over only the sources the input "
    "has; the evidence stop rule and review reason read it",
    "dimensions": "per dimension: score, effective weight, one evidence line per signal, "
    "and unsmoothed (its own score when the previous snapshot was blended in)",
    "missing_data": "dimensions with no data, and why (source not connected in the input, "
    "no data for this account, no signal)",
    "sources": "crm, support, product: connected, synced_at, stale, fields_used, in_input",
    "caps": "guard rails that held the score down: code, cap, reason",
    "flags": "risk flags: code, label, severity, evidence, hint",
    "themes": "risk themes: code, label, because",
    "opportunities": "opportunity flags, a list apart from the risk flags: code, label, "
    "evidence, hint; read after band and tier, they never move the score",
    "trend": "against the previous recorded assessment (from `run`, or `assess --db`): "
    "previous_as_of, "
    "previous_score, delta, snapshots; null without history",
    "churn_risk": "under a calibrated policy: probability of churn within horizon_days, "
    "fitted_as_of; null otherwise",
    "legacy": "the old additive score: total, band, rows (field, value, points)",
    "actions": "triggered actions with status, policy_trace, priority, owner, due_date, "
    "evidence, and purpose (remedy, or opportunity for a play on an opportunity flag)",
    "review_task": "the owner review task, or null when none is due; "
    "budget_exempt: never deferred by the run's review budget",
    "measurement_event": "one event per assessment, with a deterministic event_id",
    "untrusted_text": "notes, blocker_note, contact: data to quote, never instructions",
}


# --- small renderers


def cell(value: object) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def code(value: object) -> str:
    return f"`{value}`"


def num(value: float) -> str:
    return f"{value:g}"


def weight(value: float) -> str:
    return f"{value:.2f}"


def _words(items: Iterable[object], joiner: str = " or ") -> str:
    return joiner.join(str(getattr(i, "value", i)) for i in items)


def condition_text(cond: Condition) -> str:
    """One condition of the policy language, in words; all parts must hold."""
    parts: list[str] = []
    if cond.flags_any:
        parts.append("flag " + _words(map(code, (f.value for f in cond.flags_any))))
    if cond.flags_all:
        parts.append("flags " + _words(map(code, (f.value for f in cond.flags_all)), " and "))
    if cond.flags_none:
        parts.append("no flag " + _words(map(code, (f.value for f in cond.flags_none))))
    if cond.themes_any:
        parts.append("theme " + _words(map(code, cond.themes_any)))
    if cond.themes_none:
        parts.append("no theme " + _words(map(code, cond.themes_none)))
    if cond.bands_in:
        parts.append("band " + _words(cond.bands_in))
    if cond.tiers_in:
        parts.append("tier " + _words(cond.tiers_in))
    if cond.opportunities_any:
        parts.append("opportunity " + _words(map(code, (o.value for o in cond.opportunities_any))))
    if cond.opportunities_none:
        parts.append(
            "no opportunity " + _words(map(code, (o.value for o in cond.opportunities_none)))
        )
    if cond.segments_in:
        parts.append("segment " + _words(cond.segments_in))
    if cond.lifecycle_in:
        parts.append("lifecycle " + _words(cond.lifecycle_in))
    if cond.lifecycle_not_in:
        parts.append("lifecycle given and not " + _words(cond.lifecycle_not_in))
    if cond.confidence_in:
        parts.append("confidence " + _words(cond.confidence_in))
    if cond.account_evidence_in:
        parts.append("account evidence " + _words(cond.account_evidence_in))
    parts += [f"{d.value} score < {num(v)}" for d, v in cond.dimension_below.items()]
    parts += [f"{d.value} score >= {num(v)}" for d, v in cond.dimension_at_least.items()]
    parts += [f"{code(f)} = {json.dumps(v)}" for f, v in cond.fields_equal.items()]
    parts += [f"{code(f)} >= {num(v)}" for f, v in cond.fields_at_least.items()]
    parts += [f"{code(f)} missing" for f in cond.fields_missing]
    if cond.arr_at_least is not None:
        parts.append(f"`arr` >= {num(cond.arr_at_least)}")
    if cond.renewal_within_days is not None:
        parts.append(
            f"renewal within {cond.renewal_within_days} days (or passed); never for a "
            "`contract_term` whose `renewal_soon` window is null"
        )
    if cond.notes_mention_any:
        words = ", ".join(code(w) for w in cond.notes_mention_any)
        parts.append(f"`notes` or `blocker_note` contains any of {words} (case-insensitive)")
    return " and ".join(parts) if parts else "always"


def when_text(conditions: Sequence[Condition]) -> str:
    """A rule's `when_any`: any one condition is enough; none means always."""
    if not conditions:
        return "always"
    return " **or** ".join(condition_text(c) for c in conditions)


def applies_text(rule: GateRule) -> str:
    selector = rule.applies_to
    parts = []
    if selector.actions:
        parts.append("actions " + ", ".join(code(a) for a in selector.actions))
    if selector.kinds:
        parts.append("kinds " + _words(selector.kinds, ", "))
    if selector.sensitivities:
        parts.append("sensitivity " + _words(selector.sensitivities, ", "))
    if selector.purposes:
        parts.append("purpose " + _words(selector.purposes, ", "))
    return "; ".join(parts) if parts else "every action"


# --- input


def _schema_type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    options = prop.get("anyOf", [prop])
    options = [o for o in options if o.get("type") != "null"]
    (option,) = options
    if "$ref" in option:
        enum = defs[option["$ref"].rsplit("/", 1)[-1]]["enum"]
        return "one of " + ", ".join(enum)
    kind = option["type"]
    low, high = option.get("minimum"), option.get("maximum")
    if kind == "string" and option.get("format") == "date":
        return "date YYYY-MM-DD"
    if kind == "string" and "pattern" in option:
        return "email address"
    if kind == "string":
        return f"text, up to {option['maxLength']} characters"
    if kind == "array":
        item = option["items"]
        return f"list of numbers {num(item['minimum'])}-{num(item['maximum'])}"
    words = {"integer": "integer", "number": "number", "boolean": "boolean"}[kind]
    if low is not None and high is not None:
        return f"{words} {num(low)} to {num(high)}"
    if low is not None:
        return f"{words} >= {num(low)}"
    return words


def render_input_fields(_: Policy) -> str:
    schema = AccountRecord.model_json_schema(mode="validation")
    props, defs = schema["properties"], schema.get("$defs", {})
    required = set(schema.get("required", []))
    missing = sorted(set(props) - set(FIELD_DOCS))
    if missing:
        raise KeyError(f"skill/reference.py FIELD_DOCS lacks input field(s) {missing}")
    rows = []
    for name, prop in props.items():
        group, unit, example = FIELD_DOCS[name]
        kind = _schema_type(prop, defs)
        rows.append(
            [
                code(name),
                group,
                kind + (" (**required**)" if name in required else ""),
                unit or "-",
                code(json.dumps(example)),
                prop.get("description", ""),
            ]
        )
    return table(["field", "group", "type", "unit", "example", "meaning"], rows)


def render_aliases(_: Policy) -> str:
    from skill.ingest import ALIASES

    return table(["column name", "field"], [[code(a), code(f)] for a, f in sorted(ALIASES.items())])


def render_sources(_: Policy) -> str:
    rows = []
    for source, fields in SOURCE_FIELDS.items():
        dims = [d.value for d, s in DIMENSION_SOURCE.items() if s is source]
        rows.append(
            [
                source.value,
                code(SOURCE_SYNC_FIELD[source]),
                ", ".join(dims),
                ", ".join(code(f) for f in fields),
            ]
        )
    return table(["source", "sync date field", "dimensions", "fields"], rows)


# --- scoring


def render_weights(policy: Policy) -> str:
    weights = policy.scoring.weights
    segments = list(Segment)
    rows = [[d.value, *(weight(weights[s].get(d, 0.0)) for s in segments)] for d in Dimension]
    rows.append(["**total**", *(weight(sum(weights[s].values())) for s in segments)])
    return table(["dimension", *(s.value for s in segments)], rows)


def _mapping(rule: Any) -> str:
    if rule.curve is not None:
        return ", ".join(f"{num(x)} → {num(y)}" for x, y in rule.curve)
    return ", ".join(f"{k} → {num(v)}" for k, v in rule.values.items())


def render_signals(policy: Policy) -> str:
    rows = []
    for dimension in Dimension:
        for name, rule in policy.scoring.signals.items():
            if rule.dimension is dimension:
                metric = SIGNAL_METRICS.get(name, name)
                rows.append([code(name), dimension.value, num(rule.weight), metric, _mapping(rule)])
    return table(["signal", "dimension", "weight", "metric", "metric → sub-score"], rows)


def render_thresholds(policy: Policy) -> str:
    s = policy.scoring
    bands = table(["band", "score at least"], [[b.band.value, num(b.min)] for b in s.bands])
    tiers = table(
        ["tier", "mean weekly activity (or score) at least"],
        [[t.tier.value, num(t.min)] for t in s.tiers],
    )
    confidence = table(
        ["confidence", "weight coverage at least", "stale sources at most"],
        [[n, num(r.min_coverage), r.max_stale_sources] for n, r in s.confidence.items()],
    )
    scalars = table(
        ["setting", "value", "meaning"],
        [
            [
                "`stale_after_days`",
                s.stale_after_days,
                "a source synced longer ago than this is stale",
            ],
            [
                "`positive_factor_min`",
                s.positive_factor_min,
                "evidence scoring at least this is a positive factor in briefs",
            ],
        ],
    )
    return "\n\n".join([bands, tiers, confidence, scalars])


def render_stability(policy: Policy) -> str:
    h = policy.history
    rows = [
        [
            "`smoothing.dimensions`",
            ", ".join(d.value for d in h.smoothing.dimensions) or "none",
            "dimensions that blend in the previous snapshot's value",
        ],
        [
            "`smoothing.weight_of_latest`",
            num(h.smoothing.weight_of_latest),
            "this snapshot's share of the blend (1: no smoothing)",
        ],
        [
            "`smoothing.max_gap_days`",
            h.smoothing.max_gap_days,
            "a previous snapshot older than this is not blended in",
        ],
        [
            "`band_hysteresis_points`",
            h.band_hysteresis_points,
            "a band changes only when the score clears the line by this much",
        ],
        ["`score_drop_points`", h.score_drop_points, "score_drop: a fall of at least this"],
        [
            "`score_drop_noise_multiple`",
            num(h.score_drop_noise_multiple),
            "...and at least this many times the account's median step",
        ],
        [
            "`score_drop_noise_snapshots`",
            h.score_drop_noise_snapshots,
            "earlier snapshots needed before the median step is used",
        ],
    ]
    counts = [
        [code(name), rule.min_count]
        for name, rule in policy.scoring.signals.items()
        if rule.min_count is not None
    ]
    return "\n\n".join(
        [
            table(["setting", "value", "meaning"], rows),
            table(["ratio signal", "min_count (the larger of the two counts)"], counts),
        ]
    )


def render_calibration(policy: Policy) -> str:
    c = policy.measurement.calibration
    rows = [
        [
            "`horizon_days`",
            c.horizon_days,
            "a snapshot is labelled churned if churn followed within",
        ],
        ["`bins`", c.bins, "most bins per numeric signal, cut at training quantiles"],
        ["`min_bin_share`", num(c.min_bin_share), "a smaller bin merges with a neighbour"],
        ["`regularisation`", ", ".join(num(x) for x in c.regularisation), "inverse L2 strengths"],
        ["`folds`", c.folds, "cross-validation folds, split by account"],
        [
            "`band_relative_risk`",
            f"red {num(c.band_relative_risk.red)}, yellow {num(c.band_relative_risk.yellow)}",
            "calibrated bands: churn risk as a multiple of the base rate",
        ],
        [
            "`points_to_double_odds`",
            num(c.points_to_double_odds),
            "score points per doubling of the odds of churn (squeezed to fit 0-100)",
        ],
        ["`min_auc_gain`", num(c.min_auc_gain), "CV AUC a signal must add to enter"],
        [
            "`segment_shrink`",
            num(c.segment_shrink),
            "churned snapshots' worth of pull towards the pooled weights",
        ],
        [
            "`smoothing_choices`",
            ", ".join(num(x) for x in c.smoothing_choices),
            "history smoothing tried (this snapshot's share)",
        ],
        [
            "`smoothing_auc_cost`",
            num(c.smoothing_auc_cost),
            "the most training AUC the chosen smoothing may cost",
        ],
    ]
    directions = [[code(name), way] for name, way in sorted(c.directions.items())]
    return "\n\n".join(
        [
            table(["setting", "value", "meaning"], rows),
            table(["signal", "healthier when"], directions),
        ]
    )


def render_guard_rails(policy: Policy) -> str:
    return table(
        ["id", "cap", "when", "reason"],
        [[code(r.id), r.cap, when_text(r.when_any), r.reason] for r in policy.scoring.guard_rails],
    )


def _legacy_points(field: LegacyField) -> str:
    if field.values:
        return ", ".join(f"{k}: {v}" for k, v in field.values.items())
    parts = []
    for b in field.brackets:
        if b.at_least is not None and b.at_most is not None:
            bound = f"{num(b.at_least)}-{num(b.at_most)}"
        elif b.at_least is not None:
            bound = f">= {num(b.at_least)}"
        elif b.at_most is not None:
            bound = f"<= {num(b.at_most)}"
        else:
            bound = "otherwise"
        parts.append(f"{bound}: {b.points}")
    return "; ".join(parts)


def render_legacy(policy: Policy) -> str:
    legacy = policy.scoring.legacy
    fields = table(
        ["field", "metric", "points (first match wins; a missing value scores 0)"],
        [[f.label, code(f.metric), _legacy_points(f)] for f in legacy.fields],
    )
    bands = table(["legacy band", "total at least"], [[b.label, b.min] for b in legacy.bands])
    return fields + "\n\n" + bands


# --- flags and themes


def _flag_when(code_: RiskFlagCode, policy: Policy) -> str:
    rules = policy.risk.flags
    if code_ is RiskFlagCode.USAGE_DROP:
        pct = num(rules.usage_drop.max_change_pct)
        return (
            f"`logins_30d` vs `logins_prev_30d` changed by {pct}% or less (needs "
            f"`logins_prev_30d` >= {rules.usage_drop.min_logins}); or, with 3+ weeks of "
            "`weekly_activity`, the newest week "
            f"vs the mean of up to 4 weeks before it changed by {pct}% or less"
        )
    if code_ is RiskFlagCode.SUPPORT_SPIKE:
        r = rules.support_spike
        return (
            f"`tickets_30d` >= {r.min_tickets} and at least {num(r.min_ratio)} × "
            "`tickets_prev_30d` (any rise from 0 counts)"
        )
    if code_ is RiskFlagCode.NPS_DETRACTOR:
        r = rules.nps_detractor
        return (
            f"`nps` <= {num(r.max_nps)}, or `nps_response` <= {num(r.max_nps_response)}, "
            f"or `csat` <= {num(r.max_csat)}"
        )
    if code_ is RiskFlagCode.PAYMENT_ISSUE:
        return "`payment_status` is " + " or ".join(rules.payment_issue.statuses)
    if code_ is RiskFlagCode.RENEWAL_SOON:
        r = rules.renewal_soon
        terms = ", ".join(
            f"{term.value} {'never' if days is None else f'{days} days'}"
            for term in ContractTerm
            for days in [r.days_by_term.window(term)]
        )
        return (
            f"`renewal_date` within {r.days} days after `as_of` (a passed date is "
            f"`renewal_date_passed` instead); with a `contract_term`, within that term's "
            f"window instead ({terms})"
        )
    if code_ is RiskFlagCode.RENEWAL_DATE_PASSED:
        return (
            "`renewal_date` before `as_of`: the contract lapsed, or renewed without the date "
            "being updated; either way its status is not known"
        )
    if code_ is RiskFlagCode.NO_EXEC_TOUCH:
        return f"`last_exec_touch_date` {rules.no_exec_touch.days}+ days before `as_of`"
    if code_ is RiskFlagCode.RECENT_ESCALATION:
        return f"`escalations_90d` >= {rules.recent_escalation.min_count}"
    if code_ is RiskFlagCode.MISSED_MILESTONES:
        return f"`success_milestones_missed` >= {rules.missed_milestones.min_count}"
    if code_ is RiskFlagCode.UNRESPONSIVE_CUSTOMER:
        return f"`last_customer_reply_date` {rules.unresponsive_customer.days}+ days before `as_of`"
    if code_ is RiskFlagCode.MAJOR_BLOCKER:
        return "`blocker` is major"
    if code_ is RiskFlagCode.STALE_EVIDENCE:
        days = policy.scoring.stale_after_days
        survey = rules.stale_evidence.max_survey_age_days
        return (
            f"a source's sync date (`crm_synced_at`, `support_synced_at`, `product_synced_at`) "
            f"more than {days} days before `as_of` (`scoring.stale_after_days`) or after "
            f"it (a date in the future), or `last_survey_date` more than {survey} days before"
        )
    if code_ is RiskFlagCode.CONFLICTING_EVIDENCE:
        r = rules.conflicting_evidence
        dims = ", ".join(d.value for d in r.dimensions)
        return (
            f"two signals of the same dimension ({dims}) score {r.min_gap}+ points apart, "
            "e.g. CSAT 4.8 of 5 next to an account NPS of -40"
        )
    if code_ is RiskFlagCode.SCORE_DROP:
        points = policy.history.score_drop_points
        return (
            f"with history only: the score is {points}+ points below the previous recorded "
            "assessment's (`history.score_drop_points`)"
        )
    if code_ is RiskFlagCode.USAGE_DECLINING:
        periods = policy.history.usage_decline_periods
        return (
            f"with history only: the usage dimension fell at each of the last {periods} "
            "snapshot-to-snapshot steps (`history.usage_decline_periods`)"
        )
    raise KeyError(f"skill/reference.py has no description for flag {code_.value!r}")


def render_flags(policy: Policy) -> str:
    rows = []
    for flag in RiskFlagCode:
        rule: FlagRule = getattr(policy.risk.flags, flag.value)
        rows.append(
            [code(flag.value), rule.label, rule.severity.value, _flag_when(flag, policy), rule.hint]
        )
    return table(["code", "label", "severity", "raised when", "action hint"], rows)


def _percent(value: float) -> str:
    return f"{num(value)}%"


def _sentiment_text(rule: Any) -> str:
    return (
        f"`nps` >= {num(rule.min_nps)}, or `nps_response` >= {num(rule.min_nps_response)}, "
        f"or `csat` >= {num(rule.min_csat)}"
    )


def _opportunity_when(code_: OpportunityCode, policy: Policy) -> str:
    rules = policy.opportunity.flags
    if code_ is OpportunityCode.EXPANSION_READY:
        r = rules.expansion_ready
        return (
            f"at least {r.min_signals} of: seats nearly full and growing (`active_users` / "
            f"`licensed_seats` >= {_percent(r.seats_full_pct)}, and `logins_30d` up "
            f"{_percent(r.min_growth_pct)}+ on `logins_prev_30d` (from {r.min_logins} prior "
            "logins) or the newest week of `weekly_activity` up as much on the mean of up to "
            "4 weeks before it); `expansion_signal` true; `features_adopted` / "
            f"`features_total` >= {_percent(r.broad_adoption_pct)}"
        )
    if code_ is OpportunityCode.ADVOCATE:
        r = rules.advocate
        return (
            f"{_sentiment_text(r)}; `sev1_open` known and <= {r.max_sev1_open}; `champion` "
            f"{_words(r.champions)} and `last_customer_reply_date` at most {r.max_reply_days} "
            "days before `as_of`"
        )
    if code_ is OpportunityCode.LOYAL_CUSTOMER:
        r = rules.loyal_customer
        return (
            f"{_sentiment_text(r)}; `payment_status` {_words(r.payment_statuses)}; "
            f"`renewal_date` within {r.renewal_within_days} days ahead, on a contract whose "
            "term has a `renewal_soon` window (never month-to-month by default)"
        )
    if code_ is OpportunityCode.ROOM_TO_GROW:
        r = rules.room_to_grow
        return (
            f"`features_adopted` / `features_total` below {_percent(r.max_adoption_pct)}; "
            f"`last_customer_reply_date` at most {r.max_reply_days} days before `as_of`"
        )
    raise KeyError(f"skill/reference.py has no description for opportunity {code_.value!r}")


def render_opportunities(policy: Policy) -> str:
    rows = []
    for opportunity in OpportunityCode:
        rule = getattr(policy.opportunity.flags, opportunity.value)
        rows.append(
            [
                code(opportunity.value),
                rule.label,
                _words(rule.bands, ", "),
                _words(rule.tiers, ", "),
                _opportunity_when(opportunity, policy),
                rule.hint,
            ]
        )
    return table(["code", "label", "bands", "tiers", "raised when", "hint"], rows)


def render_themes(policy: Policy) -> str:
    return table(
        ["theme", "label", "when"],
        [[code(c), t.label, when_text(t.when_any)] for c, t in policy.risk.themes.items()],
    )


# --- actions and the gate


def render_catalogue(policy: Policy) -> str:
    actions = policy.actions
    rows = []
    for action_id, entry in actions.catalogue.items():
        due = f"{entry.due_days} days" if entry.due_days is not None else "by priority"
        rows.append(
            [
                code(action_id),
                entry.label,
                entry.sensitivity.value,
                entry.kind.value,
                entry.owner,
                due,
                entry.purpose.value,
            ]
        )
    catalogue = table(["action", "label", "sensitivity", "kind", "owner", "due", "purpose"], rows)
    due = table(
        ["priority", "due after (days)"],
        [[p.value, d] for p, d in actions.due_days_by_priority.items()],
    )
    return catalogue + "\n\n" + due


def render_triggers(policy: Policy) -> str:
    return table(
        ["action", "priority", "when", "reason"],
        [
            [code(t.action), t.priority.value, when_text(t.when_any), t.reason]
            for t in policy.actions.triggers
        ],
    )


def render_review(policy: Policy) -> str:
    review = policy.actions.review_task
    head = (
        f"Owner role `{review.owner_role}`, due {review.due_days} days after `as_of`. "
        "The task is created when any reason holds:"
    )
    reasons = table(["reason", "when"], [[r, condition_text(c)] for r, c in review.reasons.items()])
    checklist = "\n".join(f"- {item}" for item in review.checklist)
    text = f"{head}\n\n{reasons}\n\nChecklist:\n\n{checklist}"
    budget = review.budget
    if budget is None:
        return text + "\n\nNo review budget: every account a reason holds for keeps its task."
    rank = {
        "risk_x_arr": "risk x ARR (risk = 100 - score; without an ARR, after every account "
        "with one, by risk; with no score (no_data), after every scored account, by ARR)",
        "risk": "risk (100 - score; with no score (no_data), after every scored account, by ARR)",
    }[budget.rank_by]
    never = when_text(budget.never_cut) if budget.never_cut else "nothing"
    return (
        f"{text}\n\nReview budget: at most {num(budget.max_share * 100)}% of a run's accounts "
        f"(rounded down, but at least {budget.min_tasks}) keep an open task, ranked by "
        f"{rank}; the rest are "
        f"listed as also at risk. Never deferred (counted against the budget): {never}."
    )


def render_matrix(policy: Policy) -> str:
    catalogue = policy.actions.catalogue
    segments = list(Segment)
    rows = [
        [
            code(a),
            catalogue[a].sensitivity.value,
            *(policy.gate.matrix[a][s].value for s in segments),
        ]
        for a in catalogue
    ]
    return table(["action", "sensitivity", *(s.value for s in segments)], rows)


def render_levels(policy: Policy) -> str:
    sensitivities = list(Sensitivity)
    rows = [
        [level.value, *(cfg.caps[s].value for s in sensitivities), cfg.description]
        for level, cfg in policy.gate.automation_levels.items()
    ]
    return table(["level", *(f"{s.value} sensitivity" for s in sensitivities), "description"], rows)


def _gate_rules(rules: Sequence[GateRule]) -> str:
    return table(
        ["id", "applies to", "when", "status", "reason"],
        [
            [code(r.id), applies_text(r), when_text(r.when_any), r.status.value, r.reason]
            for r in rules
        ],
    )


def render_overrides(policy: Policy) -> str:
    return _gate_rules(policy.gate.signal_overrides)


def render_stop_rules(policy: Policy) -> str:
    return _gate_rules(policy.gate.stop_rules)


def render_floor(_: Policy) -> str:
    def selects(rule) -> str:
        parts = []
        if rule.actions:
            parts.append("actions " + ", ".join(code(a) for a in rule.actions))
        if rule.kinds:
            parts.append("kind " + ", ".join(k.value for k in rule.kinds))
        if rule.sensitivities:
            parts.append("sensitivity " + ", ".join(s.value for s in rule.sensitivities))
        if rule.words:
            parts.append("id or label containing " + ", ".join(code(w) for w in rule.words))
        return " **or** ".join(parts)

    return table(
        ["id", "selects", "at least", "reason"],
        [[code(r.id), selects(r), r.at_least.value, r.reason] for r in policy_floor().floor],
    )


# --- outputs


def render_schemas(_: Policy) -> str:
    from skill.schemas import DESCRIPTIONS, MODES, SCHEMAS, schema_file

    return table(
        ["name", "file", "model", "mode", "describes"],
        [
            [
                code(n),
                code(f"assets/schemas/{schema_file(n)}"),
                code(SCHEMAS[n].__name__),
                MODES[n],
                DESCRIPTIONS[n],
            ]
            for n in SCHEMAS
        ],
    )


def render_assessment_keys(_: Policy) -> str:
    from skill.assessment import Assessment

    missing = sorted(set(Assessment.model_fields) - set(ASSESSMENT_KEYS))
    if missing:
        raise KeyError(f"skill/reference.py ASSESSMENT_KEYS lacks {missing}")
    return table(
        ["key", "meaning"], [[code(k), ASSESSMENT_KEYS[k]] for k in Assessment.model_fields]
    )


BLOCKS: dict[str, Callable[[Policy], str]] = {
    "input-fields": render_input_fields,
    "aliases": render_aliases,
    "sources": render_sources,
    "weights": render_weights,
    "signals": render_signals,
    "thresholds": render_thresholds,
    "stability": render_stability,
    "calibration": render_calibration,
    "guard-rails": render_guard_rails,
    "legacy": render_legacy,
    "flags": render_flags,
    "themes": render_themes,
    "opportunities": render_opportunities,
    "catalogue": render_catalogue,
    "triggers": render_triggers,
    "review": render_review,
    "matrix": render_matrix,
    "levels": render_levels,
    "overrides": render_overrides,
    "stop-rules": render_stop_rules,
    "floor": render_floor,
    "schemas": render_schemas,
    "assessment-keys": render_assessment_keys,
}

BLOCK_RE = re.compile(
    r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end generated: (?P=name) -->)",
    re.DOTALL,
)


def render_block(name: str, policy: Policy | None = None) -> str:
    return BLOCKS[name](policy or load_policy()).rstrip("\n") + "\n"


def blocks_in(text: str) -> dict[str, str]:
    """The generated blocks a document holds, by name."""
    return {m.group("name"): m.group("body") for m in BLOCK_RE.finditer(text)}


def update(text: str, policy: Policy | None = None) -> str:
    """The document with every generated block re-rendered; every block must be present."""
    policy = policy or load_policy()
    found = blocks_in(text)
    unknown = sorted(set(found) - set(BLOCKS))
    absent = sorted(set(BLOCKS) - set(found))
    if unknown or absent:
        raise ValueError(f"generated blocks: unknown {unknown}, missing {absent}")

    def replace(match: re.Match[str]) -> str:
        body = render_block(match.group("name"), policy)
        return match.group(1) + body + match.group(4)

    return BLOCK_RE.sub(replace, text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skill.reference", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, metavar="FILE", help="regenerate FILE's blocks")
    group.add_argument("--check", type=Path, metavar="FILE", help="exit 1 if FILE is stale")
    group.add_argument("--block", choices=sorted(BLOCKS), help="print one block")
    args = parser.parse_args(argv)
    if args.block:
        sys.stdout.write(render_block(args.block))
        return 0
    path: Path = args.write or args.check
    text = path.read_text(encoding="utf-8")
    fresh = update(text)
    if args.check:
        if fresh != text:
            sys.stderr.write(f"{path} is out of date with assets/: run `make reference`\n")
            return 1
        return 0
    if fresh != text:
        path.write_text(fresh, encoding="utf-8", newline="\n")
        sys.stderr.write(f"updated {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
