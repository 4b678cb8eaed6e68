"""Stage 7: seed 000's additive score, the baseline the contextual assessment improves on.

It deliberately keeps the old flaws: a missing value earns no points and no
context (lifecycle, themes) changes the sum.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

from skill.assessment import LegacyRow, LegacyScore, from_fields
from skill.engine.context import AccountContext
from skill.engine.dimensions import rememberable, round_half_up
from skill.engine.shared import SharedPieces
from skill.policy import LegacyConfig, LegacyField

# Each metric gives (value, shown): the value the points are read from, and the
# text the row shows.
Metric = Callable[[AccountContext], tuple[float | str | None, str]]
# A field's rows so far, with their points, by the values read or the metric's result.
Rows = dict[object, tuple[LegacyRow, int]]
# A field with its metric, a reader of the values the metric reads, and its rows.
Field = tuple[LegacyField, Metric, Callable[[AccountContext], object], Rows, Rows]


def _seat_utilisation_pct(ctx: AccountContext) -> tuple[float | str | None, str]:
    r = ctx.record
    if r.active_users is None or not r.licensed_seats:
        return None, "not given"
    pct = round_half_up(r.active_users / r.licensed_seats * 100)
    if pct > 100:
        return 100, "100% (more active users than seats)"
    return pct, f"{pct}%"


def _adoption_pct(ctx: AccountContext) -> tuple[float | str | None, str]:
    r = ctx.record
    if r.features_adopted is None or not r.features_total:
        return None, "not given"
    pct = round_half_up(r.features_adopted / r.features_total * 100)
    return pct, f"{pct}%"


def _open_tickets(ctx: AccountContext) -> tuple[float | str | None, str]:
    tickets = ctx.record.open_tickets
    return tickets, "not given" if tickets is None else str(tickets)


def _csat(ctx: AccountContext) -> tuple[float | str | None, str]:
    csat = ctx.record.csat
    return csat, "not given" if csat is None else f"{csat:g}"


def _renewal_days(ctx: AccountContext) -> tuple[float | str | None, str]:
    days = ctx.days_to_renewal
    return days, "not given" if days is None else f"{days} days"


def _blocker(ctx: AccountContext) -> tuple[float | str | None, str]:
    blocker = ctx.record.blocker.value if ctx.record.blocker else None
    return blocker, blocker or "not given"


# What each metric reads, so a row can be looked up by those values before the metric
# is worked out (a test checks each metric reads nothing else).
METRIC_READS: dict[str, tuple[str, ...]] = {
    "seat_utilisation_pct": ("record.active_users", "record.licensed_seats"),
    "adoption_pct": ("record.features_adopted", "record.features_total"),
    "open_tickets": ("record.open_tickets",),
    "csat": ("record.csat",),
    "renewal_days": ("days_to_renewal",),
    "blocker": ("record.blocker",),
}

METRICS: dict[str, Metric] = {
    "seat_utilisation_pct": _seat_utilisation_pct,
    "adoption_pct": _adoption_pct,
    "open_tickets": _open_tickets,
    "csat": _csat,
    "renewal_days": _renewal_days,
    "blocker": _blocker,
}


def _points(field: LegacyField, value: float | str | None) -> int:
    if isinstance(value, str):
        return field.values.get(value, 0)
    if value is not None:
        for bracket in field.brackets:
            if bracket.matches(value):
                return bracket.points
    return 0


class LegacyScorer:
    """Stage 7 for one policy: built once per run, called once per account."""

    def __init__(self, config: LegacyConfig, shared: SharedPieces) -> None:
        self.bands = tuple((band.min, band.label) for band in config.bands)
        # Each field with its metric, a reader of the values the metric reads, and its
        # rows so far by those values and by what the metric gave.
        self.fields: tuple[Field, ...] = tuple(
            (field, METRICS[field.metric], attrgetter(*METRIC_READS[field.metric]), {}, {})
            for field in config.fields
        )
        self.shared = shared
        self._new_legacy_score = from_fields(shared.make, LegacyScore)
        self._keep = shared.keep  # a row is remembered for many accounts

    def score(self, ctx: AccountContext) -> LegacyScore:
        rows = []
        total = 0
        for field, metric, read, known, by_metric in self.fields:
            # A row is the same for the same values read, and for the same value and text
            # the metric gives (seat counts vary more than the percentage they make).
            key = read(ctx)
            found = known.get(key)
            if found is None:
                value, shown = given = metric(ctx)
                found = by_metric.get(given)
                if found is None:
                    points = _points(field, value)
                    row = self.shared.get(LegacyRow, field.label, shown, points)
                    found = (self._keep(row), points)
                    if len(by_metric) < MAX_ROWS_PER_FIELD and rememberable(value):
                        by_metric[given] = found
                if len(known) < MAX_ROWS_PER_FIELD and rememberable(key):
                    known[key] = found
            rows.append(found[0])
            total += found[1]
        for least, band in self.bands:
            if total >= least:
                return self._new_legacy_score({"total": total, "band": band, "rows": rows})
        raise StopIteration  # as next() over no band would: the policy has no lowest band


MAX_ROWS_PER_FIELD = 1024
