"""Upload: assess a file, or record it (`run`), from the browser.

The file is written to a private temporary folder under its own name (only the
extensions the library reads are taken) and handed to the library exactly as
the CLI hands it a path: `assess` reads it, `run` records it in the history
database with its name as the run's source. The size cap is enforced before the
body is read (skill.web.security) and again here for the file itself.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import UploadFile

from skill.recording import RunDocument, run_recording
from skill.results import AssessmentResult
from skill.web.workspace import Warnings, WebError, Workspace, parse_day, parse_level, read_options

EXTENSIONS = (".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".xlsx")
CHUNK = 1 << 16


@dataclass
class UploadOutcome:
    filename: str
    mode: str
    assessed: AssessmentResult | None = None
    recorded: RunDocument | None = None
    warnings: list[str] = field(default_factory=list)
    error: WebError | None = None


def safe_name(name: str | None) -> str:
    """The uploaded file's base name, reduced to plain characters; its extension kept."""
    base = Path(name or "upload").name
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "upload"
    return f"{stem[:80]}.{extension.lower()}" if extension else stem[:80]


def handle_upload(
    workspace: Workspace,
    upload: UploadFile,
    *,
    mode: str,
    as_of: str,
    level: str,
    date_format: str,
    decimal: str,
) -> UploadOutcome:
    name = safe_name(upload.filename)
    outcome = UploadOutcome(filename=name, mode=mode)
    try:
        if mode not in ("assess", "record"):
            raise WebError(
                400, "invalid_argument", f"mode {mode!r}: expected assess or record", field="mode"
            )
        if mode == "record":
            workspace.refuse_if_read_only("record files")
        if not name.lower().endswith(EXTENSIONS):
            raise WebError(
                400,
                "invalid_input",
                f"{name}: expected a .csv, .tsv, .json, .jsonl or .xlsx file",
                field="file",
                value=name,
            )
        day = parse_day("as_of", as_of)
        if day is None:
            raise WebError(
                400, "missing_argument", "as_of is required; expected YYYY-MM-DD", field="as_of"
            )
        automation = parse_level(level)
        options = read_options(date_format.strip() or None, decimal.strip() or None)
        with tempfile.TemporaryDirectory(prefix="account-health-upload-") as folder:
            path = Path(folder) / name
            _save(upload, path, workspace.config.max_upload_bytes)
            if mode == "assess":
                outcome.assessed = workspace.assess_source(
                    path, as_of=day, level=automation, options=options
                )
                outcome.warnings = outcome.assessed.warnings
            else:
                outcome.recorded, outcome.warnings = _record(
                    workspace, path, name, day, automation, options
                )
    except WebError as exc:
        outcome.error = exc
    return outcome


def _save(upload: UploadFile, path: Path, limit: int) -> None:
    size = 0
    with open(path, "wb") as out:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise WebError(
                    413,
                    "too_large",
                    f"{path.name} is over {limit:,} bytes; the workspace takes files up to "
                    f"{limit / (1024 * 1024):g} MB (serve --max-upload-mb); record larger files "
                    "with `account-health run FILE`",
                    field="file",
                    value=path.name,
                )
            out.write(chunk)
    if size == 0:
        raise WebError(400, "invalid_input", f"{path.name} is empty", field="file", value=path.name)


def _record(
    workspace: Workspace, path: Path, name, day, level, options
) -> tuple[RunDocument, list[str]]:
    """`account-health run FILE --format json` into the workspace's database."""
    database = workspace.config.database
    # Opened by SQLite first (a directory, or a file that is not a database, is refused
    # as every history page refuses it): `run` then records into it.
    with workspace.history(create=True):
        pass
    out = io.StringIO()
    errors: list[str] = []
    code = run_recording(
        str(path),
        db_path=database,
        output_format="json",
        as_of=day,
        level=level,
        policy=workspace.policy,
        out=out,
        err=errors.append,
        options=options,
        source_name=f"upload:{name}",
    )
    warnings = Warnings()
    for line in errors:
        if line.startswith("warning: "):
            warnings(line)
    if not out.getvalue().strip():
        problems = [line.removeprefix("error: ") for line in errors if line.startswith("error: ")]
        raise WebError(
            400,
            "invalid_input",
            "; ".join(problems) or f"{name} could not be recorded",
            field="file",
        )
    del code  # the document says what was recorded and rejected
    return RunDocument.model_validate_json(out.getvalue()), warnings
