"""`policy show` and `policy check`: the segment matrix and a policy file's verdict."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from skill.cli.common import (
    OutputFormat,
    PolicyOption,
    TextFormat,
    err,
    fail,
    load_policy_or_exit,
)
from skill.record import Segment
from skill.vocabulary import AutomationLevel

policy_app = typer.Typer(
    help="Inspect and check the policy.\n\nExample: account-health policy show --segment smb",
    no_args_is_help=True,
)


def _segment(value: str) -> Segment:
    try:
        return Segment(value)
    except ValueError:
        raise fail(f"--segment {value!r}: expected smb, mid_market or enterprise") from None


@policy_app.command("show")
def policy_show(
    segment: Annotated[
        str | None,
        typer.Option(
            "--segment", help="Only this segment: smb, mid_market (or Mid-market) or enterprise."
        ),
    ] = None,
    automation_level: Annotated[
        AutomationLevel | None,
        typer.Option("--automation-level", help="Only this level (default: all three)."),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="md (a table) or json (the whole policy)."),
    ] = OutputFormat.MD,
    policy: PolicyOption = None,
) -> None:
    """Print the effective action matrix: segment baseline tightened by the automation level.

    Example: account-health policy show --segment enterprise --automation-level balanced
    """
    loaded = load_policy_or_exit(policy)
    if output_format in (OutputFormat.JSON, OutputFormat.JSONL):
        sys.stdout.write(loaded.model_dump_json(indent=2) + "\n")
        return
    from skill.render.markdown import render_policy_matrix

    segments = [_segment(segment)] if segment else list(Segment)
    levels = [automation_level] if automation_level else list(AutomationLevel)
    sys.stdout.write(render_policy_matrix(loaded, segments, levels))


@policy_app.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="A policy YAML file to merge and validate.")],
    output_format: Annotated[
        TextFormat,
        typer.Option(
            "--format",
            "-f",
            help='text (default) or json: {"valid", "file", "policy_version", "errors", '
            '"warnings"}.',
        ),
    ] = TextFormat.TEXT,
) -> None:
    """Validate a policy override file; exit 2 naming each bad key.

    A file is refused when it is invalid, or when only the policy floor would
    hold an action back (making a discount request automatic, say). A list that
    replaces a default list gets a warning naming its key (`key+:` appends).

    With --format json the verdict is also on stdout, valid or not, so an agent
    reads one document either way.

    Example: account-health policy check my-policy.yaml --format json
    """
    from skill.policy import (
        PolicyError,
        load_policy,
        override_notes,
        read_override,
        replaced_list_warning,
    )

    try:
        loaded = load_policy(file)
        notes = override_notes(read_override(file), loaded)
    except PolicyError as exc:
        errors = [line.strip() for line in str(exc).splitlines() if line.strip()]
        _check_verdict(output_format, file, None, errors, [])
        raise fail(f"invalid policy:\n{exc}") from None
    warnings = [replaced_list_warning(key) for key in notes.replaced_lists]
    for warning in warnings:
        err(f"warning: {file}: {warning}")
    if notes.needs_floor:
        _check_verdict(output_format, file, None, notes.needs_floor, warnings)
        listed = "\n".join(notes.needs_floor)
        raise fail(f"invalid policy: it would need the policy floor to hold it back:\n{listed}")
    _check_verdict(output_format, file, loaded.version, [], warnings)
    if output_format is TextFormat.TEXT:
        sys.stdout.write(f"ok: {file} is valid (policy version {loaded.version})\n")


def _check_verdict(
    output_format: TextFormat,
    file: Path,
    version: str | None,
    errors: list[str],
    warnings: list[str],
) -> None:
    if output_format is not TextFormat.JSON:
        return
    verdict = {
        "valid": not errors,
        "file": str(file),
        "policy_version": version,
        "errors": errors,
        "warnings": warnings,
    }
    sys.stdout.write(json.dumps(verdict, indent=2, ensure_ascii=False) + "\n")
