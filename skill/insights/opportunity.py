"""The opportunity side of the weekly report, read from the history database.

At the report date (`portfolio_pieces`):

- the risk/opportunity matrix: accounts placed by risk (band, the rows) and by
  opportunity (each opportunity flag, the columns; `none` for accounts with
  none), with accounts and ARR per cell. An account with two opportunity flags
  counts in both columns; the row's `none` and `any` columns count each account
  once. Below it, each opportunity play with the flags the policy maps to it,
  how many accounts it was proposed to and how many a stop rule held;
- the advocacy shortlist: accounts with the `advocate` flag, with its evidence
  and the status of the advocacy ask; those whose ask is not held come first,
  then by score and ARR;
- the executive briefing: at-risk accounts by ARR at stake, largest first,
  unknown ARR last; with a calibrated policy, also the churn probability and
  ARR x probability. At risk is the band red: the contextual judgment, not the
  activity tier alone (an onboarding account with low activity is friction, not
  churn risk, and stays off the executives' list).

Assessments recorded before opportunity flags existed have no opportunities
column value: they are counted as not evaluated and left out of the matrix.
`measure` says how well the flags ranked expansions (skill.insights.measure).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import date

from pydantic import BaseModel, Field

from skill.policy import Policy
from skill.store.history import idempotency_key
from skill.vocabulary import ActionPurpose, ActionStatus, Band, GateLayer, OpportunityCode

NONE = "none"
ANY = "any"
ADVOCACY_ASK = "request_advocacy"
AT_RISK_RULE = "band red"


# -- the report's pieces --------------------------------------------------------------------


class MatrixCell(BaseModel):
    band: str = Field(description="Risk: the account's band.")
    opportunity: str = Field(
        description="An opportunity flag code; none: no opportunity flag; any: at least one."
    )
    accounts: int
    arr: float = Field(description="ARR of those accounts (unknown ARR counts as 0).")


class PlayCount(BaseModel):
    action: str
    label: str
    owner: str = Field(description="Owner role.")
    opportunities: list[str] = Field(description="The opportunity flags its triggers read.")
    proposed: int = Field(description="Accounts the play was proposed to, not held.")
    held: int = Field(description="Accounts where a stop rule or override blocked it.")
    arr: float = Field(description="ARR of the accounts it was proposed to.")


class RiskOpportunityMatrix(BaseModel):
    bands: list[str] = Field(description="Rows, riskiest last.")
    opportunities: list[str] = Field(description="Columns: none, each flag, any.")
    cells: list[MatrixCell] = Field(description="Row by row, in the order of bands and columns.")
    accounts_with_opportunity: int
    arr_with_opportunity: float
    not_evaluated: int = Field(
        description="Accounts whose assessment was recorded before opportunity flags existed; "
        "left out of the cells."
    )
    plays: list[PlayCount] = Field(description="Each opportunity play in catalogue order.")


class Advocate(BaseModel):
    account_id: str
    name: str
    segment: str
    owner: str | None
    arr: float | None
    score: int | None
    tier: str
    evidence: str = Field(description="The advocate flag's evidence line.")
    ask_status: str | None = Field(
        description="The advocacy ask's gate status; null when it was not proposed."
    )
    held_by: list[str] = Field(description="Rules that blocked the ask (a stop rule's id).")
    ask_state: str | None = Field(description="The ask's outbox state (pending, ...), if any.")


class AdvocacyShortlist(BaseModel):
    total: int = Field(description="Accounts with the advocate flag.")
    ready: int = Field(description="Of those, the ask not blocked.")
    advocates: list[Advocate] = Field(description="Not held first, then by score and ARR.")


class AtRiskAccount(BaseModel):
    account_id: str
    name: str
    segment: str
    owner: str | None
    arr: float | None
    renewal_date: date | None
    score: int | None
    band: str
    tier: str
    flags: list[str]
    churn_probability: float | None = Field(
        description="Under a calibrated policy: the chance of churn within its horizon."
    )
    expected_arr_loss: float | None = Field(description="ARR x churn probability, when known.")


class ExecutiveBriefing(BaseModel):
    rule: str = Field(description="Which accounts count as at risk.")
    total: int
    arr_at_stake: float = Field(description="Their ARR (unknown ARR counts as 0).")
    accounts_without_arr: int
    accounts: list[AtRiskAccount] = Field(description="Largest ARR first, unknown ARR last.")


class OpportunityPieces(BaseModel):
    matrix: RiskOpportunityMatrix
    advocacy: AdvocacyShortlist
    executive: ExecutiveBriefing


_AT_DATE = """
SELECT account_id, name, segment, owner, arr, renewal_date, score, band, tier, flags,
       opportunities
