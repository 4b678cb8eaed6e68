"""Shared fixtures: the default policy, a fixed `as_of`, and a record factory.

`make_record(**overrides)` gives a healthy mid-market account, so each test
states only the fields it cares about. Pass `field=None` to remove a signal.
"""

from __future__ import annotations

try:  # before vcr loads: anthropic uses httpx2, so `import httpx` must resolve to it too
    import httpx2

    httpx2.alias_httpx()
except ImportError:  # pragma: no cover - httpx2 comes with the optional anthropic SDK
    pass

import json
import sys
from collections.abc import Callable, Collection
from datetime import date
from pathlib import Path
from typing import Any

import pytest

try:  # a checkout run without `pip install -e .` still finds the package
    import skill  # noqa: F401
except ModuleNotFoundError:  # pragma: no cover - depends on how the venv was built
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from account_templates import HEALTHY_MID_MARKET

from skill.assessment import Assessment
from skill.engine import assess_account
from skill.policy import Policy, load_policy
from skill.record import AccountRecord
from skill.vocabulary import AutomationLevel, Source

AS_OF = date(2026, 11, 23)


RecordFactory = Callable[..., AccountRecord]
Assessor = Callable[..., Assessment]


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def as_of() -> date:
    return AS_OF


@pytest.fixture
def make_record() -> RecordFactory:
    def make(**overrides: Any) -> AccountRecord:
        data = {**HEALTHY_MID_MARKET, **overrides}
        return AccountRecord.model_validate({k: v for k, v in data.items() if v is not None})

    return make


@pytest.fixture
def assess(policy: Policy, as_of: date, make_record: RecordFactory) -> Assessor:
    """Assess a baseline record with overrides: `assess(csat=2, level=...)`.

    `input_sources` is what the run's input has data for (default: not known).
    """

    def run(
        level: AutomationLevel = AutomationLevel.BALANCED,
        input_sources: Collection[Source] | None = None,
        **overrides: Any,
    ) -> Assessment:
        record = make_record(**overrides)
        return assess_account(record, policy, as_of, level, input_sources=input_sources)

    return run


@pytest.fixture(scope="session")
def assessment_validator():
    """The published assessment JSON Schema (assets/schemas), as a validator."""
    jsonschema = pytest.importorskip("jsonschema")
    path = Path(__file__).resolve().parents[1] / "assets" / "schemas" / "assessment.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        {"$defs": schema["$defs"], "$ref": "#/$defs/Assessment"},
        format_checker=jsonschema.FormatChecker(),
    )
