"""Library entry points: the same job as the CLI, returning pydantic models."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from skill.assessment import Assessment, AssessmentRun
from skill.dialect import ReadOptions
from skill.engine import Engine
from skill.ingest import Rejection, rejection_from_error
from skill.pipeline import (
    SOURCE_ORDER,
    AssessmentStream,
    HistoryLookup,
    sources_in,
)
from skill.policy import Policy, default_policy
from skill.record import AccountRecord
from skill.review_budget import ReviewBudgeter
from skill.vocabulary import AutomationLevel, Source


def assess(
    source: str | Path | TextIO | Iterable[AccountRecord | Mapping[str, Any]],
    *,
    as_of: date,
    level: AutomationLevel | str = AutomationLevel.BALANCED,
    policy: Policy | None = None,
    input_format: str | None = None,
    history: HistoryLookup | None = None,
    input_sources: Collection[Source] | None = None,
    options: ReadOptions | None = None,
) -> AssessmentRun:
    """Assess a file (path, "-" or stream) or an iterable of records or dicts.

    Bad records are returned in `rejected`, never raised, so one bad row never
    loses the others. `history` (e.g. `skill.store.history.HistoryReader`)
    supplies earlier assessments, for trend flags; without it none is read.
    The sources the input has are read from the input itself (for an iterable,
    from all its records, which are validated before any is assessed); pass
    `input_sources` to say so yourself. `options` (`skill.dialect.ReadOptions`,
    or `skill.columns.load_mapping`) say how dates and numbers are written, and
    for a file its delimiter, encoding, sheet and column mapping; without them,
    ISO dates and only numbers that cannot be read two ways.
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
            options=options,
        )
        assessments = list(stream)
        return AssessmentRun(
            as_of=as_of,
            automation_level=level,
            policy_version=policy.version,
            sources_not_connected=stream.sources_not_connected,
            assessments=assessments,
            rejected=stream.rejected,
            review_budget=stream.review_budget(),
        )
    records, rejected = _validate(source, options or ReadOptions())
    if input_sources is None:
        input_sources = sources_in(record for _, record in records)
    engine = Engine(policy, level, input_sources=input_sources)
    assessments: list[Assessment] = []
    budget = policy.actions.review_task.budget
    budgeter = ReviewBudgeter(budget) if budget is not None else None
    for _row, record in records:
        key = (record.account_id, record.as_of or as_of)
        prior = history([key]).get(key, ()) if history is not None else ()
        assessment = engine.assess(record, as_of, prior)
        assessments.append(assessment)
        if budgeter is not None:
            budgeter.add(assessment)
    return AssessmentRun(
        as_of=as_of,
        automation_level=level,
        policy_version=policy.version,
        sources_not_connected=[s for s in SOURCE_ORDER if s not in input_sources],
        assessments=assessments,
        rejected=sorted(rejected, key=lambda r: r.row),
        review_budget=None if budgeter is None else budgeter.decide(),
    )


def _validate(
    items: Iterable[AccountRecord | Mapping[str, Any]], options: ReadOptions
) -> tuple[list[tuple[int, AccountRecord]], list[Rejection]]:
    """Every item as a record, first: the sources the input has are known before any is assessed.

    Dicts are taken by field name, with `options`' constants, decimal mark and date format.
    """
    context = options.context
    constants = options.constants
    records: list[tuple[int, AccountRecord]] = []
    rejected: list[Rejection] = []
    for row, item in enumerate(items, start=1):
        if isinstance(item, AccountRecord):
            records.append((row, item))
            continue
        raw = {**item, **constants} if constants else item
        try:
            records.append((row, AccountRecord.model_validate(raw, context=context)))
        except ValidationError as exc:
            rejected.append(rejection_from_error(row, None, dict(raw), exc))
    return records, rejected
