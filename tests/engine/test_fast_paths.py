"""The engine's compiled and lazy paths give what their one-by-one references give.

Signal reading is compiled to one function per policy, themes are matched in one
call, and a gate rule that holds is described only when an action it applies to
asks. Over generated accounts at every automation level each must agree with the
plain version it replaced: the same readings, themes, statuses and traces.
"""

from __future__ import annotations

import pytest
from synthetic import AS_OF, write_accounts_csv

from skill.assessment import Assessment
from skill.engine import Engine
from skill.engine.conditions import Matches, compile_rule, describe_match
from skill.engine.context import AccountContext, RecordView
from skill.engine.dimensions import source_statuses
from skill.engine.quality import screen
from skill.engine.scoring import assess_confidence
from skill.ingest import read_accounts
from skill.policy import Policy
from skill.vocabulary import AutomationLevel, Band, Source

ACCOUNTS = 1500


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list:
    path = write_accounts_csv(tmp_path_factory.mktemp("accounts") / "a.csv", ACCOUNTS, seed=5)
    return [item.record for item in read_accounts(path)]


def assessed(engine: Engine, records: list) -> list[tuple[Assessment, AccountContext]]:
    """Each account's assessment, with its context as the engine had it when it
    planned the actions."""
    seen: list[AccountContext] = []
    # The planner's trigger rules see each context once, as planning starts. They are
    # wrapped, not `plan`: a method of a class compiled with mypyc cannot be replaced.
    matches = engine.actions.matches

    def keep(ctx: AccountContext) -> Matches:
        seen.append(ctx)
        return matches(ctx)

    engine.actions.matches = keep
    return [(engine.assess(record, AS_OF), seen[-1]) for record in records]


def contexts(engine: Engine, records: list) -> list[AccountContext]:
    """Each account's context as the engine had it when it planned the actions."""
    return [ctx for _, ctx in assessed(engine, records)]


def test_compiled_signal_reading_is_the_one_by_one_reading(records: list, policy: Policy) -> None:
    scorer = Engine(policy).dimensions
    assert scorer.read_signals != scorer.read_signals_one_by_one, "nothing compiled to compare"
    for record in records:
        view = RecordView(screen(record, AS_OF)[0])
        weights = policy.scoring.weights[record.segment]
        fast_scores: dict[str, int] = {}
        plain_scores: dict[str, int] = {}
        fast = scorer.read_signals(view, AS_OF, fast_scores, weights)
        plain = scorer.read_signals_one_by_one(view, AS_OF, plain_scores, weights)
        assert repr(fast) == repr(plain), record.account_id
        assert list(fast_scores.items()) == list(plain_scores.items()), record.account_id


@pytest.mark.parametrize("level", list(AutomationLevel))
def test_lazily_described_gate_rules_decide_as_the_described_ones(
    records: list, policy: Policy, level: AutomationLevel
) -> None:
    engine = Engine(policy, level)
    gate = engine.gate
    catalogue = policy.actions.catalogue
    applied_somewhere = 0
    for ctx in contexts(engine, records):
        eager = gate.fired_rules(ctx)
        lazy = gate.fired(ctx)
        for action_id, entry in catalogue.items():
            expected = gate.decide(action_id, entry, ctx, eager)
            found = gate.decide_for(action_id, entry, ctx.record.segment, lazy)
            assert found == expected, (ctx.record.account_id, action_id)
            applied_somewhere += len(found[1]) > 2 + len(gate._floor_decisions(action_id, entry))
    assert applied_somewhere, "no override or stop rule applied: the comparison proves nothing"


def test_themes_matched_in_one_call_are_the_themes_matched_one_by_one(
    records: list, policy: Policy
) -> None:
    engine = Engine(policy)
    rules = [(code, rule) for code, rule in policy.risk.themes.items() if rule.when_any]
    compiled = [(code, rule.label, compile_rule(rule)) for code, rule in rules]
    raised = 0
    for ctx in contexts(engine, records):
        one_by_one = []
        for code, label, rule in compiled:
            matched = rule(ctx)
            if matched is not None:
                one_by_one.append((code, label, describe_match(matched, ctx)))
        found = [(t.code, t.label, t.because) for t in engine.risks.detect_themes(ctx)]
        assert found == one_by_one, ctx.record.account_id
        raised += len(found)
    assert raised, "no theme raised: the comparison proves nothing"


@pytest.mark.parametrize("input_sources", [None, {Source.CRM, Source.PRODUCT}])
def test_remembered_missing_data_and_confidence_are_worked_out_afresh(
    records: list, policy: Policy, input_sources: set[Source] | None
) -> None:
    engine = Engine(policy, input_sources=input_sources)
    kinds = set()
    for assessment, ctx in assessed(engine, records):
        record = ctx.record
        sources = source_statuses(
            ctx.record, AS_OF, policy.scoring.stale_after_days, engine.input_sources
        )
        missing = engine.dimensions.missing(ctx, sources)
        assert assessment.missing_data == missing, record.account_id
        if assessment.band is not Band.NO_DATA:
            level, evidence, reasons = assess_confidence(ctx, policy.scoring, missing, sources)
            assert (assessment.confidence, assessment.account_evidence) == (level, evidence)
            assert assessment.confidence_reasons == reasons, record.account_id
        kinds.add((len(missing), assessment.confidence, assessment.account_evidence))
    assert len(kinds) > 3, "accounts too alike: the comparison proves little"
