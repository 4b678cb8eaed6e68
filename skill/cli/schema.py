"""`schema`: the published JSON Schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from skill.cli.common import (
    err,
    fail,
)

SCHEMA_NAMES = (
    "input",
    "assessment",
    "brief",
    "policy",
    "email",
    "run",
    "trend",
    "actions",
    "action",
    "export",
    "reviews",
    "review",
    "outcomes",
    "measure",
    "calibrate",
    "report",
)


def schema(
    name: Annotated[
        str,
        typer.Argument(
            help="A name from the list above (input, assessment, ..., report), or all.",
            show_default=False,
        ),
    ],
    write: Annotated[
        Path | None,
        typer.Option(
            "--write", help="Write NAME.schema.json into this folder instead of printing."
        ),
    ] = None,
) -> None:
    """Print a JSON Schema: the input record, the policy, or a command's JSON output.

    Inputs: input (one account record), policy (the merged policy). Outputs, as
    --format json prints them: assessment (assess, demo), brief, email, run, trend
    (one run --format jsonl line), actions (actions list), action (actions
    approve/reject), export (one actions export line), reviews (review list),
    review (review done), outcomes (outcomes import), measure, calibrate, report.
    all: every schema, as one JSON object keyed by name (or, with --write, one
    file each).

    Example: account-health schema assessment
    """
    if name != "all" and name not in SCHEMA_NAMES:
        raise fail(f"unknown schema {name!r}: expected one of {', '.join(SCHEMA_NAMES)} or all")
    from skill.schemas import schema_json, write_schemas

    names = list(SCHEMA_NAMES) if name == "all" else [name]
    if write is not None:
        for path in write_schemas(write, names):
            err(f"wrote {path}")
        return
    if name != "all":
        sys.stdout.write(schema_json(name))
        return

    combined = {n: json.loads(schema_json(n)) for n in names}
    sys.stdout.write(json.dumps(combined, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def register(app: typer.Typer) -> None:
    app.command()(schema)
