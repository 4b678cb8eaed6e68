"""Evaluates the policy's condition language against one account."""

from __future__ import annotations

from skill.engine.context import AccountContext
from skill.policy import Condition, Rule


def _field_value(ctx: AccountContext, name: str) -> object:
    value = getattr(ctx.record, name)
    return value.value if hasattr(value, "value") else value


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def holds(cond: Condition, ctx: AccountContext) -> bool:
    if cond.flags_any and ctx.flags.isdisjoint(cond.flags_any):
        return False
    if cond.flags_all and not ctx.flags.issuperset(cond.flags_all):
        return False
    if cond.flags_none and not ctx.flags.isdisjoint(cond.flags_none):
        return False
    if cond.themes_any and ctx.themes.isdisjoint(cond.themes_any):
        return False
    if cond.themes_none and not ctx.themes.isdisjoint(cond.themes_none):
        return False
    if cond.bands_in and ctx.band not in cond.bands_in:
        return False
    if cond.segments_in and ctx.record.segment not in cond.segments_in:
        return False
    if cond.lifecycle_in and ctx.record.lifecycle not in cond.lifecycle_in:
        return False
    if cond.lifecycle_not_in and (
        ctx.record.lifecycle is None or ctx.record.lifecycle in cond.lifecycle_not_in
    ):
        return False
    if cond.confidence_in and ctx.confidence not in cond.confidence_in:
        return False
    for dimension, limit in cond.dimension_below.items():
        score = ctx.dimension_scores.get(dimension)
        if score is None or score >= limit:
            return False
    for dimension, limit in cond.dimension_at_least.items():
        score = ctx.dimension_scores.get(dimension)
        if score is None or score < limit:
            return False
    for name, expected in cond.fields_equal.items():
        if _field_value(ctx, name) != expected:
            return False
    for name, limit in cond.fields_at_least.items():
        value = getattr(ctx.record, name)
        if value is None or value < limit:
            return False
    for name in cond.fields_missing:
        if getattr(ctx.record, name) is not None:
            return False
    if cond.arr_at_least is not None and (
        ctx.record.arr is None or ctx.record.arr < cond.arr_at_least
    ):
        return False
    if cond.renewal_within_days is not None and (
        ctx.days_to_renewal is None or ctx.days_to_renewal > cond.renewal_within_days
    ):
        return False
    return not (
        cond.notes_mention_any
        and not any(word in ctx.notes_lower for word in cond.notes_mention_any)
    )


def first_match(rule: Rule, ctx: AccountContext) -> Condition | None:
    """The first condition of the rule that holds; a rule with no conditions always fires."""
    if not rule.when_any:
        return Condition()
    for cond in rule.when_any:
        if holds(cond, ctx):
            return cond
    return None


def describe_match(cond: Condition, ctx: AccountContext) -> str:
    """A short, checkable account of why a condition held."""
    parts: list[str] = []
    flags = sorted({f.value for f in (*cond.flags_any, *cond.flags_all) if f in ctx.flags})
    if flags:
        parts.append("flags " + ", ".join(flags))
    themes = sorted(t for t in cond.themes_any if t in ctx.themes)
    if themes:
        parts.append("themes " + ", ".join(themes))
    if cond.bands_in and ctx.band is not None:
        parts.append(f"band {ctx.band.value}")
    if cond.segments_in:
        parts.append(f"segment {ctx.record.segment.value}")
    if cond.lifecycle_in or cond.lifecycle_not_in:
        lifecycle = ctx.record.lifecycle.value if ctx.record.lifecycle else "unknown"
        parts.append(f"lifecycle {lifecycle}")
    if cond.confidence_in and ctx.confidence is not None:
        parts.append(f"confidence {ctx.confidence.value}")
    for dimension, limit in cond.dimension_below.items():
        parts.append(f"{dimension.value} {ctx.dimension_scores[dimension]} < {limit:g}")
    for dimension, limit in cond.dimension_at_least.items():
        parts.append(f"{dimension.value} {ctx.dimension_scores[dimension]} >= {limit:g}")
    for name in cond.fields_equal:
        parts.append(f"{name.replace('_', ' ')}: {_shown(_field_value(ctx, name))}")
    for name in cond.fields_at_least:
        parts.append(f"{name} {getattr(ctx.record, name)}")
    for name in cond.fields_missing:
        parts.append(f"{name} missing")
    if cond.arr_at_least is not None:
        parts.append(f"ARR {ctx.record.arr:,.0f}")
    if cond.renewal_within_days is not None:
        parts.append(f"renewal in {ctx.days_to_renewal} days")
    if cond.notes_mention_any:
        words = sorted(w for w in cond.notes_mention_any if w in ctx.notes_lower)
        parts.append("notes mention " + ", ".join(repr(w) for w in words))
    return "; ".join(parts) if parts else "always"
