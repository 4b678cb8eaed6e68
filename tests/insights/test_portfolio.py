"""The portfolio page queries: SQL filtering, sorting and paging, and the report's summary."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from account_templates import DEMO_COUNT

from skill.demo import demo_file
from skill.insights.portfolio import (
    PortfolioError,
    PortfolioQuery,
    portfolio_page,
    portfolio_summary,
    score_histories,
)
from skill.insights.report import NoHistoryError, portfolio_report
from skill.policy import load_policy
from skill.recording import run_recording
from skill.store.db import connect
from skill.vocabulary import AutomationLevel

DAYS = (date(2026, 11, 23), date(2026, 11, 30))


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """The demo recorded twice; a week later Northwind's usage fell."""
    folder = tmp_path_factory.mktemp("portfolio")
    accounts = json.loads(demo_file().read_text(encoding="utf-8"))["accounts"]
    path = folder / "history.sqlite3"
    for day in DAYS:
        if day == DAYS[1]:
            accounts[0] = {**accounts[0], "logins_30d": 600, "open_tickets": 9}
        source = folder / f"{day}.json"
        source.write_text(json.dumps(accounts), encoding="utf-8")
        code = run_recording(
            str(source),
            db_path=path,
            output_format="json",
            as_of=day,
            level=AutomationLevel.BALANCED,
            policy=load_policy(),
            out=io.StringIO(),
            err=lambda _: None,
        )
        assert code == 0
    return path


@pytest.fixture
def conn(history):
    connection = connect(history, create=False)
    yield connection
    connection.close()


def test_the_page_lists_the_latest_date(conn):
    page = portfolio_page(conn)
    assert page.as_of == DAYS[1] and page.total == DEMO_COUNT and page.next_offset is None


def test_an_earlier_date_can_be_listed(conn):
    assert portfolio_page(conn, as_of=DAYS[0]).as_of == DAYS[0]


def test_the_default_order_is_lowest_score_first(conn):
    scores = [row.score for row in portfolio_page(conn).rows]
    assert scores == sorted(scores)


def test_sort_descending_puts_accounts_without_the_value_last(conn):
    rows = portfolio_page(conn, PortfolioQuery(sort="-arr")).rows
    assert [r.arr for r in rows] == sorted((r.arr for r in rows), reverse=True)


def test_filters_combine(conn):
    rows = portfolio_page(conn).rows
    target = rows[0]
    query = PortfolioQuery(segment=target.segment, owner=target.owner.upper(), band=target.band)
    found = portfolio_page(conn, query).rows
    assert target.account_id in {r.account_id for r in found}
    assert all(r.segment == target.segment and r.band == target.band for r in found)


def test_flag_and_arr_filters(conn):
    rows = portfolio_page(conn).rows
    flag = rows[0].flags[0]
    flagged = portfolio_page(conn, PortfolioQuery(flag=flag)).rows
    assert {r.account_id for r in flagged} == {r.account_id for r in rows if flag in r.flags}
    rich = portfolio_page(conn, PortfolioQuery(arr_min=100_000)).rows
    assert {r.account_id for r in rich} == {r.account_id for r in rows if (r.arr or 0) >= 100_000}


def test_renewal_window(conn):
    rows = portfolio_page(conn).rows
    soon = portfolio_page(conn, PortfolioQuery(renewal_to=date(2027, 3, 1))).rows
    expected = {r.account_id for r in rows if r.renewal_date and r.renewal_date <= date(2027, 3, 1)}
    assert {r.account_id for r in soon} == expected


def test_pages_follow_one_another(conn):
    first = portfolio_page(conn, PortfolioQuery(sort="name"), limit=3)
    rest = portfolio_page(conn, PortfolioQuery(sort="name"), limit=3, offset=first.next_offset)
    names = [r.name for r in first.rows + rest.rows]
    assert names == sorted(names) and len(names) == DEMO_COUNT


def test_an_unknown_sort_is_refused_naming_the_choices(conn):
    with pytest.raises(PortfolioError, match="sort 'colour': expected one of score, -score"):
        portfolio_page(conn, PortfolioQuery(sort="colour"))


def test_each_row_carries_its_score_history(conn):
    row = next(r for r in portfolio_page(conn).rows if r.account_id == "ACC-1001")
    assert [p.as_of for p in row.history] == list(DAYS)
    assert row.history[-1].score == row.score


def test_score_histories_stop_at_the_date(conn):
    found = score_histories(conn, ["ACC-1001"], DAYS[0])
    assert [p.as_of for p in found["ACC-1001"]] == [DAYS[0]]


def test_the_summary_is_the_reports(conn):
    policy = load_policy()
    summary = portfolio_summary(conn, policy)
    report = portfolio_report(conn, policy)
    assert summary.arr_by_band == report.arr_by_band
    assert summary.movers == report.movers and summary.movers
    assert summary.accounts_with_history == report.accounts_with_history


def test_no_history_before_the_first_date(conn):
    with pytest.raises(NoHistoryError):
        portfolio_page(conn, as_of=date(2026, 1, 1))
