"""`run` records assessments the engine made as `Plain` dicts: the same rows as models.

The engine makes `run`'s assessments as `Plain` (field values in a dict, read by
attribute) because recording only reads their fields and writes their JSON; the
rows stored must be those the models would give, on the first date and a week later.
"""

from __future__ import annotations

import io
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from test_recording import write_accounts

from skill.pipeline import AssessmentStream
from skill.policy import load_policy
from skill.recording import run_recording
from skill.store.db import HistoryConnection
from skill.vocabulary import AutomationLevel

DATES = (date(2026, 11, 23), date(2026, 11, 30))
# Each table's rows with packed documents read back as their JSON text.
QUERIES = {
    "snapshots": "SELECT account_id, as_of, document(record_json), record_hash FROM snapshots",
    "assessments": "SELECT account_id, as_of, automation_level, policy_version, name, segment, "
    "owner, arr, renewal_date, score, band, tier, confidence, legacy_total, legacy_band, flags, "
    "dimensions, document(assessment_json), opportunities FROM assessments",
    "actions": "SELECT action_key, account_id, as_of, action, kind, sensitivity, owner, "
    "owner_name, priority, due_date, status, state, document(action_json), last_proposed, "
    "superseded_by FROM actions",
    "review_tasks": "SELECT account_id, as_of, owner, due_date, reasons, state FROM review_tasks",
}


def _record(folder: Path, source: Path) -> tuple[dict[str, list[tuple]], str]:
    db = folder / "history.db"
    notes = io.StringIO()
    for day in DATES:
        code = run_recording(
            str(source),
            db_path=db,
            output_format="jsonl",
            as_of=day,
            level=AutomationLevel.BALANCED,
            policy=load_policy(),
            out=notes,
            err=lambda message: None,
        )
        assert code == 0
    connection = sqlite3.connect(db, factory=HistoryConnection)
    try:
        return {
            table: sorted(tuple(row) for row in connection.execute(query))
            for table, query in QUERIES.items()
        }, notes.getvalue()
    finally:
        connection.close()


def test_run_stores_what_the_models_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    source = write_accounts(tmp_path / "accounts.csv", 600)
    (tmp_path / "plain").mkdir()
    (tmp_path / "models").mkdir()
    plain_rows, plain_notes = _record(tmp_path / "plain", source)

    as_models = AssessmentStream.pairs
    monkeypatch.setattr(AssessmentStream, "pairs", lambda self, plain=False: as_models(self))
    model_rows, model_notes = _record(tmp_path / "models", source)

    assert len(plain_rows["assessments"]) == 2 * 600
    assert plain_rows["actions"] and plain_rows["review_tasks"]
    for table in QUERIES:
        assert plain_rows[table] == model_rows[table], table
    assert plain_notes == model_notes
