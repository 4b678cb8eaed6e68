"""The portfolio a page at a time: one date's accounts, filtered and sorted in SQL.

    page = portfolio_page(connection, PortfolioQuery(band="red", sort="-arr"), limit=100)
    summary = portfolio_summary(connection, policy, page.as_of)

For the browser workspace and its API, which must stay fast over 100,000
accounts: filtering, sorting, counting and paging happen in SQLite over the
assessments' columns (the `assessments_portfolio` index holds all of them), and
only the page's rows and their score histories are read into Python. Nothing
here decides anything: every score, band, flag and status is the one recorded.

`portfolio_summary` gives the same share of ARR by band and biggest movers as
the weekly report (`skill.insights.report`), from aggregate queries instead of
a pass over every account in Python.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from skill.insights.report import BandShare, Mover, NoHistoryError, report_date
from skill.policy import Policy
from skill.record import Segment
from skill.vocabulary import Band, Confidence, RiskFlagCode, Tier

# Sort keys: a column, and whether accounts without a value go last either way.
SORT_COLUMNS: dict[str, str] = {
    "score": "score",
    "arr": "arr",
    "renewal": "renewal_date",
    "name": "name",
    "account": "account_id",
    "owner": "owner",
    "segment": "segment",
}
SORTS: tuple[str, ...] = tuple(key for column in SORT_COLUMNS for key in (column, f"-{column}"))
DEFAULT_SORT = "score"
MAX_LIMIT = 500


class PortfolioError(ValueError):
    """A query the portfolio refuses: an unknown sort key, a limit out of range."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PortfolioQuery(Frozen):
    """Which accounts of the date to list, and in which order. Empty fields filter nothing."""

    band: Band | None = None
    segment: Segment | None = None
    owner: str | None = Field(default=None, description="The owner's name, any case.")
    flag: RiskFlagCode | None = Field(default=None, description="Accounts carrying this flag.")
    arr_min: float | None = Field(default=None, description="ARR at least this.")
    arr_max: float | None = Field(default=None, description="ARR at most this.")
    renewal_from: date | None = Field(default=None, description="Renewal on or after.")
    renewal_to: date | None = Field(default=None, description="Renewal on or before.")
    sort: str = Field(
        default=DEFAULT_SORT,
        description="score, arr, renewal, name, account, owner or segment; a leading - for "
        "descending. Accounts without the value come last either way, then by account id.",
    )


class ScorePoint(Frozen):
    as_of: date
    score: int | None = Field(description="Null for a no_data assessment.")
    band: str


class PortfolioRow(Frozen):
    account_id: str
    name: str
    segment: str
    owner: str | None
    arr: float | None
    renewal_date: date | None
    score: int | None
    band: str
    tier: str
    confidence: str
    flags: list[str]
    history: list[ScorePoint] = Field(
        description="Every recorded assessment of the account up to the page's date, oldest first."
    )


