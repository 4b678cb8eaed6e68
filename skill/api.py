"""Library entry points: the same job as the CLI, returning pydantic models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from skill.assessment import Assessment, AssessmentRun
from skill.engine import NoSignalsError, PolicyGate, assess_account
from skill.ingest import FieldError, Rejection
from skill.pipeline import AssessmentStream
from skill.policy import Policy, default_policy
from skill.record import AccountRecord
from skill.vocabulary import AutomationLevel


def assess(
    source: str | Path | TextIO | Iterable[AccountRecord | Mapping[str, Any]],
    *,
    as_of: date,
    level: AutomationLevel | str = AutomationLevel.BALANCED,
    policy: Policy | None = None,
    input_format: str | None = None,
) -> AssessmentRun:
    """Assess a file (path, "-" or stream) or an iterable of records or dicts.

    Bad records are returned in `rejected`, never raised, so one bad row never
    loses the others.
    """
    policy = policy or default_policy()
    level = AutomationLevel(level)
    if isinstance(source, str | Path) or hasattr(source, "read"):
        stream = AssessmentStream(
            source, policy=policy, as_of=as_of, level=level, input_format=input_format
        )
        assessments = list(stream)
        rejected = stream.rejected
    else:
        assessments, rejected = _assess_items(source, policy, as_of, level)
    return AssessmentRun(
        as_of=as_of,
        automation_level=level,
        policy_version=policy.version,
        assessments=assessments,
        rejected=rejected,
    )


def _assess_items(
    items: Iterable[AccountRecord | Mapping[str, Any]],
    policy: Policy,
    as_of: date,
    level: AutomationLevel,
) -> tuple[list[Assessment], list[Rejection]]:
    gate = PolicyGate(policy.gate, level)
    assessments: list[Assessment] = []
    rejected: list[Rejection] = []
    for row, item in enumerate(items, start=1):
        account_id = _account_id(item)
        try:
            record = item if isinstance(item, AccountRecord) else AccountRecord.model_validate(item)
            assessments.append(assess_account(record, policy, as_of, level, gate))
        except ValidationError as exc:
            rejected.append(_rejection(row, account_id, exc))
        except NoSignalsError as exc:
            rejected.append(
                Rejection(
                    row=row,
                    line=None,
                    account_id=account_id,
                    reason=f"row {row} (account_id {account_id!r}): {exc}",
                    errors=(FieldError(field=None, value=None, message=str(exc), expected=None),),
                )
            )
    return assessments, rejected


def _account_id(item: AccountRecord | Mapping[str, Any]) -> str | None:
    if isinstance(item, AccountRecord):
        return item.account_id
    value = item.get("account_id") if isinstance(item, Mapping) else None
    return None if value is None else str(value)


def _rejection(row: int, account_id: str | None, exc: ValidationError) -> Rejection:
    errors = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or None
        value = error.get("input")
        shown = value if isinstance(value, str | int | float | bool) or value is None else str(value)
        expected = AccountRecord.model_fields[field].description if field in AccountRecord.model_fields else None
        errors.append(FieldError(field=field, value=shown, message=error["msg"], expected=expected))
    detail = "; ".join(f"{e.field} = {e.value!r}: {e.message}" for e in errors)
    return Rejection(
        row=row,
        line=None,
        account_id=account_id,
        reason=f"row {row} (account_id {account_id!r}): {detail}",
        errors=tuple(errors),
    )
