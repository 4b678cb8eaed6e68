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
from skill.policy import Policy
from skill.record import AccountRecord

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
}

#: Inputs are described as accepted; outputs as printed.
MODES: dict[str, Mode] = {
    "input": "validation",
    "assessment": "serialization",
    "brief": "serialization",
    "policy": "validation",
    "email": "serialization",
}

#: What each schema describes, for `--help` and REFERENCE.md.
DESCRIPTIONS: dict[str, str] = {
    "input": "one account record (a CSV row, a JSON object, a JSONL line)",
    "assessment": "`assess --format json` and `demo --format json`: one run",
    "brief": "`brief --format json`: one run of briefs",
    "policy": "the whole merged policy, as `policy show --format json` prints it",
    "email": "`email --format json`: one check-in email draft per account",
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
