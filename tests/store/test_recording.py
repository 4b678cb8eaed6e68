"""`account-health run FILE`: record a snapshot and its assessment, print trend notes.

In-process through the CLI (`--db` in a temp dir): what a run records, that the
same file and date again changes nothing, that a corrected file changes only
the corrected account, and the trend notes of a second date. Then real
subprocesses: a run killed with SIGKILL mid-way, and runs at the same time.

Larger inputs come from the benchmarks' seeded generator (benchmarks/synthetic.py),
with the per-row `as_of` cleared so the run's date applies to every account.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from synthetic import FIELDS, iter_account_rows
from typer.testing import CliRunner

from skill.cli import app
from skill.demo import demo_file
from skill.policy import load_policy
from skill.store.db import HistoryConnection
from skill.store.history import BATCH_SIZE
from skill.store.trends import DOWN, STEADY, UP

AS_OF = "2026-11-23"
LATER = "2026-11-30"
DEMO_IDS = ("ACC-1001", "ACC-1002", "ACC-1003", "ACC-1004", "ACC-1005")
TABLES = (
    "runs",
    "snapshots",
    "assessments",
    "actions",
    "action_decisions",
    "review_tasks",
    "measurement_events",
)
#: The demo a week later: Northwind's usage falls further; GreenSprout adopts, turns green.
WEEK_LATER = {
    "ACC-1001": {"logins_30d": 900, "active_users": 95, "csat": 3.1},
    "ACC-1002": {
        "features_adopted": 10,
        "logins_30d": 3000,
        "active_users": 24,
        "weekly_activity": [70, 80, 85, 90],
        "onboarding_milestones_done": 6,
    },
}


# -- helpers -----------------------------------------------------------------------------


def cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def demo_copy(folder: Path, name: str = "accounts.json", **changes: dict[str, Any]) -> Path:
    """The demo file with some accounts' fields changed."""
    data = json.loads(demo_file().read_text(encoding="utf-8"))
    for row in data["accounts"]:
        row.update(changes.get(row["account_id"], {}))
    path = folder / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def write_accounts(path: Path, n: int, prefix: str = "ACC", seed: int = 7) -> Path:
    """`n` seeded synthetic accounts, ids `{prefix}-0000001`..., no per-row `as_of`."""
    id_col, as_of_col = FIELDS.index("account_id"), FIELDS.index("as_of")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for cells in iter_account_rows(n, seed):
            cells[id_col] = cells[id_col].replace("ACC", prefix, 1)
            cells[as_of_col] = ""
            writer.writerow(cells)
    return path


def ids_in(path: Path) -> set[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["account_id"] for row in csv.DictReader(handle)}


def open_db(path: Path) -> sqlite3.Connection:
    """The database as the store reads it: `document(...)` gives a packed column's JSON."""
    connection = sqlite3.connect(path, timeout=30, factory=HistoryConnection)
    connection.row_factory = sqlite3.Row
    return connection


def dump(path: Path) -> str:
    """Every table's schema and rows as SQL text, nothing left out."""
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


def table_rows(path: Path) -> dict[str, set[tuple]]:
    connection = sqlite3.connect(path, factory=HistoryConnection)
    try:
        return {t: {tuple(r) for r in connection.execute(f"SELECT * FROM {t}")} for t in TABLES}
    finally:
        connection.close()


