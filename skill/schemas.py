"""JSON Schemas of the input contract, the policy and every JSON output.

    account-health schema assessment          # print one schema
    account-health schema all --write DIR     # write DIR/{name}.schema.json for every name

The same text is committed under `assets/schemas/`; a test fails when a model
changes and the files were not regenerated (`make schemas`).

Inputs (`input`, `policy`) use pydantic's validation mode: what the tool accepts.
Outputs (`assessment`, `brief`, `email`) use serialization mode: what it prints.
The text is deterministic (sorted keys, two-space indent, trailing newline).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from skill.assessment import AssessmentRun
from skill.briefing import BriefRun, EmailDraftOut
from skill.insights.calibrate import Calibration
from skill.insights.measure import Measurement
from skill.insights.report import PortfolioReport
from skill.policy import Policy
from skill.record import AccountRecord
from skill.recording import RunDocument
from skill.store.outbox import ActionList, ExportPayload, OutboxItem
from skill.store.outcomes import OutcomeImport
from skill.store.reviews import ReviewDone, ReviewTaskList
from skill.store.trends import TrendNote

Mode = Literal["validation", "serialization"]

#: pydantic emits JSON Schema draft 2020-12; saying so lets any validator pick the dialect.
DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: Schema name -> the pydantic model it describes.
SCHEMAS: dict[str, type[BaseModel]] = {
    "input": AccountRecord,
    "assessment": AssessmentRun,
    "brief": BriefRun,
    "policy": Policy,
    "email": EmailDraftOut,
    "run": RunDocument,
    "trend": TrendNote,
    "actions": ActionList,
    "action": OutboxItem,
    "export": ExportPayload,
    "reviews": ReviewTaskList,
    "review": ReviewDone,
    "outcomes": OutcomeImport,
    "measure": Measurement,
    "calibrate": Calibration,
    "report": PortfolioReport,
}

#: Inputs are described as accepted; outputs as printed.
INPUTS = frozenset({"input", "policy"})
MODES: dict[str, Mode] = {
    name: "validation" if name in INPUTS else "serialization" for name in SCHEMAS
}

#: What each schema describes, for `--help` and REFERENCE.md.
DESCRIPTIONS: dict[str, str] = {
    "input": "one account record (a CSV row, a JSON object, a JSONL line)",
    "assessment": "`assess --format json` and `demo --format json`: one run",
    "brief": "`brief --format json`: one run of briefs",
    "policy": "the whole merged policy, as `policy show --format json` prints it",
    "email": "`email --format json`: one email draft per account (check-in, engagement, advocacy)",
    "run": "`run --format json`: what a run recorded, with each account's trend note",
    "trend": "`run --format jsonl`: one health trend note per line",
    "actions": "`actions list --format json`: the outbox",
    "action": "`actions approve|reject --format json`: the decided action",
    "export": "`actions export`: one ready-to-send payload per line",
    "reviews": "`review list --format json`: the owner review tasks",
    "review": "`review done --format json`: the closed task and those closed with it",
    "outcomes": "`outcomes import --format json`: what the import did",
    "measure": "`measure --format json`: how well the score predicted outcomes",
    "calibrate": "`calibrate --format json`: fitted weights and held-out AUC",
    "report": "`report --format json`: the weekly portfolio report",
}


def schema_file(name: str) -> str:
    return f"{name}.schema.json"


def schema_json(name: str) -> str:
    """The schema's text: `json.dumps(..., indent=2, sort_keys=True)` plus a newline."""
    try:
        model = SCHEMAS[name]
    except KeyError:
        raise KeyError(f"unknown schema {name!r}; expected one of {', '.join(SCHEMAS)}") from None
    schema = {"$schema": DIALECT, **model.model_json_schema(mode=MODES[name])}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: str | Path, names: list[str] | None = None) -> list[Path]:
    """Write `{name}.schema.json` for each name (default: all) and return the paths."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or list(SCHEMAS):
        path = target / schema_file(name)
        path.write_text(schema_json(name), encoding="utf-8", newline="\n")
        written.append(path)
    return written
