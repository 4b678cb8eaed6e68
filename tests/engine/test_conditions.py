"""The condition language compiled to one function per condition and per rule.

Each condition's tests and description are kept as small functions (the
reference); what the engine calls is the same written out as one expression.
Over random conditions and random accounts both must agree: whether it holds,
which condition of a rule holds first, and the description of why.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill.engine.conditions import (
    _ALWAYS_VALUES,
    _all_hold,
    _check_expression,
    _compile_description,
    _compile_tests,
    _compiled,
    _describe_expressions,
    compile_rule,
    compile_rules,
)
from skill.engine.context import AccountContext
from skill.policy import Condition, Rule
from skill.record import AccountRecord, ContractTerm, Lifecycle, Segment
from skill.vocabulary import Band, Confidence, Dimension, OpportunityCode, RiskFlagCode, Tier

AS_OF = date(2026, 11, 23)
THEMES = ["onboarding_friction", "adoption_gap", "support_crisis"]
WORDS = ["pricing", "churn", "renewal"]
FIELDS_EQUAL = {
    "payment_status": st.sampled_from(["current", "overdue", "failed"]),
    "discount_requested": st.booleans(),
    "champion": st.sampled_from(["strong", "weak", "departed"]),
}
FIELDS_AT_LEAST = ["sev1_open", "escalations_90d", "open_tickets"]

SETTINGS = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def some(values: list[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(values), max_size=3)


KEYS: dict[str, st.SearchStrategy[Any]] = {
    "flags_any": some(list(RiskFlagCode)),
    "flags_all": some(list(RiskFlagCode)),
    "flags_none": some(list(RiskFlagCode)),
    "themes_any": some(THEMES),
    "themes_none": some(THEMES),
    "bands_in": some(list(Band)),
    "tiers_in": some(list(Tier)),
    "opportunities_any": some(list(OpportunityCode)),
    "opportunities_none": some(list(OpportunityCode)),
    "segments_in": some(list(Segment)),
    "lifecycle_in": some(list(Lifecycle)),
    "lifecycle_not_in": some(list(Lifecycle)),
    "confidence_in": some(list(Confidence)),
    "account_evidence_in": some(list(Confidence)),
    "dimension_below": st.dictionaries(
        st.sampled_from(list(Dimension)), st.floats(0, 100), max_size=2
    ),
    "dimension_at_least": st.dictionaries(
        st.sampled_from(list(Dimension)), st.floats(0, 100), max_size=2
    ),
    "fields_equal": st.sampled_from(sorted(FIELDS_EQUAL)).flatmap(
        lambda key: st.fixed_dictionaries({key: FIELDS_EQUAL[key]})
    ),
    "fields_at_least": st.dictionaries(
        st.sampled_from(FIELDS_AT_LEAST), st.integers(0, 3).map(float), max_size=2
    ),
    "fields_missing": some(["owner", "arr", "csat"]),
    "arr_at_least": st.sampled_from([0.0, 1000.0, 250000.0]),
    "renewal_within_days": st.integers(0, 120),
    "notes_mention_any": some(WORDS),
}


# One value of every key, none of them its "always" default.
ONE_OF_EACH: dict[str, Any] = {
    "flags_any": [RiskFlagCode.USAGE_DROP],
    "flags_all": [RiskFlagCode.USAGE_DROP],
    "flags_none": [RiskFlagCode.USAGE_DROP],
    "themes_any": THEMES[:1],
    "themes_none": THEMES[:1],
    "bands_in": [Band.RED],
    "tiers_in": [Tier.THRIVING],
    "opportunities_any": [next(iter(OpportunityCode))],
    "opportunities_none": [next(iter(OpportunityCode))],
    "segments_in": [Segment.SMB],
    "lifecycle_in": [next(iter(Lifecycle))],
    "lifecycle_not_in": [next(iter(Lifecycle))],
    "confidence_in": [Confidence.LOW],
    "account_evidence_in": [Confidence.LOW],
    "dimension_below": {Dimension.USAGE: 40.0},
    "dimension_at_least": {Dimension.USAGE: 40.0},
    "fields_equal": {"payment_status": "overdue"},
    "fields_at_least": {"sev1_open": 1.0},
    "fields_missing": ["owner"],
    "arr_at_least": 1000.0,
    "renewal_within_days": 90,
    "notes_mention_any": WORDS[:1],
}


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    """A condition of up to three keys (as policy conditions are), so that random ones
    hold often enough to compare their descriptions."""
    keys = draw(st.lists(st.sampled_from(sorted(KEYS)), max_size=3, unique=True))
    return Condition(**{key: draw(KEYS[key]) for key in keys})


@st.composite
def contexts(draw: st.DrawFn) -> AccountContext:
    record = AccountRecord.model_validate(
        {
            "account_id": "A-1",
            "segment": draw(st.sampled_from(list(Segment))),
            "lifecycle": draw(st.none() | st.sampled_from(list(Lifecycle))),
            "owner": draw(st.none() | st.just("Dana Reyes")),
            "arr": draw(st.none() | st.sampled_from([0.0, 999.5, 250000.0, 1.5e6])),
            "contract_term": draw(st.none() | st.sampled_from(list(ContractTerm))),
            "payment_status": draw(st.none() | st.sampled_from(["current", "overdue", "failed"])),
            "discount_requested": draw(st.none() | st.booleans()),
            "champion": draw(st.none() | st.sampled_from(["strong", "weak", "departed"])),
            "sev1_open": draw(st.none() | st.integers(0, 3)),
            "escalations_90d": draw(st.none() | st.integers(0, 3)),
            "open_tickets": draw(st.none() | st.integers(0, 3)),
            "csat": draw(st.none() | st.sampled_from([1.0, 4.5])),
        }
    )
    notes = draw(st.sampled_from(["", "pricing came up", "churn and renewal risk"]))
    context = AccountContext(
        record=record,
        as_of=AS_OF,
        days_to_renewal=draw(st.none() | st.integers(-30, 400)),
        renewal_window=draw(st.none() | st.sampled_from([30, 90])),
        notes_lower=notes,
    )
    context.flags = set(draw(some(list(RiskFlagCode))))
    context.themes = set(draw(some(THEMES)))
    context.band = draw(st.none() | st.sampled_from(list(Band)))
    context.tier = draw(st.none() | st.sampled_from(list(Tier)))
    context.opportunities = set(draw(some(list(OpportunityCode))))
    context.confidence = draw(st.sampled_from(list(Confidence)))
    context.account_evidence = draw(st.sampled_from(list(Confidence)))
    context.dimension_scores = draw(
        st.dictionaries(st.sampled_from(list(Dimension)), st.integers(0, 100), max_size=7)
    )
    return context


def test_every_key_of_the_condition_language_is_compiled_to_one_expression() -> None:
    # A key the expression writer does not know falls back to calling its tests one
    # by one: correct, but slower on every account for every rule that uses it.
    assert set(KEYS) == set(_ALWAYS_VALUES), "a key of the language the tests do not draw"
    for key, value in ONE_OF_EACH.items():
        cond = Condition(**{key: value})
        assert getattr(cond, key) != _ALWAYS_VALUES[key], key
        assert _check_expression(cond, {}) is not None, key
        assert _describe_expressions(cond, {}) is not None, key


def reference_holds(cond: Condition, ctx: AccountContext) -> bool:
    return _all_hold(_compile_tests(cond), ctx)


def reference_description(cond: Condition, ctx: AccountContext) -> str:
    parts = _compile_description(cond)
    return "; ".join(part(ctx) for part in parts) if parts else "always"


@SETTINGS
@given(cond=conditions(), ctx=contexts())
def test_a_compiled_condition_holds_when_its_tests_do(cond: Condition, ctx: AccountContext) -> None:
    assert _compiled(cond).check(ctx) is reference_holds(cond, ctx)


@SETTINGS
@given(cond=conditions(), ctx=contexts())
def test_a_compiled_description_says_what_its_parts_say(
    cond: Condition, ctx: AccountContext
) -> None:
    if reference_holds(cond, ctx):  # described only when it holds
        assert _compiled(cond).describe(ctx) == reference_description(cond, ctx)


@SETTINGS
@given(rules=st.lists(st.lists(conditions(), max_size=3), max_size=4), ctx=contexts())
def test_a_compiled_rule_list_finds_the_first_condition_of_each_rule_that_holds(
    rules: list[list[Condition]], ctx: AccountContext
) -> None:
    policy_rules = [Rule(when_any=when_any) for when_any in rules]
    expected = []
    for index, when_any in enumerate(rules):
        if not when_any:
            expected.append((index, Condition()))
            continue
        first = next((c for c in when_any if reference_holds(c, ctx)), None)
        if first is not None:
            expected.append((index, first))
    found = compile_rules(policy_rules)(ctx)
    assert [(i, c) for i, c, _ in found] == expected
    assert [compile_rule(rule)(ctx) for rule in policy_rules] == [
        next((c for c in rule.when_any if reference_holds(c, ctx)), None)
        if rule.when_any
        else Condition()
        for rule in policy_rules
    ]
