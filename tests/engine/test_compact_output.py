"""Compact output: remembered pieces held as their JSON, the same JSON as the models.

`Engine(plain_output=True, compact_output=True)` (the jsonl output and the rows `run`
stores) holds evidence lines, legacy rows, gate decisions and themes remembered for
many accounts as orjson fragments, copied into each account's text. Over generated
accounts at every automation level, with and without history, its JSON line must be
the model engine's byte for byte; its indented JSON and its models (`to_model`) too.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from synthetic import AS_OF, write_accounts_csv
from varied_history import history_of

from skill.assessment import Plain, to_json, to_json_bytes, to_model
from skill.engine import Engine
from skill.ingest import read_accounts
from skill.policy import Policy
from skill.vocabulary import AutomationLevel

ACCOUNTS = 1000
OTHER_SAMPLE = 10  # every tenth also indented and as models


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list:
    path: Path = write_accounts_csv(tmp_path_factory.mktemp("compact") / "a.csv", ACCOUNTS, seed=9)
    return [item.record for item in read_accounts(path)]


@pytest.mark.parametrize("history", [False, True], ids=["no-history", "history"])
@pytest.mark.parametrize("level", list(AutomationLevel))
def test_compact_output_is_the_models_json(
    records: list, policy: Policy, level: AutomationLevel, history: bool
) -> None:
    models = Engine(policy, level)
    compact = Engine(policy, level, plain_output=True, compact_output=True)
    problems: list[str] = []
    for index, record in enumerate(records):
        prior = history_of(record.account_id, record.as_of or AS_OF) if history else []
        model = models.assess(record, AS_OF, prior)
        made = compact.assess(record, AS_OF, prior)
        line = to_json(model, line=True)
        if to_json(made, line=True) != line:
            problems.append(f"{record.account_id}: JSON line differs from the model's")
        if to_json_bytes(made, line=True) != line.encode():
            problems.append(f"{record.account_id}: JSON line's bytes differ from the model's")
        if index % OTHER_SAMPLE == 0:
            indented = to_json(model, indent=True)
            if to_json(made, indent=True) != indented:
                problems.append(f"{record.account_id}: indented JSON differs from the model's")
            if to_json_bytes(made, indent=True) != indented.encode():
                problems.append(f"{record.account_id}: indented bytes differ from the model's")
            if to_model(made) != model:
                problems.append(f"{record.account_id}: to_model differs from the model engine's")
        if len(problems) > 10:
            break
    assert not problems, "\n".join(problems[:10])


def test_compact_output_holds_remembered_pieces_as_json(records: list, policy: Policy) -> None:
    # Without fragments in the output the comparison above would prove nothing about them.
    engine = Engine(policy, plain_output=True, compact_output=True)
    made = [engine.assess(record, AS_OF) for record in records[:200]]
    evidence = [e for a in made for d in a.dimensions for e in d.evidence]
    trace = [t for a in made for action in a.actions for t in action.policy_trace]
    assert any(type(e) is orjson.Fragment for e in evidence)
    assert any(isinstance(e, Plain) for e in evidence), "an evidence line read afresh stays a piece"
    assert all(type(t) is orjson.Fragment for t in trace)
    assert all(type(row) is orjson.Fragment for a in made for row in a.legacy.rows)


def test_plain_output_alone_holds_no_json(records: list, policy: Policy) -> None:
    engine = Engine(policy, plain_output=True)
    made = [engine.assess(record, AS_OF) for record in records[:200]]
    assert all(type(row) is not orjson.Fragment for a in made for row in a.legacy.rows)
