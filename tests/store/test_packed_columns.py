"""No module reads a packed document column raw: readers go through `document(...)`.

The packed columns hold zstd frames, streams against a base or pointers to one
(skill/store/documents.py); read raw they are bytes no JSON parser takes, and a
query that compares or parses them would fail on some rows only. This reads the
SQL text in every module of `skill` (each string literal, f-string parts too) and
checks each mention of a packed column: read through `document(col)` (or the
measurement-event functions), tested for NULL, or written (INSERT/UPDATE).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SKILL = Path(__file__).resolve().parents[2] / "skill"
PACKED = ("record_json", "assessment_json", "action_json", "event_json", "document")
#: Modules that handle the packed bytes themselves, each for a reason.
RAW_ALLOWED = {
    # The codec: it packs and unpacks them.
    "store/documents.py",
    # Measures the packed bytes (LENGTH) and finds which base each value names.
    "store/maintenance.py",
}
_SQL = re.compile(r"\b(SELECT|FROM|WHERE|INSERT|UPDATE|JOIN)\b")
_MENTION = re.compile(r"(?<![\w.])(?:\w+\.)?(" + "|".join(PACKED) + r")\b")
_WRAPPED = re.compile(r"(?:document|measurement_event|measurement_event_id)\(\s*$")
_NULL_TEST = re.compile(r"^\s+IS\s+(NOT\s+)?NULL\b")
_WRITE = re.compile(r"\b(INSERT|UPDATE)\b")


def sql_strings(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and _SQL.search(node.value):
            found.append((node.lineno, node.value))
    return found


def raw_reads(text: str) -> list[str]:
    """Mentions of a packed column in this SQL text that read it raw."""
    if _WRITE.search(text):
        return []
    bad = []
    for match in _MENTION.finditer(text):
        before, after = text[: match.start()], text[match.end() :]
        if _WRAPPED.search(before) or _NULL_TEST.match(after):
            continue
        if match.group(1) == "document" and after.lstrip().startswith("("):
            continue  # the function itself
        bad.append(match.group(0))
    return bad


def test_the_check_catches_a_raw_read_and_passes_a_wrapped_one() -> None:
    assert raw_reads("SELECT assessment_json FROM assessments") == ["assessment_json"]
    assert raw_reads("SELECT s.record_json FROM snapshots s") == ["s.record_json"]
    assert raw_reads("SELECT document(s.assessment_json) FROM assessments s") == []
    assert raw_reads("SELECT 1 FROM assessments WHERE assessment_json IS NOT NULL") == []
    assert raw_reads("UPDATE actions SET action_json = ? WHERE action_key = ?") == []


def test_no_module_reads_a_packed_column_raw() -> None:
    problems = []
    for path in sorted(SKILL.rglob("*.py")):
        name = path.relative_to(SKILL).as_posix()
        if name in RAW_ALLOWED or name.startswith("store/migrations/"):
            continue
        for line, text in sql_strings(path):
            for mention in raw_reads(text):
                problems.append(f"skill/{name}:{line}: {mention} read raw in {text[:80]!r}")
    assert problems == []
