"""Evaluates the policy's condition language against one account.

Each condition is compiled once into the few tests it actually uses, and the
few parts its description has, since every account runs every theme, trigger
and gate rule.
"""

from __future__ import annotations

import ast
import weakref
from collections.abc import Callable, Sequence
from enum import Enum
from typing import NamedTuple, get_args

from skill.engine.context import AccountContext
from skill.policy import Condition, Rule
from skill.record import AccountRecord

Test = Callable[[AccountContext], bool]
Describe = Callable[[AccountContext], str]
_ALWAYS = Condition()
_ALWAYS_VALUES = {name: getattr(_ALWAYS, name) for name in Condition.model_fields}


def _field_value(ctx: AccountContext, name: str) -> object:
    value = getattr(ctx.record, name)
    return value.value if isinstance(value, Enum) else value


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _compile_tests(cond: Condition) -> tuple[Test, ...]:
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
    if cond.tiers_in:
        tiers = frozenset(cond.tiers_in)
        tests.append(lambda c: c.tier in tiers)
    if cond.opportunities_any:
        opportunities_any = frozenset(cond.opportunities_any)
        tests.append(lambda c: not c.opportunities.isdisjoint(opportunities_any))
    if cond.opportunities_none:
        opportunities_none = frozenset(cond.opportunities_none)
        tests.append(lambda c: c.opportunities.isdisjoint(opportunities_none))
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
    if cond.account_evidence_in:
        evidence_levels = frozenset(cond.account_evidence_in)
        tests.append(lambda c: c.account_evidence in evidence_levels)
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
        tests.append(
            lambda c: (
                c.renewal_window is not None
                and c.days_to_renewal is not None
                and c.days_to_renewal <= within
            )
        )
    if cond.notes_mention_any:
        words = tuple(cond.notes_mention_any)
        tests.append(lambda c: bool(c.notes_lower) and any(w in c.notes_lower for w in words))
    return tuple(tests)


def _compile_description(cond: Condition) -> tuple[Describe, ...]:
    """The parts of `describe_match`, in order: one per kind of test the condition uses."""
    parts: list[Describe] = []
    if cond.flags_any or cond.flags_all:
        named = (*cond.flags_any, *cond.flags_all)
        parts.append(lambda c: "flags " + ", ".join(sorted({f for f in named if f in c.flags})))
    if cond.themes_any:
        themes = tuple(cond.themes_any)
        parts.append(lambda c: "themes " + ", ".join(sorted(t for t in themes if t in c.themes)))
    if cond.bands_in:
        parts.append(lambda c: f"band {c.band}")
    if cond.tiers_in:
        parts.append(lambda c: f"tier {c.tier}")
    if cond.opportunities_any:
        named = tuple(cond.opportunities_any)
        parts.append(
            lambda c: "opportunity " + ", ".join(sorted(o for o in named if o in c.opportunities))
        )
    if cond.segments_in:
        parts.append(lambda c: f"segment {c.record.segment}")
    if cond.lifecycle_in or cond.lifecycle_not_in:
        parts.append(lambda c: f"lifecycle {c.record.lifecycle or 'unknown'}")
    if cond.confidence_in:
        parts.append(lambda c: f"confidence {c.confidence}")
    if cond.account_evidence_in:
        parts.append(lambda c: f"account evidence {c.account_evidence}")
    for dimension, limit in cond.dimension_below.items():
        parts.append(
            lambda c, d=dimension, tail=f" < {limit:g}": f"{d} {c.dimension_scores[d]}{tail}"
        )
    for dimension, limit in cond.dimension_at_least.items():
        parts.append(
            lambda c, d=dimension, tail=f" >= {limit:g}": f"{d} {c.dimension_scores[d]}{tail}"
        )
    for name in cond.fields_equal:
        label = name.replace("_", " ")
        parts.append(lambda c, n=name, label=label: f"{label}: {_shown(_field_value(c, n))}")
    for name in cond.fields_at_least:
        label = name.replace("_", " ")
        parts.append(lambda c, n=name, label=label: f"{label}: {getattr(c.record, n)}")
    for name in cond.fields_missing:
        text = f"{name.replace('_', ' ')} missing"
        parts.append(lambda c, text=text: text)
    if cond.arr_at_least is not None:
        at_least = f"{cond.arr_at_least:,.0f}"
        parts.append(lambda c: f"ARR {c.record.arr:,.0f}, at least {at_least}")
    if cond.renewal_within_days is not None:
        parts.append(
            lambda c: (
                f"renewal in {c.days_to_renewal} days"
                + (f", {c.record.contract_term.label}" if c.record.contract_term else "")
            )
        )
    if cond.notes_mention_any:
        words = tuple(cond.notes_mention_any)
        parts.append(
            lambda c: (
                "notes mention "
                + ", ".join(repr(w) for w in sorted(w for w in words if w in c.notes_lower))
            )
        )
    return tuple(parts)


