"""Seed 001's calibration: fit per-segment dimension weights against real outcomes.

    result = calibrate(connection, policy, as_of=date(2026, 12, 31))
    if result.status == "fitted":
        write_weights(result, Path("weights.yaml"))   # review, then adopt with --policy

Data: every outcome matched to the assessment live before it, as in
`skill.measure` (same join, same churn definition: ``measurement.churn_outcomes``).
Features are that assessment's seven dimension scores (0-100).

Split: an account is held out when the first 64 bits of sha256(account_id), read
as a fraction of 2**64, are below ``measurement.holdout_share``. The split is
deterministic, by account (all of an account's outcomes fall on one side), and
stated in the result. Weights are fitted on the rest and judged on the held-out
accounts only.

Sufficiency: a segment is fitted only with at least ``measurement.min_outcomes``
matched outcomes of which at least ``measurement.min_churned`` churned; otherwise
it keeps its current weights and the result says how many more outcomes (and
churned outcomes) it needs. With no segment fitted nothing is written.

Fit, per segment, deterministic and pure Python:

1. A missing dimension score is filled with the mean of that dimension over the
   segment's training accounts that have it (50 when none has it).
2. Features are standardised (training mean and standard deviation; a dimension
   that never varies gets coefficient 0).
3. Logistic regression of churn on the features by full-batch gradient descent:
   intercept starts at the training churn log-odds, coefficients at 0; learning
   rate `LEARNING_RATE`, L2 penalty `L2` on the coefficients (not the intercept),
   at most `MAX_ITERATIONS` steps, stopping early once every gradient component
   is below `TOLERANCE`.
4. Weights: a dimension whose coefficient is negative (a higher score means less
   churn) by at least `MIN_EFFECT` log-odds per standard deviation gets weight
   proportional to minus its coefficient per score point; every other dimension
   (no effect, a negligible one, or one where a higher score went with more
   churn) gets 0. The weights are normalised to sum to 1 and rounded to 3
   decimals (the rounding remainder goes to the largest weight). `min_weight`
   (default 0) gives every dimension at least that weight instead: the engine
   leaves a zero-weight dimension out of the score, the missing-data list and
   later calibrations. If no dimension qualifies, the segment keeps its
   current weights.

Before and after: the held-out ROC AUC (`skill.measure.roc_auc`) of the score the
engine would compute from the recorded dimension scores, before guard-rail caps:
the weighted mean over the dimensions that have a score and a weight (weights
renormalised, as the engine does), rounded to a whole point; with the current
policy's weights ("before") and the fitted ones ("after"). Overall figures pool
every segment's held-out accounts, each scored with its segment's weights.

Nothing here changes the active policy: `write_weights` writes a file with a
``scoring.weights`` section that `--policy` accepts, after checking that the
merged policy validates.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from operator import mul
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from skill.measure import AucResult, load_observations, roc_auc
from skill.policy import Policy, PolicyError, load_policy
from skill.record import Segment
from skill.store.db import now_utc
from skill.vocabulary import Dimension

__all__ = [
    "Calibration",
    "SegmentFit",
    "calibrate",
    "fit_logistic",
    "held_out",
    "record_calibration",
    "weights_yaml",
    "write_weights",
]

LEARNING_RATE = 1.0
L2 = 0.01
MAX_ITERATIONS = 2000
TOLERANCE = 1e-5
MIN_EFFECT = 0.05
DIMENSIONS: tuple[str, ...] = tuple(d.value for d in Dimension)


def held_out(account_id: str, share: float) -> bool:
    """The deterministic split: sha256(account_id)'s first 64 bits as a fraction < share."""
    digest = hashlib.sha256(account_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


# -- result model ---------------------------------------------------------------------


class Counts(BaseModel):
    accounts: int
    outcomes: int
    churned: int


class SegmentFit(BaseModel):
    segment: str
    status: Literal["fitted", "kept", "insufficient"] = Field(
        description="fitted: new weights; kept: enough data but nothing to change; "
        "insufficient: too few outcomes."
    )
    reason: str | None
    outcomes: int
    churned: int
    needs_outcomes: int = Field(description="More outcomes needed before fitting; 0 when enough.")
    needs_churned: int = Field(description="More churned outcomes needed; 0 when enough.")
    train: Counts
    holdout: Counts
    iterations: int | None = Field(description="Gradient-descent steps taken.")
    coefficients: dict[str, float] = Field(
        description="Change in churn log-odds per standard deviation of each dimension "
        "(negative: a higher score went with less churn)."
    )
    weights_before: dict[str, float]
    weights_after: dict[str, float]
    auc_before: AucResult
    auc_after: AucResult


class Calibration(BaseModel):
    as_of: date
    policy_version: str
    status: Literal["fitted", "insufficient"] = Field(
        description="fitted: at least one segment got new weights; insufficient: none did."
    )
    message: str
    split: str = Field(description="The held-out split, in words.")
    holdout_share: float
    outcomes: int = Field(description="Outcomes matched to the assessment live before them.")
    churned: int
    unmatched: int
    min_outcomes: int
    min_churned: int
    train: Counts
    holdout: Counts
    auc_before: AucResult
    auc_after: AucResult
    segments: list[SegmentFit]
    weights: dict[str, dict[str, float]] = Field(
        description="The weights to write: fitted segments' new weights, the rest unchanged."
    )
    settings: dict[str, float]
    weights_path: str | None = None


# -- fitting --------------------------------------------------------------------------


def fit_logistic(
    columns: list[list[float]],
    target: list[float],
    *,
    learning_rate: float = LEARNING_RATE,
    l2: float = L2,
    max_iterations: int = MAX_ITERATIONS,
    tolerance: float = TOLERANCE,
) -> tuple[float, list[float], int]:
    """(intercept, coefficients, steps): logistic regression by full-batch gradient descent.

    `columns` are the (already standardised) features, one list per feature.
    """
    n = len(target)
    rows = list(zip(*columns, strict=True)) if columns else [() for _ in target]
    rate = min(max(sum(target) / n, 1e-6), 1 - 1e-6)
    intercept = math.log(rate / (1 - rate))
    beta = [0.0] * len(columns)
    exp = math.exp
    step = 0
    for step in range(1, max_iterations + 1):  # noqa: B007 - the count is returned
        residual = [
            1.0 / (1.0 + exp(-max(intercept + sum(map(mul, beta, row)), -35.0))) - t
            for row, t in zip(rows, target, strict=True)
        ]
        g0 = sum(residual) / n
        grads = [
            sum(map(mul, residual, col)) / n + l2 * b for col, b in zip(columns, beta, strict=True)
        ]
        intercept -= learning_rate * g0
        beta = [b - learning_rate * g for b, g in zip(beta, grads, strict=True)]
        if max(abs(g0), *(abs(g) for g in grads)) < tolerance:
            break
    return intercept, beta, step


@dataclass(frozen=True, slots=True)
class _Sample:
    account_id: str
    churn: bool
    dims: dict[str, float]


def _score(dims: dict[str, float], weights: dict[str, float], filled: dict[str, float]) -> int:
    """The engine's composite from recorded dimension scores, before guard rails."""
    present = [(weights.get(d, 0.0), v) for d, v in dims.items() if weights.get(d, 0.0) > 0]
    total = sum(w for w, _ in present)
    if total > 0:
        value = sum(w * v for w, v in present) / total
    else:  # no weighted dimension has data: fall back to the filled-in features
        total = sum(weights.values()) or 1.0
        value = sum(weights.get(d, 0.0) * filled[d] for d in DIMENSIONS) / total
    return math.floor(value + 0.5)


def _counts(samples: list[_Sample]) -> Counts:
    return Counts(
        accounts=len({s.account_id for s in samples}),
        outcomes=len(samples),
        churned=sum(s.churn for s in samples),
    )


def _round_weights(raw: dict[str, float], floor: float) -> dict[str, float]:
    total = sum(raw.values())
    share = {d: raw.get(d, 0.0) / total for d in DIMENSIONS}
    if floor > 0:
        share = {d: floor + (1 - floor * len(DIMENSIONS)) * v for d, v in share.items()}
    rounded = {d: round(v, 3) for d, v in share.items()}
    largest = max(DIMENSIONS, key=lambda d: (rounded[d], -DIMENSIONS.index(d)))
    rounded[largest] = round(rounded[largest] + 1.0 - sum(rounded.values()), 3)
    return rounded


def _fit_segment(
    segment: str,
    train: list[_Sample],
    holdout: list[_Sample],
    before: dict[str, float],
    policy: Policy,
    min_weight: float,
) -> tuple[SegmentFit, dict[str, float], dict[str, float]]:
    """The fit, the weights to use after, and the fill-in values for missing dimensions."""
    m = policy.measurement
    samples = train + holdout
    outcomes, churned = len(samples), sum(s.churn for s in samples)
    needs_outcomes = max(0, m.min_outcomes - outcomes)
    needs_churned = max(0, m.min_churned - churned)
    filled = {}
    for d in DIMENSIONS:
        values = [s.dims[d] for s in train if d in s.dims]
        filled[d] = sum(values) / len(values) if values else 50.0
    base = {
        "segment": segment,
        "outcomes": outcomes,
        "churned": churned,
        "needs_outcomes": needs_outcomes,
        "needs_churned": needs_churned,
        "train": _counts(train),
        "holdout": _counts(holdout),
        "weights_before": before,
    }
    status: Literal["fitted", "kept", "insufficient"] = "insufficient"
    reason: str | None = None
    after = before
    coefficients: dict[str, float] = {}
    steps: int | None = None
    train_churned = sum(s.churn for s in train)
    if needs_outcomes or needs_churned:
        reason = _needs_text(needs_outcomes, needs_churned)
    elif train_churned == 0 or train_churned == len(train):
        status, reason = "kept", "the training split has no churned or no kept outcome"
    else:
        matrix = [[s.dims.get(d, filled[d]) for s in train] for d in DIMENSIONS]
        means = [sum(col) / len(col) for col in matrix]
        sds = [
            math.sqrt(sum((v - mu) ** 2 for v in col) / len(col))
            for col, mu in zip(matrix, means, strict=True)
        ]
        varying = [i for i, sd in enumerate(sds) if sd > 1e-9]
        columns = [[(v - means[i]) / sds[i] for v in matrix[i]] for i in varying]
        _, beta, steps = fit_logistic(columns, [1.0 if s.churn else 0.0 for s in train])
        per_sd = dict.fromkeys(DIMENSIONS, 0.0)
        for i, b in zip(varying, beta, strict=True):
            per_sd[DIMENSIONS[i]] = b
        coefficients = {d: round(v, 4) for d, v in per_sd.items()}
        raw = {
            d: -per_sd[d] / sds[DIMENSIONS.index(d)] for d in DIMENSIONS if per_sd[d] <= -MIN_EFFECT
        }
        if raw:
            status, after = "fitted", _round_weights(raw, min_weight)
        else:
            status = "kept"
            reason = "no dimension went with less churn by a meaningful margin"
    fit = SegmentFit(
        **base,
        status=status,
        reason=reason,
        iterations=steps,
        coefficients=coefficients,
        weights_after=after,
        auc_before=_auc(holdout, before, filled),
        auc_after=_auc(holdout, after, filled),
    )
    return fit, after, filled


def _auc(samples: list[_Sample], weights: dict[str, float], filled: dict[str, float]) -> AucResult:
    return roc_auc([_score(s.dims, weights, filled) for s in samples], [s.churn for s in samples])


def _needs_text(outcomes: int, churned: int) -> str:
    parts = []
    if outcomes:
        parts.append(f"{outcomes} more outcome{'s' if outcomes != 1 else ''}")
    if churned:
        parts.append(f"{churned} more churned outcome{'s' if churned != 1 else ''}")
    return "needs " + " and ".join(parts)


def calibrate(
    connection: sqlite3.Connection, policy: Policy, *, as_of: date, min_weight: float = 0.0
) -> Calibration:
    """Fit per-segment weights on outcomes up to `as_of`; see the module docstring."""
    if not 0 <= min_weight * len(DIMENSIONS) < 1:
        raise ValueError(f"min_weight must be at least 0 and below {1 / len(DIMENSIONS):.3f}")
    m = policy.measurement
    churn_set = frozenset(m.churn_outcomes)
    observations, recorded = load_observations(connection, as_of, with_dimensions=True)
    train: dict[str, list[_Sample]] = defaultdict(list)
    holdout: dict[str, list[_Sample]] = defaultdict(list)
    for o in observations:
        sample = _Sample(o.account_id, o.outcome in churn_set, json.loads(o.dimensions or "{}"))
        (holdout if held_out(o.account_id, m.holdout_share) else train)[o.segment].append(sample)

    fits: list[SegmentFit] = []
    weights: dict[str, dict[str, float]] = {}
    scored_before: list[int] = []
    scored_after: list[int] = []
    labels: list[bool] = []
    for segment in Segment:
        before = {d.value: w for d, w in policy.scoring.weights[segment].items()}
        before = {d: before.get(d, 0.0) for d in DIMENSIONS}
        held = holdout.get(segment.value, [])
        fit, after, filled = _fit_segment(
            segment.value, train.get(segment.value, []), held, before, policy, min_weight
        )
        fits.append(fit)
        weights[segment.value] = after
        for s in held:
            scored_before.append(_score(s.dims, before, filled))
            scored_after.append(_score(s.dims, after, filled))
            labels.append(s.churn)

    all_train = [s for v in train.values() for s in v]
    all_holdout = [s for v in holdout.values() for s in v]
    churned = sum(o.outcome in churn_set for o in observations)
    held_accounts = _counts(all_holdout)
    split = (
        f"held out {m.holdout_share:.0%} of accounts by hash of account_id (sha256): "
        f"{held_accounts.accounts} accounts ({held_accounts.outcomes} outcomes, "
        f"{held_accounts.churned} churned); trained on {_counts(all_train).accounts} accounts"
    )
    result_before = roc_auc(scored_before, labels)
    result_after = roc_auc(scored_after, labels)
    fitted = [f.segment for f in fits if f.status == "fitted"]
    if fitted:
        status: Literal["fitted", "insufficient"] = "fitted"
        message = f"fitted new weights for {', '.join(fitted)}"
        others = [f"{f.segment} ({f.reason})" for f in fits if f.status != "fitted"]
        if others:
            message += "; kept the current weights for " + ", ".join(others)
        before, after = result_before.value, result_after.value
        if before is not None and after is not None and after <= before:
            message += (
                f". On the held-out accounts they rank churn no better than the current "
                f"weights (AUC {before:.3f} -> {after:.3f}): keeping the current policy is "
                "reasonable"
            )
    else:
        status = "insufficient"
        message = _insufficient_message(fits, m.min_outcomes, m.min_churned)
    return Calibration(
        as_of=as_of,
        policy_version=policy.version,
        status=status,
        message=message,
        split=split,
        holdout_share=m.holdout_share,
        outcomes=len(observations),
        churned=churned,
        unmatched=recorded - len(observations),
        min_outcomes=m.min_outcomes,
        min_churned=m.min_churned,
        train=_counts(all_train),
        holdout=held_accounts,
        auc_before=result_before,
        auc_after=result_after,
        segments=fits,
        weights=weights,
        settings={
            "learning_rate": LEARNING_RATE,
            "l2": L2,
            "max_iterations": MAX_ITERATIONS,
            "tolerance": TOLERANCE,
            "min_effect": MIN_EFFECT,
            "min_weight": min_weight,
        },
    )


def _insufficient_message(fits: list[SegmentFit], min_outcomes: int, min_churned: int) -> str:
    parts = []
    for f in fits:
        detail = f"{f.segment} has {f.outcomes} outcomes ({f.churned} churned)"
        parts.append(f"{detail}: {f.reason}" if f.reason else detail)
    return (
        f"too few outcomes to calibrate: each segment needs at least {min_outcomes} outcomes "
        f"with {min_churned} churned; " + "; ".join(parts) + ". Nothing was written."
    )


# -- the weights file -----------------------------------------------------------------


def weights_yaml(result: Calibration) -> str:
    """The file `write_weights` writes: a header comment, then ``scoring.weights``."""

    def auc(a: AucResult) -> str:
        return "n/a" if a.value is None else f"{a.value:.3f}"

    lines = [
        f"# Scoring weights fitted by `account-health calibrate` for {result.as_of.isoformat()}.",
        f"# Outcomes: {result.outcomes} matched to an earlier assessment "
        f"({result.churned} churned); policy {result.policy_version}.",
        f"# Split: {result.split}.",
        f"# Held-out ROC AUC before {auc(result.auc_before)} -> after {auc(result.auc_after)}.",
    ]
    for f in result.segments:
        state = (
            f"fitted, AUC {auc(f.auc_before)} -> {auc(f.auc_after)} "
            f"on {f.holdout.outcomes} held-out outcomes"
            if f.status == "fitted"
            else f"unchanged ({f.reason})"
        )
        lines.append(f"#   {f.segment}: {state}")
    lines += [
        "# Review, then adopt: account-health assess FILE --policy THIS_FILE",
        "# (to keep another override file too, copy this scoring.weights section into it).",
        "# The active policy is not changed by calibrate.",
        "scoring:",
        "  weights:",
    ]
    for segment, weights in result.weights.items():
        inner = ", ".join(f"{d}: {weights[d]:g}" for d in DIMENSIONS)
        lines.append(f"    {segment}: {{{inner}}}")
    return "\n".join(lines) + "\n"


def write_weights(result: Calibration, path: Path) -> Path:
    """Write the weights file atomically after checking `load_policy(path)` accepts it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".weights-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(weights_yaml(result))
        try:
            load_policy(Path(temp))
        except PolicyError as exc:  # a bug: the fitted weights must always validate
            raise RuntimeError(f"calibrated weights do not validate: {exc}") from None
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def record_calibration(connection: sqlite3.Connection, result: Calibration) -> None:
    """Log the run, so `account-health report` can say when weights were last fitted."""
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
            result.weights_path,
            result.model_dump_json(),
        ),
    )


# -- Markdown -------------------------------------------------------------------------


def render_markdown(result: Calibration) -> str:
    def auc(a: AucResult) -> str:
        return f"n/a ({a.reason})" if a.value is None else f"{a.value:.3f}"

    lines = [
        f"# Calibration, as of {result.as_of.isoformat()}",
        "",
        f"**{result.message[0].upper()}{result.message[1:]}**",
        "",
        f"Outcomes: {result.outcomes} matched to the assessment live before them "
        f"({result.churned} churned; {result.unmatched} without an earlier assessment). "
        f"Split: {result.split}.",
        "",
        "| segment | status | outcomes | churned | held out | AUC before | AUC after | note |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for f in result.segments:
        lines.append(
            f"| {f.segment} | {f.status} | {f.outcomes} | {f.churned} | {f.holdout.outcomes} "
            f"| {auc(f.auc_before)} | {auc(f.auc_after)} | {f.reason or ''} |"
        )
    lines.append(
        f"| all | {result.status} | {result.outcomes} | {result.churned} "
        f"| {result.holdout.outcomes} | {auc(result.auc_before)} | {auc(result.auc_after)} | |"
    )
    fitted = [f for f in result.segments if f.status == "fitted"]
    if fitted:
        lines += ["", "## Weights, before → after", ""]
        header = "| dimension | " + " | ".join(f.segment for f in fitted) + " |"
        lines += [header, "|---|" + "---:|" * len(fitted)]
        for d in DIMENSIONS:
            cells = " | ".join(
                f"{f.weights_before[d]:g} → {f.weights_after[d]:g} "
                f"(coef {f.coefficients.get(d, 0.0):+.2f})"
                for f in fitted
            )
            lines.append(f"| {d} | {cells} |")
        lines += [
            "",
            "coef: change in churn log-odds per standard deviation of the dimension; "
            f"only a coefficient at or below -{MIN_EFFECT:g} earns weight.",
        ]
    if result.weights_path:
        lines += [
            "",
            f"Wrote {result.weights_path}. Review it, then adopt it with "
            f"`--policy {result.weights_path}`; the active policy is unchanged.",
        ]
    lines.append("")
    return "\n".join(lines)