def counts(connection: sqlite3.Connection) -> dict[str, int]:
    return {t: connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def consistency_problems(connection: sqlite3.Connection) -> list[str]:
    """What would make the tables disagree with each other, if anything."""
    problems = []
    if (check := connection.execute("PRAGMA integrity_check").fetchone()[0]) != "ok":
        problems.append(f"integrity_check: {check}")
    if connection.execute("PRAGMA foreign_key_check").fetchall():
        problems.append("foreign_key_check failed")
    for left, right in [
        ("snapshots", "assessments"),
        ("assessments", "snapshots"),
        ("assessments", "measurement_events"),
        ("measurement_events", "assessments"),
    ]:
        orphans = connection.execute(
            f"SELECT COUNT(*) FROM {left} AS l WHERE NOT EXISTS (SELECT 1 FROM {right} AS r "
            "WHERE r.account_id = l.account_id AND r.as_of = l.as_of)"
        ).fetchone()[0]
        if orphans:
            problems.append(f"{orphans} {left} row(s) without {right}")
    # Every action an assessment lists is in the outbox: its own row, or a pending
    # row of an earlier date carried over to it (as_of <= date <= last_proposed).
    spans: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for account_id, action, first, last in connection.execute(
        "SELECT account_id, action, as_of, COALESCE(last_proposed, as_of) FROM actions"
    ):
        spans.setdefault((account_id, action), []).append((first, last))
    missing_actions = sum(
        not any(first <= as_of <= last for first, last in spans.get((account_id, action), []))
        for account_id, as_of, action in connection.execute(
            "SELECT a.account_id, a.as_of, json_extract(j.value, '$.action') FROM assessments "
            "AS a, json_each(document(a.assessment_json), '$.actions') AS j"
        )
    )
    duplicated = connection.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM actions WHERE state = 'pending' "
        "GROUP BY account_id, action HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    expected_tasks = connection.execute(
        "SELECT COUNT(*) FROM assessments "
        "WHERE json_type(document(assessment_json), '$.review_task') = 'object'"
    ).fetchone()[0]
    found = counts(connection)
    if missing_actions:
        problems.append(f"{missing_actions} listed action(s) not in the outbox")
    if duplicated:
        problems.append(f"{duplicated} account action(s) pending twice")
    if found["review_tasks"] != expected_tasks:
        problems.append(f"{found['review_tasks']} review tasks, assessments raise {expected_tasks}")
    return problems


# -- in-process, through the CLI ---------------------------------------------------------------


