"""A score that moves when the account does: smoothing and band hysteresis from history.

Monthly product and support counts are noisy; a stable customer's score should
not jump ten points because three logins became one. With the account's previous
recorded snapshot at hand, the noisy dimensions blend it in (an exponential
moving average, so the stored value already carries the earlier ones), and a band
changes only when the score clears the line by a margin. Without history nothing
here applies: the assessment reads the record alone.
"""

from __future__ import annotations

from datetime import date

from skill.assessment import (
    DimensionScore,
    Maker,
    PriorAssessment,
    ScoreCap,
    fields_of,
    from_fields,
    trusted,
)
from skill.engine.context import AccountContext
from skill.engine.dimensions import round_half_up
from skill.policy import HistoryConfig, Scoring
from skill.vocabulary import Band


class Smoother:
    def __init__(self, config: HistoryConfig, make: Maker = trusted) -> None:
        # A blended dimension is the engine's own score with two fields changed: built
        # without validation, as the engine builds it (`model_copy` cost a `run` a week
        # on more per account than the rest of smoothing).
        self._new_dimension_score = from_fields(make, DimensionScore)
        self.dimensions = frozenset(d.value for d in config.smoothing.dimensions)
        self.latest = config.smoothing.weight_of_latest
        self.max_gap = config.smoothing.max_gap_days

    def smooth(
        self,
        dimensions: list[DimensionScore],
        ctx: AccountContext,
        previous: PriorAssessment | None,
    ) -> list[DimensionScore]:
        if previous is None or self.latest >= 1 or (ctx.as_of - previous.as_of).days > self.max_gap:
            return dimensions
        blended = []
        for d in dimensions:
            name = d.dimension._value_  # the enum's value without its property's cost
            before = previous.dimensions.get(name)
            if name not in self.dimensions or before is None:
                blended.append(d)
                continue
            score = round_half_up(self.latest * d.score + (1 - self.latest) * before)
            ctx.dimension_scores[d.dimension] = score
            blended.append(
                self._new_dimension_score({**fields_of(d), "score": score, "unsmoothed": d.score})
            )
        return blended


def band_with_hysteresis(
    score: int,
    plain: Band,
    previous: PriorAssessment | None,
    caps: list[ScoreCap],
    scoring: Scoring,
    margin: int,
) -> tuple[Band, str | None]:
    """The previous band holds while the score is within `margin` of the line it crossed.

    Never when a guard rail capped the score: a cap exists to move the band.
    """
    if previous is None or margin == 0 or caps or previous.band == plain.value:
        return plain, None
    order = [t.band.value for t in scoring.bands]  # best first
    if previous.band not in order:
        return plain, None
    held = Band(previous.band)
    worse = order.index(plain.value) > order.index(previous.band)
    if worse:
        line = next(t.min for t in scoring.bands if t.band == held)
        if score >= line - margin:
            return held, _note(held, score, line, margin, previous.as_of)
    else:
        line = next(t.min for t in scoring.bands if t.band == plain)
        if score < line + margin:
            return held, _note(held, score, line, margin, previous.as_of)
    return plain, None


def _note(band: Band, score: int, line: float, margin: int, since: date) -> str:
    return (
        f"kept {band.value} (as on {since.isoformat()}): {score} is within {margin} points "
        f"of the {line:g} line"
    )
