"""Stages 5 and 6: risk flags, raised even when the aggregate score looks fine, and themes."""

from __future__ import annotations

from datetime import date

from skill.assessment import RiskFlag, RiskTheme, SourceStatus, held_value
from skill.engine.conditions import compile_rules
from skill.engine.context import AccountContext, days_between, plain_copy
from skill.engine.dimensions import SOURCE_LABEL, trend, usage_moved
from skill.engine.shared import MAX_SHARED_PER_MODEL, SharedPieces
from skill.policy import FlagRule, Flags, Risk, ScoringSignals
from skill.record import Blocker
from skill.vocabulary import Dimension, RiskFlagCode


def _usage_drop(ctx: AccountContext, rules: Flags) -> str | None:
    rule = rules.usage_drop
    return usage_moved(ctx.record, rule.min_logins, rule.max_change_pct, rising=False)


def _support_spike(ctx: AccountContext, rules: Flags) -> str | None:
    r, rule = ctx.record, rules.support_spike
    if r.tickets_30d is None or r.tickets_prev_30d is None or r.tickets_30d < rule.min_tickets:
        return None
    if r.tickets_prev_30d and r.tickets_30d / r.tickets_prev_30d < rule.min_ratio:
        return None
    return (
        f"tickets {r.tickets_30d} vs {r.tickets_prev_30d} prior 30d: "
        f"{trend(r.tickets_30d, r.tickets_prev_30d)}"
    )


def _nps_detractor(ctx: AccountContext, rules: Flags) -> str | None:
    r, rule = ctx.record, rules.nps_detractor
    if r.nps is not None and r.nps <= rule.max_nps:
        return f"account NPS {r.nps:g}"
    if r.nps_response is not None and r.nps_response <= rule.max_nps_response:
        return f"latest NPS response {r.nps_response:g} of 10"
    if r.csat is not None and r.csat <= rule.max_csat:
        return f"CSAT {r.csat:g} of 5"
    return None


def _payment_issue(ctx: AccountContext, rules: Flags) -> str | None:
    r = ctx.record
    if r.payment_status is None:
        return None
    status = r.payment_status  # a str enum: equal to, and written as, its value
    if status in rules.payment_issue.statuses:
        overdue = f", {r.days_overdue} days overdue" if r.days_overdue else ""
        return f"payment {status}{overdue}"
    return None


def _renewal_soon(ctx: AccountContext, _: Flags) -> str | None:
    days, window = ctx.days_to_renewal, ctx.renewal_window
    if days is None or window is None or days > window:
        return None
    if days < 0:
        return None  # renewal_date_passed says so
    term = ctx.record.contract_term
    of_term = f", {term.label}" if term else ""
    return f"renewal in {days} days ({ctx.record.renewal_date}){of_term}"


def _renewal_date_passed(ctx: AccountContext, _: Flags) -> str | None:
    """A renewal date before as_of is not "renewal soon": the contract's status is unknown."""
    days = ctx.days_to_renewal
    if days is None or days >= 0:
        return None
    return (
        f"renewal date {ctx.record.renewal_date} passed {-days} days ago: the contract "
        "lapsed, or renewed without the date being updated"
    )


def _no_exec_touch(ctx: AccountContext, rules: Flags) -> str | None:
    days = days_between(ctx.record.last_exec_touch_date, ctx.as_of)
    if days is None or days < rules.no_exec_touch.days:
        return None
    return f"last executive touch {days} days ago"


def _recent_escalation(ctx: AccountContext, rules: Flags) -> str | None:
    count = ctx.record.escalations_90d
    if count is None or count < rules.recent_escalation.min_count:
        return None
    return f"{count} escalation{'s' if count != 1 else ''} in the last 90 days"


def _missed_milestones(ctx: AccountContext, rules: Flags) -> str | None:
    r = ctx.record
    if r.success_milestones_missed is None or (
        r.success_milestones_missed < rules.missed_milestones.min_count
    ):
        return None
    total = f" of {r.success_milestones_total}" if r.success_milestones_total else ""
    return f"{r.success_milestones_missed}{total} success-plan milestones missed"


