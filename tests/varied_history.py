"""Earlier assessments that vary with a generated account's number, for tests that
compare two ways of making the same output with history."""

from __future__ import annotations

from datetime import date, timedelta

from skill.assessment import PriorAssessment


def history_of(account_id: str, as_of: date) -> list[PriorAssessment]:
    """None, one or several earlier assessments, some without a score, so smoothing,
    band hysteresis and trend flags all come up."""
    n = int(account_id[-4:])
    if n % 3 == 0:
        return []
    return [
        PriorAssessment(
            as_of=as_of - timedelta(days=7 * k),
            score=(n * 7 + k * 13) % 101 if n % 11 else None,
            band="green" if n % 2 else "red",
            dimensions={"usage": (n * 3 + k * 17) % 101, "support": (n + k * 29) % 101},
        )
        for k in range(1, 1 + n % 4)
    ]
