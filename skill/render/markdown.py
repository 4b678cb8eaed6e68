"""Seed 002's health-summary format, plus the legacy table and the actions table."""

from __future__ import annotations

from collections.abc import Iterable

from skill.assessment import Assessment, ReviewBudgetSummary, ScoreTrend, SourceStatus
from skill.drafting import AccountTexts
from skill.engine.dimensions import SOURCE_LABEL
from skill.policy import Policy, floor_minimum, policy_floor
from skill.record import Segment
from skill.vocabulary import ActionPurpose, AutomationLevel, Band, Source

SOURCE_ORDER = (Source.CRM, Source.SUPPORT, Source.PRODUCT)
KIND_WORDS = {
    "customer_facing": "Customer-facing",
    "internal_task": "Internal task",
    "notification": "Notification",
    "data_update": "Data update",
}


def cell(text: str) -> str:
    """Keep table cells on one row whatever the text holds."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _risk_flags(a: Assessment) -> list[str]:
    lines = ["### Risk Flags"]
    if not a.flags:
        lines.append("No risk flags.")
    for flag in a.flags:
        lines.append(f"- {flag.label}: {flag.evidence} ({flag.severity.value}; {flag.hint})")
    return lines


def _opportunities(a: Assessment) -> list[str]:
    """Shown only when there is one: a list apart from the risk flags."""
    if not a.opportunities:
        return []
    lines = ["### Opportunities"]
    lines += [f"- {o.label}: {o.evidence} ({o.hint})" for o in a.opportunities]
    return [*lines, ""]


def factor_lists(a: Assessment, positive_min: int) -> tuple[list[str], list[str]]:
    """The positive and negative factors: each evidence line by its signal's score, then caps."""
    positive, negative = [], []
    for dimension in a.dimensions:
        for evidence in dimension.evidence:
            line = f"{dimension.dimension.value}: {evidence.text}"
            (positive if evidence.score >= positive_min else negative).append(line)
    negative += [f"capped at {c.cap} ({c.code}): {c.reason}" for c in a.caps]
    return positive, negative


def missing_data_text(a: Assessment) -> str:
    """What the Missing data line says: the dimensions without data, and what follows."""
    missing = "; ".join(f"{m.dimension.value} ({m.reason})" for m in a.missing_data)
    if a.score is None:
        return f"{missing}. There is no score: connect these sources to assess the account."
    if a.missing_data:
        return (
            f"{missing}. The score uses the remaining dimensions, reweighted; connecting "
            "these sources would make it more complete."
        )
    return "None."


def _factors(a: Assessment, positive_min: int) -> list[str]:
    positive, negative = factor_lists(a, positive_min)
    lines = ["### Factors", "**Positive:**", *(f"- {line}" for line in positive or ["None."])]
    lines += ["**Negative:**", *(f"- {line}" for line in negative or ["None."])]
    lines.append(f"**Missing data:** {missing_data_text(a)}")
    return lines


def source_line(status: SourceStatus) -> str:
    """One source's line under Inputs Used: the fields it gave and its sync date."""
    label = SOURCE_LABEL[status.source]
    label = label[0].upper() + label[1:]
    if not status.connected:
        return f"{label}: Not connected"
    used = ", ".join(status.fields_used) if status.fields_used else "no fields"
    synced = f"synced {status.synced_at}" if status.synced_at else "sync date not given"
    stale = " (stale)" if status.stale else ""
    return f"{label}: {used} ({synced}{stale})"


def flags_first(a: Assessment) -> bool:
    """Seed 002: an account not green lists its risk flags before its score."""
    return a.band is not Band.GREEN


def _legacy(a: Assessment) -> list[str]:
    lines = [
        "### Legacy score (additive baseline)",
        "| Field | Value | Points |",
        "|---|---|---|",
    ]
    lines += [f"| {cell(r.field)} | {cell(r.value)} | {r.points} |" for r in a.legacy.rows]
    lines.append(f"| **Total** | | **{a.legacy.total}** · {a.legacy.band} |")
    return lines


def _actions(a: Assessment, texts: AccountTexts) -> list[str]:
    lines = [
        "### Recommended actions",
        "| Kind | Action | Owner | Priority | Status | Rationale |",
        "|---|---|---|---|---|---|",
    ]
    if not a.actions:
        return [*lines[:1], "No actions triggered."]
    for action in a.actions:
        owner = action.owner_name or action.owner
        if action.owner_name:
            owner = f"{action.owner_name} ({action.owner})"
        kind = KIND_WORDS[action.kind.value]
        if action.purpose is ActionPurpose.OPPORTUNITY:
            kind += " · opportunity"
        lines.append(
            f"| {kind} | {cell(action.label)} | {cell(owner)} | "
            f"{action.priority.value} | {action.status.value} | "
            f"{cell(texts.rationales.get(action.action, ''))} |"
        )
    return lines


def prose_note(texts: AccountTexts, model: str | None) -> str:
    """Says where the words came from, so nothing degrades silently."""
    if model is None:
        return "_Prose from templates (no LLM)._"
    fallbacks = sum(1 for s in texts.part_sources.values() if s.value == "template")
    if fallbacks == len(texts.part_sources):
        problems = len(texts.reasons)
        return f"_Prose from templates: {model} gave no usable draft ({problems} problem(s))._"
    retried = " after one retry" if texts.draft_source.value == "llm_retry" else ""
    note = f"_Prose drafted by {model}{retried} and checked against the facts"
    if fallbacks:
        note += f"; {fallbacks} part(s) from templates"
    return note + "._"