def _unresponsive(ctx: AccountContext, rules: Flags) -> str | None:
    days = days_between(ctx.record.last_customer_reply_date, ctx.as_of)
    if days is None or days < rules.unresponsive_customer.days:
        return None
    return f"no customer reply for {days} days"


def _major_blocker(ctx: AccountContext, _: Flags) -> str | None:
    if ctx.record.blocker is Blocker.MAJOR:
        noted = " (see the blocker note)" if ctx.record.blocker_note else ""
        return f"a major blocker is open{noted}"
    return None


def _sync_age(source: SourceStatus, as_of: date) -> str:
    age = days_between(source.synced_at, as_of) or 0
    when = f"{age} days ago" if age >= 0 else f"{-age} days after as_of: a date in the future"
    return f"{SOURCE_LABEL[source.source]} last synced {source.synced_at} ({when})"


def _stale(ctx: AccountContext, rules: Flags, sources: list[SourceStatus]) -> str | None:
    as_of = ctx.as_of
    parts = []
    for source in sources:
        if source.stale:
            parts.append(_sync_age(source, as_of))
    surveyed = ctx.record.last_survey_date
    if surveyed is not None:
        survey_age = (as_of - surveyed).days
        if survey_age > rules.stale_evidence.max_survey_age_days:
            parts.append(f"last survey {survey_age} days ago")
    return "; ".join(parts) or None


def _conflicting(
    ctx: AccountContext, rules: Flags, names_of: dict[Dimension, tuple[str, ...]]
) -> str | None:
    rule = rules.conflicting_evidence
    parts = []
    signal_scores = ctx.signal_scores
    for dimension in rule.dimensions:
        # (score, name): the highest and lowest by score, ties by name. A plain loop: a
        # comprehension costs a frame of its own on every account.
        scores = []
        for name in names_of.get(dimension, ()):
            score = signal_scores.get(name)
            if score is not None:
                scores.append((score, name))
        if len(scores) < 2:
            continue
        (high_score, high), (low_score, low) = max(scores), min(scores)
        if high_score - low_score >= rule.min_gap:
            parts.append(
                f"{dimension.value}: {high} scores {high_score} but {low} scores {low_score}"
            )
    return "; ".join(parts) or None


_FLAG_RANK = {code: rank for rank, code in enumerate(RiskFlagCode)}


_DETECTORS = {
    RiskFlagCode.USAGE_DROP: _usage_drop,
    RiskFlagCode.SUPPORT_SPIKE: _support_spike,
    RiskFlagCode.NPS_DETRACTOR: _nps_detractor,
    RiskFlagCode.PAYMENT_ISSUE: _payment_issue,
    RiskFlagCode.RENEWAL_SOON: _renewal_soon,
    RiskFlagCode.RENEWAL_DATE_PASSED: _renewal_date_passed,
    RiskFlagCode.NO_EXEC_TOUCH: _no_exec_touch,
    RiskFlagCode.RECENT_ESCALATION: _recent_escalation,
    RiskFlagCode.MISSED_MILESTONES: _missed_milestones,
    RiskFlagCode.UNRESPONSIVE_CUSTOMER: _unresponsive,
    RiskFlagCode.MAJOR_BLOCKER: _major_blocker,
}
# Detected in this order, then stale and conflicting evidence: RiskFlagCode's order, so
# the flags come out in it with no sort (tests/engine/test_flags.py holds it to that).


