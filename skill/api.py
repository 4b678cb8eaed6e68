"""Library entry points: the same job as the CLI, returning pydantic models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from skill.assessment import Assessment, AssessmentRun
from skill.engine import Engine, NoSignalsError
from skill.ingest import Rejection, rejection_from_error
from skill.pipeline import AssessmentStream, HistoryLookup, no_signals_rejection
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
    history: HistoryLookup | None = None,
) -> AssessmentRun:
    """Assess a file (path, "-" or stream) or an iterable of records or dicts.

    Bad records are returned in `rejected`, never raised, so one bad row never
    loses the others. `history` (e.g. `skill.store.history.HistoryReader`)
    supplies earlier assessments, for trend flags; without it none is read.
    """
    policy = policy or default_policy()
    level = AutomationLevel(level)
    if isinstance(source, str | Path) or hasattr(source, "read"):
        stream = AssessmentStream(
            source,
            policy=policy,
            as_of=as_of,
            level=level,
            input_format=input_format,
            history=history,
        )
        assessments = list(stream)
        rejected = stream.rejected
    else:
        assessments, rejected = _assess_items(source, policy, as_of, level, history)
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
    history: HistoryLookup | None = None,
) -> tuple[list[Assessment], list[Rejection]]:
    engine = Engine(policy, level)
    assessments: list[Assessment] = []
    rejected: list[Rejection] = []
    for row, item in enumerate(items, start=1):
        if isinstance(item, AccountRecord):
            record = item
        else:
            try:
                record = AccountRecord.model_validate(item)
            except ValidationError as exc:
                rejected.append(rejection_from_error(row, None, dict(item), exc))
                continue
        key = (record.account_id, record.as_of or as_of)
        prior = history([key]).get(key, ()) if history is not None else ()
        try:
            assessments.append(engine.assess(record, as_of, prior))
        except NoSignalsError as exc:
            rejected.append(no_signals_rejection(row, None, record.account_id, exc))
    return assessments, rejected
