"""Seed 003's health trend note: what moved since the account's previous snapshot."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

import orjson
from pydantic import BaseModel, ConfigDict, Field

from skill.assessment import Assessment, PriorAssessment, trusted
from skill.policy import HistoryConfig
from skill.vocabulary import TREND_FLAGS, Dimension

UP, DOWN, STEADY, NEW = "↑", "↓", "→", "new"


class DimensionTrend(BaseModel):
    model_config = ConfigDict(frozen=True)

    dimension: str
    score: int | None
    previous: int | None
    delta: int | None
    arrow: str


class Current(NamedTuple):
    """The few fields of an assessment a trend note reads (kept while its batch is written)."""

    account_id: str
    name: str
    as_of: date
    score: int | None
    band: str
    dimensions: dict[str, int]
    trend_flags: tuple[str, ...] = ()

    @classmethod
    def of(cls, a: Assessment) -> Current:
        # `_value_`: an enum member's value without the property `.value` costs, and
        # plain strings to look up (an enum member's hash is a Python call): once
        # per account in every `run`.
        return cls(
            a.account_id,
            a.name,
            a.as_of,
            a.score,
            a.band._value_,
            {d.dimension._value_: d.score for d in a.dimensions},
            tuple([f.code._value_ for f in a.flags if f.code._value_ in _TREND_FLAG_VALUES]),
        )


_TREND_FLAG_VALUES = frozenset(code.value for code in TREND_FLAGS)


class TrendNote(BaseModel):
    """Score delta, band change and an arrow per dimension, with one line to read."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    name: str
    as_of: date
    previous_as_of: date | None
    score: int | None = Field(description="Null when the account has no data (band no_data).")
    previous_score: int | None
    delta: int | None
    band: str
    previous_band: str | None
    band_changed: bool
    dimensions: list[DimensionTrend]
    trend_flags: list[str] = Field(
        description="Flags the engine raised from this history: score_drop, usage_declining."
    )
    note: str


# Built from values already of the fields' types (the engine's and the store's): not
# validated again per account (`skill.assessment.trusted`).
_new_dimension_trend = trusted(DimensionTrend)
_new_trend_note = trusted(TrendNote)


#: Dimensions in the order a trend note lists them.
_DIMENSION_ORDER = {d.value: rank for rank, d in enumerate(Dimension)}


def _arrow(delta: int, steady_within: int) -> str:
    # A dimension that did not move is steady even with `trend_steady_within: 0`.
    if delta == 0 or abs(delta) < steady_within:
        return STEADY
    return UP if delta > 0 else DOWN


def trend_note(
    current: Assessment | Current, previous: PriorAssessment | None, config: HistoryConfig
) -> TrendNote:
    fields = trend_fields(current, previous, config)
    fields["dimensions"] = [_new_dimension_trend(**d) for d in fields["dimensions"]]
    return _new_trend_note(**fields)


def trend_note_line(
    current: Assessment | Current, previous: PriorAssessment | None, config: HistoryConfig
) -> str:
    """`to_json(trend_note(...), line=True)`, the same text, written from plain values.

    `run --format jsonl` prints one per account: building the models only to write
    them cost more than the rest of the note.
    """
    return orjson.dumps(trend_fields(current, previous, config), option=_LINE).decode()


_LINE = orjson.OPT_APPEND_NEWLINE


def trend_fields(
    current: Assessment | Current, previous: PriorAssessment | None, config: HistoryConfig
) -> dict[str, Any]:
    """A trend note's fields in `TrendNote`'s order, each dimension's as a dict in
    `DimensionTrend`'s: what `trend_note` builds its model from and `trend_note_line`
    writes."""
    if isinstance(current, Assessment):
        current = Current.of(current)
    now = current.dimensions
    if previous is None:
        return {
            "account_id": current.account_id,
            "name": current.name,
            "as_of": current.as_of,
            "previous_as_of": None,
            "score": current.score,
            "previous_score": None,
            "delta": None,
            "band": current.band,
            "previous_band": None,
            "band_changed": False,
            "dimensions": [
                {"dimension": d, "score": s, "previous": None, "delta": None, "arrow": NEW}
                for d, s in now.items()
            ],
            "trend_flags": [],
            "note": f"First snapshot: {_score_text(current.score)} ({current.band}); no trend yet.",
        }
    before = previous.dimensions
    dimensions = []
    for name in sorted(set(now) | set(before), key=_DIMENSION_ORDER.__getitem__):
        score, old = now.get(name), before.get(name)
        if score is None or old is None:
            arrow = NEW if old is None else "gone"
            dimensions.append(
                {"dimension": name, "score": score, "previous": old, "delta": None, "arrow": arrow}
            )
            continue
        change = score - old
        dimensions.append(
            {
                "dimension": name,
                "score": score,
                "previous": old,
                "delta": change,
                "arrow": _arrow(change, config.trend_steady_within),
            }
        )
    band_changed = current.band != previous.band
    delta: int | None = None
    if current.score is None or previous.score is None:
        # No delta against a score that is not known, either side.
        note = (
            f"Now {_score_text(current.score)} ({current.band}), "
            f"{_score_text(previous.score)} on {previous.as_of} ({previous.band}): "
            "no delta without a score on both dates."
        )
    else:
        delta = current.score - previous.score
        moved = [
            f"{d['dimension']} {d['arrow']} {abs(d['delta'])}"
            for d in dimensions
            if d["delta"] is not None and d["arrow"] in (UP, DOWN)
        ]
        band = f"band {previous.band} → {current.band}" if band_changed else f"band {current.band}"
        direction = "up" if delta > 0 else "down" if delta < 0 else "unchanged"
        amount = f" {abs(delta)}" if delta else ""
        note = f"Score {current.score}, {direction}{amount} since {previous.as_of}; {band}. " + (
            f"Moved: {', '.join(moved)}." if moved else "No dimension moved."
        )
        if current.trend_flags:
            note += f" Trend flags: {', '.join(current.trend_flags)}."
    return {
        "account_id": current.account_id,
        "name": current.name,
        "as_of": current.as_of,
        "previous_as_of": previous.as_of,
        "score": current.score,
        "previous_score": previous.score,
        "delta": delta,
        "band": current.band,
        "previous_band": previous.band,
        "band_changed": band_changed,
        "dimensions": dimensions,
        "trend_flags": list(current.trend_flags),
        "note": note,
    }


def _score_text(score: int | None) -> str:
    return "no data" if score is None else f"score {score}"


def render_trend_note(trend: TrendNote) -> str:
    """Markdown: one line and a dimension table."""
    lines = [f"### Health trend: {trend.name}", "", trend.note, ""]
    if trend.previous_as_of is not None:
        lines += ["| Dimension | Now | Before | Trend |", "|---|---|---|---|"]
        for d in trend.dimensions:
            now = "-" if d.score is None else str(d.score)
            before = "-" if d.previous is None else str(d.previous)
            move = d.arrow if d.delta is None else f"{d.arrow} {d.delta:+d}"
            lines.append(f"| {d.dimension} | {now} | {before} | {move} |")
        lines.append("")
    return "\n".join(lines)