class PortfolioPage(Frozen):
    as_of: date = Field(description="The recorded date listed (the latest, unless asked).")
    query: PortfolioQuery
    total: int = Field(description="Accounts matching the query on that date.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="The offset of the next page; null at the end.")
    rows: list[PortfolioRow]


class PortfolioSummary(Frozen):
    as_of: date
    accounts: int
    arr_total: float
    accounts_without_arr: int
    arr_by_band: list[BandShare]
    accounts_with_history: int = Field(description="Accounts with an earlier assessment.")
    movers: list[Mover]


Direction = Literal["ASC", "DESC"]


def _order(sort: str) -> str:
    descending = sort.startswith("-")
    column = SORT_COLUMNS.get(sort.lstrip("-"))
    if column is None:
        raise PortfolioError(f"sort {sort!r}: expected one of {', '.join(SORTS)}")
    direction: Direction = "DESC" if descending else "ASC"
    tie = "" if column == "account_id" else ", account_id"
    return f"{column} IS NULL, {column} {direction}{tie}"


def _where(query: PortfolioQuery) -> tuple[str, list[object]]:
    where = ["as_of = ?"]
    args: list[object] = []
    if query.band is not None:
        where.append("band = ?")
        args.append(query.band.value)
    if query.segment is not None:
        where.append("segment = ?")
        args.append(query.segment.value)
    if query.owner:
        where.append("lower(owner) = lower(?)")
        args.append(query.owner.strip())
    if query.flag is not None:
        where.append("instr(flags, ?) > 0")  # flags is a JSON list of codes
        args.append(json.dumps(query.flag.value))
    if query.arr_min is not None:
        where.append("arr >= ?")
        args.append(query.arr_min)
    if query.arr_max is not None:
        where.append("arr <= ?")
        args.append(query.arr_max)
    if query.renewal_from is not None:
        where.append("renewal_date >= ?")
        args.append(query.renewal_from.isoformat())
    if query.renewal_to is not None:
        where.append("renewal_date <= ?")
        args.append(query.renewal_to.isoformat())
    return " AND ".join(where), args


def latest_date(connection: sqlite3.Connection, as_of: date | None = None) -> date:
    """The latest recorded date on or before `as_of`; NoHistoryError when there is none."""
    return report_date(connection, as_of)


def portfolio_page(
    connection: sqlite3.Connection,
    query: PortfolioQuery | None = None,
    *,
    as_of: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> PortfolioPage:
    """One page of the accounts recorded on the latest date on or before `as_of`."""
    query = query or PortfolioQuery()
    if not 1 <= limit <= MAX_LIMIT:
        raise PortfolioError(f"limit {limit}: expected 1 to {MAX_LIMIT}")
    if offset < 0:
        raise PortfolioError(f"offset {offset}: expected 0 or more")
    day = latest_date(connection, as_of)
    where, args = _where(query)
    args = [day.isoformat(), *args]
    order = _order(query.sort)
    total = connection.execute(
        f"SELECT COUNT(*) FROM assessments INDEXED BY assessments_portfolio WHERE {where}", args
    ).fetchone()[0]
    rows = connection.execute(
        "SELECT account_id, name, segment, owner, arr, renewal_date, score, band, tier, "
        "confidence, flags FROM assessments INDEXED BY assessments_portfolio "
        f"WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    histories = score_histories(connection, [row[0] for row in rows], day)
    page = [
        PortfolioRow(
            account_id=r[0],
            name=r[1],
            segment=r[2],
            owner=r[3],
            arr=r[4],
            renewal_date=r[5],
            score=r[6],
            band=r[7],
            tier=r[8],
            confidence=r[9],
            flags=json.loads(r[10]),
            history=histories.get(r[0], []),
        )
        for r in rows
    ]
    more = offset + len(page) < total
    return PortfolioPage(
        as_of=day,
        query=query,
        total=total,
        offset=offset,
        limit=limit,
        next_offset=offset + len(page) if more else None,
        rows=page,
    )


def score_histories(
    connection: sqlite3.Connection, account_ids: list[str], until: date | None = None
) -> dict[str, list[ScorePoint]]:
    """Each account's recorded scores, oldest first, up to `until` (default: all)."""
    found: dict[str, list[ScorePoint]] = {}
    if not account_ids:
        return found
    marks = ",".join("?" * len(account_ids))
    sql = f"SELECT account_id, as_of, score, band FROM assessments WHERE account_id IN ({marks})"
    args: list[object] = list(account_ids)
    if until is not None:
        sql += " AND as_of <= ?"
        args.append(until.isoformat())
    for account_id, day, score, band in connection.execute(
        sql + " ORDER BY account_id, as_of", args
    ):
        found.setdefault(account_id, []).append(ScorePoint(as_of=day, score=score, band=band))
    return found


_MOVERS = """
SELECT a.account_id, a.name, a.segment, a.owner, a.arr, a.score, a.band,
       p.as_of, p.score, p.band
FROM assessments AS a INDEXED BY assessments_portfolio
JOIN assessments AS p INDEXED BY assessments_portfolio
  ON p.account_id = a.account_id
 AND p.as_of = (SELECT MAX(b.as_of) FROM assessments AS b
                WHERE b.account_id = a.account_id AND b.as_of < a.as_of)
WHERE a.as_of = ? AND a.score IS NOT NULL AND p.score IS NOT NULL AND a.score != p.score
ORDER BY ABS(a.score - p.score) DESC, a.account_id
LIMIT ?
"""


def portfolio_summary(
    connection: sqlite3.Connection, policy: Policy, as_of: date | None = None
) -> PortfolioSummary:
    """Share of ARR by band and the biggest movers on the latest date on or before `as_of`,
    as the weekly report computes them (the same models, the same numbers)."""
    day = latest_date(connection, as_of)
    key = day.isoformat()
    counts: dict[str, tuple[int, float, int]] = {}
    for band, accounts, arr, with_arr in connection.execute(
        "SELECT band, COUNT(*), TOTAL(arr), COUNT(arr) FROM assessments "
        "INDEXED BY assessments_portfolio WHERE as_of = ? GROUP BY band",
        (key,),
    ):
        counts[band] = (accounts, arr, with_arr)
    accounts = sum(c[0] for c in counts.values())
    arr_total = sum(c[1] for c in counts.values())
    without_arr = sum(c[0] - c[2] for c in counts.values())
    shares = [
        BandShare(
            band=b.value,
            accounts=counts.get(b.value, (0, 0.0, 0))[0],
            arr=counts.get(b.value, (0, 0.0, 0))[1],
            share_of_arr=round(counts[b.value][1] / arr_total, 3)
            if arr_total and b.value in counts
            else (0.0 if arr_total else None),
        )
        for b in Band
        if b is not Band.NO_DATA or b.value in counts
    ]
    with_history = connection.execute(
        "SELECT COUNT(*) FROM assessments AS a INDEXED BY assessments_portfolio "
        "WHERE a.as_of = ? AND EXISTS "
        "(SELECT 1 FROM assessments AS b WHERE b.account_id = a.account_id AND b.as_of < a.as_of)",
        (key,),
    ).fetchone()[0]
    movers = [
        Mover(
            account_id=r[0],
            name=r[1],
            segment=r[2],
            owner=r[3],
            arr=r[4],
            previous_as_of=r[7],
            previous_score=r[8],
            score=r[5],
            delta=r[5] - r[8],
            previous_band=r[9],
            band=r[6],
        )
        for r in connection.execute(_MOVERS, (key, policy.measurement.report_movers))
    ]
    return PortfolioSummary(
        as_of=day,
        accounts=accounts,
        arr_total=arr_total,
        accounts_without_arr=without_arr,
        arr_by_band=shares,
        accounts_with_history=with_history,
        movers=movers,
    )


__all__ = [
    "SORTS",
    "NoHistoryError",
    "PortfolioError",
    "PortfolioPage",
    "PortfolioQuery",
    "PortfolioRow",
    "PortfolioSummary",
    "ScorePoint",
    "latest_date",
    "portfolio_page",
    "portfolio_summary",
    "score_histories",
]

# Enum members the query accepts, for forms that offer them as choices.
CHOICES = {
    "band": [b.value for b in Band],
    "segment": [s.value for s in Segment],
    "flag": [f.value for f in RiskFlagCode],
    "tier": [t.value for t in Tier],
    "confidence": [c.value for c in Confidence],
}
