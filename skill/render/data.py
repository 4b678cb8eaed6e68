"""JSON for agents: a whole run as one document, or one assessment per line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import TextIO

from skill.assessment import SCHEMA_VERSION, Assessment, ReviewBudgetSummary, to_json
from skill.ingest import Rejection
from skill.vocabulary import AutomationLevel, Source


class JsonRunWriter:
    """Streams `{"schema_version", ..., "assessments": [...], "rejected": [...]}`.

    Assessments are written as they come, so memory stays flat; rejections are
    collected (they are few) and written at the end.
    """

    def __init__(
        self,
        out: TextIO,
        as_of: date,
        level: AutomationLevel,
        policy_version: str,
        *,
        sources_not_connected: Iterable[Source] = (),
    ) -> None:
        self.out = out
        self.count = 0
        header = {
            "schema_version": SCHEMA_VERSION,
            "as_of": as_of.isoformat(),
            "automation_level": level.value,
            "policy_version": policy_version,
            "sources_not_connected": [s.value for s in sources_not_connected],
        }
        body = json.dumps(header, indent=2)[:-2]
        out.write(body + ',\n  "assessments": [')

    def write(self, assessment: Assessment) -> None:
        self.write_json(to_json(assessment, indent=True))

    def write_json(self, text: str) -> None:
        """One assessment already written as JSON with `indent=2` (by a worker, say)."""
        self.out.write(("," if self.count else "") + "\n    " + text.replace("\n", "\n    "))
        self.count += 1

    def close(
        self, rejected: Iterable[Rejection], review_budget: ReviewBudgetSummary | None = None
    ) -> None:
        items = [r.model_dump(mode="json") for r in rejected]
        closing = "\n  ]" if self.count else "]"
        rejected_text = json.dumps(items, indent=2).replace("\n", "\n  ")
        budget = None if review_budget is None else review_budget.model_dump(mode="json")
        budget_text = json.dumps(budget, indent=2).replace("\n", "\n  ")
        self.out.write(
            f'{closing},\n  "rejected": {rejected_text},\n  "review_budget": {budget_text}\n}}\n'
        )


class JsonLinesWriter:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, assessment: Assessment) -> None:
        self.out.write(to_json(assessment) + "\n")
