"""The output contract, made fast: trusted construction and orjson give the same bytes.

The engine builds its output models without validating them again
(`skill.assessment.trusted`) and `to_json` writes them with orjson. Over thousands
of generated accounts at every automation level, with and without history, each
assessment must be exactly what validation gives (its JSON read back into the
model holds the same values of the same types, in the same order), written byte
for byte as pydantic writes it, and valid against the published JSON Schema.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, field_serializer
from synthetic import AS_OF, write_accounts_csv
from varied_history import history_of

from skill.assessment import (
    Assessment,
    DimensionScore,
    Evidence,
    LegacyRow,
    LegacyScore,
    PolicyDecision,
    ReviewTask,
    held_value,
    plain,
    to_json,
    to_model,
    trusted,
    trusted_from_fields,
    written_once,
)
from skill.engine import Engine
from skill.ingest import read_accounts
from skill.policy import Policy
from skill.vocabulary import ActionStatus, AutomationLevel, GateLayer

ACCOUNTS = 1000
# Every assessment is read back by pydantic (the model the schema is made from); every
# twentieth is also checked against the published JSON Schema itself (slow to check).
SCHEMA_SAMPLE = 20


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list:
    path = write_accounts_csv(tmp_path_factory.mktemp("accounts") / "a.csv", ACCOUNTS, seed=11)
    return [item.record for item in read_accounts(path)]


def assessments(records: list, policy: Policy, level: AutomationLevel, history: bool):
    engine = Engine(policy, level)
    for record in records:
        prior = history_of(record.account_id, record.as_of or AS_OF) if history else []
        yield engine.assess(record, AS_OF, prior)


def differences(built: Any, validated: Any, path: str = "assessment") -> list[str]:
    """Where two values differ in type, value, or (for models and dicts) key order."""
    kind = type(built)
    if kind is not type(validated):
        return [f"{path}: {kind.__name__} where validation gives {type(validated).__name__}"]
    if kind is float:
        same = repr(built) == repr(validated)  # repr tells 0.0 from -0.0
    elif isinstance(built, BaseModel):
        if list(built.__dict__) != list(validated.__dict__):
            return [f"{path}: fields in another order"]
        found = []
        for name, value in built.__dict__.items():
            found += differences(value, validated.__dict__[name], f"{path}.{name}")
        return found
    elif kind is list or kind is tuple:
        if len(built) != len(validated):
            return [f"{path}: {len(built)} items where validation gives {len(validated)}"]
        found = []
        for i, pair in enumerate(zip(built, validated, strict=True)):
            found += differences(*pair, f"{path}[{i}]")
        return found
    elif kind is dict:
        if list(built) != list(validated):
            return [f"{path}: keys {list(built)} where validation gives {list(validated)}"]
        found = []
        for key, value in built.items():
            found += differences(value, validated[key], f"{path}[{key!r}]")
        return found
    else:
        same = built == validated
    return [] if same else [f"{path}: {built!r} where validation gives {validated!r}"]


@pytest.mark.parametrize("history", [False, True], ids=["no-history", "history"])
@pytest.mark.parametrize("level", list(AutomationLevel))
def test_fast_json_is_pydantics_json_of_a_valid_assessment(
    records: list, policy: Policy, level: AutomationLevel, history: bool, assessment_validator
) -> None:
    problems: list[str] = []
    for index, assessment in enumerate(assessments(records, policy, level, history)):
        line = to_json(assessment)
        if line != assessment.model_dump_json():
            problems.append(f"{assessment.account_id}: to_json differs from model_dump_json")
        validated = Assessment.model_validate_json(line)
        problems += differences(assessment, validated, assessment.account_id)
        if index % SCHEMA_SAMPLE == 0:
            problems += [
                f"{assessment.account_id}: {'/'.join(map(str, e.path))}: {e.message}"
                for e in assessment_validator.iter_errors(json.loads(line))
            ]
        if len(problems) > 10:
            break
    assert not problems, "\n".join(problems[:10])


def test_indented_json_is_pydantics(records: list, policy: Policy) -> None:
    for assessment in list(assessments(records[:300], policy, AutomationLevel.BALANCED, True)):
        assert to_json(assessment, indent=True) == assessment.model_dump_json(indent=2)


def test_history_variants_reach_every_kind_of_trend_output(records: list, policy: Policy) -> None:
    # The history the tests above use must reach smoothing, hysteresis and trend flags,
    # or comparing their output would prove nothing about them.
    made = list(assessments(records, policy, AutomationLevel.BALANCED, True))
    assert any(a.trend is not None for a in made)
    assert any(d.unsmoothed is not None for a in made for d in a.dimensions)
    assert any(a.band_note for a in made)
    assert {"score_drop", "usage_declining"} <= {f.code.value for a in made for f in a.flags}


# -- trusted construction ------------------------------------------------------------


def test_trusted_gives_the_validated_model() -> None:
    make = trusted(PolicyDecision)
    values = {
        "layer": GateLayer.MATRIX,
        "rule": "send/smb",
        "status": ActionStatus.AUTO,
        "reason": "Segment policy for smb.",
    }
    built, validated = make(**values), PolicyDecision(**values)
    assert built == validated
    assert not differences(built, validated)
    assert built.model_fields_set == validated.model_fields_set


def test_trusted_from_fields_gives_the_validated_model() -> None:
    values = {
        "layer": GateLayer.MATRIX,
        "rule": "send/smb",
        "status": ActionStatus.AUTO,
        "reason": "Segment policy for smb.",
    }
    built, validated = trusted_from_fields(PolicyDecision)(dict(values)), PolicyDecision(**values)
    assert built == validated
    assert not differences(built, validated)
    assert built.model_fields_set == validated.model_fields_set


def test_a_value_trusted_with_another_type_is_told_apart() -> None:
    # What the comparison above relies on: an int where the model holds a float is
    # equal to it, and writes other JSON ("1" not "1.0"); `differences` finds it.
    values = {"dimension": "usage", "score": 50, "weight": 1, "evidence": []}
    built = trusted(DimensionScore)(**values)
    validated = DimensionScore(**values)
    assert built == validated
    assert differences(built, validated) == [
        "assessment.dimension: str where validation gives Dimension",
        "assessment.weight: int where validation gives float",
    ]


def test_trusted_takes_values_by_position_in_field_order() -> None:
    assert trusted(Evidence)("nps", 40, "account NPS -20") == Evidence(
        signal="nps", score=40, text="account NPS -20"
    )


def test_trusted_gives_a_missing_field_its_default_and_a_fresh_list() -> None:
    first = trusted(ReviewTask)(
        owner="Dana", owner_role="csm", due_date=AS_OF, reasons=["r"], checklist=["c"]
    )
    assert first.budget_exempt is False
    made = trusted(Assessment)
    fields = {name: None for name, info in Assessment.model_fields.items() if info.is_required()}
    one, two = made(**fields), made(**fields)
    assert one.data_quality == [] and one.data_quality is not two.data_quality


def test_trusted_refuses_a_missing_required_field() -> None:
    with pytest.raises(TypeError):
        trusted(Evidence)(signal="nps", score=40)


def test_trusted_refuses_a_model_with_private_state() -> None:
    class Private(BaseModel):
        value: int = 0
        _cache: int = 0

    with pytest.raises(TypeError, match="private state"):
        trusted(Private)


# -- to_json beyond what orjson writes like pydantic ---------------------------------


def test_to_json_lets_pydantic_write_an_integer_past_64_bits() -> None:
    row = LegacyRow(field="ARR", value="huge", points=2**70)
    score = LegacyScore(total=2**70, band="ok", rows=[row])
    assert to_json(score) == score.model_dump_json()


def test_to_json_lets_pydantic_write_a_model_with_its_own_serializer() -> None:
    class Doubled(BaseModel):
        model_config = ConfigDict(frozen=True)
        value: int

        @field_serializer("value")
        def _doubled(self, value: int) -> int:
            return value * 2

    assert to_json(Doubled(value=2)) == Doubled(value=2).model_dump_json() == '{"value":4}'


def test_to_json_says_what_pydantic_says_of_text_that_is_not_unicode() -> None:
    evidence = Evidence(signal="nps", score=1, text="\ud800")
    with pytest.raises(Exception) as fast:
        to_json(evidence)
    with pytest.raises(Exception) as slow:
        evidence.model_dump_json()
    assert type(fast.value) is type(slow.value)
    assert str(fast.value) == str(slow.value)


def test_a_json_line_is_the_json_and_one_newline() -> None:
    evidence = Evidence(signal="nps", score=40, text="account NPS -20")
    assert to_json(evidence, line=True) == evidence.model_dump_json() + "\n"
    assert to_json(LegacyRow(field="x", value="y", points=2**70), line=True).endswith("}\n")


def _evidence_held_as_json() -> tuple[object, DimensionScore]:
    """A plain dimension score whose evidence is held as its JSON, and the model it is."""
    evidence = Evidence(signal="csat", score=80, text='CSAT 4 of 5, "quoted"')
    held = written_once(plain)(plain(Evidence)(**evidence.__dict__))
    made = plain(DimensionScore)("usage", 70, 0.25, [held])
    return made, DimensionScore(dimension="usage", score=70, weight=0.25, evidence=[evidence])


def test_a_piece_held_as_its_json_is_written_as_the_model_is() -> None:
    made, model = _evidence_held_as_json()
    assert to_json(made) == model.model_dump_json()
    assert to_json(made, indent=True) == model.model_dump_json(indent=2)


def test_a_piece_held_as_its_json_reads_back_into_its_model() -> None:
    made, model = _evidence_held_as_json()
    assert to_model(made) == model
    assert type(to_model(made).evidence[0]) is Evidence


def test_an_integer_past_64_bits_beside_a_piece_held_as_json_is_written_by_pydantic() -> None:
    row = LegacyRow(field="ARR", value="huge", points=5)
    held = written_once(plain)(plain(LegacyRow)(**row.__dict__))
    made = plain(LegacyScore)(2**70, "ok", [held])
    assert to_json(made) == LegacyScore(total=2**70, band="ok", rows=[row]).model_dump_json()


def test_a_plain_enum_value_reads_back_as_its_member() -> None:
    held = held_value(plain)
    made = plain(PolicyDecision)(held(GateLayer.FLOOR), "r", held(ActionStatus.AUTO), "why")
    assert type(made.status) is str
    assert to_model(made).status is ActionStatus.AUTO
    assert to_json(made) == to_json(
        PolicyDecision(layer=GateLayer.FLOOR, rule="r", status=ActionStatus.AUTO, reason="why")
    )