class _Compiled(NamedTuple):
    tests: tuple[Test, ...]
    description: tuple[Describe, ...]
    # All of `tests` as one function (see `_compile_check`): what `match` calls.
    check: Test
    # All of `description` as one function (see `_compile_describe`).
    describe: Describe


# Compiled conditions by identity; an entry goes when its policy is garbage-collected.
_COMPILED: dict[int, tuple[weakref.ref[Condition], _Compiled]] = {}


def _compiled(cond: Condition) -> _Compiled:
    key = id(cond)
    entry = _COMPILED.get(key)
    if entry is None or entry[0]() is not cond:
        ref = weakref.ref(cond, lambda _, key=key: _COMPILED.pop(key, None))
        tests = _compile_tests(cond)
        check = _compile_check(cond) or (lambda c, tests=tests: _all_hold(tests, c))
        parts = _compile_description(cond)
        describe = _compile_describe(cond) or (lambda c, parts=parts: _joined(parts, c))
        entry = (ref, _Compiled(tests, parts, check, describe))
        _COMPILED[key] = entry
    return entry[1]


# The condition keys `_compile_check` writes as one expression. A condition using any
# other key (one added to the policy language later) is checked test by test instead.
_CHECKED_KEYS = frozenset(
    {
        "flags_any",
        "flags_all",
        "flags_none",
        "themes_any",
        "themes_none",
        "bands_in",
        "tiers_in",
        "opportunities_any",
        "opportunities_none",
        "segments_in",
        "lifecycle_in",
        "lifecycle_not_in",
        "confidence_in",
        "account_evidence_in",
        "dimension_below",
        "dimension_at_least",
        "fields_equal",
        "fields_at_least",
        "fields_missing",
        "arr_at_least",
        "renewal_within_days",
        "notes_mention_any",
    }
)


