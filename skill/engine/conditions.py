"""Evaluates the policy's condition language against one account.

Each condition is compiled once into the few tests it actually uses, since
every account runs every theme, trigger and gate rule.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from enum import Enum

from skill.engine.context import AccountContext
from skill.policy import Condition, Rule

Test = Callable[[AccountContext], bool]
_ALWAYS = Condition()


def _field_value(ctx: AccountContext, name: str) -> object:
    value = getattr(ctx.record, name)
    return value.value if isinstance(value, Enum) else value


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _compile(cond: Condition) -> tuple[Test, ...]:
    tests: list[Test] = []
    if cond.flags_any:
        flags_any = frozenset(cond.flags_any)
        tests.append(lambda c: not c.flags.isdisjoint(flags_any))
    if cond.flags_all:
        flags_all = frozenset(cond.flags_all)
        tests.append(lambda c: c.flags.issuperset(flags_all))
    if cond.flags_none:
        flags_none = frozenset(cond.flags_none)
        tests.append(lambda c: c.flags.isdisjoint(flags_none))
    if cond.themes_any:
        themes_any = frozenset(cond.themes_any)
        tests.append(lambda c: not c.themes.isdisjoint(themes_any))
    if cond.themes_none:
        themes_none = frozenset(cond.themes_none)
        tests.append(lambda c: c.themes.isdisjoint(themes_none))
    if cond.bands_in:
        bands = frozenset(cond.bands_in)
        tests.append(lambda c: c.band in bands)
    if cond.segments_in:
        segments = frozenset(cond.segments_in)
        tests.append(lambda c: c.record.segment in segments)
    if cond.lifecycle_in:
        lifecycles = frozenset(cond.lifecycle_in)
        tests.append(lambda c: c.record.lifecycle in lifecycles)
    if cond.lifecycle_not_in:
        excluded = frozenset(cond.lifecycle_not_in)
        tests.append(
            lambda c: c.record.lifecycle is not None and c.record.lifecycle not in excluded
        )
    if cond.confidence_in:
        levels = frozenset(cond.confidence_in)
        tests.append(lambda c: c.confidence in levels)
    for dimension, limit in cond.dimension_below.items():
        tests.append(
            lambda c, d=dimension, lim=limit: (
                (s := c.dimension_scores.get(d)) is not None and s < lim
            )
        )
    for dimension, limit in cond.dimension_at_least.items():
        tests.append(
            lambda c, d=dimension, lim=limit: (
                (s := c.dimension_scores.get(d)) is not None and s >= lim
            )
        )
    for name, expected in cond.fields_equal.items():
        tests.append(lambda c, n=name, e=expected: _field_value(c, n) == e)
    for name, limit in cond.fields_at_least.items():
        tests.append(
            lambda c, n=name, lim=limit: (v := getattr(c.record, n)) is not None and v >= lim
        )
    for name in cond.fields_missing:
        tests.append(lambda c, n=name: getattr(c.record, n) is None)
    if cond.arr_at_least is not None:
        arr = cond.arr_at_least
        tests.append(lambda c: c.record.arr is not None and c.record.arr >= arr)
    if cond.renewal_within_days is not None:
        within = cond.renewal_within_days
        tests.append(lambda c: c.days_to_renewal is not None and c.days_to_renewal <= within)
    if cond.notes_mention_any:
        words = tuple(cond.notes_mention_any)
        tests.append(lambda c: bool(c.notes_lower) and any(w in c.notes_lower for w in words))
    return tuple(tests)


# Compiled tests per live condition; an entry goes when its policy is garbage-collected.
_COMPILED: dict[int, tuple[weakref.ref[Condition], tuple[Test, ...]]] = {}


def _tests(cond: Condition) -> tuple[Test, ...]:
    key = id(cond)
    entry = _COMPILED.get(key)
    if entry is None or entry[0]() is not cond:
        ref = weakref.ref(cond, lambda _, key=key: _COMPILED.pop(key, None))
        entry = (ref, _compile(cond))
        _COMPILED[key] = entry
    return entry[1]


def holds(cond: Condition, ctx: AccountContext) -> bool:
    return all(test(ctx) for test in _tests(cond))


def first_match(rule: Rule, ctx: AccountContext) -> Condition | None:
    """The first condition of the rule that holds; a rule with no conditions always fires."""
    if not rule.when_any:
        return _ALWAYS
    for cond in rule.when_any:
        if holds(cond, ctx):
            return cond
    return None


def describe_match(cond: Condition, ctx: AccountContext) -> str:
    """A short, checkable account of why a condition held."""
    parts: list[str] = []
    if cond.flags_any or cond.flags_all:
        flags = sorted({f for f in (*cond.flags_any, *cond.flags_all) if f in ctx.flags})
        parts.append("flags " + ", ".join(flags))
    if cond.themes_any:
        parts.append("themes " + ", ".join(sorted(t for t in cond.themes_any if t in ctx.themes)))
    if cond.bands_in:
        parts.append(f"band {ctx.band}")
    if cond.segments_in:
        parts.append(f"segment {ctx.record.segment}")
    if cond.lifecycle_in or cond.lifecycle_not_in:
        parts.append(f"lifecycle {ctx.record.lifecycle or 'unknown'}")
    if cond.confidence_in:
        parts.append(f"confidence {ctx.confidence}")
    for dimension, limit in cond.dimension_below.items():
        parts.append(f"{dimension} {ctx.dimension_scores[dimension]} < {limit:g}")
    for dimension, limit in cond.dimension_at_least.items():
        parts.append(f"{dimension} {ctx.dimension_scores[dimension]} >= {limit:g}")
    for name in cond.fields_equal:
        parts.append(f"{name.replace('_', ' ')}: {_shown(_field_value(ctx, name))}")
    for name in cond.fields_at_least:
        parts.append(f"{name.replace('_', ' ')}: {getattr(ctx.record, name)}")
    for name in cond.fields_missing:
        parts.append(f"{name.replace('_', ' ')} missing")
    if cond.arr_at_least is not None:
        parts.append(f"ARR {ctx.record.arr:,.0f}, at least {cond.arr_at_least:,.0f}")
    if cond.renewal_within_days is not None:
        parts.append(f"renewal in {ctx.days_to_renewal} days")
    if cond.notes_mention_any:
        words = sorted(w for w in cond.notes_mention_any if w in ctx.notes_lower)
        parts.append("notes mention " + ", ".join(repr(w) for w in words))
    return "; ".join(parts) if parts else "always"
