"""The deterministic engine: one account record in, one frozen assessment out.

Pure: no I/O, no clock (`as_of` is an argument), no randomness, no LLM. It
imports nothing from drafting, store, render or cli.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator
from datetime import date
from typing import cast

from skill.assessment import (
    Assessment,
    ChurnRisk,
    MeasurementEvent,
    MissingData,
    PriorAssessment,
    ReviewTask,
    ScoreCap,
    UntrustedText,
    as_is,
    from_fields,
    plain,
    trusted,
    written_once,
)
from skill.engine.actions import ActionPlanner
from skill.engine.context import AccountContext, RecordView
from skill.engine.dimensions import DimensionScorer, SourceReader
from skill.engine.flags import RiskDetector
from skill.engine.gate import PolicyGate
from skill.engine.legacy import LegacyScorer
from skill.engine.opportunities import OpportunityDetector
from skill.engine.quality import screen
from skill.engine.review import measurement_event, review_rules, review_task
from skill.engine.scoring import (
    apply_guard_rails,
    assess_confidence,
    band_thresholds,
    compile_guard_rails,
    composite,
    first_reached,
    tier_for,
    tier_thresholds,
)
from skill.engine.shared import MAX_SHARED_PER_MODEL, SharedPieces
from skill.engine.stability import Smoother, band_with_hysteresis
from skill.engine.trends import TrendDetector, usable_history
from skill.policy import Policy
from skill.record import AccountRecord, values_of
from skill.vocabulary import (
    AutomationLevel,
    Band,
    Confidence,
    Dimension,
    RiskFlagCode,
    Source,
    Tier,
)

__all__ = ["Engine", "NoSignalsError", "PolicyGate", "assess_account", "assess_records"]

NO_DATA_REASON = (
    "no signal for this account: every source is missing or not connected, so there is "
    "no score; connect its CRM, support and product data"
)


CONFLICTING_EVIDENCE = RiskFlagCode.CONFLICTING_EVIDENCE
_UNKNOWN = object()


class NoSignalsError(ValueError):
    """Kept for callers that imported it; the engine no longer raises it.

    A record with no signal any dimension can score is assessed as `no_data`.
    """


class Engine:
    """One policy at one automation level, ready to assess many accounts.

    What depends only on the policy (compiled rules, the gate's decisions, signal
    tables) is worked out once, here, and identical frozen output pieces are shared
    between accounts. Make one per run; it holds no state that one account's
    assessment can change for another's.
    """

    def __init__(
        self,
        policy: Policy,
        level: AutomationLevel = AutomationLevel.BALANCED,
        gate: PolicyGate | None = None,
        *,
        input_sources: Collection[Source] | None = None,
        plain_output: bool = False,
        compact_output: bool = False,
    ) -> None:
        """`input_sources`: the sources with data anywhere in the run's input.

        A source outside it is not connected in the input: each account's
        confidence says so, but its own evidence level (`account_evidence`,
        which the evidence stop rule and review reason read) leaves it out.
        None means not known: every account is judged on its own, as if each
        source were in the input.

        `plain_output`: `assess` returns the assessment as a `skill.assessment.Plain`
        (dicts in field order, read by attribute like the models), not as models: for
        output that is only written as JSON (the jsonl and json outputs), where making
        some twenty models per account and having orjson call back for each of some fifty
        cost a tenth of the run. Its JSON is the model's (`to_json` writes either;
        `to_model` makes the models). Not with a `gate` of the caller's: the gate's
        decisions are output too.

        `compact_output` (with `plain_output`): the assessment is only written as compact
        JSON (jsonl, the rows `run` stores), so pieces remembered for many accounts
        (evidence lines, legacy rows, gate decisions, themes) are held as their JSON and
        copied into each account's text (`skill.assessment.written_once`). Indented
        output (`--format json`) is still right, but costs three times as much to write.
        """
        make = plain if plain_output else trusted
        if plain_output and gate is not None:
            raise ValueError("plain_output makes its own gate (its decisions are output)")
        self.plain_output = plain_output
        self.policy = policy
        self.input_sources = None if input_sources is None else frozenset(input_sources)
        keep = written_once(make) if compact_output else as_is
        self.gate = gate or PolicyGate(policy.gate, level, make=make, keep=keep)
        self.level = self.gate.level
        shared = SharedPieces(make=make, keep=keep)
        self.shared = shared
        self._new_assessment = from_fields(make, Assessment)
        self._new_untrusted_text = from_fields(make, UntrustedText)
        self._new_churn_risk = make(ChurnRisk)
        self._new_review_task = make(ReviewTask)
        self._new_event = from_fields(make, MeasurementEvent)
        # Signal scores are read by name only where conflicting evidence compares them.
        compared = policy.risk.flags.conflicting_evidence.dimensions
        self.dimensions = DimensionScorer(
            policy.scoring,
            shared,
            make,
            recorded=[
                n for n, rule in policy.scoring.signals.items() if rule.dimension in compared
            ],
        )
        self.risks = RiskDetector(policy.risk, policy.scoring.signals, shared)
        self.opportunities = OpportunityDetector(policy.opportunity, shared)
        self.guard_rails = compile_guard_rails(policy.scoring)
        self.bands = band_thresholds(policy.scoring)
        self.tiers = tier_thresholds(policy.scoring)
        self.churn_model = policy.churn_model
        self.policy_version = policy.version
        self.legacy = LegacyScorer(policy.scoring.legacy, shared)
        self.actions = ActionPlanner(policy.actions, self.gate)
        self.trends = TrendDetector(policy.history, make)
        self.smoother = Smoother(policy.history, make)
        self.renewal_soon = policy.risk.flags.renewal_soon
        self.review_config = policy.actions.review_task
        self.review_rules = review_rules(self.review_config)
        # The renewal-soon window by contract term.
        self._renewal_windows: dict[object, int | None] = {}
        self.sources = SourceReader(policy.scoring.stale_after_days, self.input_sources, make)
        # Missing data and confidence depend on a few discrete facts (the segment, the
        # dimensions that scored, each source's state, conflicting evidence): worked out
        # once per combination, for as many combinations as shared pieces are kept.
        # Per situation: its missing data, and its confidence by whether evidence conflicts.
        self._situations: dict[
            tuple[object, ...],
            tuple[tuple[MissingData, ...], dict[bool, tuple[Confidence, Confidence, tuple]]],
        ] = {}

    def assess(
        self,
        record: AccountRecord,
        as_of: date,
        history: Iterable[PriorAssessment] = (),
    ) -> Assessment:
        """Assess one account. `as_of` is the record's own date when it has one.

        `history` is the account's earlier recorded assessments, in any order;
        only those dated before `as_of` count. Without it no trend flag is raised.
        """
        policy, shared, level = self.policy, self.shared, self.level
        as_of = values_of(record)["as_of"] or as_of
        screened, data_quality = screen(record, as_of)
        # Read like the record, faster (see RecordView).
        record = RecordView(screened)  # type: ignore[assignment]
        scoring = policy.scoring
        renewal_date, term = record.renewal_date, record.contract_term
        window = self._renewal_windows.get(term, _UNKNOWN)
        if window is _UNKNOWN:
            window = self._renewal_windows[term] = self.renewal_soon.window(term)
        notes, blocker_note = record.notes, record.blocker_note
        ctx = AccountContext(
            record=record,
            as_of=as_of,
            days_to_renewal=None if renewal_date is None else (renewal_date - as_of).days,
            renewal_window=cast("int | None", window),
            # The notes and the blocker note that are not empty, joined by a space.
            notes_lower=(
                f"{notes} {blocker_note}" if notes and blocker_note else notes or blocker_note or ""
            ).lower(),
        )
        prior = usable_history(history, as_of) if history else []
        previous = prior[-1] if prior else None
        dimensions, weights = self.dimensions.score(ctx)
        if previous is not None:  # without history nothing is smoothed or held
            dimensions = self.smoother.smooth(dimensions, ctx, previous)
        no_data = not dimensions
        sources, source_states = self.sources.read(record, as_of)
        situation = (record.segment, tuple(ctx.dimension_scores), source_states)
        known = self._situations.get(situation)
        if known is None:
            known = (tuple(self.dimensions.missing(ctx, sources)), {})
            if len(self._situations) < MAX_SHARED_PER_MODEL:
                self._situations[situation] = known
        known_missing, confidence_by_conflict = known
        missing = list(known_missing)
        flags = self.risks.detect_flags(ctx, sources)
        conflicting = CONFLICTING_EVIDENCE in ctx.flags
        known_confidence = confidence_by_conflict.get(conflicting)
        if known_confidence is None:
            judgement = assess_confidence(ctx, scoring, missing, sources)
            known_confidence = confidence_by_conflict[conflicting] = (
                *judgement[:2],
                tuple(judgement[2]),
            )
        confidence, account_evidence, confidence_reasons = (
            known_confidence[0],
            known_confidence[1],
            list(known_confidence[2]),
        )
        if no_data:
            # No signal at all: nothing is known, so confidence and the account's
            # own evidence are at their lowest (the evidence stop rule holds every
            # action) and score, band and tier say so instead of guessing.
            confidence = account_evidence = Confidence.LOW
            confidence_reasons = [NO_DATA_REASON, *confidence_reasons]
        ctx.confidence = confidence
        ctx.account_evidence = account_evidence
        themes = self.risks.detect_themes(ctx)
        score: int | None
        raw: int | None
        if no_data:
            raw = score = None
            caps: list[ScoreCap] = []
            band, band_note = Band.NO_DATA, None
            ctx.band = band
            tier, tier_basis = Tier.NO_DATA, "no_data"
        else:
            # The scores as smoothing left them, in dimension order, as `dimensions` holds them.
            raw = composite(ctx.dimension_scores.values(), weights)
            score, caps = apply_guard_rails(raw, ctx, self.guard_rails, shared)
            if prior:
                trend_flags = self.trends.detect(
                    score, ctx.dimension_scores.get(Dimension.USAGE), prior, as_of
                )
                flags = self.risks.add_flags(ctx, flags, trend_flags)
            band, band_note = first_reached(score, self.bands), None
            if previous is not None:
                band, band_note = band_with_hysteresis(
                    score, band, previous, caps, scoring, policy.history.band_hysteresis_points
                )
            ctx.band = band
            tier, tier_basis = tier_for(ctx, score, self.tiers)
        ctx.tier = tier
        # After band and tier, and read by nothing before: never moves the score.
        opportunities = self.opportunities.detect(ctx)
        legacy = self.legacy.score(ctx)
        actions = self.actions.plan(ctx)
        # In Assessment's field order (see `trusted_from_fields`).
        return self._new_assessment(
            {
                "account_id": record.account_id,
                "name": record.display_name,
                "segment": record.segment,
                "lifecycle": record.lifecycle,
                "owner": record.owner,
                "arr": record.arr,
                "renewal_date": record.renewal_date,
                "days_to_renewal": ctx.days_to_renewal,
                "contract_term": record.contract_term,
                "as_of": as_of,
                "automation_level": level,
                "score": score,
                "raw_score": raw,
                "band": band,
                "band_note": band_note,
                "tier": tier,
                "tier_basis": tier_basis,
                "confidence": confidence,
                "confidence_reasons": confidence_reasons,
                "data_quality": data_quality,
                "account_evidence": account_evidence,
                "dimensions": dimensions,
                "missing_data": missing,
                "sources": sources,
                "caps": caps,
                "flags": flags,
                "themes": themes,
                "opportunities": opportunities,
                "trend": None if score is None or not prior else self.trends.trend(score, prior),
                "churn_risk": self.churn_risk(score),
                "legacy": legacy,
                "actions": actions,
                "review_task": review_task(
                    self.review_config, ctx, self.review_rules, self._new_review_task
                ),
                "measurement_event": measurement_event(
                    ctx,
                    score=score,
                    band=band,
                    tier=tier,
                    confidence=confidence,
                    legacy_total=legacy.total,
                    legacy_band=legacy.band,
                    flags=[f.code for f in flags],
                    opportunities=[o.code for o in opportunities],
                    actions=actions,
                    level=level,
                    policy_version=self.policy_version,
                    new_event=self._new_event,
                ),
                "untrusted_text": self._new_untrusted_text(
                    {
                        "notes": record.notes,
                        "blocker_note": record.blocker_note,
                        "contact_name": record.contact_name,
                        "contact_email": record.contact_email,
                    }
                ),
            }
        )

    def churn_risk(self, score: int | None) -> ChurnRisk | None:
        model = self.churn_model
        if model is None or score is None:
            return None
        logit = model.intercept + model.per_point * score
        return self._new_churn_risk(
            probability=round(1 / (1 + math.exp(-logit)), 3),
            horizon_days=model.horizon_days,
            fitted_as_of=model.fitted_as_of,
        )


def assess_account(
    record: AccountRecord,
    policy: Policy,
    as_of: date,
    level: AutomationLevel = AutomationLevel.BALANCED,
    gate: PolicyGate | None = None,
    *,
    input_sources: Collection[Source] | None = None,
) -> Assessment:
    """Assess one account. `as_of` is the record's own date when it has one.

    For many accounts, make one `Engine` and call its `assess`.
    """
    return Engine(policy, level, gate, input_sources=input_sources).assess(record, as_of)


def assess_records(
    records: Iterable[AccountRecord],
    policy: Policy,
    as_of: date,
    level: AutomationLevel = AutomationLevel.BALANCED,
    *,
    input_sources: Collection[Source] | None = None,
) -> Iterator[Assessment]:
    """Assess records without history: no trend flags."""
    engine = Engine(policy, level, input_sources=input_sources)
    for record in records:
        yield engine.assess(record, as_of)
