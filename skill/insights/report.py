"""The weekly portfolio report, read from the history database.

    report = portfolio_report(connection, policy, as_of=None, limit=25)
    print(render_markdown(report))

The report date is the latest ``as_of`` with recorded assessments, on or before
the `as_of` given (no clock: without one, simply the latest). Sections:

- Share of ARR by band: accounts and ARR per band at the report date (accounts
  without an ARR are counted, their ARR is not).
- Biggest movers: the ``measurement.report_movers`` accounts whose score moved
  most (by absolute change, then account id) since their previous assessment;
  an unchanged score is not a move.
- Attention: accounts that are red or yellow, or carry a high-severity flag,
  by ARR (largest first; unknown ARR last). Each row has ARR, renewal date,
  score and band, flags, owner and the next action: the account's
  highest-priority action at the report date that is not blocked (then
  earliest due, then id),
  with its gate status and its outbox state. Up to `limit` rows; the totals
  count every account.
- Executive briefing: at-risk accounts (band red) by ARR at stake, largest
  first (skill.insights.opportunity).
- Risk/opportunity matrix: accounts and ARR by band and opportunity flag, and
  each opportunity play with how many accounts it was proposed to or held from.
- Advocacy shortlist: accounts with the advocate flag, its evidence and the
  status of the advocacy ask.
- Open review queue: per account, its latest owner review task not yet done
  (older ones of the same account are counted as superseded), and actions
  waiting for a decision (outbox state ``pending``), by due date; overdue
  means due before the report date. Up to `limit` rows each. Accounts whose
  latest task the run's review budget deferred are listed apart, as "also at
  risk", ranked as the budget ranks them (risk x ARR by default).
- Calibration status: first `measure`'s verdict on the health score (the same
  sentence, from `skill.insights.measure.score_verdict`), then outcomes matched to an
  earlier assessment against what `account-health calibrate` needs per segment,
  and the last calibration run.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from collections import Counter
from datetime import date

from pydantic import BaseModel, Field

from skill.insights.measure import (
    OutcomesAfter,
    Verdict,
    load_observations,
    outcomes_after,
    score_verdict,
)
from skill.insights.opportunity import (
    AdvocacyShortlist,
    ExecutiveBriefing,
    RiskOpportunityMatrix,
    portfolio_pieces,
)
from skill.policy import Policy
from skill.record import Segment
from skill.store.history import idempotency_key
from skill.vocabulary import Band, Priority, Severity

__all__ = ["NoHistoryError", "PortfolioReport", "portfolio_report", "render_markdown"]


class NoHistoryError(LookupError):
    """No assessment is recorded on or before the date asked for."""


class BandShare(BaseModel):
    band: str
    accounts: int
    arr: float
    share_of_arr: float | None = Field(description="3 decimals; null when no account has ARR.")


class Mover(BaseModel):
    account_id: str
    name: str
    segment: str
    owner: str | None
    arr: float | None
    previous_as_of: date
    previous_score: int
    score: int
    delta: int
    previous_band: str
    band: str


class NextAction(BaseModel):
    action: str
    label: str
    priority: str
    due_date: date
    status: str = Field(description="The policy gate's status.")
    state: str | None = Field(description="The outbox state (pending, approved, ...).")


class AttentionRow(BaseModel):
    account_id: str
    name: str
    segment: str
    arr: float | None
    renewal_date: date | None
    score: int | None = Field(description="Null when the account has no data (band no_data).")
    band: str
    tier: str
    flags: list[str]
    high_severity_flags: list[str]
    owner: str | None
    next_action: NextAction | None


class ReviewTaskRow(BaseModel):
    account_id: str
    as_of: date
    owner: str
    due_date: date
    overdue: bool
    reasons: list[str]


class PendingAction(BaseModel):
    account_id: str
    as_of: date
    action: str
    owner: str
    priority: str
    due_date: date
    overdue: bool


class AlsoAtRiskRow(BaseModel):
    account_id: str
    as_of: date
    owner: str
    score: int | None
    arr: float | None
    reasons: list[str]


class ReviewQueue(BaseModel):
    review_tasks_open: int = Field(description="Accounts with an open review task.")
    review_tasks_overdue: int
    review_tasks_superseded: int = Field(
        description="Older tasks of the same accounts, open until a newer assessment of "
        "the account was recorded."
    )
    actions_pending: int
    actions_overdue: int
    review_tasks: list[ReviewTaskRow]
    pending_actions: list[PendingAction]
    also_at_risk_total: int = Field(
        default=0,
        description="Accounts whose latest review task the run's review budget deferred.",
    )
    also_at_risk: list[AlsoAtRiskRow] = Field(
        default=[], description="The largest of them by the budget's rank (risk x ARR)."
    )


class SegmentReadiness(BaseModel):
    segment: str
    outcomes: int
    churned: int
    needs_outcomes: int
    needs_churned: int


class LastCalibration(BaseModel):
    as_of: date
    created_at: str
    outcomes: int
    churned: int
    auc_before: float | None
    auc_after: float | None
    weights_path: str | None


class CalibrationStatus(BaseModel):
    verdict: Verdict = Field(description="measure's verdict on the health score, word for word.")
    outcomes: int = Field(description="Outcomes matched to an earlier assessment.")
    churned: int
    min_outcomes: int = Field(description="Needed per segment.")
    min_churned: int
    ready_segments: list[str]
    segments: list[SegmentReadiness]
    last: LastCalibration | None
    summary: str
    outcomes_after: OutcomesAfter


class PortfolioReport(BaseModel):
    as_of: date
    policy_version: str
    accounts: int
    arr_total: float
    accounts_without_arr: int
    arr_by_band: list[BandShare]
    movers: list[Mover]
    accounts_with_history: int = Field(description="Accounts with an earlier assessment.")
    attention_total: int
    attention_arr: float
    attention: list[AttentionRow]
    executive_briefing: ExecutiveBriefing = Field(
        description="At-risk accounts (band red) by ARR at stake, largest first."
    )
    risk_opportunity_matrix: RiskOpportunityMatrix = Field(
        description="Accounts and ARR by risk (band) and opportunity (opportunity flags), "
        "with the opportunity plays."
    )
    advocacy_shortlist: AdvocacyShortlist = Field(
        description="Accounts with the advocate flag and the status of the advocacy ask."
    )
    review_queue: ReviewQueue
    calibration: CalibrationStatus
    limit: int


# -- building -----------------------------------------------------------------------


def report_date(connection: sqlite3.Connection, as_of: date | None) -> date:
    if as_of is None:
        row = connection.execute("SELECT MAX(as_of) FROM assessments").fetchone()
    else:
        row = connection.execute(
            "SELECT MAX(as_of) FROM assessments WHERE as_of <= ?", (as_of.isoformat(),)
        ).fetchone()
    if row is None or row[0] is None:
        when = "" if as_of is None else f" on or before {as_of.isoformat()}"
        raise NoHistoryError(f"no assessments recorded{when}")
    return date.fromisoformat(row[0])


_CURRENT = """
SELECT a.account_id, a.name, a.segment, a.owner, a.arr, a.renewal_date, a.score, a.band, a.tier,
       a.flags, p.as_of, p.score, p.band