def _check_expression(cond: Condition, constants: dict[str, object]) -> str | None:
    """The condition's tests as one Python expression over `c` (an AccountContext), in
    `_compile_tests` order, with each constant named in `constants`; "True" when it has
    none; None when it uses a key this does not know."""
    for name in type(cond).model_fields:
        if name not in _CHECKED_KEYS and getattr(cond, name) != _ALWAYS_VALUES[name]:
            return None

    def const(value: object) -> str:
        name = f"_k{len(constants)}"
        constants[name] = value
        return name

    def any_of(attribute: str, values: list[object]) -> str:
        if len(values) == 1:  # one value: a membership test, no method call
            return f"{const(values[0])} in c.{attribute}"
        return f"not c.{attribute}.isdisjoint({const(frozenset(values))})"

    def none_of(attribute: str, values: list[object]) -> str:
        if len(values) == 1:
            return f"{const(values[0])} not in c.{attribute}"
        return f"c.{attribute}.isdisjoint({const(frozenset(values))})"

    def field(name: str) -> str:
        """The record's field, read by name (a field name is a plain identifier)."""
        return f"c.record.{name}" if name.isidentifier() else f"getattr(c.record, {const(name)})"

    parts: list[str] = []
    if cond.flags_any:
        parts.append(any_of("flags", cond.flags_any))
    if cond.flags_all:
        if len(cond.flags_all) == 1:
            parts.append(any_of("flags", cond.flags_all))
        else:
            parts.append(f"c.flags.issuperset({const(frozenset(cond.flags_all))})")
    if cond.flags_none:
        parts.append(none_of("flags", cond.flags_none))
    if cond.themes_any:
        parts.append(any_of("themes", cond.themes_any))
    if cond.themes_none:
        parts.append(none_of("themes", cond.themes_none))
    if cond.bands_in:
        parts.append(f"c.band in {const(frozenset(cond.bands_in))}")
    if cond.tiers_in:
        parts.append(f"c.tier in {const(frozenset(cond.tiers_in))}")
    if cond.opportunities_any:
        parts.append(any_of("opportunities", cond.opportunities_any))
    if cond.opportunities_none:
        parts.append(none_of("opportunities", cond.opportunities_none))
    if cond.segments_in:
        parts.append(f"c.record.segment in {const(frozenset(cond.segments_in))}")
    if cond.lifecycle_in:
        parts.append(f"c.record.lifecycle in {const(frozenset(cond.lifecycle_in))}")
    if cond.lifecycle_not_in:
        excluded = const(frozenset(cond.lifecycle_not_in))
        parts.append(f"(c.record.lifecycle is not None and c.record.lifecycle not in {excluded})")
    if cond.confidence_in:
        parts.append(f"c.confidence in {const(frozenset(cond.confidence_in))}")
    if cond.account_evidence_in:
        parts.append(f"c.account_evidence in {const(frozenset(cond.account_evidence_in))}")
    for dimension, limit in cond.dimension_below.items():
        score = const(None)  # a local of the generated function, named like the constants
        parts.append(
            f"(({score} := c.dimension_scores.get({const(dimension)})) is not None"
            f" and {score} < {const(limit)})"
        )
    for dimension, limit in cond.dimension_at_least.items():
        score = const(None)
        parts.append(
            f"(({score} := c.dimension_scores.get({const(dimension)})) is not None"
            f" and {score} >= {const(limit)})"
        )
    for name, expected in cond.fields_equal.items():
        if _compares_as_held(name):
            parts.append(f"{field(name)} == {const(expected)}")
        else:
            parts.append(f"_field_value(c, {const(name)}) == {const(expected)}")
    for name, limit in cond.fields_at_least.items():
        value = const(None)
        parts.append(f"(({value} := {field(name)}) is not None and {value} >= {const(limit)})")
    for name in cond.fields_missing:
        parts.append(f"{field(name)} is None")
    if cond.arr_at_least is not None:
        parts.append(f"(c.record.arr is not None and c.record.arr >= {const(cond.arr_at_least)})")
    if cond.renewal_within_days is not None:
        within = const(cond.renewal_within_days)
        parts.append(
            "(c.renewal_window is not None and c.days_to_renewal is not None"
            f" and c.days_to_renewal <= {within})"
        )
    if cond.notes_mention_any:
        words = " or ".join(f"{const(w)} in c.notes_lower" for w in cond.notes_mention_any)
        parts.append(f"(bool(c.notes_lower) and ({words}))")
    return " and ".join(parts) if parts else "True"


def _compares_as_held(name: str) -> bool:
    """Whether the record's field compares with a policy value as its `_field_value` does:
    it holds no enum, or only enums that are strings (a str enum equals its value)."""
    info = AccountRecord.model_fields.get(name)
    if info is None:
        return False
    held = [info.annotation]
    while held:
        kind = held.pop()
        if isinstance(kind, type) and issubclass(kind, Enum) and not issubclass(kind, str):
            return False
        held += get_args(kind)
    return True


def _compile_check(cond: Condition) -> Test | None:
    """All of the condition's tests as one function: one call per condition, not one per test."""
    namespace: dict[str, object] = {"_field_value": _field_value}
    expression = _check_expression(cond, namespace)
    if expression is None:
        return None
    exec(f"def check(c):\n    return bool({expression})\n", namespace)
    return namespace["check"]  # type: ignore[return-value]


