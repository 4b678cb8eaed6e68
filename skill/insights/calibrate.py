"""Calibration: fit points per signal to the company's own churn, as a credit scorecard does.

    result = calibrate(connection, policy, as_of=date(2026, 12, 31))
    if result.status == "fitted":
        write_policy(result, Path("calibrated.yaml"))   # review, then adopt with --policy

Samples: every recorded snapshot (the input record kept in `snapshots`), labelled
churned when a churn outcome (``measurement.churn_outcomes``) follows within
``measurement.calibration.horizon_days``. A snapshot whose horizon runs past
`as_of` without churn is left out (its answer is not known yet). An account with
no churn outcome counts as kept.

Split: an account is held out when the first 64 bits of sha256(account_id), read
as a fraction of 2**64, are below ``measurement.holdout_share``: deterministic, by
account, stated in the result. Everything is fitted on the rest and judged on the
held-out accounts only.

Fit (scikit-learn, the optional ``calibrate`` extra; every setting is in
``measurement.calibration``):

1. Each signal is read from the snapshot exactly as the engine reads it (the same
   metric: a ratio, a change, days since). Numeric signals are cut at training
   quantiles into at most ``bins`` bins; a bin holding less than ``min_bin_share``
   of the signal's snapshots merges with its neighbour. Categories are their own bins.
2. Each bin's weight of evidence (log of the kept share over the churned share),
   centred on the signal's average. A signal listed in ``directions`` is made
   monotone (isotonic regression over its bins, weighted by their counts); every
   other signal is free, so a signal whose direction is reversed gets negative
   points where the default policy assumed health.
3. Signals enter one at a time while each adds ``min_auc_gain`` of cross-validated
   AUC (folds by account); then one L2-regularised logistic regression of churn on
   their weights of evidence, its strength chosen by cross-validated AUC. A signal
   whose coefficient comes out the wrong way round is dropped and the rest refitted.
   A bin's points are its coefficient times its weight of evidence.
4. The policy written: each signal's curve or category scores on one point scale
   (``points_to_double_odds`` per doubling of the odds of churn, centred on 50,
   squeezed to fit 0-100), its weight (its range of points), each dimension's
   weight per segment (own where the segment has enough churn, shrunk towards the
   pool by ``segment_shrink`` churned snapshots; pooled elsewhere), the history
   smoothing (of ``smoothing_choices``, the most that costs at most
   ``smoothing_auc_cost`` of training AUC), bands where the churn risk reaches
   ``band_relative_risk`` times the base rate, and a churn model (a logistic fit of
   churn on the engine's final score on training snapshots) that gives every
   assessment a churn probability for the horizon.

Before and after: the engine re-assesses the held-out snapshots under the current
and the calibrated policy; the result reports ROC AUC (snapshot level and per
outcome, as `measure` joins them), the Brier score and a calibration table.
Nothing here changes the active policy.
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import tempfile
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from skill.assessment import PriorAssessment
from skill.engine import Engine
from skill.engine.dimensions import READERS, Reader, readers_for, round_half_up
from skill.insights.measure import AucResult, OutcomesAfter, outcomes_after, roc_auc
from skill.policy import Policy, PolicyError, load_policy
from skill.record import AccountRecord, Segment
from skill.store.db import now_utc
from skill.vocabulary import Dimension

__all__ = [
    "Calibration",
    "CalibrationUnavailable",
    "calibrate",
    "held_out",
    "policy_yaml",
    "record_calibration",
    "write_policy",
]

DIMENSIONS: tuple[str, ...] = tuple(d.value for d in Dimension)
#: Snapshots replayed through the engine, for training (the smoothing choice, the churn
#: model) and for judging (held out): at most this many each, whole accounts chosen by
#: hash, so a large history calibrates in about a minute.
REPLAY_LIMIT = 20_000
#: Training snapshots the scorecard is fitted on: at most this many (whole accounts by hash).
FIT_LIMIT = 50_000
INSTALL_HINT = "pip install 'account-health-skill[calibrate]'"


class CalibrationUnavailable(RuntimeError):
    """scikit-learn is not installed."""


def held_out(account_id: str, share: float) -> bool:
    """The deterministic split: sha256(account_id)'s first 64 bits as a fraction < share."""
    digest = hashlib.sha256(account_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


# -- result model ---------------------------------------------------------------------


class Counts(BaseModel):
    accounts: int
    snapshots: int
    churned: int = Field(description="Snapshots followed by churn within the horizon.")


class Bin(BaseModel):
    label: str = Field(description="The values in the bin, in words.")
    lower: float | None = Field(description="Above this value (numeric bins).")
    upper: float | None = Field(description="Up to and including this value (numeric bins).")
    category: str | None = None
    n: int = Field(description="Training snapshots in the bin.")
    churn_rate: float = Field(description="Observed churn within the horizon in the bin.")
    points: float = Field(
        description="Centred log-odds of staying: positive is healthier than the signal's average."
    )
    score: int = Field(ge=0, le=100, description="The 0-100 score the written policy gives it.")


class SignalFit(BaseModel):
    signal: str
    dimension: str
    direction: Literal["higher", "lower", "free"]
    weight: float = Field(description="Range of points across the bins; 0: it did not predict.")
    bins: list[Bin]


class SegmentCount(BaseModel):
    segment: str
    outcomes: int
    churned: int
    weights: Literal["own", "pooled"] = Field(
        default="pooled",
        description="own: dimension weights from the segment's own fit (shrunk towards the "
        "pool); pooled: too little churn of its own.",
    )


class Decile(BaseModel):
    decile: int
    n: int
    predicted: float
    observed: float


class Calibration(BaseModel):
    as_of: date
    outcomes_after: OutcomesAfter
    policy_version: str
    status: Literal["fitted", "insufficient"]
    message: str
    split: str = Field(description="The held-out split, in words.")
    holdout_share: float
    horizon_days: int
    outcomes: int = Field(description="Outcomes matched to a snapshot recorded before them.")
    churned: int
    min_outcomes: int
    min_churned: int
    train: Counts
    holdout: Counts
    auc_before: AucResult = Field(description="Held-out snapshots, churn within the horizon.")
    auc_after: AucResult
    outcome_auc_before: AucResult = Field(description="Held-out outcomes, as `measure` joins them.")
    outcome_auc_after: AucResult
    brier_before: float | None = Field(
        description="The current score mapped to a probability on training snapshots."
    )
    brier_after: float | None
    brier_base_rate: float | None = Field(description="Predicting the base rate for everyone.")
    calibration_table: list[Decile] = Field(description="Held-out deciles of predicted churn.")
    signals: list[SignalFit]
    weights: dict[str, dict[str, float]]
    bands: dict[str, int] = Field(description="Lowest score of green and of yellow.")
    smoothing: float | None = Field(
        description="History smoothing chosen on training accounts: this snapshot's share."
    )
    churn_model: dict[str, Any] | None
    segments: list[SegmentCount]
    settings: dict[str, Any]
    policy: dict[str, Any] | None = Field(
        description="The policy file's data (scoring signals, weights, bands, churn_model); "
        "null when nothing was fitted."
    )
    policy_path: str | None = None


# -- samples --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    account_id: str
    as_of: date
    segment: str
    record: AccountRecord
    churned: bool | None  # None: censored (horizon not over yet)


def load_samples(
    connection: sqlite3.Connection, policy: Policy, as_of: date
) -> tuple[list[Sample], list[tuple[str, date, bool]]]:
    """Every snapshot up to `as_of` with its label, and the outcomes (account, date, churn)."""
    churn_set = frozenset(policy.measurement.churn_outcomes)
    horizon = timedelta(days=policy.measurement.calibration.horizon_days)
    outcomes = [
        (account_id, date.fromisoformat(day), outcome in churn_set)
        for account_id, outcome, day in connection.execute(
            "SELECT account_id, outcome, outcome_date FROM outcomes WHERE outcome_date <= ? "
            "ORDER BY account_id, outcome_date",
            (as_of.isoformat(),),
        )
    ]
    churn_dates: dict[str, list[date]] = defaultdict(list)
    for account_id, day, churned in outcomes:
        if churned:
            churn_dates[account_id].append(day)
    samples = []
    for account_id, day, segment, record_json in connection.execute(
        "SELECT s.account_id, s.as_of, a.segment, document(s.record_json) FROM snapshots AS s "
        "JOIN assessments AS a ON a.account_id = s.account_id AND a.as_of = s.as_of "
        "WHERE s.as_of <= ? ORDER BY s.account_id, s.as_of",
        (as_of.isoformat(),),
    ):
        snapshot_day = date.fromisoformat(day)
        churned: bool | None = any(
            snapshot_day < c <= snapshot_day + horizon for c in churn_dates.get(account_id, ())
        )
        if not churned and snapshot_day + horizon > as_of:
            churned = None
        record = AccountRecord.model_validate_json(record_json)
        samples.append(Sample(account_id, snapshot_day, segment, record, churned))
    return samples, outcomes


def readings(sample: Sample, readers: dict[str, Reader]) -> dict[str, float | str]:
    """Each signal's metric (numeric) or category, read as the engine reads it."""
    found: dict[str, float | str] = {}
    for name, read in readers.items():
        reading = read(sample.record, sample.record.as_of or sample.as_of)
        if reading is None:
            continue
        metric, category, _ = reading
        found[name] = category if category is not None else float(metric or 0.0)
    return found


# -- binning --------------------------------------------------------------------------


@dataclass
class Binning:
    """One signal's bins: numeric upper edges (the last is +inf) or categories."""

    signal: str
    edges: list[float] | None
    categories: list[str] | None

    @property
    def size(self) -> int:
        return len(self.edges) if self.edges is not None else len(self.categories or ())

    def index(self, value: float | str) -> int | None:
        if self.edges is not None:
            return bisect_left(self.edges, float(value))
        assert self.categories is not None
        return self.categories.index(value) if value in self.categories else None


def numeric_binning(signal: str, values: list[float], bins: int, min_share: float) -> Binning:
    """Quantile edges, then the smallest bin merged into a neighbour until each is big enough."""
    ordered = sorted(values)
    n = len(ordered)
    cuts = sorted({ordered[min(n - 1, (n * k) // bins)] for k in range(1, bins)})
    edges = [*cuts, math.inf]
    while len(edges) > 1:
        counts = Counter(bisect_left(edges, v) for v in ordered)
        sizes = [counts.get(i, 0) for i in range(len(edges))]
        smallest = min(range(len(edges)), key=lambda i: (sizes[i], i))
        if sizes[smallest] >= max(1, min_share * n):
            break
        # Merge with the smaller neighbour: drop the edge between them.
        if smallest == len(edges) - 1:
            del edges[smallest - 1]
        elif smallest == 0 or sizes[smallest + 1] <= sizes[smallest - 1]:
            del edges[smallest]
        else:
            del edges[smallest - 1]
    return Binning(signal, edges, None)


def category_binning(signal: str, values: list[str], min_share: float) -> Binning:
    counts = Counter(values)
    kept = sorted(c for c, k in counts.items() if k >= max(1, min_share * len(values)))
    return Binning(signal, None, kept)


# -- the fit --------------------------------------------------------------------------


def _sklearn():
    try:
        import numpy
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
        from sklearn.model_selection import GroupKFold
    except ImportError:
        raise CalibrationUnavailable(
            f"calibrate needs scikit-learn: {INSTALL_HINT} (make installs it)"
        ) from None
    return numpy, IsotonicRegression, LogisticRegression, LogisticRegressionCV, GroupKFold


def _isotonic(values: list[float], weights: list[int], increasing: bool) -> list[float]:
    _, isotonic_cls, *_ = _sklearn()
    fitted = isotonic_cls(increasing=increasing).fit(
        range(len(values)), values, sample_weight=weights
    )
    return [float(v) for v in fitted.predict(range(len(values)))]


@dataclass
class FittedSignal:
    binning: Binning
    risk: list[float]  # centred log-odds of churn per bin
    counts: list[int]
    churn: list[int]
    medians: list[float]
    woe: list[float]  # centred weight of evidence per bin (positive: healthier)
    beta: float  # the pooled coefficient on the weight of evidence (0: not in the scorecard)

    @property
    def span(self) -> float:
        return max(self.risk) - min(self.risk) if self.risk else 0.0


def _fit_cv(matrix, labels, splits, strengths: list[float]):
    """L2 logistic regression, its strength picked by cross-validated AUC over `splits`."""
    _, _, _, logistic_cv, _ = _sklearn()
    return logistic_cv(
        Cs=strengths,
        cv=splits,
        scoring="roc_auc",
        l1_ratios=(0.0,),
        max_iter=5000,
        use_legacy_attributes=False,
    ).fit(matrix, labels)


def _forward_selection(
    candidates: list[int], columns: list[list[float]], labels, splits, min_gain: float
) -> list[int]:
    """Signals added one at a time while each raises the cross-validated AUC by `min_gain`.

    A scorecard of the few signals that carry the risk generalises better than one
    that gives every noisy signal a little weight.
    """
    numpy, _, logistic, _, _ = _sklearn()
    from sklearn.metrics import roc_auc_score

    def cv_auc(chosen: list[int]) -> float:
        matrix = numpy.array([columns[k] for k in chosen]).T
        predicted = numpy.zeros(len(labels))
        for train_rows, test_rows in splits:
            if labels[train_rows].min() == labels[train_rows].max():
                return 0.5
            model = logistic(C=1.0, max_iter=2000).fit(matrix[train_rows], labels[train_rows])
            predicted[test_rows] = model.decision_function(matrix[test_rows])
        return float(roc_auc_score(labels, predicted))

    chosen: list[int] = []
    best = 0.5
    remaining = list(candidates)
    while remaining:
        scored = [(cv_auc([*chosen, k]), -k) for k in remaining]
        auc, negative = max(scored)
        if auc < best + min_gain:
            break
        chosen.append(-negative)
        remaining.remove(-negative)
        best = auc
    return chosen


def fit_signals(
    train: list[tuple[dict[str, float | str], bool, str]], policy: Policy
) -> dict[str, FittedSignal]:
    """Bins and centred risk per bin for every signal seen in training."""
    numpy, _, _, _, group_k_fold = _sklearn()
    cfg = policy.measurement.calibration
    signal_rules = policy.scoring.signals
    binnings: list[Binning] = []
    for name in READERS:
        if name not in signal_rules:
            continue
        values = [r[name] for r, _, _ in train if name in r]
        if len(values) < 2:
            continue
        if isinstance(values[0], str):
            binning = category_binning(name, [str(v) for v in values], cfg.min_bin_share)
        else:
            binning = numeric_binning(name, [float(v) for v in values], cfg.bins, cfg.min_bin_share)
        if binning.size >= 2:
            binnings.append(binning)
    labels = numpy.array([1 if churned else 0 for _, churned, _ in train])
    churned_total = int(labels.sum())
    kept_total = len(train) - churned_total
    # Weight of evidence per bin (log of kept share over churned share, half a count
    # added so an empty side stays finite): positive is healthier than average.
    columns, woes, tallies, bin_rows = [], [], [], []
    for binning in binnings:
        index = [
            binning.index(values[binning.signal]) if binning.signal in values else None
            for values, _, _ in train
        ]
        counts = [0] * binning.size
        churn = [0] * binning.size
        for i, label in zip(index, labels, strict=True):
            if i is not None:
                counts[i] += 1
                churn[i] += int(label)
        woe = [
            math.log(((n - c + 0.5) / kept_total) / ((c + 0.5) / churned_total))
            for n, c in zip(counts, churn, strict=True)
        ]
        direction = cfg.directions.get(binning.signal)
        if binning.edges is not None and direction is not None:
            woe = _isotonic(woe, [max(n, 1) for n in counts], increasing=direction == "higher")
        present = sum(counts)
        mean = sum(w * n for w, n in zip(woe, counts, strict=True)) / present
        woe = [w - mean for w in woe]
        columns.append([0.0 if i is None else woe[i] for i in index])
        woes.append(woe)
        tallies.append((counts, churn))
        bin_rows.append(index)
    groups = [account for _, _, account in train]
    splits = list(
        group_k_fold(n_splits=min(cfg.folds, len(set(groups)))).split(train, labels, groups)
    )
    # One coefficient per signal on its weight of evidence; a signal whose coefficient
    # comes out the wrong way round (more evidence of health, more churn) is dropped
    # and the rest refitted, as scorecards do.
    candidates = [k for k in range(len(binnings)) if max(woes[k]) > min(woes[k])]
    active = _forward_selection(candidates, columns, labels, splits, cfg.min_auc_gain)
    beta: dict[int, float] = {}
    while active:
        matrix = numpy.array([columns[k] for k in active]).T
        model = _fit_cv(matrix, labels, splits, cfg.regularisation)
        coefficients = dict(zip(active, model.coef_[0], strict=True))
        wrong = [k for k, b in coefficients.items() if b >= 0]
        if not wrong:
            beta = {k: float(-b) for k, b in coefficients.items()}
            break
        active = [k for k in active if k not in wrong]
    fitted: dict[str, FittedSignal] = {}
    for k, binning in enumerate(binnings):
        counts, churn = tallies[k]
        risk = [-beta.get(k, 0.0) * w for w in woes[k]]
        medians = []
        if binning.edges is not None:
            values = sorted(float(r[binning.signal]) for r, _, _ in train if binning.signal in r)
            for i in range(binning.size):
                inside = [v for v in values if bisect_left(binning.edges, v) == i]
                medians.append(inside[len(inside) // 2] if inside else math.nan)
        fitted[binning.signal] = FittedSignal(
            binning, risk, counts, churn, medians, woes[k], beta.get(k, 0.0)
        )
    return fitted


def segment_weights(
    fitted: dict[str, FittedSignal],
    rows: list[tuple[dict[str, float | str], bool, str]],
    segment_of: dict[str, str],
    pooled: dict[str, float],
    policy: Policy,
) -> dict[str, tuple[dict[str, float], Literal["own", "pooled"]]]:
    """Per segment with enough churn of its own: dimension weights from its own fit.

    The same signals, bins and weights of evidence as the pooled scorecard; only the
    coefficients are refitted on the segment's training snapshots, then shrunk towards
    the pooled ones by `segment_shrink` churned snapshots' worth, so a small segment
    leans on the pool. A segment below `min_churned` churned snapshots keeps the pooled
    weights.
    """
    numpy, _, _, _, group_k_fold = _sklearn()
    cfg, m = policy.measurement.calibration, policy.measurement
    active = [name for name, f in fitted.items() if f.beta > 0]
    result: dict[str, tuple[dict[str, float], Literal["own", "pooled"]]] = {}
    for segment in Segment:
        mine = [r for r in rows if segment_of.get(r[2]) == segment.value]
        churned = sum(c for _, c, _ in mine)
        accounts = {a for _, _, a in mine}
        if not active or churned < m.min_churned or churned == len(mine) or len(accounts) < 2:
            result[segment.value] = (pooled, "pooled")
            continue
        matrix = numpy.array(
            [[_woe_of(fitted[name], values.get(name)) for name in active] for values, _, _ in mine]
        )
        labels = numpy.array([1 if c else 0 for _, c, _ in mine])
        groups = [a for _, _, a in mine]
        folds = group_k_fold(n_splits=min(cfg.folds, len(accounts)))
        splits = [
            (tr, te)
            for tr, te in folds.split(matrix, labels, groups)
            if 0 < labels[tr].sum() < len(tr) and 0 < labels[te].sum() < len(te)
        ]
        if not splits:
            result[segment.value] = (pooled, "pooled")
            continue
        model = _fit_cv(matrix, labels, splits, cfg.regularisation)
        share = churned / (churned + cfg.segment_shrink)
        raw = dict.fromkeys(DIMENSIONS, 0.0)
        for name, coefficient in zip(active, model.coef_[0], strict=True):
            own = max(0.0, -float(coefficient))
            beta = share * own + (1 - share) * fitted[name].beta
            dimension = policy.scoring.signals[name].dimension.value
            raw[dimension] += beta * (max(fitted[name].woe) - min(fitted[name].woe))
        if sum(raw.values()) <= 0:
            result[segment.value] = (pooled, "pooled")
            continue
        result[segment.value] = (_round_weights(raw), "own")
    return result


def _woe_of(fit: FittedSignal, value: float | str | None) -> float:
    if value is None:
        return 0.0
    index = fit.binning.index(value)
    return 0.0 if index is None else fit.woe[index]


# -- the policy written ---------------------------------------------------------------


@dataclass(frozen=True)
class PointScale:
    """How log-odds become score points: `per_log_odds` points each, centred on 50.

    With every signal at its healthiest the score is 50 + half the range, at its
    riskiest 50 - half. A model whose total range fits in 100 points at the policy's
    points-to-double-the-odds keeps that scale (a 20-point fall is twice the odds of
    churn, at the default); a stronger one is squeezed to 0-100.
    """

    per_log_odds: float
    total_range: float  # the sum of the signals' spans, log-odds

    @classmethod
    def of(cls, fitted: dict[str, FittedSignal], points_to_double: float) -> PointScale:
        total = sum(f.span for f in fitted.values())
        per = points_to_double / math.log(2)
        if total > 0:
            per = min(per, 100.0 / total)
        return cls(per, total)

    def score(self, signal: FittedSignal, risk: float) -> float:
        """The 0-100 score a bin with this centred risk gets in the written policy."""
        if signal.span == 0:
            return 50.0
        top = 50.0 + self.per_log_odds * self.total_range / 2
        return top - self.per_log_odds * self.total_range * (risk - min(signal.risk)) / signal.span


def _curve(signal: FittedSignal, scale: PointScale) -> list[list[float]]:
    points: list[list[float]] = []
    for median, risk, n in zip(signal.medians, signal.risk, signal.counts, strict=True):
        if n == 0 or math.isnan(median):
            continue
        if points and median <= points[-1][0]:
            continue
        points.append([round(median, 4), round(scale.score(signal, risk), 1)])
    if len(points) == 1:
        points.append([points[0][0] + 1, points[0][1]])
    return points


def _values(signal: FittedSignal, known: list[str], scale: PointScale) -> dict[str, float]:
    assert signal.binning.categories is not None
    fitted = {
        c: round(scale.score(signal, r), 1)
        for c, r in zip(signal.binning.categories, signal.risk, strict=True)
    }
    neutral = round(scale.score(signal, 0.0), 1)
    return {c: fitted.get(c, neutral) for c in sorted({*known, *fitted})}


def _round_weights(raw: dict[str, float]) -> dict[str, float]:
    total = sum(raw.values())
    rounded = {d: round(raw.get(d, 0.0) / total, 3) for d in DIMENSIONS}
    largest = max(DIMENSIONS, key=lambda d: (rounded[d], -DIMENSIONS.index(d)))
    rounded[largest] = round(rounded[largest] + 1.0 - sum(rounded.values()), 3)
    return rounded


def override_data(
    fitted: dict[str, FittedSignal], policy: Policy
) -> tuple[dict[str, Any], dict[str, float]]:
    """The `scoring` section to write (signals and weights) and the dimension weights."""
    signals: dict[str, Any] = {}
    by_dimension: dict[str, float] = dict.fromkeys(DIMENSIONS, 0.0)
    scale = PointScale.of(fitted, policy.measurement.calibration.points_to_double_odds)
    for name, rule in policy.scoring.signals.items():
        fit = fitted.get(name)
        if fit is None:
            # Never seen in training: it cannot count until outcomes show what it means.
            signals[name] = {"weight": 0}
            continue
        weight = round(fit.span, 3)
        by_dimension[rule.dimension.value] += weight
        entry: dict[str, Any] = {"weight": weight}
        if fit.binning.edges is not None:
            entry["curve"] = _curve(fit, scale)
        else:
            entry["values"] = _values(fit, list(rule.values or {}), scale)
        signals[name] = entry
    if sum(by_dimension.values()) <= 0:
        return {}, {}
    weights = _round_weights(by_dimension)
    return {"signals": signals, "weights": {s.value: weights for s in Segment}}, weights


def _platt(scores: list[int], labels: list[bool]) -> tuple[float, float] | None:
    numpy, _, logistic, _, _ = _sklearn()
    if len(set(labels)) < 2:
        return None
    model = logistic(C=1e6, max_iter=5000).fit(
        numpy.array(scores, dtype=float).reshape(-1, 1), numpy.array(labels, dtype=int)
    )
    return float(model.intercept_[0]), float(model.coef_[0][0])


def _probability(model: tuple[float, float], score: int) -> float:
    return 1 / (1 + math.exp(-(model[0] + model[1] * score)))


def _brier(
    model: tuple[float, float] | None, scores: list[int], labels: list[bool]
) -> float | None:
    if model is None or not labels:
        return None
    errors = [(_probability(model, s) - y) ** 2 for s, y in zip(scores, labels, strict=True)]
    return round(sum(errors) / len(errors), 4)


def _band_thresholds(model: tuple[float, float], base: float, policy: Policy) -> dict[str, int]:
    """Lowest green and yellow scores: where churn risk falls below the relative-risk marks."""
    relative = policy.measurement.calibration.band_relative_risk
    intercept, slope = model

    def score_at(risk: float) -> int:
        risk = min(max(risk, 1e-6), 1 - 1e-6)
        return round_half_up((math.log(risk / (1 - risk)) - intercept) / slope)

    yellow = min(max(score_at(base * relative.red), 1), 98)
    green = min(max(score_at(base * relative.yellow), yellow + 1), 99)
    return {"green": green, "yellow": yellow}


def _score_all(engine: Engine, samples: list[Sample]) -> dict[tuple[str, date], int]:
    """Each snapshot's final score, as `run` would have recorded it.

    Accounts are replayed in date order, each snapshot with the ones before it as
    history, so smoothing and hysteresis apply as they do in a weekly run.
    """
    depth = max(
        engine.policy.history.usage_decline_periods,
        engine.policy.history.score_drop_noise_snapshots,
    )
    by_account: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_account[sample.account_id].append(sample)
    scores = {}
    for account_id, series in by_account.items():
        history: list[PriorAssessment] = []
        for sample in sorted(series, key=lambda s: s.as_of):
            a = engine.assess(sample.record, sample.as_of, history[-depth:])
            if a.score is None:
                continue  # no data: nothing to calibrate against
            scores[(account_id, sample.as_of)] = a.score
            history.append(
                PriorAssessment(
                    as_of=a.as_of,
                    score=a.score,
                    band=a.band.value,
                    dimensions={d.dimension.value: d.score for d in a.dimensions},
                )
            )
    return scores


def _subsample(samples: list[Sample], limit: int) -> list[Sample]:
    """At most about `limit` snapshots, whole accounts, chosen by hash (deterministic)."""
    if len(samples) <= limit:
        return samples
    share = limit / len(samples)
    return [s for s in samples if _fraction(s.account_id) < share]


def _fraction(account_id: str) -> float:
    digest = hashlib.sha256(f"replay|{account_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _deciles(probabilities: list[float], labels: list[bool]) -> list[Decile]:
    pairs = sorted(zip(probabilities, labels, strict=True), key=lambda p: p[0])
    table = []
    for k in range(10):
        part = pairs[len(pairs) * k // 10 : len(pairs) * (k + 1) // 10]
        if part:
            table.append(
                Decile(
                    decile=k + 1,
                    n=len(part),
                    predicted=round(sum(p for p, _ in part) / len(part), 4),
                    observed=round(sum(y for _, y in part) / len(part), 4),
                )
            )
    return table


def _counts(samples: list[Sample]) -> Counts:
    return Counts(
        accounts=len({s.account_id for s in samples}),
        snapshots=len(samples),
        churned=sum(bool(s.churned) for s in samples),
    )


def _outcome_auc(
    outcomes: list[tuple[str, date, bool]],
    dates: dict[str, list[date]],
    scores: dict[tuple[str, date], int],
) -> AucResult:
    values, labels = [], []
    for account_id, day, churned in outcomes:
        before = [d for d in dates.get(account_id, ()) if d < day]
        if before and (account_id, before[-1]) in scores:
            values.append(scores[(account_id, before[-1])])
            labels.append(churned)
    return roc_auc(values, labels)


def calibrate(connection: sqlite3.Connection, policy: Policy, *, as_of: date) -> Calibration:
    """Fit a calibrated policy on outcomes up to `as_of`; see the module docstring.

    The fits run on one BLAS thread: they are many small problems, where threads only
    wait on each other (three times slower on two cores), and one thread sums in one
    order, so the same history gives the same policy whatever the machine's load.
    """
    _sklearn()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _calibrate(connection, policy, as_of)


def _calibrate(connection: sqlite3.Connection, policy: Policy, as_of: date) -> Calibration:
    m, cfg = policy.measurement, policy.measurement.calibration
    samples, outcomes = load_samples(connection, policy, as_of)
    dates: dict[str, list[date]] = defaultdict(list)
    segment_of: dict[str, str] = {}
    for s in samples:
        dates[s.account_id].append(s.as_of)
        segment_of[s.account_id] = s.segment
    matched = [o for o in outcomes if any(d < o[1] for d in dates.get(o[0], ()))]
    labelled = [s for s in samples if s.churned is not None]
    train = [s for s in labelled if not held_out(s.account_id, m.holdout_share)]
    holdout = [s for s in labelled if held_out(s.account_id, m.holdout_share)]
    held_outcomes = [o for o in matched if held_out(o[0], m.holdout_share)]
    churned_outcomes = sum(c for _, _, c in matched)
    segments = [
        SegmentCount(
            segment=seg.value,
            outcomes=sum(segment_of.get(a) == seg.value for a, _, _ in matched),
            churned=sum(segment_of.get(a) == seg.value and c for a, _, c in matched),
        )
        for seg in Segment
    ]
    split = (
        f"held out {m.holdout_share:.0%} of accounts by hash of account_id (sha256): "
        f"{_counts(holdout).accounts} accounts ({len(holdout)} snapshots, "
        f"{_counts(holdout).churned} followed by churn); trained on {_counts(train).accounts} "
        "accounts"
    )
    base = {
        "outcomes_after": outcomes_after(connection, as_of),
        "as_of": as_of,
        "policy_version": policy.version,
        "split": split,
        "holdout_share": m.holdout_share,
        "horizon_days": cfg.horizon_days,
        "outcomes": len(matched),
        "churned": churned_outcomes,
        "min_outcomes": m.min_outcomes,
        "min_churned": m.min_churned,
        "train": _counts(train),
        "holdout": _counts(holdout),
        "segments": segments,
        "settings": {
            "bins": cfg.bins,
            "min_bin_share": cfg.min_bin_share,
            "regularisation": cfg.regularisation,
            "folds": cfg.folds,
            "band_relative_risk": cfg.band_relative_risk.model_dump(),
            "smoothing_choices": cfg.smoothing_choices,
            "smoothing_auc_cost": cfg.smoothing_auc_cost,
            "segment_shrink": cfg.segment_shrink,
            "points_to_double_odds": cfg.points_to_double_odds,
            "min_auc_gain": cfg.min_auc_gain,
        },
    }
    train_churned = sum(bool(s.churned) for s in train)
    short = []
    if len(matched) < m.min_outcomes:
        short.append(f"{m.min_outcomes - len(matched)} more outcomes")
    if churned_outcomes < m.min_churned:
        short.append(f"{m.min_churned - churned_outcomes} more churned outcomes")
    if not short and (train_churned == 0 or train_churned == len(train)):
        short.append("training snapshots with both churned and kept accounts")
    empty = roc_auc([], [])
    if short:
        return Calibration(
            **base,
            status="insufficient",
            message=(
                f"too few outcomes to calibrate: {len(matched)} matched to an earlier snapshot "
                f"({churned_outcomes} churned); needs {' and '.join(short)} (at least "
                f"{m.min_outcomes} outcomes with {m.min_churned} churned). Nothing was written."
            ),
            auc_before=empty,
            auc_after=empty,
            outcome_auc_before=empty,
            outcome_auc_after=empty,
            brier_before=None,
            brier_after=None,
            brier_base_rate=None,
            calibration_table=[],
            signals=[],
            weights={},
            bands={},
            smoothing=None,
            churn_model=None,
            policy=None,
        )
    readers = readers_for(policy.scoring)
    train_rows = [
        (readings(s, readers), bool(s.churned), s.account_id) for s in _subsample(train, FIT_LIMIT)
    ]
    fitted = fit_signals(train_rows, policy)
    scoring, weights = override_data(fitted, policy)
    per_segment: dict[str, dict[str, float]] = {}
    if scoring:
        found = segment_weights(fitted, train_rows, segment_of, weights, policy)
        per_segment = {segment: w for segment, (w, _) in found.items()}
        scoring["weights"] = per_segment
        base["segments"] = [
            c.model_copy(update={"weights": found[c.segment][1]}) for c in base["segments"]
        ]
    before_engine = Engine(policy)
    label_of = {(s.account_id, s.as_of): bool(s.churned) for s in labelled}
    train_samples = _subsample(
        [s for s in samples if not held_out(s.account_id, m.holdout_share)], REPLAY_LIMIT
    )
    replayed = {(s.account_id, s.as_of) for s in train_samples}
    train_keys = [(s.account_id, s.as_of) for s in train if (s.account_id, s.as_of) in replayed]
    # Smoothing, chosen on the same training accounts: the most blending that costs at
    # most `smoothing_auc_cost` of their AUC, so noise does not move the score while a
    # real change still shows.
    tried: list[tuple[float, float, Engine, dict[tuple[str, date], int]]] = []
    for weight in cfg.smoothing_choices if scoring else ():
        override = {"scoring": scoring, "history": {"smoothing": {"weight_of_latest": weight}}}
        engine = Engine(_merged(policy, override))
        scored = _score_all(engine, train_samples)
        keys = [k for k in train_keys if k in scored]
        auc = roc_auc([scored[k] for k in keys], [label_of[k] for k in keys]).value or 0.0
        tried.append((weight, auc, engine, scored))
    smoothing, after_engine, train_after = None, Engine(policy), {}
    if tried:
        best = max(auc for _, auc, _, _ in tried)
        smoothing, _, after_engine, train_after = min(
            (t for t in tried if t[1] >= best - cfg.smoothing_auc_cost), key=lambda t: t[0]
        )
    train_keys = [k for k in train_keys if k in train_after]
    model = _platt([train_after[k] for k in train_keys], [label_of[k] for k in train_keys])
    base_rate = train_churned / len(train)
    bands = _band_thresholds(model, base_rate, policy) if model and model[1] < 0 else {}
    churn_model = None
    if model is not None and model[1] < 0:
        churn_model = {
            "intercept": round(model[0], 4),
            "per_point": round(model[1], 5),
            "horizon_days": cfg.horizon_days,
            "fitted_as_of": as_of.isoformat(),
        }
    held_samples = _subsample(
        [s for s in samples if held_out(s.account_id, m.holdout_share)], REPLAY_LIMIT
    )
    judged = {(s.account_id, s.as_of) for s in held_samples}
    before_scores = _score_all(before_engine, held_samples)
    after_scores = _score_all(after_engine, held_samples)
    keys = [
        (s.account_id, s.as_of)
        for s in holdout
        if (s.account_id, s.as_of) in after_scores and (s.account_id, s.as_of) in judged
    ]
    labels = [label_of[k] for k in keys]
    train_before = _score_all(before_engine, train_samples)
    before_model = _platt([train_before[k] for k in train_keys], [label_of[k] for k in train_keys])
    auc_before = roc_auc([before_scores[k] for k in keys], labels)
    auc_after = roc_auc([after_scores[k] for k in keys], labels)
    signals = _signal_fits(fitted, policy)
    document: dict[str, Any] | None = None
    if scoring:
        document = {"scoring": dict(scoring)}
        if bands:
            document["scoring"]["bands"] = [
                {"band": "green", "min": bands["green"]},
                {"band": "yellow", "min": bands["yellow"]},
                {"band": "red", "min": 0},
            ]
        if smoothing is not None:
            document["history"] = {"smoothing": {"weight_of_latest": smoothing}}
        if churn_model is not None:
            document["churn_model"] = churn_model
    if not scoring:
        status: Literal["fitted", "insufficient"] = "insufficient"
        message = "no signal separated churned from kept snapshots; nothing was written"
    else:
        status = "fitted"
        message = (
            f"fitted points for {sum(1 for s in signals if s.weight > 0)} signals on "
            f"{len(train_rows)} training snapshots; held-out AUC {_auc(auc_before)} -> "
            f"{_auc(auc_after)}"
        )
        if (auc_before.value or 0) >= (auc_after.value or 0):
            message += (
                "; the calibrated policy ranks churn no better than the current one on the "
                "held-out accounts: keeping the current policy is reasonable"
            )
    return Calibration(
        **base,
        status=status,
        message=message,
        auc_before=auc_before,
        auc_after=auc_after,
        outcome_auc_before=_outcome_auc(held_outcomes, dates, before_scores),
        outcome_auc_after=_outcome_auc(held_outcomes, dates, after_scores),
        brier_before=_brier(before_model, [before_scores[k] for k in keys], labels),
        brier_after=_brier(model, [after_scores[k] for k in keys], labels),
        brier_base_rate=round(sum((base_rate - y) ** 2 for y in labels) / len(labels), 4)
        if labels
        else None,
        calibration_table=_deciles([_probability(model, after_scores[k]) for k in keys], labels)
        if model
        else [],
        signals=signals,
        weights=per_segment,
        bands=bands,
        smoothing=smoothing,
        churn_model=churn_model,
        policy=document,
    )


def _auc(result: AucResult) -> str:
    return "n/a" if result.value is None else f"{result.value:.3f}"


def _signal_fits(fitted: dict[str, FittedSignal], policy: Policy) -> list[SignalFit]:
    directions = policy.measurement.calibration.directions
    scale = PointScale.of(fitted, policy.measurement.calibration.points_to_double_odds)
    fits = []
    for name, fit in fitted.items():
        binning, span = fit.binning, fit.span
        bins = []
        for i, (risk, n, churn) in enumerate(zip(fit.risk, fit.counts, fit.churn, strict=True)):
            if binning.edges is not None:
                lower = None if i == 0 else binning.edges[i - 1]
                upper = None if math.isinf(binning.edges[i]) else binning.edges[i]
                label = _range_label(lower, upper)
                category = None
            else:
                lower = upper = None
                category = (binning.categories or [])[i]
                label = category
            bins.append(
                Bin(
                    label=label,
                    lower=lower,
                    upper=upper,
                    category=category,
                    n=n,
                    churn_rate=round(churn / n, 4) if n else 0.0,
                    points=round(-risk, 3),
                    score=round_half_up(scale.score(fit, risk)),
                )
            )
        fits.append(
            SignalFit(
                signal=name,
                dimension=policy.scoring.signals[name].dimension.value,
                direction=directions.get(name, "free"),
                weight=round(span, 3),
                bins=bins,
            )
        )
    fits.sort(key=lambda f: (-f.weight, f.signal))
    return fits


def _range_label(lower: float | None, upper: float | None) -> str:
    if lower is None and upper is None:
        return "any"
    if lower is None:
        return f"<= {upper:g}"
    if upper is None:
        return f"> {lower:g}"
    return f"> {lower:g} to {upper:g}"


def _merged(policy: Policy, override: dict[str, Any]) -> Policy:
    from skill.policy import deep_merge

    return Policy.model_validate(deep_merge(policy.model_dump(mode="json"), override))


# -- the policy file ------------------------------------------------------------------


def policy_yaml(result: Calibration) -> str:
    """The calibrated policy file: a header of figures, then the data `--policy` accepts."""
    lines = [
        f"# Policy calibrated by `account-health calibrate` for {result.as_of.isoformat()}.",
        f"# Outcomes: {result.outcomes} matched to an earlier snapshot ({result.churned} "
        f"churned); churn horizon {result.horizon_days} days; base policy {result.policy_version}.",
        f"# Split: {result.split}.",
        f"# Held-out ROC AUC before {_auc(result.auc_before)} -> after {_auc(result.auc_after)} "
        f"(per outcome {_auc(result.outcome_auc_before)} -> {_auc(result.outcome_auc_after)}).",
        f"# Brier score before {result.brier_before} -> after {result.brier_after} "
        f"(base rate alone {result.brier_base_rate}).",
        "# Signal points are pooled; dimension weights are per segment where it had enough churn.",
        "# Review, then adopt:",
        "#   account-health assess FILE --policy THIS_FILE",
        "# The active policy is not changed by calibrate.",
    ]
    if result.policy is None:
        raise ValueError("nothing to write: the calibration did not fit")
    body = yaml.safe_dump(result.policy, sort_keys=False, default_flow_style=None, width=100)
    return "\n".join(lines) + "\n" + body


def write_policy(result: Calibration, path: Path) -> Path:
    """Write the policy atomically after checking that `load_policy(path)` accepts it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".calibrated-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(policy_yaml(result))
        try:
            load_policy(Path(temp))
        except PolicyError as exc:  # a bug: the fitted policy must always validate
            raise RuntimeError(f"calibrated policy does not validate: {exc}") from None
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def record_calibration(connection: sqlite3.Connection, result: Calibration) -> None:
    """Log the run, so `account-health report` can say when the policy was last fitted."""
    connection.execute(
        "INSERT INTO calibrations (as_of, created_at, policy_version, outcomes, churned, "
        "held_out, auc_before, auc_after, weights_path, result_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            result.as_of.isoformat(),
            now_utc(),
            result.policy_version,
            result.outcomes,
            result.churned,
            result.holdout.accounts,
            result.auc_before.value,
            result.auc_after.value,
            result.policy_path,
            result.model_dump_json(),
        ),
    )


# -- Markdown -------------------------------------------------------------------------


def _auc_cell(a: AucResult) -> str:
    return f"n/a ({a.reason})" if a.value is None else f"{a.value:.3f}"


def render_markdown(result: Calibration) -> str:
    lines = [
        f"# Calibration, as of {result.as_of.isoformat()}",
        "",
        f"**{result.message[0].upper()}{result.message[1:]}**",
        "",
        *([f"> Note: {result.outcomes_after.note}.", ""] if result.outcomes_after.note else []),
        f"Outcomes: {result.outcomes} matched to an earlier snapshot ({result.churned} churned). "
        f"Churn horizon: {result.horizon_days} days. Split: {result.split}.",
        "",
    ]
    if result.status == "fitted":
        lines += [
            "## Held-out accounts, current policy vs calibrated",
            "",
            "| measure | current | calibrated |",
            "|---|---:|---:|",
            f"| ROC AUC, snapshots (churn within {result.horizon_days} days) | "
            f"{_auc_cell(result.auc_before)} | {_auc_cell(result.auc_after)} |",
            f"| ROC AUC, outcomes (as `measure` joins them) | "
            f"{_auc_cell(result.outcome_auc_before)} | {_auc_cell(result.outcome_auc_after)} |",
            f"| Brier score (lower is better; base rate alone {result.brier_base_rate}) | "
            f"{result.brier_before} | {result.brier_after} |",
            "",
            "## Calibration table (held-out snapshots by decile of predicted churn)",
            "",
            "| decile | snapshots | predicted | observed |",
            "|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {d.decile} | {d.n} | {d.predicted:.1%} | {d.observed:.1%} |"
            for d in result.calibration_table
        ]
        lines += [
            "",
            "## Points per signal",
            "",
            "Points: change in the log-odds of staying against the signal's average; "
            "positive is healthier. Score: what the calibrated policy gives the bin (0-100).",
            "",
            "| signal | dimension | direction | weight | bins: values → points (score) |",
            "|---|---|---|---:|---|",
        ]
        for fit in result.signals:
            cells = "; ".join(f"{b.label} → {b.points:+.2f} ({b.score})" for b in fit.bins)
            lines.append(
                f"| {fit.signal} | {fit.dimension} | {fit.direction} | {fit.weight:g} | {cells} |"
            )
        if result.bands:
            lines += [
                "",
                f"Bands: green from {result.bands['green']}, yellow from "
                f"{result.bands['yellow']}, red below (where churn risk reaches "
                f"{result.settings['band_relative_risk']['yellow']:g}x and "
                f"{result.settings['band_relative_risk']['red']:g}x the base rate).",
            ]
        if result.smoothing is not None:
            choices = ", ".join(f"{c:g}" for c in result.settings["smoothing_choices"])
            lines += [
                "",
                f"History smoothing: each snapshot counts {result.smoothing:g} against the "
                f"previous one's {1 - result.smoothing:g}: of {choices}, the most smoothing "
                f"that costs at most {result.settings['smoothing_auc_cost']:g} of the "
                "training accounts' AUC.",
            ]
        lines += [
            "",
            "## Dimension weights per segment",
            "",
            "Own: fitted on the segment's own snapshots, shrunk towards the pool; pooled: "
            "too little churn of its own. Signal points are pooled over every segment.",
            "",
            "| segment | outcomes (churned) | weights | " + " | ".join(DIMENSIONS) + " |",
            "|---|---:|---|" + "---:|" * len(DIMENSIONS),
        ]
        for c in result.segments:
            w = result.weights.get(c.segment, {})
            cells = " | ".join(f"{w.get(d, 0):g}" for d in DIMENSIONS)
            lines.append(f"| {c.segment} | {c.outcomes} ({c.churned}) | {c.weights} | {cells} |")
    if result.policy_path:
        lines += [
            "",
            f"Wrote {result.policy_path}. Review it, then adopt it with "
            f"`--policy {result.policy_path}`; the active policy is unchanged.",
        ]
    lines.append("")
    return "\n".join(lines)