def test_run_records_every_table_per_account(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    result = cli("run", demo_file(), "--db", db, "--as-of", AS_OF, "--format", "jsonl")

    assert result.exit_code == 0, result.stderr
    assert "recorded run " in result.stderr and "5 new or changed, 0 unchanged" in result.stderr
    notes = [json.loads(line) for line in result.stdout.splitlines()]
    assert [n["account_id"] for n in notes] == list(DEMO_IDS)
    assert all(n["previous_as_of"] is None for n in notes)

    connection = open_db(db)
    found = counts(connection)
    assert found["runs"] == 1
    assert found["snapshots"] == found["assessments"] == found["measurement_events"] == 5
    assert consistency_problems(connection) == []
    assert found["actions"] > 4 and found["review_tasks"] == 3  # three demo accounts need one
    run = connection.execute("SELECT * FROM runs").fetchone()
    assert run["completed_at"] is not None and (run["assessed"], run["rejected"]) == (5, 0)
    assert run["as_of"] == AS_OF and run["automation_level"] == "balanced"
    # What is stored is exactly what `assess` prints for the same file and date.
    assessed = cli("assess", demo_file(), "--as-of", AS_OF, "--format", "jsonl")
    stored = [
        r[0]
        for r in connection.execute(
            "SELECT document(assessment_json) FROM assessments ORDER BY account_id"
        )
    ]
    assert stored == assessed.stdout.splitlines()
    assert {r[0] for r in connection.execute("SELECT as_of FROM snapshots")} == {AS_OF}
    connection.close()


def test_running_the_same_file_and_date_again_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    assert cli("run", demo_file(), "--db", db, "--as-of", AS_OF).exit_code == 0
    before = dump(db)
    first_run = open_db(db).execute("SELECT run_id FROM runs").fetchone()[0]

    for output_format in ("md", "json", "jsonl"):
        again = cli("run", demo_file(), "--db", db, "--as-of", AS_OF, "--format", output_format)
        assert again.exit_code == 0, again.stderr
        assert "already recorded" in again.stderr and first_run in again.stderr
        if output_format == "json":
            document = json.loads(again.stdout)
            assert document["already_recorded"] is True and document["recorded"] == 0
        else:
            assert again.stdout == ""
        assert dump(db) == before


def test_the_same_file_and_date_at_another_level_replaces_the_assessments(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.sqlite3"
    assert cli("run", demo_file(), "--db", db, "--as-of", AS_OF).exit_code == 0

    result = cli(
        "run", demo_file(), "--db", db, "--as-of", AS_OF,
        "--automation-level", "conservative", "--format", "json",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert (json.loads(result.stdout)["recorded"], json.loads(result.stdout)["unchanged"]) == (5, 0)
    connection = open_db(db)
    levels = {r[0] for r in connection.execute("SELECT automation_level FROM assessments")}
    assert levels == {"conservative"}
    conservative = cli(
        "assess", demo_file(), "--as-of", AS_OF,
        "--automation-level", "conservative", "--format", "json",
    )  # fmt: skip
    expected = {
        (a["account_id"], x["action"], x["status"])
        for a in json.loads(conservative.stdout)["assessments"]
        for x in a["actions"]
    }
    outbox = {
        tuple(r) for r in connection.execute("SELECT account_id, action, status FROM actions")
    }
    assert outbox == expected
    stored = {
        json.loads(r[0])["automation_level"]
        for r in connection.execute("SELECT document(assessment_json) FROM assessments")
    }
    assert stored == {"conservative"} and consistency_problems(connection) == []
    connection.close()


def test_the_same_run_resumes_when_it_never_completed(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    assert cli("run", demo_file(), "--db", db, "--as-of", AS_OF).exit_code == 0
    connection = open_db(db)
    with connection:
        connection.execute("UPDATE runs SET completed_at = NULL, assessed = 0")
        connection.execute("DELETE FROM review_tasks WHERE account_id = 'ACC-1004'")
        connection.execute("DELETE FROM actions WHERE account_id = 'ACC-1004'")
        connection.execute("DELETE FROM assessments WHERE account_id = 'ACC-1004'")
        connection.execute("DELETE FROM snapshots WHERE account_id = 'ACC-1004'")
    connection.close()

    result = cli("run", demo_file(), "--db", db, "--as-of", AS_OF, "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert "1 new or changed, 4 unchanged" in result.stderr
    document = json.loads(result.stdout)
    assert (document["recorded"], document["unchanged"]) == (1, 4)
    connection = open_db(db)
    assert counts(connection)["snapshots"] == 5 and consistency_problems(connection) == []
    assert connection.execute("SELECT completed_at FROM runs").fetchone()[0] is not None
    connection.close()


def test_a_changed_file_at_the_same_date_updates_only_the_changed_account(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.sqlite3"
    assert cli("run", demo_file(), "--db", db, "--as-of", AS_OF).exit_code == 0
    before = table_rows(db)
    changed = demo_copy(tmp_path, **{"ACC-1002": {"csat": 2.2, "open_tickets": 6}})

    result = cli("run", changed, "--db", db, "--as-of", AS_OF, "--format", "jsonl")

    assert result.exit_code == 0, result.stderr
    assert "1 new or changed, 4 unchanged" in result.stderr
    after = table_rows(db)
    connection = open_db(db)
    new_run = connection.execute(
        "SELECT run_id FROM runs WHERE source = ?", (str(changed),)
    ).fetchone()[0]
    for table in TABLES:
        gone, added = before[table] - after[table], after[table] - before[table]
        if table == "runs":
            assert gone == set() and [r[0] for r in added] == [new_run]
            continue
        columns = [d[0] for d in connection.execute(f"SELECT * FROM {table}").description]
        if "account_id" not in columns:
            assert gone == added == set(), table
            continue
        at = columns.index("account_id")
        assert {r[at] for r in gone | added} <= {"ACC-1002"}, table
    assert {r[1] for r in after["snapshots"] - before["snapshots"]} == {AS_OF}
    row = connection.execute(
        "SELECT document(record_json), run_id FROM snapshots WHERE account_id = 'ACC-1002'"
    ).fetchone()
    assert json.loads(row[0])["csat"] == pytest.approx(2.2) and row[1] == new_run
    assert counts(connection)["snapshots"] == 5 and consistency_problems(connection) == []
    connection.close()


def test_a_second_date_adds_rows_and_prints_trend_notes(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    assert cli("run", demo_file(), "--db", db, "--as-of", AS_OF).exit_code == 0
    later = demo_copy(tmp_path, **WEEK_LATER)

    result = cli("run", later, "--db", db, "--as-of", LATER, "--format", "json")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["as_of"], document["recorded"], document["unchanged"]) == (LATER, 5, 0)
    connection = open_db(db)
    found = counts(connection)
    assert found["snapshots"] == found["assessments"] == found["measurement_events"] == 10
    assert found["runs"] == 2 and consistency_problems(connection) == []
    steady = load_policy().history.trend_steady_within
    scored = {
        (r["account_id"], r["as_of"]): r
        for r in connection.execute(
            "SELECT account_id, as_of, score, band, dimensions FROM assessments"
        )
    }
    connection.close()
    arrows = set()
    for note in document["trends"]:
        now, then = scored[(note["account_id"], LATER)], scored[(note["account_id"], AS_OF)]
        assert (note["as_of"], note["previous_as_of"]) == (LATER, AS_OF)
        assert (note["score"], note["previous_score"]) == (now["score"], then["score"])
        assert note["delta"] == now["score"] - then["score"]
        assert (note["band"], note["previous_band"]) == (now["band"], then["band"])
        assert note["band_changed"] == (now["band"] != then["band"])
        dims_now, dims_then = json.loads(now["dimensions"]), json.loads(then["dimensions"])
        assert {d["dimension"] for d in note["dimensions"]} == set(dims_now) | set(dims_then)
        for d in note["dimensions"]:
            delta = dims_now[d["dimension"]] - dims_then[d["dimension"]]
            assert (d["score"], d["previous"], d["delta"]) == (
                dims_now[d["dimension"]],
                dims_then[d["dimension"]],
                delta,
            )
            expected = STEADY if abs(delta) < steady or delta == 0 else UP if delta > 0 else DOWN
            assert d["arrow"] == expected
            arrows.add(d["arrow"])
    northwind = next(n for n in document["trends"] if n["account_id"] == "ACC-1001")
    greensprout = next(n for n in document["trends"] if n["account_id"] == "ACC-1002")
    assert northwind["delta"] < 0 and greensprout["delta"] > 0
    assert (greensprout["previous_band"], greensprout["band"]) == ("yellow", "green")
    assert greensprout["band_changed"] and "band yellow → green" in greensprout["note"]
    assert arrows == {UP, DOWN, STEADY}


#: Northwind, three weekly snapshots: logins slide, then sentiment and support break
#: (hard enough that the fall clears score_drop even with history smoothing).
SLIDING = [
    ("2026-11-09", {"logins_30d": 1900, "active_users": 150}),
    ("2026-11-16", {"logins_30d": 1500, "active_users": 140}),
    (
        "2026-11-23",
        {
            "logins_30d": 1100,
            "active_users": 120,
            "csat": 1.0,
            "nps": -90,
            "features_adopted": 1,
            "open_tickets": 12,
        },
    ),
]


def test_run_raises_trend_flags_from_the_recorded_history(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    for day, change in SLIDING:
        path = demo_copy(tmp_path, f"{day}.json", **{"ACC-1001": change})
        result = cli("run", path, "--db", db, "--as-of", day, "--format", "json")
        assert result.exit_code == 0, result.stderr
    note = next(t for t in json.loads(result.stdout)["trends"] if t["account_id"] == "ACC-1001")
    assert note["trend_flags"] == ["score_drop", "usage_declining"]
    assert note["note"].endswith("Trend flags: score_drop, usage_declining.")

    connection = open_db(db)
    rows = connection.execute(
        "SELECT as_of, score, flags, dimensions, document(assessment_json) AS assessment_json "
        "FROM assessments "
        "WHERE account_id = 'ACC-1001' ORDER BY as_of"
    ).fetchall()
    usage = [json.loads(r["dimensions"])["usage"] for r in rows]
    assert usage[0] > usage[1] > usage[2]
    assert rows[1]["score"] - rows[2]["score"] >= load_policy().history.score_drop_points
    flags = [set(json.loads(r["flags"])) for r in rows]
    assert not flags[0] & {"score_drop", "usage_declining"}
    assert {"score_drop", "usage_declining"} <= flags[2]
    latest = json.loads(rows[2]["assessment_json"])
    assert latest["trend"] == {
        "previous_as_of": "2026-11-16",
        "previous_score": rows[1]["score"],
        "delta": rows[2]["score"] - rows[1]["score"],
        "snapshots": 2,
    }
    reasons = connection.execute(
        "SELECT reasons FROM review_tasks WHERE account_id = 'ACC-1001' AND as_of = '2026-11-23'"
    ).fetchone()[0]
    assert any(reason.startswith("Score drop") for reason in json.loads(reasons))
    notify = connection.execute(
        "SELECT document(action_json) FROM actions WHERE account_id = 'ACC-1001' "
        "AND as_of = '2026-11-23' AND action = 'notify_owner_slack'"
    ).fetchone()[0]
    assert "score_drop" in json.loads(notify)["evidence"][0]
    connection.close()


def test_an_account_listed_twice_is_recorded_once_and_the_second_row_refused(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.sqlite3"
    assert cli("run", demo_file(), "--db", db, "--as-of", AS_OF).exit_code == 0
    data = json.loads(demo_file().read_text(encoding="utf-8"))
    data["accounts"].append(dict(data["accounts"][0]))
    twice = tmp_path / "twice.json"
    twice.write_text(json.dumps(data), encoding="utf-8")

    result = cli("run", twice, "--db", db, "--as-of", LATER, "--format", "json")

    assert result.exit_code == 3
    assert "account_id 'ACC-1001' appears again (first at row 1)" in result.stderr
    notes = [t for t in json.loads(result.stdout)["trends"] if t["account_id"] == "ACC-1001"]
    assert [n["previous_as_of"] for n in notes] == [AS_OF]


def test_assess_alone_has_no_history_and_raises_no_trend_flag(tmp_path: Path) -> None:
    result = cli("assess", demo_file(), "--as-of", AS_OF, "--format", "json")

    assessments = json.loads(result.stdout)["assessments"]
    assert {a["trend"] is None for a in assessments} == {True}
    assert not {f["code"] for a in assessments for f in a["flags"]} & {
        "score_drop",
        "usage_declining",
    }


def test_trend_notes_in_markdown_and_jsonl(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    assert cli("run", demo_file(), "--db", db, "--as-of", AS_OF).exit_code == 0
    later = demo_copy(tmp_path, **WEEK_LATER)
    markdown = cli("run", later, "--db", db, "--as-of", LATER, "--format", "md")
    assert markdown.exit_code == 0, markdown.stderr

    connection = open_db(db)
    now, then = (
        connection.execute(
            "SELECT score, dimensions FROM assessments WHERE account_id = 'ACC-1001' AND as_of = ?",
            (day,),
        ).fetchone()
        for day in (LATER, AS_OF)
    )
    connection.close()
    section = markdown.stdout.split("### Health trend: ")[1]
    assert section.startswith("Northwind Logistics\n")
    assert f"Score {now[0]}, down {then[0] - now[0]} since {AS_OF}" in section
    usage_now, usage_then = json.loads(now[1])["usage"], json.loads(then[1])["usage"]
    assert f"| usage | {usage_now} | {usage_then} | ↓ {usage_now - usage_then:+d} |" in section
    assert markdown.stdout.count("### Health trend: ") == 5

    # The same run again as JSON Lines: nothing to do, nothing printed.
    again = cli("run", later, "--db", db, "--as-of", LATER, "--format", "jsonl")
    assert again.exit_code == 0 and again.stdout == "" and "already recorded" in again.stderr
    third = demo_copy(tmp_path, "third.json", **WEEK_LATER)
    notes = cli("run", third, "--db", db, "--as-of", "2026-12-07", "--format", "jsonl")
    lines = [json.loads(line) for line in notes.stdout.splitlines()]
    assert [n["previous_as_of"] for n in lines] == [LATER] * 5
    assert all(n["delta"] is not None for n in lines)


def test_run_defaults_to_the_account_health_db_path(tmp_path: Path) -> None:
    db = tmp_path / "from-env" / "history.sqlite3"
    result = cli("run", demo_file(), "--as-of", AS_OF, env={"ACCOUNT_HEALTH_DB": str(db)})
    assert result.exit_code == 0, result.stderr
    assert counts(open_db(db))["assessments"] == 5


def test_run_needs_a_file(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    missing = cli("run", tmp_path / "nope.csv", "--db", db, "--as-of", AS_OF)
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    stdin = cli("run", "-", "--db", db, "--as-of", AS_OF)
    assert stdin.exit_code == 2 and "standard input" in stdin.stderr


# -- subprocesses: kill -9 and runs at the same time -----------------------------------------


def run_command(csv_path: Path, db: Path, as_of: str = AS_OF) -> list[str]:
    return [
        sys.executable,
        "-m",
        "skill",
        "run",
        str(csv_path),
        "--db",
        str(db),
        "--as-of",
        as_of,
        "--format",
        "jsonl",
    ]


def recorded(db: Path, table: str = "assessments") -> int | None:
    """Rows committed so far, read through a separate read-only connection."""
    if not db.exists():
        return None
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.OperationalError:  # not created or not migrated yet
        return None


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


def children(pid: int) -> list[int]:
    """The processes `pid` started (Linux /proc), e.g. a run's workers."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def alive(pid: int) -> bool:
    """Running, not merely a zombie no parent reaped (a container's init may not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def kill_mid_run(csv_path: Path, db: Path, n: int, tmp_path: Path) -> str:
    """Start a run, SIGKILL it once 1,000+ (not all) assessments are in: "killed" or "finished"."""
    with (tmp_path / "killed.stderr").open("w") as stderr:
        process = subprocess.Popen(
            run_command(csv_path, db), stdout=subprocess.DEVNULL, stderr=stderr, cwd=tmp_path
        )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                assert process.returncode == 0, (tmp_path / "killed.stderr").read_text()
                return "finished"
            done = recorded(db)
            if done is not None and 1_000 <= done < n:
                workers = children(process.pid)
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
                # Worker processes of a killed run do not linger.
                gone_by = time.monotonic() + 10
                while any(alive(pid) for pid in workers):
                    assert time.monotonic() < gone_by, f"workers {workers} outlived the run"
                    time.sleep(0.1)
                return "killed" if process.returncode == -signal.SIGKILL else "finished"
            time.sleep(0.02)
        pytest.fail(f"no 1,000 assessments recorded within 90 s (recorded: {recorded(db)})")
    finally:
        stop(process)


@pytest.mark.slow
def test_a_reader_that_goes_away_stops_the_notes_not_the_recording(tmp_path: Path) -> None:
    """`run FILE | head -1`: every account is still recorded, the run completed, exit 0."""
    n = 3 * BATCH_SIZE  # three batches; the notes fill the pipe long before the end
    csv_path = write_accounts(tmp_path / "accounts.csv", n)
    db = tmp_path / "history.sqlite3"
    process = subprocess.Popen(
        run_command(csv_path, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        first = json.loads(process.stdout.readline())
        process.stdout.close()  # the reader goes away
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=120) == 0, stderr
    finally:
        stop(process)

    assert first["account_id"] == "ACC-0000001"
    assert f"{n} new or changed, 0 unchanged" in stderr and "Traceback" not in stderr
    connection = open_db(db)
    assert counts(connection)["assessments"] == n
    run = connection.execute("SELECT completed_at, assessed FROM runs").fetchone()
    assert run["completed_at"] is not None and run["assessed"] == n
    connection.close()


@pytest.mark.slow
def test_kill_9_mid_run_leaves_the_database_consistent_and_the_rerun_completes(
    tmp_path: Path,
) -> None:
    # 10,000 accounts (a 135 MB database): each run takes several seconds on this
    # 2-core box, so the kill lands after the first 1,000 and long before the end.
    # (20,000 took 47 s for this test alone, mostly disk writes and the rerun.)
    n = 10_000
    for _ in range(2):
        csv_path = write_accounts(tmp_path / f"accounts-{n}.csv", n)
        db = tmp_path / f"history-{n}.sqlite3"
        if kill_mid_run(csv_path, db, n, tmp_path) == "killed":
            break
        n *= 4  # the run finished before the kill landed: try a bigger file once
    else:
        pytest.fail(f"the run always finished before it could be killed (last N = {n // 4})")

    connection = open_db(db)
    run = connection.execute("SELECT * FROM runs").fetchone()
    assert run["completed_at"] is None, "the kill must land mid-run"
    found = counts(connection)
    assert found["runs"] == 1
    assert 1_000 <= found["snapshots"] < n
    assert found["snapshots"] == found["assessments"] == found["measurement_events"]
    assert found["snapshots"] % 500 == 0, "whole batches only"
    assert consistency_problems(connection) == []
    before_kill = {
        tuple(r) for r in connection.execute("SELECT * FROM assessments ORDER BY account_id")
    }
    connection.close()

    rerun = subprocess.run(
        run_command(csv_path, db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        timeout=240,
        check=False,
    )

    assert rerun.returncode == 0, rerun.stderr
    kept = found["snapshots"]
    assert f"{n - kept} new or changed, {kept} unchanged" in rerun.stderr
    connection = open_db(db)
    found = counts(connection)
    assert found["snapshots"] == found["assessments"] == found["measurement_events"] == n
    assert consistency_problems(connection) == []
    ids = {r[0] for r in connection.execute("SELECT account_id FROM snapshots")}
    assert ids == ids_in(csv_path), "nothing lost, nothing extra"
    assert (
        connection.execute("SELECT COUNT(DISTINCT account_id) FROM assessments").fetchone()[0] == n
    )
    run = connection.execute("SELECT * FROM runs").fetchone()
    assert found["runs"] == 1 and run["completed_at"] is not None and run["assessed"] == n
    after = {tuple(r) for r in connection.execute("SELECT * FROM assessments")}
    assert before_kill <= after, "rows recorded before the kill were left as they were"
    connection.close()


def race(folder: Path, first: Path, second: Path) -> tuple[Path, list[Path], bool]:
    """Four runs started at once on a database that does not exist yet; whether the
    first two were seen writing at the same time, and each run's stderr."""
    folder.mkdir()
    db = folder / "history.sqlite3"  # does not exist yet: the runs also race to create it
    commands = [
        run_command(first, db),
        run_command(second, db),
        run_command(first, db, LATER),
        run_command(first, db),  # the very same run as the first, at the same time
    ]
    logs = [folder / f"run-{i}.stderr" for i in range(len(commands))]
    processes = []
    try:
        for command, log in zip(commands, logs, strict=True):
            with log.open("w") as stderr:
                processes.append(
                    subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, cwd=folder)
                )
        overlapped = False
        deadline = time.monotonic() + 180
        while any(p.poll() is None for p in processes):
            assert time.monotonic() < deadline, "runs still going after 180 s"
            if not overlapped and all(p.poll() is None for p in processes[:2]):
                overlapped = both_prefixes_written(db)
            time.sleep(0.02)
    finally:
        for process in processes:
            stop(process)
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log.read_text()
    return db, logs, overlapped


def both_prefixes_written(db: Path) -> bool:
    connection = None
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        by_prefix = dict(
            connection.execute(
                "SELECT substr(account_id, 1, 3), COUNT(*) FROM assessments GROUP BY 1"
            ).fetchall()
        )
        return by_prefix.get("AAA", 0) > 0 and by_prefix.get("BBB", 0) > 0
    except sqlite3.OperationalError:
        return False
    finally:
        if connection is not None:
            connection.close()


@pytest.mark.slow
def test_runs_at_the_same_time_do_not_corrupt_the_database(tmp_path: Path) -> None:
    # Three write transactions each, so the runs can interleave: with two, a fast run
    # often finished before a slower one wrote on a busy machine.
    n = 3 * BATCH_SIZE
    first = write_accounts(tmp_path / "first.csv", n, prefix="AAA", seed=11)
    second = write_accounts(tmp_path / "second.csv", n, prefix="BBB", seed=12)
    # On a busy machine one run can still finish before the other writes: race again.
    for attempt in range(3):
        db, logs, overlapped = race(tmp_path / f"attempt-{attempt}", first, second)
        if overlapped:
            break
    assert overlapped, "the two runs never wrote at the same time, in three races"
    connection = open_db(db)
    found = counts(connection)
    assert found["snapshots"] == found["assessments"] == found["measurement_events"] == 3 * n
    assert consistency_problems(connection) == []
    assert found["runs"] == 3  # the duplicate run registered once
    assert connection.execute("SELECT COUNT(completed_at) FROM runs").fetchone()[0] == 3
    per_date = dict(
        connection.execute("SELECT as_of, COUNT(*) FROM snapshots GROUP BY as_of").fetchall()
    )
    assert per_date == {AS_OF: 2 * n, LATER: n}
    ids = {r[0] for r in connection.execute("SELECT account_id FROM snapshots")}
    assert ids == ids_in(first) | ids_in(second)
    versions = [r[0] for r in connection.execute("SELECT version FROM schema_migrations")]
    assert versions == sorted(set(versions))  # each migration applied once
    connection.close()
    notes = [log.read_text() for log in logs]
    duplicate = notes[3]
    assert "already recorded" in duplicate or "recorded run" in duplicate


def test_a_run_leaves_the_garbage_collectors_threshold_as_it_found_it(tmp_path: Path) -> None:
    """A run collects less often while it holds its batches, and only while it runs."""
    import gc

    before = gc.get_threshold()
    result = cli("run", demo_file(), "--db", tmp_path / "history.sqlite3", "--as-of", AS_OF)

    assert result.exit_code == 0, result.stderr
    assert gc.get_threshold() == before


def test_stored_documents_are_the_models_own_json_on_generated_accounts(tmp_path: Path) -> None:
    """What `run` stores for each account is byte for byte what the models write (the
    store serialises with orjson, the models with pydantic): the input record, the
    assessment, and the measurement event inside it."""
    from datetime import date

    from skill.pipeline import AssessmentStream
    from skill.store.documents import measurement_event
    from skill.store.history import prepare
    from skill.vocabulary import AutomationLevel

    path = write_accounts(tmp_path / "accounts.csv", 1000, seed=5)
    stream = AssessmentStream(
        path, policy=load_policy(), as_of=date(2026, 11, 23), level=AutomationLevel.BALANCED
    )
    differ, seen = [], 0
    for record, a in stream.pairs():
        seen += 1
        p = prepare(record, a, "run")
        stored = (p.snapshot[2], p.assessment[17], measurement_event(p.assessment[17]))
        expected = (
            record.model_dump_json(),
            a.model_dump_json(),
            a.measurement_event.model_dump_json(),
        )
        if stored != expected:
            differ.append(a.account_id)
    assert seen == 1000 and differ == []


def test_jsonl_trend_notes_are_the_models_own_json_on_generated_accounts(tmp_path: Path) -> None:
    """`run --format jsonl` writes each trend note from plain values: byte for byte what
    the note's model writes, with no history, against an earlier assessment, and against
    one with no score or with a dimension fewer."""
    from datetime import date

    from skill.assessment import PriorAssessment
    from skill.pipeline import AssessmentStream
    from skill.store.trends import Current, trend_note, trend_note_line
    from skill.vocabulary import AutomationLevel

    policy = load_policy()
    path = write_accounts(tmp_path / "accounts.csv", 400, seed=11)
    stream = AssessmentStream(
        path, policy=policy, as_of=date(2026, 11, 23), level=AutomationLevel.BALANCED
    )
    differ, seen = [], 0
    for index, (_, a) in enumerate(stream.pairs()):
        seen += 1
        dimensions = {d.dimension.value: d.score + index % 7 - 3 for d in a.dimensions}
        if index % 5 == 0 and dimensions:
            dimensions.pop(next(iter(dimensions)))
        earlier = PriorAssessment(
            as_of=date(2026, 11, 16),
            score=None if index % 9 == 0 else max(0, min(100, (a.score or 0) + index % 11 - 5)),
            band="amber" if index % 2 else a.band.value,
            dimensions=dimensions,
        )
        for previous in (None, earlier):
            for current in (a, Current.of(a)):
                line = trend_note_line(current, previous, policy.history)
                if line != trend_note(current, previous, policy.history).model_dump_json() + "\n":
                    differ.append(a.account_id)
    assert seen == 400 and differ == []
