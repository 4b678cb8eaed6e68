"""Stage 7: seed 000's additive score, the baseline the contextual assessment improves on.

It deliberately keeps the old flaws: a missing value earns no points and no
context (lifecycle, themes) changes the sum.
"""

from __future__ import annotations

from skill.assessment import LegacyRow, LegacyScore
from skill.engine.context import AccountContext
from skill.engine.dimensions import round_half_up
from skill.engine.shared import SharedPieces
from skill.policy import LegacyConfig, LegacyField


def _metric(field: LegacyField, ctx: AccountContext) -> tuple[float | str | None, str]:
    r = ctx.record
    if field.metric == "seat_utilisation_pct":
        if r.active_users is None or not r.licensed_seats:
            return None, "not given"
        pct = round_half_up(r.active_users / r.licensed_seats * 100)
        return pct, f"{pct}%"
    if field.metric == "adoption_pct":
        if r.features_adopted is None or not r.features_total:
            return None, "not given"
        pct = round_half_up(r.features_adopted / r.features_total * 100)
        return pct, f"{pct}%"
    if field.metric == "open_tickets":
        return r.open_tickets, "not given" if r.open_tickets is None else str(r.open_tickets)
    if field.metric == "csat":
        return r.csat, "not given" if r.csat is None else f"{r.csat:g}"
    if field.metric == "renewal_days":
        days = ctx.days_to_renewal
        return days, "not given" if days is None else f"{days} days"
    blocker = r.blocker.value if r.blocker else None
    return blocker, blocker or "not given"


def legacy_score(config: LegacyConfig, ctx: AccountContext, shared: SharedPieces) -> LegacyScore:
    rows = []
    for field in config.fields:
        value, shown = _metric(field, ctx)
        points = 0
        if isinstance(value, str):
            points = field.values.get(value, 0)
        elif value is not None:
            for bracket in field.brackets:
                if bracket.matches(value):
                    points = bracket.points
                    break
        rows.append(shared.get(LegacyRow, field.label, shown, points))
    total = sum(row.points for row in rows)
    band = next(b.label for b in config.bands if total >= b.min)
    return LegacyScore(total=total, band=band, rows=rows)