class RiskDetector:
    """Stages 5 and 6 for one policy: built once per run, called once per account."""

    def __init__(self, risk: Risk, signals: ScoringSignals, shared: SharedPieces) -> None:
        self.rules = plain_copy(risk.flags)
        self.dimension_of = {name: rule.dimension for name, rule in signals.items()}
        # Each dimension's signals, in policy order: what conflicting evidence compares.
        self.names_of: dict[Dimension, tuple[str, ...]] = {}
        for name, dimension in self.dimension_of.items():
            self.names_of[dimension] = (*self.names_of.get(dimension, ()), name)
        self.shared = shared
        self._new_risk_flag = shared.make(RiskFlag)
        self._keep = shared.keep  # a theme is remembered for many accounts
        self.flag_rules: dict[RiskFlagCode, FlagRule] = {
            code: getattr(risk.flags, code.value) for code in RiskFlagCode
        }
        held = held_value(shared.make)
        # What a flag copies from its rule, per code (the severity as a plain flag holds it).
        self._flag_texts = {
            code: (rule.label, held(rule.severity), rule.hint)
            for code, rule in self.flag_rules.items()
        }
        self.detectors = tuple(_DETECTORS.items())
        # Each flag raised so far, by code and evidence: most evidence repeats.
        self._flags: dict[RiskFlagCode, dict[str, RiskFlag]] = {code: {} for code in RiskFlagCode}
        # A theme without conditions never applies. All matched in one call: a theme's
        # conditions never read the themes (the policy refuses that), so the order they
        # are added in changes nothing.
        rules = [(code, rule) for code, rule in risk.themes.items() if rule.when_any]
        self.themes: tuple[tuple[str, str, dict[str, RiskTheme]], ...] = tuple(
            (code, rule.label, {}) for code, rule in rules
        )
        self._match_themes = compile_rules([rule for _, rule in rules])

    def _flag(self, code: RiskFlagCode, evidence: str) -> RiskFlag:
        """The flag with this evidence: one shared instance per code and evidence (see
        `SharedPieces`), looked up by the evidence alone."""
        known = self._flags[code]
        flag = known.get(evidence)
        if flag is None:
            label, severity, hint = self._flag_texts[code]
            flag = self._new_risk_flag(code, label, severity, evidence, hint)
            if len(known) < MAX_SHARED_PER_MODEL:
                known[evidence] = flag
        return flag

    def detect_flags(self, ctx: AccountContext, sources: list[SourceStatus]) -> list[RiskFlag]:
        """Flags in RiskFlagCode order; each carries the evidence that raised it."""
        rules = self.rules
        raised = ctx.flags
        flags = []
        flag = self._flag
        for code, detect in self.detectors:  # in RiskFlagCode order
            evidence = detect(ctx, rules)
            if evidence:
                flags.append(flag(code, evidence))
                raised.add(code)
        stale = _stale(ctx, rules, sources)
        if stale:
            flags.append(flag(RiskFlagCode.STALE_EVIDENCE, stale))
            raised.add(RiskFlagCode.STALE_EVIDENCE)
        conflict = _conflicting(ctx, rules, self.names_of)
        if conflict:
            flags.append(flag(RiskFlagCode.CONFLICTING_EVIDENCE, conflict))
            raised.add(RiskFlagCode.CONFLICTING_EVIDENCE)
        return flags

    def add_flags(
        self, ctx: AccountContext, flags: list[RiskFlag], found: dict[RiskFlagCode, str]
    ) -> list[RiskFlag]:
        """`flags` with the later-found ones (trend flags) merged in, in RiskFlagCode order."""
        for code, evidence in found.items():
            flags.append(self._flag(code, evidence))
            ctx.flags.add(code)
        flags.sort(key=lambda f: _FLAG_RANK[f.code])
        return flags

    def detect_themes(self, ctx: AccountContext) -> list[RiskTheme]:
        themes = []
        found = self.themes
        raised = ctx.themes
        for index, _, describe in self._match_themes(ctx):
            code, label, known = found[index]
            because = describe(ctx)
            # One shared theme per code and reason, looked up by the reason alone.
            theme = known.get(because)
            if theme is None:
                theme = self._keep(self.shared.get(RiskTheme, code, label, because))
                if len(known) < MAX_SHARED_PER_MODEL:
                    known[because] = theme
            themes.append(theme)
            raised.add(code)
        return themes