FROM assessments WHERE as_of = ? ORDER BY account_id
"""


def _bands(present: set[str]) -> list[str]:
    """Safest first; no_data only when an account has it."""
    order = [Band.GREEN.value, Band.YELLOW.value, Band.RED.value]
    return order + ([Band.NO_DATA.value] if Band.NO_DATA.value in present else [])


def _plays_of(policy: Policy) -> dict[str, list[str]]:
    """Each opportunity play, in catalogue order, with the flags its triggers read."""
    plays: dict[str, set[str]] = {
        action: set()
        for action, entry in policy.actions.catalogue.items()
        if entry.purpose is ActionPurpose.OPPORTUNITY
    }
    for trigger in policy.actions.triggers:
        if trigger.action in plays:
            for condition in trigger.when_any:
                plays[trigger.action].update(o.value for o in condition.opportunities_any)
    codes = [o.value for o in OpportunityCode]
    return {a: [c for c in codes if c in found] for a, found in plays.items()}


def _assessment(connection: sqlite3.Connection, account_id: str, day: str) -> dict:
    row = connection.execute(
        "SELECT document(assessment_json) FROM assessments WHERE account_id = ? AND as_of = ?",
        (account_id, day),
    ).fetchone()
    # No row, or its document pruned (`db prune`): nothing to read the plays from.
    return json.loads(row[0]) if row and row[0] else {}


def _held_by(action: dict) -> list[str]:
    return [
        d["rule"]
        for d in action.get("policy_trace", [])
        if d["status"] == ActionStatus.BLOCKED.value and d["layer"] != GateLayer.FLOOR.value
    ]


def portfolio_pieces(
    connection: sqlite3.Connection, policy: Policy, day: date, limit: int
) -> OpportunityPieces:
    """The matrix, the advocacy shortlist and the executive briefing at `day`."""
    when = day.isoformat()
    rows = connection.execute(_AT_DATE, (when,)).fetchall()
    codes = [o.value for o in OpportunityCode]
    accounts: Counter[tuple[str, str]] = Counter()
    arr: Counter[tuple[str, str]] = Counter()
    not_evaluated = 0
    flagged: list[tuple] = []
    at_risk: list[tuple] = []
    for row in rows:
        band, opportunities = row[7], row[10]
        if band == Band.RED.value:
            at_risk.append(row)
        if opportunities is None:
            not_evaluated += 1
            continue
        found = json.loads(opportunities)
        columns = [*found, ANY] if found else [NONE]
        for column in columns:
            accounts[(band, column)] += 1
            arr[(band, column)] += row[4] or 0.0
        if found:
            flagged.append((row, found))
    bands = _bands({r[7] for r in rows})
    columns = [NONE, *codes, ANY]
    cells = [
        MatrixCell(band=b, opportunity=c, accounts=accounts[(b, c)], arr=arr[(b, c)])
        for b in bands
        for c in columns
    ]
    matrix_plays, advocates = _plays_and_advocates(connection, policy, when, flagged)
    matrix = RiskOpportunityMatrix(
        bands=bands,
        opportunities=columns,
        cells=cells,
        accounts_with_opportunity=sum(accounts[(b, ANY)] for b in bands),
        arr_with_opportunity=sum(arr[(b, ANY)] for b in bands),
        not_evaluated=not_evaluated,
        plays=matrix_plays,
    )
    advocates.sort(key=_shortlist_order)
    for advocate in advocates[:limit]:
        if advocate.ask_status is not None:
            key = idempotency_key(advocate.account_id, ADVOCACY_ASK, day)
            state = connection.execute(
                "SELECT state FROM actions WHERE action_key = ?", (key,)
            ).fetchone()
            advocate.ask_state = state[0] if state else None
    shortlist = AdvocacyShortlist(
        total=len(advocates),
        ready=sum(a.ask_status != ActionStatus.BLOCKED.value for a in advocates),
        advocates=advocates[:limit],
    )
    return OpportunityPieces(
        matrix=matrix,
        advocacy=shortlist,
        executive=_executive(connection, when, at_risk, limit),
    )


def _shortlist_order(a: Advocate) -> tuple[bool, int, float, str]:
    """Asks not held first, then the highest score, then the largest ARR."""
    return (
        a.ask_status == ActionStatus.BLOCKED.value,
        -(a.score or 0),
        -(a.arr or 0.0),
        a.account_id,
    )


def _plays_and_advocates(
    connection: sqlite3.Connection, policy: Policy, when: str, flagged: list[tuple]
) -> tuple[list[PlayCount], list[Advocate]]:
    mapping = _plays_of(policy)
    proposed: Counter[str] = Counter()
    held: Counter[str] = Counter()
    play_arr: Counter[str] = Counter()
    advocates = []
    for row, found in flagged:
        document = _assessment(connection, row[0], when)
        actions = {a["action"]: a for a in document.get("actions", [])}
        for action_id in mapping:
            action = actions.get(action_id)
            if action is None:
                continue
            if action["status"] == ActionStatus.BLOCKED.value:
                held[action_id] += 1
            else:
                proposed[action_id] += 1
                play_arr[action_id] += row[4] or 0.0
        if OpportunityCode.ADVOCATE.value in found:
            flag = next(
                o for o in document["opportunities"] if o["code"] == OpportunityCode.ADVOCATE
            )
            ask = actions.get(ADVOCACY_ASK)
            advocates.append(
                Advocate(
                    account_id=row[0],
                    name=row[1],
                    segment=row[2],
                    owner=row[3],
                    arr=row[4],
                    score=row[6],
                    tier=row[8],
                    evidence=flag["evidence"],
                    ask_status=None if ask is None else ask["status"],
                    held_by=[] if ask is None else _held_by(ask),
                    ask_state=None,
                )
            )
    catalogue = policy.actions.catalogue
    plays = [
        PlayCount(
            action=action_id,
            label=catalogue[action_id].label,
            owner=catalogue[action_id].owner,
            opportunities=opportunities,
            proposed=proposed[action_id],
            held=held[action_id],
            arr=play_arr[action_id],
        )
        for action_id, opportunities in mapping.items()
    ]
    return plays, advocates


def _executive(
    connection: sqlite3.Connection, when: str, rows: list[tuple], limit: int
) -> ExecutiveBriefing:
    ordered = sorted(rows, key=lambda r: (r[4] is None, -(r[4] or 0.0), r[6] or 0, r[0]))
    shown = []
    for row in ordered[:limit]:
        risk = _assessment(connection, row[0], when).get("churn_risk")
        probability = None if risk is None else risk["probability"]
        shown.append(
            AtRiskAccount(
                account_id=row[0],
                name=row[1],
                segment=row[2],
                owner=row[3],
                arr=row[4],
                renewal_date=date.fromisoformat(row[5]) if row[5] else None,
                score=row[6],
                band=row[7],
                tier=row[8],
                flags=json.loads(row[9]),
                churn_probability=probability,
                expected_arr_loss=None
                if probability is None or row[4] is None
                else round(row[4] * probability, 2),
            )
        )
    return ExecutiveBriefing(
        rule=AT_RISK_RULE,
        total=len(rows),
        arr_at_stake=sum(r[4] or 0.0 for r in rows),
        accounts_without_arr=sum(r[4] is None for r in rows),
        accounts=shown,
    )