def _describe_expressions(cond: Condition, constants: dict[str, object]) -> list[str] | None:
    """The parts of `_compile_description` as Python expressions over `c`, in its order;
    None when the condition uses a key this does not know."""
    for name in type(cond).model_fields:
        if name not in _CHECKED_KEYS and getattr(cond, name) != _ALWAYS_VALUES[name]:
            return None

    def const(value: object) -> str:
        name = f"_k{len(constants)}"
        constants[name] = value
        return name

    # Described only when the condition held, so a part whose words that fixes (one flag
    # named, one band allowed ...) is written once, here, as a string literal.
    parts: list[str] = []
    if cond.flags_any or cond.flags_all:
        if len(cond.flags_any) <= 1:  # then every flag named is raised
            parts.append(repr("flags " + ", ".join(sorted({*cond.flags_any, *cond.flags_all}))))
        else:
            named = const(frozenset((*cond.flags_any, *cond.flags_all)))
            parts.append(f'"flags " + ", ".join(sorted(c.flags.intersection({named})))')
    if cond.themes_any:
        if len(cond.themes_any) == 1:
            parts.append(repr(f"themes {cond.themes_any[0]}"))
        else:
            themes = const(tuple(cond.themes_any))
            parts.append(f'"themes " + ", ".join(sorted([t for t in {themes} if t in c.themes]))')
    if cond.bands_in:
        parts.append(_one(cond.bands_in, "band {}") or 'f"band {c.band}"')
    if cond.tiers_in:
        parts.append(_one(cond.tiers_in, "tier {}") or 'f"tier {c.tier}"')
    if cond.opportunities_any:
        named = const(tuple(cond.opportunities_any))
        parts.append(
            _one(cond.opportunities_any, "opportunity {}")
            or f'"opportunity " + ", ".join(sorted([o for o in {named} if o in c.opportunities]))'
        )
    if cond.segments_in:
        parts.append(_one(cond.segments_in, "segment {}") or 'f"segment {c.record.segment}"')
    if cond.lifecycle_in or cond.lifecycle_not_in:
        fixed = None if cond.lifecycle_not_in else _one(cond.lifecycle_in, "lifecycle {}")
        parts.append(fixed or "f\"lifecycle {c.record.lifecycle or 'unknown'}\"")
    if cond.confidence_in:
        parts.append(_one(cond.confidence_in, "confidence {}") or 'f"confidence {c.confidence}"')
    if cond.account_evidence_in:
        parts.append(
            _one(cond.account_evidence_in, "account evidence {}")
            or 'f"account evidence {c.account_evidence}"'
        )
    for dimension, limit in cond.dimension_below.items():
        d, tail = const(dimension), const(f" < {limit:g}")
        parts.append(f'f"{{{d}}} {{c.dimension_scores[{d}]}}{{{tail}}}"')
    for dimension, limit in cond.dimension_at_least.items():
        d, tail = const(dimension), const(f" >= {limit:g}")
        parts.append(f'f"{{{d}}} {{c.dimension_scores[{d}]}}{{{tail}}}"')
    for name in cond.fields_equal:
        n, label = const(name), const(name.replace("_", " "))
        parts.append(f'f"{{{label}}}: {{_shown(_field_value(c, {n}))}}"')
    for name in cond.fields_at_least:
        n, label = const(name), const(name.replace("_", " "))
        parts.append(f'f"{{{label}}}: {{getattr(c.record, {n})}}"')
    for name in cond.fields_missing:
        parts.append(const(f"{name.replace('_', ' ')} missing"))
    if cond.arr_at_least is not None:
        at_least = const(f"{cond.arr_at_least:,.0f}")
        parts.append(f'f"ARR {{c.record.arr:,.0f}}, at least {{{at_least}}}"')
    if cond.renewal_within_days is not None:
        parts.append(
            '(f"renewal in {c.days_to_renewal} days"'
            ' + (f", {c.record.contract_term.label}" if c.record.contract_term else ""))'
        )
    if cond.notes_mention_any:
        words = const(tuple(cond.notes_mention_any))
        parts.append(
            '"notes mention " + ", ".join([repr(w) for w in sorted('
            f"[w for w in {words} if w in c.notes_lower])])"
        )
    return parts


def _one(allowed: list[object], words: str) -> str | None:
    """`words` with the one value allowed, as a literal; None when more are allowed."""
    return repr(words.format(allowed[0])) if len(allowed) == 1 else None


def _literals(parts: list[str]) -> list[str] | None:
    """The parts' strings when every part is a string literal, else None."""
    found = []
    for part in parts:
        try:
            value = ast.literal_eval(part)
        except (ValueError, SyntaxError):
            return None
        found.append(value)
    return found