def render_assessment(
    a: Assessment, texts: AccountTexts, policy: Policy, model: str | None = None
) -> str:
    at_risk = flags_first(a)
    lifecycle = a.lifecycle.value if a.lifecycle else "lifecycle not given"
    renewal = (
        f"renewal in {a.days_to_renewal}d" if a.days_to_renewal is not None else "no renewal date"
    )
    if a.contract_term is not None:
        renewal += f" ({a.contract_term.label})"
    lines = [f"## Health: {a.name}", f"_{a.segment.value} · {lifecycle} · {renewal}_", ""]
    shown = "no data" if a.score is None else a.score
    score = [f"**Score:** {shown} — {texts.summary_line}", ""]
    score.append(
        f"Band **{a.band.value}** · tier **{a.tier.value}** · confidence **{a.confidence.value}** "
        f"({'; '.join(a.confidence_reasons)})"
    )
    if a.trend is not None:
        score.append(_trend_line(a.trend))
    if a.themes:
        score.append("Themes: " + ", ".join(f"{t.label} ({t.because})" for t in a.themes))
    score.append("")
    flags = [*_risk_flags(a), ""]
    lines += (flags + score) if at_risk else (score + flags)
    lines += _opportunities(a)
    lines += [texts.narrative, ""]
    lines += [*_factors(a, policy.scoring.positive_factor_min), ""]
    lines += ["### Inputs Used"]
    by_source = {s.source: s for s in a.sources}
    lines += [f"- {source_line(by_source[source])}" for source in SOURCE_ORDER]
    lines += ["", *_legacy(a), "", *_actions(a, texts), ""]
    if a.review_task:
        task = a.review_task
        lines += [
            "### Owner review",
            f"{task.owner} ({task.owner_role}) reviews by {task.due_date}: "
            + "; ".join(task.reasons)
            + ".",
            "",
        ]
    lines += [prose_note(texts, model), ""]
    return "\n".join(lines)


def render_not_connected(sources: Iterable[Source]) -> str:
    """Said once for a run: sources with no data anywhere in the input."""
    names = ", ".join(SOURCE_LABEL[s] for s in sources)
    return (
        f"> **Not connected in this input:** {names}. Every account below is assessed "
        "without them: its confidence says so, but this alone opens no review task and "
        "holds back no action.\n"
    )


def render_budget(budget: ReviewBudgetSummary) -> str:
    """The run's review budget, and the accounts over it, said once after the accounts."""
    lines = [
        "## Review budget",
        f"{budget.kept} of {budget.accounts} accounts keep an owner review task (at most "
        f"{budget.max_share:.0%} of the run: {budget.limit}; ranked by "
        f"{budget.rank_by.replace('_x_', ' × ')}).",
    ]
    if budget.never_cut > budget.limit:
        lines.append(
            f"{budget.never_cut} tasks the policy never defers exceed the limit; all are kept."
        )
    if budget.also_at_risk:
        lines += [
            "",
            "### Also at risk",
            "A review reason holds for these accounts too, but they rank below the budget; "
            "their review task is not opened.",
            "",
            "| rank | account | score | ARR | reasons |",
            "|---:|---|---:|---:|---|",
        ]
        lines += [
            f"| {a.rank} | {cell(a.account_id)} | {'—' if a.score is None else a.score} "
            f"| {'—' if a.arr is None else f'{a.arr:,.0f}'} "
            f"| {cell('; '.join(r.split(' - ', 1)[0] for r in a.reasons))} |"
            for a in budget.also_at_risk
        ]
    return "\n".join(lines) + "\n"


def render_report(
    assessments: Iterable[tuple[Assessment, AccountTexts]], policy: Policy
) -> Iterable[str]:
    for assessment, texts in assessments:
        yield render_assessment(assessment, texts, policy)


def render_policy_matrix(
    policy: Policy, segments: list[Segment], levels: list[AutomationLevel]
) -> str:
    """The effective baseline per action: the matrix tightened by each level's cap."""
    gate, catalogue = policy.gate, policy.actions.catalogue
    header = ["Action", "Sensitivity"]
    columns = [(s, lv) for s in segments for lv in levels]
    header += [f"{s.value}" + (f" / {lv.value}" if len(levels) > 1 else "") for s, lv in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for action_id, entry in catalogue.items():
        row = [f"{entry.label} (`{action_id}`)", entry.sensitivity.value]
        for segment, level in columns:
            baseline = gate.matrix[action_id][segment]
            cap = gate.automation_levels[level].caps[entry.sensitivity]
            row.append(baseline.at_least(cap).at_least(floor_minimum(action_id, entry)).value)
        lines.append("| " + " | ".join(row) + " |")
    notes = [
        "",
        "Each cell is the strictest of the segment matrix, the automation level's cap and",
        "the policy floor, which no policy file can change:",
    ]
    notes += [
        f"- {r.id} (floor) → at least {r.at_least.value}: {r.reason}" for r in policy_floor().floor
    ]
    notes += [
        "",
        "Signal overrides and stop rules can tighten an action further for a given account:",
    ]
    notes += [f"- {r.id} → {r.status.value}: {r.reason}" for r in gate.signal_overrides]
    notes += [f"- {r.id} (stop rule) → {r.status.value}: {r.reason}" for r in gate.stop_rules]
    return "\n".join(lines + notes) + "\n"


def _trend_line(trend: ScoreTrend) -> str:
    if trend.delta == 0:
        move = "unchanged"
    else:
        move = f"{'up' if trend.delta > 0 else 'down'} {abs(trend.delta)}"
    return f"Trend: {move} since {trend.previous_as_of} (was {trend.previous_score})"
