"""The outbox: listing, decisions (who, when, why), and export of ready-to-send payloads.

The database is filled the way a run fills it: `record_assessments` with the
five demo accounts assessed on 2026-11-23 (balanced). At that level the demo
has auto, approval_required and recommend_only actions but nothing blocked,
so a policy override blocks Slack notifications for mid-market accounts where
a test needs a blocked action.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from weekly_history import record_weeks, weeks

from skill import assess
from skill.assessment import Assessment
from skill.cli import app
from skill.demo import demo_file
from skill.policy import Policy, deep_merge, default_policy_data
from skill.record import AccountRecord
from skill.store import outbox
from skill.store.db import HistoryConnection, connect, migrate
from skill.store.history import RunInfo, idempotency_key, record_assessments, start_run
from skill.store.outbox import OutboxError
from skill.vocabulary import ActionStatus

AS_OF = date(2026, 11, 23)
BLOCK_SLACK = {"gate": {"matrix": {"notify_owner_slack": {"mid_market": "blocked"}}}}


def demo_records(**changes: dict[str, Any]) -> list[AccountRecord]:
    """The demo accounts; `changes={"ACC-1001": {"name": ...}}` edits one."""
    rows = json.loads(demo_file().read_text(encoding="utf-8"))["accounts"]
    return [
        AccountRecord.model_validate({**row, **changes.get(row["account_id"], {})}) for row in rows
    ]


def record(
    connection: sqlite3.Connection,
    records: list[AccountRecord],
    policy: Policy | None = None,
    run_id: str = "run-1",
) -> list[Assessment]:
    run = assess(records, as_of=AS_OF, policy=policy)
    start_run(
        connection,
        RunInfo(run_id, AS_OF, "balanced", run.policy_version, "demo", f"hash-{run_id}"),
    )
    record_assessments(connection, run_id, zip(records, run.assessments, strict=True))
    return run.assessments


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


@pytest.fixture
def conn(db_path: Path):
    connection = connect(db_path)
    record(connection, demo_records())
    yield connection
    connection.close()


@pytest.fixture
def blocked_conn(tmp_path: Path):
    connection = connect(tmp_path / "blocked.sqlite3")
    policy = Policy.model_validate(deep_merge(default_policy_data(), BLOCK_SLACK))
    record(connection, demo_records(), policy=policy)
    yield connection
    connection.close()


def key(account: str, action: str) -> str:
    return idempotency_key(account, action, AS_OF)


def statuses(connection: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in connection.execute("SELECT action_key, status FROM actions")}


def decisions(connection: sqlite3.Connection) -> list[sqlite3.Row]:
    return connection.execute("SELECT * FROM action_decisions ORDER BY decision_id").fetchall()


# -- list ---------------------------------------------------------------------------


def test_list_everything_in_a_stable_order(conn):
    items = outbox.list_actions(conn)
    assert len(items) == 22
    order = [(i.as_of, i.account_id, i.action) for i in items]
    assert order == sorted(order)
    first = items[0]
    assert first.account_name == "Northwind Logistics"
    assert first.action_key == key(first.account_id, first.action)
    assert first.label and first.evidence


def test_list_initial_states_follow_the_engine_status(conn):
    pairs = {(i.status.value, i.state) for i in outbox.list_actions(conn)}
    assert pairs == {
        ("auto", "ready"),
        ("approval_required", "pending"),
        ("recommend_only", "recommended"),
    }


def test_list_filters(conn):
    required = outbox.list_actions(conn, status="approval_required")
    assert required and all(i.status is ActionStatus.APPROVAL_REQUIRED for i in required)
    assert {i.account_id for i in required} == {"ACC-1002", "ACC-1003", "ACC-1004", "ACC-1005"}

    pending = outbox.list_actions(conn, state="pending")
    assert [i.action_key for i in pending] == [i.action_key for i in required]

    morgan = outbox.list_actions(conn, owner="morgan lee")  # names match case-insensitively
    assert {i.action for i in morgan} == {
        "notify_owner_slack",
        "schedule_checkpoint",
        "send_checkin_email",
    }
    assert {i.account_id for i in morgan} == {"ACC-1004"}
    by_role = outbox.list_actions(conn, owner="cs_ops")
    assert {i.action for i in by_role} == {"update_health_score"}
    assert len(by_role) == 5

    one = outbox.list_actions(conn, account="ACC-1003", status=ActionStatus.AUTO)
    assert [i.action for i in one] == [
        "notify_owner_slack",
        "schedule_checkpoint",
        "update_health_score",
    ]
    assert outbox.list_actions(conn, account="ACC-NONE") == []


@pytest.mark.parametrize(("field", "value"), [("status", "maybe"), ("state", "done")])
def test_list_rejects_unknown_filter_values(conn, field: str, value: str):
    with pytest.raises(OutboxError, match=value):
        outbox.list_actions(conn, **{field: value})


# -- decisions ----------------------------------------------------------------------


def test_approve_records_who_when_why_and_never_the_status(conn):
    before = statuses(conn)
    target = key("ACC-1004", "send_checkin_email")
    item = outbox.approve(conn, target, by="Morgan Lee", reason="Champion asked for it")
    assert item.state == "approved"
    assert item.status is ActionStatus.APPROVAL_REQUIRED
    assert item.decision is not None
    assert item.decision.decision == "approve"
    assert item.decision.decided_by == "Morgan Lee"
    assert item.decision.reason == "Champion asked for it"
    [row] = decisions(conn)
    assert (row["action_key"], row["decision"], row["decided_by"], row["reason"]) == (
        target,
        "approve",
        "Morgan Lee",
        "Champion asked for it",
    )
    assert row["decided_at"].endswith("+00:00")  # wall-clock UTC, ISO 8601
    assert date.fromisoformat(row["decided_at"][:10]) >= date(2025, 1, 1)
    assert statuses(conn) == before
    assert [i.action_key for i in outbox.list_actions(conn, state="approved")] == [target]


def test_approve_without_reason_and_by_prefix(conn):
    target = key("ACC-1002", "add_to_onboarding_recovery")
    item = outbox.approve(conn, target[:8].upper(), by="Sam Okafor")
    assert item.action_key == target
    assert item.decision is not None and item.decision.reason is None


def test_reject_requires_a_reason_and_records_it(conn):
    target = key("ACC-1003", "escalate_to_specialist")
    for reason in ("", "   "):
        with pytest.raises(OutboxError, match="reason"):
            outbox.reject(conn, target, by="Priya Natarajan", reason=reason)
    assert decisions(conn) == []
    item = outbox.reject(conn, target, by="Priya Natarajan", reason="Support owns this one")
    assert (item.state, item.status) == ("rejected", ActionStatus.APPROVAL_REQUIRED)
    assert [(r["decision"], r["reason"]) for r in decisions(conn)] == [
        ("reject", "Support owns this one")
    ]


def test_a_decision_needs_a_name(conn):
    with pytest.raises(OutboxError, match="--by"):
        outbox.approve(conn, key("ACC-1004", "send_checkin_email"), by="  ")
    assert decisions(conn) == []


def test_blocked_cannot_be_approved_or_rejected(blocked_conn):
    before = statuses(blocked_conn)
    [blocked] = outbox.list_actions(blocked_conn, status="blocked", account="ACC-1001")
    assert (blocked.action, blocked.state) == ("notify_owner_slack", "blocked")
    with pytest.raises(OutboxError) as caught:
        outbox.approve(blocked_conn, blocked.action_key, by="Dana Reyes")
    message = str(caught.value)
    for part in (blocked.action_key, "notify_owner_slack", "status blocked", "state blocked"):
        assert part in message
    with pytest.raises(OutboxError, match="blocked"):
        outbox.reject(blocked_conn, blocked.action_key, by="Dana Reyes", reason="no")
    assert decisions(blocked_conn) == []
    assert statuses(blocked_conn) == before
    assert outbox.get_action(blocked_conn, blocked.action_key).state == "blocked"


def test_recommend_only_cannot_be_approved(conn):
    target = key("ACC-1001", "create_discount_request")
    with pytest.raises(OutboxError, match=r"recommend_only.*cannot be approved into automation"):
        outbox.approve(conn, target, by="Dana Reyes")
    with pytest.raises(OutboxError, match="recommend_only"):
        outbox.reject(conn, target, by="Dana Reyes", reason="not needed")
    assert outbox.get_action(conn, target).state == "recommended"
    assert decisions(conn) == []


def test_auto_takes_no_decision(conn):
    with pytest.raises(OutboxError, match="auto"):
        outbox.approve(conn, key("ACC-1001", "notify_owner_slack"), by="Dana Reyes")


def test_a_second_decision_is_refused(conn):
    target = key("ACC-1004", "notify_owner_slack")
    outbox.approve(conn, target, by="Morgan Lee")
    with pytest.raises(OutboxError, match="already approved by Morgan Lee"):
        outbox.approve(conn, target, by="Someone Else")
    with pytest.raises(OutboxError, match="already approved"):
        outbox.reject(conn, target, by="Someone Else", reason="changed my mind")
    assert len(decisions(conn)) == 1
    assert outbox.get_action(conn, target).decision.decided_by == "Morgan Lee"


def test_unknown_short_and_ambiguous_ids(conn):
    with pytest.raises(OutboxError, match="no action with id"):
        outbox.approve(conn, "0" * 12, by="x")
    with pytest.raises(OutboxError, match="at least 8"):
        outbox.approve(conn, "abc", by="x")
    row = dict(conn.execute("SELECT * FROM actions LIMIT 1").fetchone())
    for suffix in ("1", "2"):
        conn.execute(
            "INSERT INTO actions VALUES (:action_key, :account_id, :as_of, :action, :kind, "
            ":sensitivity, :owner, :owner_name, :priority, :due_date, :status, :state, "
            ":action_json, :exported_at, :last_proposed, :superseded_by)",
            {**row, "action_key": "feedface" + suffix * 24, "as_of": "2026-01-0" + suffix},
        )
    with pytest.raises(OutboxError, match="ambiguous"):
        outbox.resolve_key(conn, "feedface")
    assert outbox.resolve_key(conn, "feedface1") == "feedface" + "1" * 24


def test_rerecording_keeps_decisions(conn):
    approved = key("ACC-1004", "send_checkin_email")
    rejected = key("ACC-1004", "schedule_checkpoint")
    outbox.approve(conn, approved, by="Morgan Lee")
    outbox.reject(conn, rejected, by="Morgan Lee", reason="Already booked")
    exported = [p.idempotency_key for p in outbox.export(conn)]
    before = {i.action_key: (i.state, i.exported_at) for i in outbox.list_actions(conn)}

    record(conn, demo_records(), run_id="run-1")  # the same input: nothing changes
    # A changed record re-writes its actions; decided ones keep their decision.
    changed = demo_records(**{"ACC-1004": {"notes": "Renewal call booked for Friday."}})
    record(conn, changed, run_id="run-2")

    after = {i.action_key: (i.state, i.exported_at) for i in outbox.list_actions(conn)}
    assert after == before
    assert after[approved][0] == "approved" and after[rejected][0] == "rejected"
    assert len(decisions(conn)) == 2
    assert approved in exported
    assert list(outbox.export(conn)) == []


def stored_action(connection: sqlite3.Connection, action_key: str) -> dict[str, Any]:
    row = connection.execute(
        "SELECT document(action_json) FROM actions WHERE action_key = ?", (action_key,)
    ).fetchone()
    return json.loads(row[0])


def test_an_undecided_action_row_holds_label_and_evidence_only(conn):
    """The whole action, with its policy trace, is in the assessment; not twice."""
    stored = stored_action(conn, key("ACC-1004", "send_checkin_email"))

    assert set(stored) == {"label", "evidence"}
    assert stored["label"] == "Send check-in email" and stored["evidence"]


def test_a_decision_keeps_the_whole_action_through_a_corrected_snapshot(conn):
    """Decided under one assessment, it keeps that assessment's trace after a correction
    stops triggering it."""
    target = key("ACC-1004", "send_checkin_email")
    [assessment] = [a for a in record(conn, demo_records()) if a.account_id == "ACC-1004"]
    whole = next(a for a in assessment.actions if a.action == "send_checkin_email")
    outbox.approve(conn, target, by="Morgan Lee")

    corrected = {
        "ACC-1004": {"last_exec_touch_date": "2026-11-20", "last_customer_reply_date": "2026-11-20"}
    }
    after = record(conn, demo_records(**corrected), run_id="run-2")

    assert "send_checkin_email" not in {
        a.action for a in after if a.account_id == "ACC-1004" for a in a.actions
    }
    assert stored_action(conn, target) == whole.model_dump(mode="json")
    assert outbox.get_action(conn, target).state == "approved"


def test_an_exported_action_keeps_the_whole_action_it_was_sent_as(conn):
    payloads = list(outbox.export(conn))
    sent = payloads[0]

    stored = stored_action(conn, sent.idempotency_key)

    assert stored["action"] == sent.action and stored["status"] == sent.status.value
    assert [d["layer"] for d in stored["policy_trace"]]


# -- export ---------------------------------------------------------------------------


def test_export_auto_and_approved_only(conn):
    approved = key("ACC-1004", "notify_owner_slack")
    outbox.approve(conn, approved, by="Morgan Lee", reason="Flag it in Slack")
    outbox.reject(conn, key("ACC-1004", "send_checkin_email"), by="Morgan Lee", reason="Not now")
    payloads = list(outbox.export(conn))
    ready = {i.action_key for i in outbox.list_actions(conn, state="ready")}
    assert {p.idempotency_key for p in payloads} == ready | {approved}
    assert len(payloads) == len(ready) + 1
    order = [(p.as_of, p.account_id, p.action) for p in payloads]
    assert order == sorted(order)
    for p in payloads:
        assert p.idempotency_key == key(p.account_id, p.action)
        assert p.status in (ActionStatus.AUTO, ActionStatus.APPROVAL_REQUIRED)
    by_key = {p.idempotency_key: p for p in payloads}
    assert by_key[approved].approved_by == "Morgan Lee"
    assert by_key[approved].approved_at is not None
    assert by_key[key("ACC-1001", "notify_owner_slack")].approved_by is None
    assert all(i.exported_at for i in outbox.list_actions(conn, state="ready"))
    assert outbox.list_actions(conn, state="pending")[0].exported_at is None


def test_export_slack_block_kit(conn):
    [payload] = [
        p
        for p in outbox.export(conn)
        if p.account_id == "ACC-1003" and p.action == "notify_owner_slack"
    ]
    message = payload.model_dump(mode="json")["payload"]
    assert set(message) == {"text", "blocks"}
    assert "HarborView Manufacturing" in message["text"]
    header, section, context = message["blocks"]
    assert header["type"] == "header"
    assert header["text"]["type"] == "plain_text"
    assert "HarborView Manufacturing" in header["text"]["text"]
    assert len(header["text"]["text"]) <= 150
    assert section["type"] == "section"
    assert 1 <= len(section["fields"]) <= 10
    assert all(f["type"] == "mrkdwn" and len(f["text"]) <= 2000 for f in section["fields"])
    texts = "\n".join(f["text"] for f in section["fields"])
    assert "*Account*\nHarborView Manufacturing (ACC-1003)" in texts
    assert "*Score / band*\n44 / red" in texts
    assert "Major blocker" in texts and "Support spike" in texts
    assert "*Reason*\nThe account is red or carries a high-severity risk." in texts
    assert context["type"] == "context"
    [element] = context["elements"]
    assert element["type"] == "mrkdwn"
    assert payload.idempotency_key in element["text"]


def test_export_slack_escapes_mrkdwn(db_path: Path):
    connection = connect(db_path)
    name = "Tom & Jerry <Logistics>"
    record(connection, demo_records(**{"ACC-1001": {"name": name}}))
    [payload] = [
        p
        for p in outbox.export(connection)
        if p.idempotency_key == key("ACC-1001", "notify_owner_slack")
    ]
    message = payload.payload.model_dump()
    fields = "\n".join(f["text"] for f in message["blocks"][1]["fields"])
    assert "Tom &amp; Jerry &lt;Logistics&gt; (ACC-1001)" in fields
    assert "<Logistics>" not in fields and "<Logistics>" not in message["text"]
    assert message["blocks"][0]["text"]["text"] == f"Account health: {name}"  # plain_text
    connection.close()


def test_export_crm_update(conn):
    assessments = {a.account_id: a for a in assess(demo_records(), as_of=AS_OF).assessments}
    updates = [p for p in outbox.export(conn) if p.action == "update_health_score"]
    # ACC-1004's is pending (enterprise)
    assert {p.account_id for p in updates} == {"ACC-1001", "ACC-1002", "ACC-1003", "ACC-1005"}
    for p in updates:
        a = assessments[p.account_id]
        assert p.payload.model_dump(mode="json") == {
            "object": "account",
            "id": p.account_id,
            "fields": {
                "health_score": a.score,
                "health_band": a.band.value,
                "health_tier": a.tier.value,
                "health_confidence": a.confidence.value,
                "health_as_of": "2026-11-23",
            },
        }


def test_export_other_actions_are_tasks(conn):
    outbox.approve(conn, key("ACC-1003", "create_support_task"), by="Priya Natarajan")
    [task] = [p for p in outbox.export(conn) if p.action == "create_support_task"]
    assert task.payload.model_dump(mode="json") == {
        "type": "task",
        "title": "Create support task",
        "account_id": "ACC-1003",
        "account_name": "HarborView Manufacturing",
        "owner": "support_lead",
        "owner_role": "support_lead",
        "priority": "high",
        "due_date": "2026-11-25",
        "evidence": ["Support load needs a named owner. (flags major_blocker, support_spike)"],
    }


def test_second_export_returns_nothing_new(conn):
    first = list(outbox.export(conn))
    assert first
    assert list(outbox.export(conn)) == []
    outbox.approve(conn, key("ACC-1002", "add_to_onboarding_recovery"), by="Sam Okafor")
    [new] = list(outbox.export(conn))
    assert new.action == "add_to_onboarding_recovery" and new.approved_by == "Sam Okafor"
    again = list(outbox.export(conn, include_exported=True))
    assert {p.idempotency_key for p in again} == {p.idempotency_key for p in [*first, new]}
    assert len(again) == len(first) + 1
    order = [(p.as_of, p.account_id, p.action) for p in again]
    assert order == sorted(order)


def test_export_since(conn):
    assert list(outbox.export(conn, since=date(2026, 11, 24))) == []
    assert list(outbox.export(conn, since=AS_OF))


def test_export_failure_marks_nothing(conn):
    with pytest.raises(RuntimeError):
        for _ in outbox.export(conn):
            raise RuntimeError("downstream write failed")
    assert all(i.exported_at is None for i in outbox.list_actions(conn))
    total = len(list(outbox.export(conn)))
    assert total == len(outbox.list_actions(conn, state="ready"))


def test_export_batch_marks_only_what_was_handed_out(conn):
    with outbox.ExportBatch(conn) as batch:
        taken = []
        for payload in batch:
            taken.append(payload.idempotency_key)
            if len(taken) == 2:
                break
    exported = {i.action_key for i in outbox.list_actions(conn) if i.exported_at}
    assert exported == set(taken)


def test_export_never_includes_blocked_or_recommended(blocked_conn):
    keys = {p.idempotency_key for p in outbox.export(blocked_conn, include_exported=True)}
    for item in outbox.list_actions(blocked_conn):
        assert (item.action_key in keys) == (item.state == "ready")


# -- CLI ------------------------------------------------------------------------------


def cli(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_round_trip(conn, db_path: Path, tmp_path: Path):
    listed = cli(
        "actions",
        "list",
        "--status",
        "approval_required",
        "--owner",
        "Morgan Lee",
        "--format",
        "json",
        "--db",
        db_path,
    )
    assert listed.exit_code == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert document["count"] == 3
    target = next(a for a in document["actions"] if a["action"] == "notify_owner_slack")
    assert target["state"] == "pending"

    approved = cli(
        "actions",
        "approve",
        target["action_key"][:10],
        "--by",
        "Morgan Lee",
        "--reason",
        "Ping the team",
        "--format",
        "json",
        "--db",
        db_path,
    )
    assert approved.exit_code == 0, approved.stderr
    item = json.loads(approved.stdout)
    assert item["state"] == "approved" and item["status"] == "approval_required"
    assert item["decision"]["decided_by"] == "Morgan Lee"
    assert item["decision"]["reason"] == "Ping the team"

    again = cli("actions", "approve", target["action_key"], "--by", "X", "--db", db_path)
    assert again.exit_code == 2
    assert again.stdout == ""
    assert "already approved by Morgan Lee" in again.stderr

    email = key("ACC-1004", "send_checkin_email")
    rejected = cli(
        "actions",
        "reject",
        email,
        "--by",
        "Morgan Lee",
        "--reason",
        "Call first",
        "--format",
        "text",
        "--db",
        db_path,
    )
    assert rejected.exit_code == 0, rejected.stderr
    assert rejected.stdout.startswith(f"rejected {email} ")
    assert "Call first" in rejected.stdout

    out = tmp_path / "outbox.jsonl"
    exported = cli("actions", "export", "--out", out, "--db", db_path)
    assert exported.exit_code == 0, exported.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert target["action_key"] in {line["idempotency_key"] for line in lines}
    assert email not in {line["idempotency_key"] for line in lines}
    assert all(line["status"] in ("auto", "approval_required") for line in lines)
    assert f"exported {len(lines)} action(s)" in exported.stderr

    second = cli("actions", "export", "--db", db_path)
    assert second.exit_code == 0 and second.stdout == ""
    everything = cli("actions", "export", "--all", "--db", db_path)
    assert len(everything.stdout.splitlines()) == len(lines)

    table = cli("actions", "list", "--account", "ACC-1004", "--format", "table", "--db", db_path)
    assert table.exit_code == 0
    assert "approved (Morgan Lee) exported" in table.stdout
    assert "rejected (Morgan Lee)" in table.stdout


def test_cli_refusals_exit_2(blocked_conn, conn, db_path: Path, tmp_path: Path):
    blocked_db = tmp_path / "blocked.sqlite3"
    [blocked] = outbox.list_actions(blocked_conn, status="blocked", account="ACC-1001")
    cases = [
        (["approve", blocked.action_key, "--by", "Dana Reyes", "--db", blocked_db], "blocked"),
        (
            ["approve", key("ACC-1001", "send_checkin_email"), "--by", "Dana", "--db", db_path],
            "recommend_only",
        ),
        (["approve", "deadbeefdead", "--by", "Dana", "--db", db_path], "no action"),
        (["approve", key("ACC-1004", "send_checkin_email"), "--db", db_path], "--by"),
        (
            ["reject", key("ACC-1004", "send_checkin_email"), "--by", "M", "--db", db_path],
            "--reason",
        ),
        (["export", "--since", "yesterday", "--db", db_path], "--since"),
        (["list", "--state", "done", "--db", db_path], "--state"),
    ]
    for args, expected in cases:
        result = cli("actions", *args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert result.stdout == ""
    assert decisions(conn) == [] and decisions(blocked_conn) == []


def test_cli_db_defaults_to_the_environment(conn, db_path: Path, monkeypatch):
    monkeypatch.setenv("ACCOUNT_HEALTH_DB", str(db_path))
    result = cli("actions", "list", "--state", "pending", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["count"] == 9


@pytest.mark.parametrize("command", ["list", "approve", "reject", "export"])
def test_cli_help_has_an_example(command: str):
    result = cli("actions", command, "--help")
    assert result.exit_code == 0
    assert "Example: account-health actions" in " ".join(result.stdout.split())
    assert "--db" in result.stdout


def test_the_outbox_reads_back_the_same_after_its_unused_index_is_dropped(tmp_path: Path):
    """Migration 0015 drops an outbox index: a queue recorded and worked before it lists
    the same items, states and decisions after it, and what filters by state reads an
    index still."""
    path = tmp_path / "history.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None, factory=HistoryConnection)
    connection.row_factory = sqlite3.Row
    assert migrate(connection, up_to=14) == 14
    record_weeks(connection, 80, weeks(2))
    pending = outbox.list_actions(connection, state="pending")
    outbox.approve(connection, pending[0].action_key, by="Morgan Lee")
    outbox.reject(connection, pending[1].action_key, by="Morgan Lee", reason="not now")
    states = ("pending", "approved", "rejected", "superseded", "ready", "recommended", "blocked")
    before = {s: outbox.list_actions(connection, state=s) for s in states}
    connection.close()

    migrated = connect(path)
    after = {s: outbox.list_actions(migrated, state=s) for s in states}
    indexes = {
        r[0] for r in migrated.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    plan = migrated.execute(
        "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM actions WHERE state = 'pending' AND due_date < ?",
        ("2026-12-01",),
    ).fetchall()
    migrated.close()
    assert before["pending"] and before["approved"] and before["rejected"]
    assert after == before
    assert "actions_by_state_due" not in indexes
    assert "actions_by_state_owner" in " ".join(row[3] for row in plan)