def _compile_describe(cond: Condition) -> Describe | None:
    """All of the condition's description parts as one function."""
    namespace: dict[str, object] = {"_field_value": _field_value, "_shown": _shown}
    parts = _describe_expressions(cond, namespace)
    if parts is None:
        return None
    fixed = _literals(parts)
    if not parts:
        body = '"always"'
    elif fixed is not None:  # the same words whenever it holds
        body = repr("; ".join(fixed))
    elif len(parts) == 1:
        body = parts[0]
    else:
        body = '"; ".join([' + ", ".join(parts) + "])"
    exec(f"def describe(c):\n    return {body}\n", namespace)
    return namespace["describe"]  # type: ignore[return-value]


def _joined(parts: tuple[Describe, ...], ctx: AccountContext) -> str:
    if not parts:
        return "always"
    return "; ".join([part(ctx) for part in parts])


# Rules matched together (the action triggers, the gate's rules): each rule that fired,
# by its place in the list, with the condition that held and its `describe_match`.
Matches = list[tuple[int, Condition, Describe]]


def compile_rules(rules: Sequence[Rule]) -> Callable[[AccountContext], Matches]:
    """Every rule of `rules` as one function: which fired, in list order, and by what.

    The same as `match` on each rule in turn, for one call per account, not one per
    rule. Only for rules whose matching nothing else changes meanwhile.
    """
    namespace: dict[str, object] = {"_field_value": _field_value}
    # Each match's (index, condition, describe) is made here, once, and appended as is.
    lines = ["def matches(c):", "    found = []"]
    for index, rule in enumerate(rules):
        conditions = tuple(rule.when_any)
        if not conditions:
            namespace[f"_match{index}"] = (index, _ALWAYS, _compiled(_ALWAYS).describe)
            lines.append(f"    found.append(_match{index})")
            continue
        keyword = "if"
        for position, cond in enumerate(conditions):
            expression = _check_expression(cond, namespace)
            name = f"_match{index}_{position}"
            namespace[name] = (index, cond, _compiled(cond).describe)
            if expression is None:
                namespace[f"_check{index}_{position}"] = _compiled(cond).check
                expression = f"_check{index}_{position}(c)"
            lines.append(f"    {keyword} {expression}:")
            lines.append(f"        found.append({name})")
            keyword = "elif"
    lines.append("    return found")
    exec("\n".join(lines) + "\n", namespace)
    return namespace["matches"]  # type: ignore[return-value]


# A rule ready for `match`: a function of the account giving the first condition of the
# rule that holds, or None.
CompiledRule = Callable[[AccountContext], Condition | None]


def compile_rule(rule: Rule) -> CompiledRule:
    """The rule ready for `match`; compile once per run, match once per account.

    Its conditions are written out as one function (an `if` per condition, each one
    expression of its tests), so matching an account costs one call however many
    conditions and tests the rule has.
    """
    conditions = tuple(rule.when_any)
    if not conditions:
        return lambda c: _ALWAYS
    namespace: dict[str, object] = {"_field_value": _field_value}
    lines = ["def first(c):"]
    for index, cond in enumerate(conditions):
        expression = _check_expression(cond, namespace)
        name = f"_cond{index}"
        namespace[name] = cond
        if expression is None:  # a key the expression writer does not know: its own tests
            namespace[f"_check{index}"] = _compiled(cond).check
            expression = f"_check{index}(c)"
        lines.append(f"    if {expression}:\n        return {name}")
    lines.append("    return None")
    exec("\n".join(lines) + "\n", namespace)
    return namespace["first"]  # type: ignore[return-value]


def _all_hold(tests: tuple[Test, ...], ctx: AccountContext) -> bool:
    for test in tests:  # noqa: SIM110 - a plain loop is cheaper than all() over a generator
        if not test(ctx):
            return False
    return True


def holds(cond: Condition, ctx: AccountContext) -> bool:
    return _compiled(cond).check(ctx)


def match(rule: CompiledRule, ctx: AccountContext) -> Condition | None:
    """The first condition of the rule that holds; a rule with no conditions always fires."""
    return rule(ctx)


def describe_match(cond: Condition, ctx: AccountContext) -> str:
    """A short, checkable account of why a condition held."""
    return _compiled(cond).describe(ctx)
