"""The workspace's calls into the library, shared by the pages and the JSON API.

Each is a thin call of a library function, with the library's refusal turned into a
`WebError` that says what is wrong the way the CLI says it. Nothing here decides a
score, flag or status.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from skill.assessment import Assessment
from skill.briefing import (
    Brief,
    BriefRun,
    DrafterChoice,
    EmailDraftOut,
    LlmMode,
    email_draft,
)
from skill.dialect import DialectError, ReadOptions
from skill.ingest import InputError
from skill.insights.portfolio import PortfolioSummary, portfolio_summary
from skill.pipeline import AssessmentStream
from skill.policy import Policy, default_policy
from skill.results import AssessmentResult
from skill.store.db import DatabaseUnavailable, connect, default_db_path, how_to_create
from skill.vocabulary import AutomationLevel

WEB_EXTRA_HINT = "install the web extra: pip install 'account-health-skill[web]'"


class WebError(Exception):
    """A request the workspace refuses, with the CLI's wording and an HTTP status.

    The API returns it as `{code, field, value, message}` (the MCP tools' shape);
    a page shows `message`.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.value = value

    def content(self) -> dict[str, Any]:
        value = (
            self.value
            if isinstance(self.value, str | int | float | bool | None)
            else str(self.value)
        )
        return {"code": self.code, "field": self.field, "value": value, "message": self.message}


@dataclass(frozen=True)
class WebConfig:
    """How `account-health serve` was started; holds for the server's lifetime."""

    db_path: Path | None = None
    policy: Policy = field(default_factory=default_policy)
    policy_file: Path | None = None
    token: str | None = None
    read_only: bool = False
    max_upload_bytes: int = 5 * 1024 * 1024
    #: Host names a request may name; None accepts any (only with a token).
    allowed_hosts: tuple[str, ...] | None = ("127.0.0.1", "localhost", "::1")
    #: auto: Claude when ANTHROPIC_API_KEY is set, templates otherwise; off: templates.
    llm: str = "auto"
    secret: bytes | None = None

    @property
    def database(self) -> Path:
        return self.db_path if self.db_path is not None else default_db_path()


class Warnings(list[str]):
    """A call's warnings, worded as the CLI prints them after `warning:`."""

    def __call__(self, message: str) -> None:
        if not message.startswith("note:"):
            self.append(message.removeprefix("warning: "))


class Workspace:
    """The library as one server sees it: its policy, its database, its drafter."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.policy = config.policy
        self._summaries: dict[tuple[str, str], tuple[tuple, PortfolioSummary]] = {}
        self._lock = threading.Lock()

    # -- the history database

    def has_database(self) -> bool:
        return self.config.database.is_file()

    @contextmanager
    def history(self, *, create: bool = False) -> Iterator[sqlite3.Connection]:
        """The history database, migrated; refused (404, no_database) when it is missing
        or not one, unless `create` (recording a file creates it)."""
        path = self.config.database
        try:
            connection = connect(path, create=create)
        except DatabaseUnavailable as exc:
            message = str(exc)
            if not path.exists():
                message = (
                    f"no history database at {path}; {how_to_create(path)}, record a file on "
                    "the Upload page, or start the workspace with `account-health serve --db PATH`"
                )
            raise WebError(404, "no_database", message, field="db", value=str(path)) from None
        except OSError as exc:
            raise WebError(
                404,
                "no_database",
                f"cannot open the history database {path}: {exc.strerror or exc}",
                field="db",
                value=str(path),
            ) from None
        try:
            yield connection
        finally:
            connection.close()

    def summary(self, connection: sqlite3.Connection, day: date) -> PortfolioSummary:
        """Share of ARR by band and movers for `day`, computed once per state of the runs.

        A run recorded since (a new `run`, a corrected file, one still going)
        changes the runs table, and the summary is computed again.
        """
        marker = tuple(
            connection.execute(
                "SELECT COUNT(*), MAX(started_at), MAX(completed_at), TOTAL(assessed) FROM runs"
            ).fetchone()
        )
        key = (str(self.config.database), day.isoformat())
        with self._lock:
            cached = self._summaries.get(key)
        if cached is not None and cached[0] == marker:
            return cached[1]
        summary = portfolio_summary(connection, self.policy, day)
        with self._lock:
            self._summaries[key] = (marker, summary)
        return summary

    def refuse_if_read_only(self, what: str) -> None:
        if self.config.read_only:
            raise WebError(
                403,
                "read_only",
                f"this workspace is read-only (serve --read-only): it does not {what}",
            )

    # -- drafting

    def drafter(self, warnings: Warnings) -> DrafterChoice:
        try:
            return DrafterChoice(
                LlmMode(self.config.llm), model=None, cache_dir=None, use_cache=True, err=warnings
            )
        except ValueError as exc:
            raise WebError(503, "llm_unavailable", str(exc), field="llm") from None

    def brief(self, assessment: Assessment, warnings: Warnings) -> BriefRun:
        """The brief of one recorded assessment, as `brief --format json` gives it."""
        choice = self.drafter(warnings)
        texts = choice.drafter.draft(assessment)
        return BriefRun(
            as_of=assessment.as_of,
            automation_level=assessment.automation_level,
            policy_version=assessment.measurement_event.policy_version,
            drafting=choice.info,
            briefs=[Brief(assessment=assessment, texts=texts)],
            rejected=[],
        )

    def email(self, assessment: Assessment, warnings: Warnings) -> EmailDraftOut:
        """The check-in email draft of one recorded assessment; never sent."""
        return email_draft(assessment, self.drafter(warnings))

    # -- assessing records (Try it, the API, uploads)

    def assess_records(
        self,
        records: list[Any],
        *,
        as_of: date,
        level: AutomationLevel,
        options: ReadOptions | None = None,
        accounts: set[str] | None = None,
    ) -> AssessmentResult:
        """Records read exactly as a JSON file of them would be (`assess FILE.json`)."""
        text = io.StringIO(json.dumps(records))
        text.name = "accounts.json"
        return self.assess_source(
            text, as_of=as_of, level=level, input_format="json", options=options, accounts=accounts
        )

    def assess_source(
        self,
        source: Path | io.StringIO,
        *,
        as_of: date,
        level: AutomationLevel,
        input_format: str | None = None,
        options: ReadOptions | None = None,
        accounts: set[str] | None = None,
    ) -> AssessmentResult:
        warnings = Warnings()
        try:
            stream = AssessmentStream(
                source,
                policy=self.policy,
                as_of=as_of,
                level=level,
                input_format=input_format,
                accounts=accounts,
                on_warning=lambda message: warnings(f"warning: {message}"),
                options=options,
            )
            assessments = list(stream)
        except InputError as exc:
            raise WebError(400, "invalid_input", str(exc), field="accounts") from None
        return AssessmentResult(
            as_of=as_of,
            automation_level=level,
            policy_version=self.policy.version,
            sources_not_connected=stream.sources_not_connected,
            assessments=assessments,
            rejected=stream.rejected,
            review_budget=stream.review_budget(),
            warnings=warnings,
        )


def read_options(date_format: str | None, decimal: str | None) -> ReadOptions:
    """How text dates and numbers are written, refused naming the option as the CLI does."""
    for name, value in (("date_format", date_format), ("decimal", decimal)):
        try:
            ReadOptions(**{name: value or None})
        except DialectError as exc:
            raise WebError(400, "invalid_argument", str(exc), field=name, value=value) from None
    return ReadOptions(date_format=date_format or None, decimal=decimal or None)


def parse_day(name: str, value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise WebError(
            400,
            "invalid_date",
            f"{name} {value!r} is not a date; expected YYYY-MM-DD",
            field=name,
            value=value,
        ) from None


def parse_level(value: str | None) -> AutomationLevel:
    try:
        return AutomationLevel(value or AutomationLevel.BALANCED.value)
    except ValueError:
        choices = ", ".join(repr(level.value) for level in AutomationLevel)
        raise WebError(
            400,
            "invalid_argument",
            f"automation_level {value!r} is not one of {choices}",
            field="automation_level",
            value=value,
        ) from None
