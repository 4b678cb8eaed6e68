"""Seed 003's health trend note: score delta, band change, an arrow per dimension.

Notes are built from real assessments (the `assess` fixture) and a
`PriorAssessment` made from another assessment or with chosen dimension
scores, so every number in a note can be checked by arithmetic.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from skill.assessment import Assessment, PriorAssessment
from skill.policy import HistoryConfig, Policy, load_policy
from skill.store.trends import (
    DOWN,
    NEW,
    STEADY,
    UP,
    TrendNote,
    render_trend_note,
    trend_note,
)
from skill.vocabulary import Band, Dimension

BEFORE = date(2026, 11, 16)


def config(steady_within: int) -> HistoryConfig:
    return load_policy().history.model_copy(update={"trend_steady_within": steady_within})


def snapshot_of(a: Assessment, as_of: date = BEFORE, **changes) -> PriorAssessment:
    """The columns `previous_snapshot` reads back, for an assessment recorded at `as_of`."""
    data = {
        "as_of": as_of,
        "score": a.score,
        "band": a.band.value,
        "dimensions": {d.dimension.value: d.score for d in a.dimensions},
    }
    return PriorAssessment(**{**data, **changes})


def scores(a: Assessment) -> dict[str, int]:
    return {d.dimension.value: d.score for d in a.dimensions}


def test_first_snapshot_has_no_trend_yet(assess, policy: Policy) -> None:
    current = assess()
    note = trend_note(current, None, policy.history)

    assert (note.previous_as_of, note.previous_score, note.delta, note.previous_band) == (
        None,
        None,
        None,
        None,
    )
    assert note.band_changed is False
    assert note.score == current.score and note.band == current.band.value
    assert [d.dimension for d in note.dimensions] == [d.dimension.value for d in current.dimensions]
    assert all(d.arrow == NEW and d.delta is None and d.previous is None for d in note.dimensions)
    assert note.note == (
        f"First snapshot: score {current.score} ({current.band.value}); no trend yet."
    )

    markdown = render_trend_note(note)
    assert markdown.startswith(f"### Health trend: {current.name}\n\n{note.note}\n")
    assert "| Dimension |" not in markdown  # nothing to compare yet


def test_score_delta_and_band_change_against_the_previous_snapshot(assess, policy) -> None:
    before = assess()
    after = assess(
        csat=2.0,
        nps=-60,
        open_tickets=9,
        escalations_90d=3,
        sev1_open=1,
        logins_30d=300,
        champion="none",
    )
    assert after.band != before.band, "the test needs a band change"

    note = trend_note(after, snapshot_of(before), policy.history)

    assert note.previous_as_of == BEFORE and note.as_of == after.as_of
    assert note.previous_score == before.score and note.score == after.score
    assert note.delta == after.score - before.score < 0
    assert (note.previous_band, note.band) == (before.band.value, after.band.value)
    assert note.band_changed is True
    now, then = scores(after), scores(before)
    for d in note.dimensions:
        assert (d.score, d.previous, d.delta) == (
            now[d.dimension],
            then[d.dimension],
            now[d.dimension] - then[d.dimension],
        )
    assert note.note.startswith(
        f"Score {after.score}, down {before.score - after.score} since {BEFORE}; "
        f"band {before.band.value} → {after.band.value}. Moved: "
    )
    steady = policy.history.trend_steady_within
    moved = [
        f"{d} {UP if now[d] > then[d] else DOWN} {abs(now[d] - then[d])}"
        for d in now
        if abs(now[d] - then[d]) >= steady and now[d] != then[d]
    ]
    assert note.note.endswith(f"Moved: {', '.join(moved)}.")


def test_unchanged_score_and_band(assess, policy) -> None:
    current = assess()
    note = trend_note(current, snapshot_of(current), policy.history)

    assert note.delta == 0 and note.band_changed is False
    assert all(d.arrow == STEADY and d.delta == 0 for d in note.dimensions)
    assert note.note == (
        f"Score {current.score}, unchanged since {BEFORE}; band {current.band.value}. "
        "No dimension moved."
    )


def test_score_up(assess, policy) -> None:
    current = assess()
    note = trend_note(current, snapshot_of(current, score=current.score - 7), policy.history)
    assert note.delta == 7
    assert note.note.startswith(f"Score {current.score}, up 7 since {BEFORE}; ")


@pytest.mark.parametrize(
    ("steady_within", "expected"),
    [
        # deltas:      0       +1      -1      +2      -2      +9    -15
        (2, [STEADY, STEADY, STEADY, UP, DOWN, UP, DOWN]),
        (0, [STEADY, UP, DOWN, UP, DOWN, UP, DOWN]),
        (1, [STEADY, UP, DOWN, UP, DOWN, UP, DOWN]),
        (10, [STEADY, STEADY, STEADY, STEADY, STEADY, STEADY, DOWN]),
    ],
)
def test_arrow_per_dimension_with_steady_band(assess, steady_within, expected) -> None:
    current = assess()
    now = scores(current)
    assert list(now) == [d.value for d in Dimension], "the test needs all seven dimensions"
    deltas = [0, 1, -1, 2, -2, 9, -15]
    previous = {name: now[name] - delta for name, delta in zip(now, deltas, strict=True)}

    note = trend_note(current, snapshot_of(current, dimensions=previous), config(steady_within))

    assert [d.delta for d in note.dimensions] == deltas
    assert [d.arrow for d in note.dimensions] == expected
    moved = [
        f"{d.dimension} {d.arrow} {abs(d.delta)}" for d in note.dimensions if d.arrow != STEADY
    ]
    assert note.note.endswith(f"Moved: {', '.join(moved)}." if moved else "No dimension moved.")


def test_the_default_policy_calls_a_one_point_move_steady(policy) -> None:
    assert policy.history.trend_steady_within == 2


def test_dimension_new_or_gone_since_the_previous_snapshot(assess, policy) -> None:
    current = assess(csat=None, nps=None)  # no satisfaction signals: no satisfaction score
    now = scores(current)
    assert "satisfaction" not in now
    previous = {**{k: v for k, v in now.items() if k != "usage"}, "satisfaction": 70}

    note = trend_note(current, snapshot_of(current, dimensions=previous), policy.history)
    by_name = {d.dimension: d for d in note.dimensions}

    assert by_name["usage"].arrow == NEW and by_name["usage"].previous is None
    assert by_name["usage"].score == now["usage"] and by_name["usage"].delta is None
    gone = by_name["satisfaction"]
    assert (gone.arrow, gone.score, gone.previous, gone.delta) == ("gone", None, 70, None)
    assert [d.dimension for d in note.dimensions] == [
        d.value for d in Dimension if d.value in by_name
    ]
    markdown = render_trend_note(note)
    assert f"| usage | {now['usage']} | - | new |" in markdown
    assert "| satisfaction | - | 70 | gone |" in markdown


def test_markdown_has_the_note_and_a_dimension_table(assess, policy) -> None:
    current = assess()
    now = scores(current)
    previous = {**now, "usage": now["usage"] - 12, "support": now["support"] + 1}
    note = trend_note(
        current,
        snapshot_of(current, dimensions=previous, score=current.score + 3, band=Band.RED.value),
        policy.history,
    )

    lines = render_trend_note(note).splitlines()

    assert lines[0] == f"### Health trend: {current.name}"
    assert lines[2] == note.note
    assert f"band red → {current.band.value}" in note.note
    assert "down 3" in note.note and "Moved: usage ↑ 12." in note.note
    table = lines[4:]
    assert table[:2] == ["| Dimension | Now | Before | Trend |", "|---|---|---|---|"]
    rows = {row.split(" | ")[0].removeprefix("| "): row for row in table[2:] if row}
    assert rows["usage"] == f"| usage | {now['usage']} | {now['usage'] - 12} | ↑ +12 |"
    assert rows["support"] == f"| support | {now['support']} | {now['support'] + 1} | → -1 |"
    assert rows["adoption"] == f"| adoption | {now['adoption']} | {now['adoption']} | → +0 |"
    assert len(rows) == len(now)


def test_json_model_round_trips(assess, policy) -> None:
    current = assess()
    note = trend_note(current, snapshot_of(current, score=current.score + 4), policy.history)

    data = json.loads(note.model_dump_json())

    assert set(data) == {
        "account_id",
        "name",
        "as_of",
        "previous_as_of",
        "score",
        "previous_score",
        "delta",
        "band",
        "previous_band",
        "band_changed",
        "dimensions",
        "trend_flags",
        "note",
    }
    assert data["trend_flags"] == []
    assert data["as_of"] == current.as_of.isoformat()
    assert data["previous_as_of"] == BEFORE.isoformat()
    assert data["delta"] == -4 and data["previous_score"] == current.score + 4
    assert data["dimensions"][0] == {
        "dimension": "usage",
        "score": scores(current)["usage"],
        "previous": scores(current)["usage"],
        "delta": 0,
        "arrow": STEADY,
    }
    assert TrendNote.model_validate_json(note.model_dump_json()) == note
    first = json.loads(trend_note(current, None, policy.history).model_dump_json())
    assert first["previous_as_of"] is None and first["delta"] is None
    assert {d["arrow"] for d in first["dimensions"]} == {NEW}


def test_previous_snapshot_parses_the_stored_date() -> None:
    snapshot = PriorAssessment(as_of="2026-11-16", score=60, band="yellow", dimensions={})
    assert snapshot.as_of == BEFORE