FROM assessments AS a
LEFT JOIN assessments AS p
  ON p.account_id = a.account_id
 AND p.as_of = (SELECT MAX(b.as_of) FROM assessments AS b
                WHERE b.account_id = a.account_id AND b.as_of < a.as_of)
WHERE a.as_of = ?
"""


def portfolio_report(
    connection: sqlite3.Connection, policy: Policy, *, as_of: date | None = None, limit: int = 25
) -> PortfolioReport:
    """The report for the latest recorded date on or before `as_of`; see the module docstring."""
    day_date = report_date(connection, as_of)
    day = day_date.isoformat()
    high = {
        code
        for code in type(policy.risk.flags).model_fields
        if getattr(policy.risk.flags, code).severity == Severity.HIGH
    }
    high_quoted = [f'"{code}"' for code in sorted(high)]  # flags are a JSON list of codes
    accounts = arr_total = without_arr = with_history = 0
    band_accounts: Counter[str] = Counter()
    band_arr: Counter[str] = Counter()
    moved: list[tuple] = []
    attention: list[tuple] = []
    attention_arr = 0.0
    for row in connection.execute(_CURRENT, (day,)):
        account_id, arr, score, band, flags_json = row[0], row[4], row[6], row[7], row[9]
        prev_as_of, prev_score = row[10], row[11]
        accounts += 1
        band_accounts[band] += 1
        if arr is None:
            without_arr += 1
        else:
            arr_total += arr
            band_arr[band] += arr
        if prev_as_of is not None:
            with_history += 1
            # No delta against a score that is not known (band no_data).
            if score is not None and prev_score is not None and score != prev_score:
                moved.append((-abs(score - prev_score), account_id, row))
        if band == "red" or band == "yellow" or any(q in flags_json for q in high_quoted):
            attention_arr += arr or 0.0
            attention.append(
                ((arr is None, -(arr or 0.0), score is None, score or 0, account_id), row)
            )

    movers = heapq.nsmallest(policy.measurement.report_movers, moved, key=lambda m: m[:2])
    opportunity = portfolio_pieces(connection, policy, day_date, limit)
    shown = heapq.nsmallest(limit, attention, key=lambda a: a[0])
    shares = [
        BandShare(
            band=b.value,
            accounts=band_accounts[b.value],
            arr=band_arr[b.value],
            share_of_arr=round(band_arr[b.value] / arr_total, 3) if arr_total else None,
        )
        for b in Band
        # no_data (accounts with no signal) is listed whenever there is one.
        if b is not Band.NO_DATA or band_accounts[b.value]
    ]
    return PortfolioReport(
        as_of=day_date,
        policy_version=policy.version,
        accounts=accounts,
        arr_total=arr_total,
        accounts_without_arr=without_arr,
        arr_by_band=shares,
        movers=[_mover(row) for _, _, row in movers],
        accounts_with_history=with_history,
        attention_total=len(attention),
        attention_arr=attention_arr,
        attention=[_attention(connection, day, row, high) for _, row in shown],
        executive_briefing=opportunity.executive,
        risk_opportunity_matrix=opportunity.matrix,
        advocacy_shortlist=opportunity.advocacy,
        review_queue=_review_queue(connection, day, limit, _rank_by(policy)),
        calibration=calibration_status(connection, policy, as_of or date.max),
        limit=limit,
    )


def _mover(row: tuple) -> Mover:
    (
        account_id,
        name,
        segment,
        owner,
        arr,
        _,
        score,
        band,
        _,
        _,
        prev_as_of,
        prev_score,
        prev_band,
    ) = row
    return Mover(
        account_id=account_id,
        name=name,
        segment=segment,
        owner=owner,
        arr=arr,
        previous_as_of=date.fromisoformat(prev_as_of),
        previous_score=prev_score,
        score=score,
        delta=score - prev_score,
        previous_band=prev_band,
        band=band,
    )


def _attention(
    connection: sqlite3.Connection, day: str, row: tuple, high: set[str]
) -> AttentionRow:
    account_id, name, segment, owner, arr, renewal, score, band, tier, flags_json = row[:10]
    flags = json.loads(flags_json)
    return AttentionRow(
        account_id=account_id,
        name=name,
        segment=segment,
        arr=arr,
        renewal_date=date.fromisoformat(renewal) if renewal else None,
        score=score,
        band=band,
        tier=tier,
        flags=flags,
        high_severity_flags=[f for f in flags if f in high],
        owner=owner,
        next_action=_next_action(connection, account_id, day),
    )


def _next_action(connection: sqlite3.Connection, account_id: str, day: str) -> NextAction | None:
    row = connection.execute(
        "SELECT document(assessment_json) FROM assessments WHERE account_id = ? AND as_of = ?",
        (account_id, day),
    ).fetchone()
    # No row, or its document pruned (`db prune`): no next action to show. A blocked
    # action (an opportunity play held by a stop rule) is not a next step either.
    stored = json.loads(row[0]).get("actions", []) if row and row[0] else []
    actions = [a for a in stored if a["status"] != "blocked"]
    if not actions:
        return None
    best = min(actions, key=lambda a: (-Priority(a["priority"]).rank, a["due_date"], a["action"]))
    state = connection.execute(
        "SELECT state FROM actions WHERE action_key = ?",
        (idempotency_key(account_id, best["action"], date.fromisoformat(day)),),
    ).fetchone()
    return NextAction(
        action=best["action"],
        label=best["label"],
        priority=best["priority"],
        due_date=best["due_date"],
        status=best["status"],
        state=state[0] if state else None,
    )


def _rank_by(policy: Policy) -> str:
    budget = policy.actions.review_task.budget
    return "risk_x_arr" if budget is None else budget.rank_by


# A queue item superseded only after the report date was still live on it.
_PENDING_THEN = "(state = 'pending' OR (state = 'superseded' AND superseded_by > ?))"


def _review_queue(
    connection: sqlite3.Connection, day: str, limit: int, rank_by: str
) -> ReviewQueue:
    latest: dict[str, tuple] = {}
    superseded = 0
    for row in connection.execute(
        "SELECT r.account_id, r.as_of, r.owner, r.due_date, r.reasons, r.state, a.score, a.arr "
        "FROM review_tasks AS r LEFT JOIN assessments AS a "
        "ON a.account_id = r.account_id AND a.as_of = r.as_of "
        "WHERE (r.state IN ('open', 'also_at_risk') "
        "OR (r.state = 'superseded' AND r.superseded_by > ?)) AND r.as_of <= ? "
        "ORDER BY r.account_id, r.as_of",
        (day, day),
    ):
        if row[0] in latest:
            superseded += 1
        latest[row[0]] = tuple(row)
    tasks = sorted((t for t in latest.values() if t[5] == "open"), key=lambda t: (t[3], t[0]))
    deferred = sorted(
        (t for t in latest.values() if t[5] == "also_at_risk"),
        key=lambda t: _budget_rank(t[6], t[7], t[0], rank_by),
    )
    pending_total, pending_overdue = connection.execute(
        "SELECT COUNT(*), COALESCE(SUM(due_date < ?), 0) FROM actions "
        f"WHERE {_PENDING_THEN} AND as_of <= ?",
        (day, day, day),
    ).fetchone()
    superseded += connection.execute(
        "SELECT COUNT(*) FROM review_tasks WHERE state = 'superseded' AND superseded_by <= ?",
        (day,),
    ).fetchone()[0]
    pending = connection.execute(
        "SELECT account_id, as_of, action, COALESCE(owner_name, owner), priority, due_date "
        f"FROM actions WHERE {_PENDING_THEN} AND as_of <= ? "
        "ORDER BY due_date, account_id, action LIMIT ?",
        (day, day, limit),
    ).fetchall()
    return ReviewQueue(
        review_tasks_open=len(tasks),
        review_tasks_overdue=sum(t[3] < day for t in tasks),
        review_tasks_superseded=superseded,
        actions_pending=int(pending_total),
        actions_overdue=int(pending_overdue),
        review_tasks=[
            ReviewTaskRow(
                account_id=a,
                as_of=d,
                owner=o,
                due_date=due,
                overdue=due < day,
                reasons=json.loads(r),
            )
            for a, d, o, due, r, *_ in tasks[:limit]
        ],
        pending_actions=[
            PendingAction(
                account_id=a,
                as_of=d,
                action=act,
                owner=o,
                priority=p,
                due_date=due,
                overdue=due < day,
            )
            for a, d, act, o, p, due in pending
        ],
        also_at_risk_total=len(deferred),
        also_at_risk=[
            AlsoAtRiskRow(
                account_id=t[0],
                as_of=t[1],
                owner=t[2],
                score=t[6],
                arr=t[7],
                reasons=json.loads(t[4]),
            )
            for t in deferred[:limit]
        ],
    )


def _budget_rank(
    score: int | None, arr: float | None, account_id: str, rank_by: str
) -> tuple[bool, float, int, str]:
    """The review budget's order (skill.review_budget): risk x ARR or risk, then risk, then id.

    An account with no score (no_data) has no known risk: after every scored one, by ARR.
    """
    if score is None:
        return (True, -(arr or 0.0), 0, account_id)
    risk = 100 - score
    value = risk * (arr or 0.0) if rank_by == "risk_x_arr" else risk
    return (False, -value, -risk, account_id)


def calibration_status(
    connection: sqlite3.Connection, policy: Policy, as_of: date
) -> CalibrationStatus:
    """How close `calibrate` is to having enough outcomes, and its last run."""
    m = policy.measurement
    churn = frozenset(m.churn_outcomes)
    observations, _ = load_observations(connection, as_of)
    n = Counter(o.segment for o in observations)
    churned = Counter(o.segment for o in observations if o.outcome in churn)
    segments = [
        SegmentReadiness(
            segment=s.value,
            outcomes=n[s.value],
            churned=churned[s.value],
            needs_outcomes=max(0, m.min_outcomes - n[s.value]),
            needs_churned=max(0, m.min_churned - churned[s.value]),
        )
        for s in Segment
    ]
    ready = [s.segment for s in segments if not (s.needs_outcomes or s.needs_churned)]
    row = connection.execute(
        "SELECT as_of, created_at, outcomes, churned, auc_before, auc_after, weights_path "
        "FROM calibrations ORDER BY calibration_id DESC LIMIT 1"
    ).fetchone()
    last = None
    if row is not None:
        last = LastCalibration(
            as_of=row[0],
            created_at=row[1],
            outcomes=row[2],
            churned=row[3],
            auc_before=row[4],
            auc_after=row[5],
            weights_path=row[6],
        )
    total, total_churned = sum(n.values()), sum(churned.values())
    summary = f"{total} outcomes matched to an earlier assessment ({total_churned} churned); "
    if ready:
        summary += f"ready to calibrate: {', '.join(ready)}"
        waiting = [s for s in segments if s.segment not in ready]
        if waiting:
            summary += "; still waiting: " + ", ".join(_needs(s) for s in waiting)
    else:
        summary += "not ready to calibrate: " + ", ".join(_needs(s) for s in segments)
    summary += f" (each segment needs {m.min_outcomes} outcomes with {m.min_churned} churned)"
    return CalibrationStatus(
        verdict=score_verdict(observations, policy),
        outcomes=total,
        churned=total_churned,
        min_outcomes=m.min_outcomes,
        min_churned=m.min_churned,
        ready_segments=ready,
        segments=segments,
        last=last,
        summary=summary,
        outcomes_after=outcomes_after(connection, as_of),
    )


def _needs(s: SegmentReadiness) -> str:
    parts = []
    if s.needs_outcomes:
        parts.append(f"{s.needs_outcomes} more outcomes")
    if s.needs_churned:
        parts.append(f"{s.needs_churned} more churned")
    return f"{s.segment} {' and '.join(parts)}"


# -- Markdown -----------------------------------------------------------------------


def money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def render_markdown(r: PortfolioReport) -> str:
    lines = [
        f"# Weekly portfolio report, as of {r.as_of.isoformat()}",
        "",
        f"{r.accounts} accounts, ARR {money(r.arr_total)}"
        + (f" ({r.accounts_without_arr} without an ARR)" if r.accounts_without_arr else "")
        + f". Policy {r.policy_version}.",
        "",
        "## Share of ARR by band",
        "",
        "| band | accounts | ARR | share of ARR |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {b.band} | {b.accounts} | {money(b.arr)} | {_pct(b.share_of_arr)} |"
        for b in r.arr_by_band
    ]
    lines += ["", "## Biggest movers", ""]
    if r.movers:
        lines += [
            f"Largest score changes since each account's previous assessment "
            f"({r.accounts_with_history} accounts have one).",
            "",
            "| account | segment | owner | ARR | score | change | band |",
            "|---|---|---|---:|---:|---:|---|",
        ]
        lines += [
            f"| {_cell(m.name)} ({_cell(m.account_id)}) | {m.segment} | {_cell(m.owner or '—')} "
            f"| {money(m.arr)} | {m.previous_score} → {m.score} | {m.delta:+d} "
            f"| {m.previous_band} → {m.band} |"
            for m in r.movers
        ]
    elif r.accounts_with_history:
        lines.append("No score changed since each account's previous assessment.")
    else:
        lines.append("No account has an earlier assessment to compare with.")
    lines += [
        "",
        "## Needs attention",
        "",
        f"Red or yellow, or a high-severity flag: {r.attention_total} accounts, "
        f"ARR {money(r.attention_arr)}"
        + (
            f"; the {len(r.attention)} largest by ARR:"
            if r.attention_total > len(r.attention)
            else "."
        ),
        "",
    ]
    if r.attention:
        lines += [
            "| account | ARR | renewal | score | flags | owner | next action |",
            "|---|---:|---|---|---|---|---|",
        ]
        for a in r.attention:
            flags = (
                ", ".join(f"**{f}**" if f in a.high_severity_flags else f for f in a.flags) or "—"
            )
            score = "—" if a.score is None else a.score
            lines.append(
                f"| {_cell(a.name)} ({_cell(a.account_id)}) | {money(a.arr)} "
                f"| {a.renewal_date.isoformat() if a.renewal_date else '—'} "
                f"| {score} {a.band} | {flags} | {_cell(a.owner or '—')} "
                f"| {_next_text(a.next_action)} |"
            )
        lines.append("")
    lines += _executive_lines(r.executive_briefing)
    lines += _matrix_lines(r.risk_opportunity_matrix)
    lines += _advocacy_lines(r.advocacy_shortlist)
    q = r.review_queue
    lines += [
        "## Open review queue",
        "",
        f"Owner review tasks open: {q.review_tasks_open} accounts ({q.review_tasks_overdue} "
        f"overdue; {q.review_tasks_superseded} older open tasks superseded). "
        f"Actions waiting for a decision: {q.actions_pending} ({q.actions_overdue} overdue).",
        "",
    ]
    if q.review_tasks:
        lines += ["| account | owner | due | reasons |", "|---|---|---|---|"]
        lines += [
            f"| {_cell(t.account_id)} | {_cell(t.owner)} | {t.due_date.isoformat()}"
            f"{' (overdue)' if t.overdue else ''} | {_cell('; '.join(t.reasons))} |"
            for t in q.review_tasks
        ]
        lines.append("")
    if q.pending_actions:
        lines += ["| account | action | owner | priority | due |", "|---|---|---|---|---|"]
        lines += [
            f"| {_cell(p.account_id)} | {p.action} | {_cell(p.owner)} | {p.priority} "
            f"| {p.due_date.isoformat()}{' (overdue)' if p.overdue else ''} |"
            for p in q.pending_actions
        ]
        lines.append("")
    if q.also_at_risk_total:
        shown = len(q.also_at_risk)
        lines += [
            "### Also at risk",
            "",
            f"{q.also_at_risk_total} more accounts have a review reason but rank below the "
            "review budget, so no task was opened"
            + (f"; the {shown} highest by risk × ARR:" if shown < q.also_at_risk_total else ":"),
            "",
            "| account | owner | ARR | score | reasons |",
            "|---|---|---:|---:|---|",
        ]
        lines += [
            f"| {_cell(t.account_id)} | {_cell(t.owner)} | {money(t.arr)} "
            f"| {'—' if t.score is None else t.score} "
            f"| {_cell('; '.join(r.split(' - ', 1)[0] for r in t.reasons))} |"
            for t in q.also_at_risk
        ]
        lines.append("")
    c = r.calibration
    lines += ["## Calibration status", "", c.verdict.summary, "", c.summary + "."]
    if c.outcomes_after.note:
        lines += ["", f"> Note: {c.outcomes_after.note}."]
    if c.last is None:
        lines.append("No calibration run recorded yet (`account-health calibrate`).")
    else:
        last = c.last
        auc = (
            f"held-out AUC {last.auc_before} → {last.auc_after}"
            if last.auc_before is not None and last.auc_after is not None
            else "held-out AUC n/a"
        )
        lines.append(
            f"Last calibration: for {last.as_of.isoformat()} (run {last.created_at}), "
            f"{last.outcomes} outcomes, {auc}; weights in {last.weights_path or '(not written)'}."
        )
    lines.append("")
    return "\n".join(lines)


def _next_text(action: NextAction | None) -> str:
    if action is None:
        return "—"
    state = f", {action.state}" if action.state and action.state != action.status else ""
    return f"{_cell(action.label)} ({action.status}{state}, due {action.due_date.isoformat()})"


def _executive_lines(e: ExecutiveBriefing) -> list[str]:
    lines = [
        "## Executive briefing: at-risk accounts by ARR at stake",
        "",
        f"At risk ({e.rule}): {e.total} accounts, ARR {money(e.arr_at_stake)} at stake"
        + (f" ({e.accounts_without_arr} without an ARR)" if e.accounts_without_arr else "")
        + (f"; the {len(e.accounts)} largest:" if e.total > len(e.accounts) else "."),
        "",
    ]
    if not e.accounts:
        return lines
    lines += [
        "| account | ARR at stake | renewal | score | band · tier | flags | owner |",
        "|---|---:|---|---|---|---|---|",
    ]
    for a in e.accounts:
        stake = money(a.arr)
        if a.churn_probability is not None and a.expected_arr_loss is not None:
            stake += f" (churn {a.churn_probability:.0%}: {money(a.expected_arr_loss)})"
        lines.append(
            f"| {_cell(a.name)} ({_cell(a.account_id)}) | {stake} "
            f"| {a.renewal_date.isoformat() if a.renewal_date else '—'} "
            f"| {'—' if a.score is None else a.score} | {a.band} · {a.tier} "
            f"| {', '.join(a.flags) or '—'} | {_cell(a.owner or '—')} |"
        )
    return [*lines, ""]


def _matrix_lines(m: RiskOpportunityMatrix) -> list[str]:
    cells = {(c.band, c.opportunity): c for c in m.cells}
    lines = [
        "## Risk/opportunity matrix",
        "",
        f"Accounts (ARR) by band and opportunity flag: {m.accounts_with_opportunity} accounts "
        f"with an opportunity, ARR {money(m.arr_with_opportunity)}. An account with several "
        "opportunity flags counts in each of their columns; `any` counts it once.",
    ]
    if m.not_evaluated:
        lines.append(
            f"{m.not_evaluated} account(s) were assessed before opportunity flags existed "
            "and are left out."
        )
    lines += [
        "",
        "| band | " + " | ".join(m.opportunities) + " |",
        "|---|" + "---:|" * len(m.opportunities),
    ]
    for band in m.bands:
        row = [cells[(band, o)] for o in m.opportunities]
        lines.append(
            f"| {band} | "
            + " | ".join(f"{c.accounts} ({money(c.arr)})" if c.accounts else "0" for c in row)
            + " |"
        )
    lines += [
        "",
        "| play | owner | on opportunity | proposed | held by a stop rule | ARR proposed |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {_cell(p.label)} (`{p.action}`) | {p.owner} | {', '.join(p.opportunities) or '—'} "
        f"| {p.proposed} | {p.held} | {money(p.arr)} |"
        for p in m.plays
    ]
    return [*lines, ""]


def _advocacy_lines(a: AdvocacyShortlist) -> list[str]:
    lines = [
        "## Advocacy shortlist",
        "",
        f"Advocates: {a.total} accounts, {a.ready} whose ask is not held"
        + (f"; the first {len(a.advocates)}:" if a.total > len(a.advocates) else "."),
        "",
    ]
    if not a.advocates:
        return lines
    lines += [
        "| account | ARR | score | owner | evidence | ask |",
        "|---|---:|---:|---|---|---|",
    ]
    for x in a.advocates:
        if x.ask_status is None:
            ask = "not proposed"
        else:
            ask = x.ask_status + (f", {x.ask_state}" if x.ask_state else "")
            if x.held_by:
                ask += f" ({', '.join(x.held_by)})"
        lines.append(
            f"| {_cell(x.name)} ({_cell(x.account_id)}) | {money(x.arr)} "
            f"| {'—' if x.score is None else x.score} | {_cell(x.owner or '—')} "
            f"| {_cell(x.evidence)} | {ask} |"
        )
    return [*lines, ""]
