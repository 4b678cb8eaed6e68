"""Templates, their filters, and the server-drawn SVG charts.

Autoescape is on for every template: names, notes, blocker notes, contact fields
and drafted prose are text, whatever they hold. The charts are built here from
numbers only; their one piece of text (a tooltip) is escaped too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from skill.assessment import Assessment
from skill.drafting import AccountTexts
from skill.insights.portfolio import ScorePoint
from skill.policy import Policy
from skill.render.markdown import (
    KIND_WORDS,
    SOURCE_ORDER,
    factor_lists,
    flags_first,
    missing_data_text,
    source_line,
)
from skill.vocabulary import ActionStatus

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

#: Seed 000's words for the statuses in the policy matrix.
STATUS_WORDS = {
    ActionStatus.AUTO.value: "Auto",
    ActionStatus.APPROVAL_REQUIRED.value: "Approve",
    ActionStatus.RECOMMEND_ONLY.value: "Recommend",
    ActionStatus.BLOCKED.value: "Blocked",
}
SEGMENT_WORDS = {"smb": "SMB", "mid_market": "Mid-market", "enterprise": "Enterprise"}


def money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def score_text(value: int | None) -> str:
    return "no data" if value is None else str(value)


def day_text(value: date | str | None) -> str:
    if value is None:
        return "—"
    return value.isoformat() if isinstance(value, date) else str(value)


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


@cache
def environment() -> Environment:
    """The one template environment (templates are package data; compiled once)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=money,
        score=score_text,
        day=day_text,
        percent=percent,
        status_word=lambda s: STATUS_WORDS.get(str(s), str(s)),
        segment_word=lambda s: SEGMENT_WORDS.get(str(s), str(s)),
        kind_word=lambda k: KIND_WORDS.get(str(k), str(k)),
        sparkline=sparkline,
    )
    env.globals.update(score_chart=score_chart, band_bar=band_bar)
    return env


@dataclass(frozen=True)
class HealthView:
    """One assessment in seed 002's health-summary order, with the words around it."""

    a: Assessment
    texts: AccountTexts | None
    flags_first: bool
    positive: list[str]
    negative: list[str]
    missing: str
    inputs: list[str]


def health_view(a: Assessment, texts: AccountTexts | None, policy: Policy) -> HealthView:
    positive, negative = factor_lists(a, policy.scoring.positive_factor_min)
    by_source = {s.source: s for s in a.sources}
    return HealthView(
        a=a,
        texts=texts,
        flags_first=flags_first(a),
        positive=positive,
        negative=negative,
        missing=missing_data_text(a),
        inputs=[source_line(by_source[s]) for s in SOURCE_ORDER if s in by_source],
    )


# -- charts -------------------------------------------------------------------------


def _points(history: list[ScorePoint], width: float, height: float, pad: float):
    """(x, y, point) for each scored point; x spread evenly over the recorded dates."""
    n = len(history)
    step = (width - 2 * pad) / (n - 1) if n > 1 else 0.0
    out = []
    for i, point in enumerate(history):
        if point.score is None:
            continue
        x = pad + i * step if n > 1 else width / 2
        y = pad + (100 - point.score) / 100 * (height - 2 * pad)
        out.append((round(x, 1), round(y, 1), point))
    return out


def _tooltip(history: list[ScorePoint]) -> str:
    return ", ".join(f"{p.as_of.isoformat()}: {score_text(p.score)}" for p in history)


def sparkline(history: list[ScorePoint], width: int = 120, height: int = 28) -> Markup:
    """A small score line over the recorded dates; the last point marked by its band."""
    if not history:
        return Markup("")
    points = _points(history, width, height, 3)
    line = " ".join(f"{x},{y}" for x, y, _ in points)
    parts = [
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="score history">',
        f"<title>{escape(_tooltip(history))}</title>",
    ]
    if len(points) > 1:
        parts.append(f'<polyline class="spark-line" points="{line}"/>')
    if points:
        x, y, last = points[-1]
        parts.append(f'<circle class="dot band-{escape(last.band)}" cx="{x}" cy="{y}" r="2.5"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def score_chart(history: list[ScorePoint], width: int = 640, height: int = 200) -> Markup:
    """The account's score on each recorded date, with gridlines every 25 points."""
    if not history:
        return Markup("")
    left, pad = 34, 14
    inner_w = width - left
    points = [(x + left, y, p) for x, y, p in _points(history, inner_w, height - 18, pad)]
    parts = [
        f'<svg class="score-chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="score history chart">',
        f"<title>{escape(_tooltip(history))}</title>",
    ]
    for level in (0, 25, 50, 75, 100):
        y = round(pad + (100 - level) / 100 * (height - 18 - 2 * pad), 1)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - 4}" y1="{y}" y2="{y}"/>')
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4}" text-anchor="end">{level}</text>'
        )
    if len(points) > 1:
        parts.append(
            '<polyline class="chart-line" points="'
            + " ".join(f"{x},{y}" for x, y, _ in points)
            + '"/>'
        )
    for x, y, p in points:
        label = escape(f"{p.as_of.isoformat()}: {score_text(p.score)} ({p.band})")
        parts.append(
            f'<circle class="dot band-{escape(p.band)}" cx="{x}" cy="{y}" r="4">'
            f"<title>{label}</title></circle>"
        )
    first, last = history[0], history[-1]
    start = escape(first.as_of.isoformat())
    parts.append(f'<text class="axis" x="{left + pad}" y="{height - 2}">{start}</text>')
    if len(history) > 1:
        parts.append(
            f'<text class="axis" x="{width - pad}" y="{height - 2}" text-anchor="end">'
            f"{escape(last.as_of.isoformat())}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def band_bar(shares: list[Any], width: int = 640, height: int = 22) -> Markup:
    """The share of ARR by band as one stacked bar (shares as the library computed them)."""
    x = 0.0
    parts = [
        f'<svg class="band-bar" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="share of ARR by band">'
    ]
    for share in shares:
        if not share.share_of_arr:
            continue
        w = round(share.share_of_arr * width, 1)
        label = escape(f"{share.band}: {percent(share.share_of_arr)} of ARR")
        parts.append(
            f'<rect class="band-{escape(share.band)}" x="{round(x, 1)}" y="0" width="{w}" '
            f'height="{height}"><title>{label}</title></rect>'
        )
        x += w
    parts.append("</svg>")
    return Markup("".join(parts))
