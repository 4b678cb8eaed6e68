"""Plain output: the assessment as dicts on the JSON-only paths, the same JSON as the models.

`Engine(plain_output=True)` makes each output piece as a `Plain` (a dict in field
order, read by attribute) instead of a model; the jsonl and json outputs use it. Over
thousands of generated accounts at every automation level, with and without history,
its JSON must be the model engine's byte for byte, its models (`to_model`) the
model engine's, and the JSON valid against the published schema.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from synthetic import AS_OF, write_accounts_csv
from varied_history import history_of

from skill.assessment import (
    Action,
    Evidence,
    LegacyRow,
    LegacyScore,
    MeasurementEvent,
    Plain,
    PriorAssessment,
    plain,
    to_json,
    to_model,
)
from skill.engine import Engine, PolicyGate
from skill.ingest import read_accounts
from skill.pipeline import run_assessment, sources_in
from skill.policy import ChurnModel, Policy
from skill.record import AccountRecord
from skill.vocabulary import (
    ActionKind,
    ActionPurpose,
    ActionStatus,
    AutomationLevel,
    Band,
    Confidence,
    Priority,
    Sensitivity,
    Tier,
)

ACCOUNTS = 2000
# Every line is compared with the model's (whose JSON is pydantic's: tests/test_assessment.py);
# every fifth also indented and as models, every twentieth against the JSON Schema.
OTHER_SAMPLE = 5
SCHEMA_SAMPLE = 20


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_accounts_csv(tmp_path_factory.mktemp("plain") / "a.csv", ACCOUNTS, seed=5)


@pytest.fixture(scope="module")
def records(accounts: Path) -> list:
    return [item.record for item in read_accounts(accounts)]


@pytest.mark.parametrize("history", [False, True], ids=["no-history", "history"])
@pytest.mark.parametrize("level", list(AutomationLevel))
def test_plain_output_is_the_models_json_and_valid(
    records: list, policy: Policy, level: AutomationLevel, history: bool, assessment_validator
) -> None:
    models, plains = Engine(policy, level), Engine(policy, level, plain_output=True)
    problems: list[str] = []
    for index, record in enumerate(records):
        prior = history_of(record.account_id, record.as_of or AS_OF) if history else []
        model = models.assess(record, AS_OF, prior)
        made = plains.assess(record, AS_OF, prior)
        assert isinstance(made, Plain)
        line = to_json(made, line=True)
        if line != to_json(model, line=True):
            problems.append(f"{record.account_id}: JSON line differs from the model's")
        if index % OTHER_SAMPLE == 0 and to_json(made, indent=True) != to_json(model, indent=True):
            problems.append(f"{record.account_id}: indented JSON differs from the model's")
        if index % OTHER_SAMPLE == 0 and to_model(made) != model:
            problems.append(f"{record.account_id}: to_model differs from the model engine's")
        if index % SCHEMA_SAMPLE == 0:
            problems += [
                f"{record.account_id}: {'/'.join(map(str, e.path))}: {e.message}"
                for e in assessment_validator.iter_errors(json.loads(line))
            ]
        if len(problems) > 10:
            break
    assert not problems, "\n".join(problems[:10])


def test_history_reaches_every_kind_of_trend_output(records: list, policy: Policy) -> None:
    # Without smoothing, hysteresis and trend flags in the cases above, comparing their
    # output would prove nothing about the plain path through them.
    engine = Engine(policy, AutomationLevel.BALANCED, plain_output=True)
    made = [engine.assess(r, AS_OF, history_of(r.account_id, r.as_of or AS_OF)) for r in records]
    assert any(a.trend is not None for a in made)
    assert any(d.unsmoothed is not None for a in made for d in a.dimensions)
    assert any(a.band_note for a in made)
    assert {"score_drop", "usage_declining"} <= {f.code.value for a in made for f in a.flags}


def test_jsonl_with_history_through_the_pipeline_is_the_models(
    accounts: Path, records: list, policy: Policy
) -> None:
    def lookup(keys: list[tuple[str, date]]) -> dict[tuple[str, date], list[PriorAssessment]]:
        return {key: history_of(*key) for key in keys}

    out = io.StringIO()
    code = run_assessment(
        accounts,
        output_format="jsonl",
        as_of=AS_OF,
        level=AutomationLevel.BALANCED,
        policy=policy,
        out=out,
        err=lambda _: None,
        history=lookup,
        workers=1,
    )
    engine = Engine(policy, AutomationLevel.BALANCED, input_sources=sources_in(records))
    expected = [
        to_json(engine.assess(r, AS_OF, history_of(r.account_id, r.as_of or AS_OF)), line=True)
        for r in records
    ]
    assert code == 0
    assert out.getvalue() == "".join(expected)


def test_plain_piece_reads_like_the_model() -> None:
    piece = plain(Evidence)("csat", 80, "CSAT 4 of 5")
    assert (piece.signal, piece.score, piece.text) == ("csat", 80, "CSAT 4 of 5")
    assert list(piece) == list(Evidence.model_fields)
    assert to_model(piece) == Evidence(signal="csat", score=80, text="CSAT 4 of 5")


def test_plain_piece_takes_the_models_defaults_and_a_fresh_list() -> None:
    values = {
        "action": "send_checkin_email",
        "label": "Send a check-in email",
        "kind": ActionKind.CUSTOMER_FACING,
        "sensitivity": Sensitivity.LOW,
        "owner": "csm",
        "owner_name": None,
        "priority": Priority.LOW,
        "due_date": AS_OF,
        "status": ActionStatus.AUTO,
        "policy_trace": [],
        "evidence": [],
    }
    made = plain(Action)(**values)
    assert made.purpose is ActionPurpose.REMEDY
    assert to_model(made) == Action(**values)
    event = {
        "event_id": "0123456789abcdef",
        "event_type": "health_assessed",
        "account_id": "A-1",
        "as_of": AS_OF,
        "score": 70,
        "band": Band.GREEN,
        "tier": Tier.HEALTHY,
        "confidence": Confidence.HIGH,
        "legacy_total": 40,
        "legacy_band": "ok",
        "flags": [],
        "action_statuses": {},
        "policy_version": "1",
    }
    first, second = plain(MeasurementEvent)(**event), plain(MeasurementEvent)(**event)
    assert first.opportunities == [] and first.opportunities is not second.opportunities
    assert to_model(first) == MeasurementEvent(**event)


def test_plain_json_past_64_bits_is_written_by_pydantic() -> None:
    row = plain(LegacyRow)("ARR", "huge", 2**70)
    score = plain(LegacyScore)(2**70, "ok", [row])
    expected = LegacyScore(
        total=2**70, band="ok", rows=[LegacyRow(field="ARR", value="huge", points=2**70)]
    )
    assert to_json(score) == expected.model_dump_json()


def test_plain_output_refuses_a_gate_of_the_callers(policy: Policy) -> None:
    gate = PolicyGate(policy.gate, AutomationLevel.BALANCED)
    with pytest.raises(ValueError, match="gate"):
        Engine(policy, AutomationLevel.BALANCED, gate, plain_output=True)


def test_plain_output_of_unusual_accounts_is_the_models(policy: Policy) -> None:
    # What generated accounts rarely or never hold: no signal at all (no_data), values set
    # aside (a future date, more users than seats, a note cut to its limit), and a churn
    # probability (a calibrated policy only).
    calibrated = policy.model_copy(
        update={
            "churn_model": ChurnModel(
                intercept=1.5, per_point=-0.05, horizon_days=90, fitted_as_of="2026-11-01"
            )
        }
    )
    records = [
        AccountRecord.model_validate({"account_id": "NEW-1", "segment": "smb", "arr": 5000}),
        AccountRecord.model_validate(
            {
                "account_id": "ODD-1",
                "segment": "enterprise",
                "active_users": 90,
                "licensed_seats": 50,
                "last_exec_touch_date": "2027-01-01",
                "crm_synced_at": "2027-01-02",
                "notes": "x" * 20_000,
                "csat": 4.5,
            }
        ),
    ]
    for chosen in (policy, calibrated):
        models, plains = Engine(chosen), Engine(chosen, plain_output=True)
        for record in records:
            model, made = models.assess(record, AS_OF), plains.assess(record, AS_OF)
            assert to_json(made, line=True) == to_json(model, line=True)
            assert to_model(made) == model
    assert Engine(calibrated, plain_output=True).assess(records[1], AS_OF).churn_risk is not None
    assert Engine(policy, plain_output=True).assess(records[0], AS_OF).score is None
    assert Engine(policy, plain_output=True).assess(records[1], AS_OF).data_quality
