"""Trend flags: what only the account's earlier assessments can show.

A score that fell 15 points in a week, or usage sliding a little every week, is
risk that one snapshot cannot see. The history comes in as data (the store
supplies it); this stage only compares. It runs after scoring because
`score_drop` reads the final score, so trend flags never move the score itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from itertools import pairwise

from skill.assessment import Maker, PriorAssessment, ScoreTrend, trusted
from skill.policy import HistoryConfig
from skill.vocabulary import Dimension, RiskFlagCode

# Stored dimensions are keyed by their value, a plain string (a str enum member would
# find it too, as it hashes and compares as its value); the key is read as stored.
USAGE = Dimension.USAGE.value


def usable_history(history: Iterable[PriorAssessment], as_of: date) -> list[PriorAssessment]:
    """Earlier scored assessments only, oldest first, one per date.

    Sorted here so the result never depends on the order a caller passed them in.
    A no_data assessment (null score) is left out: there is no delta against a
    score that was never known, so trends compare with the last scored one.
    """
    by_date = {p.as_of: p for p in history if p.as_of < as_of and p.score is not None}
    return [by_date[day] for day in sorted(by_date)]


class TrendDetector:
    """Built once per run from the policy's `history` thresholds."""

    def __init__(self, config: HistoryConfig, make: Maker = trusted) -> None:
        self._new_score_trend = make(ScoreTrend)
        self.drop_points = config.score_drop_points
        self.noise_multiple = config.score_drop_noise_multiple
        self.noise_snapshots = config.score_drop_noise_snapshots
        self.decline_periods = config.usage_decline_periods

    def trend(self, score: int, history: list[PriorAssessment]) -> ScoreTrend | None:
        if not history:
            return None
        previous = history[-1]
        return self._new_score_trend(
            previous_as_of=previous.as_of,
            previous_score=previous.score,
            delta=score - previous.score,
            snapshots=len(history),
        )

    def detect(
        self,
        score: int,
        usage: int | None,
        history: list[PriorAssessment],
        as_of: date,
    ) -> dict[RiskFlagCode, str]:
        """Evidence per raised trend flag; empty without history."""
        found: dict[RiskFlagCode, str] = {}
        if not history:
            return found
        previous = history[-1]
        fall = previous.score - score
        threshold, basis = self._drop_threshold(history)
        if fall >= threshold:
            found[RiskFlagCode.SCORE_DROP] = (
                f"score {score} vs {previous.score} on {previous.as_of}: down {fall} points "
                f"(threshold {threshold}{basis})"
            )
        declining = self._usage_declining(usage, history, as_of)
        if declining:
            found[RiskFlagCode.USAGE_DECLINING] = declining
        return found

    def _drop_threshold(self, history: list[PriorAssessment]) -> tuple[int, str]:
        """The policy's points, or more for an account whose score usually moves a lot."""
        if len(history) < self.noise_snapshots or self.noise_multiple == 0:
            return self.drop_points, ""
        steps = sorted(abs(b.score - a.score) for a, b in pairwise(history))
        usual = steps[len(steps) // 2]
        noisy = math.ceil(self.noise_multiple * usual)
        if noisy <= self.drop_points:
            return self.drop_points, ""
        return noisy, f", {self.noise_multiple:g}x this account's usual move of {usual}"

    def _usage_declining(
        self, usage: int | None, history: list[PriorAssessment], as_of: date
    ) -> str | None:
        """Usage fell at each of the last `decline_periods` snapshot-to-snapshot steps."""
        periods = self.decline_periods
        if usage is None or len(history) < periods:
            return None
        earlier = history[-periods:]
        series = [p.dimensions.get(USAGE) for p in earlier]
        if any(value is None for value in series):
            return None
        values = [*series, usage]
        if all(later < before for before, later in pairwise(values)):
            path = " → ".join(str(v) for v in values)
            return (
                f"usage dimension {path} over the last {periods + 1} snapshots "
                f"({earlier[0].as_of} to {as_of}): down {periods} periods in a row"
            )
        return None
