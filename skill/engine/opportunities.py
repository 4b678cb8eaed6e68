"""Opportunity flags: what a healthy account could become, not what is wrong with it.

Expansion, advocacy, loyalty and room to grow, each with an evidence line a
person can check, thresholds in `assets/policy/opportunity.yaml`. They are read
after the band and the tier, and nothing reads them before: an opportunity flag
never moves the score, the band or the tier. Triggers and gate rules may read
them (`opportunities_any`, `opportunities_none`).
"""

from __future__ import annotations

from collections.abc import Callable

from skill.assessment import OpportunityFlag
from skill.engine.context import AccountContext, days_between, plain_copy
from skill.engine.dimensions import round_half_up, usage_moved
from skill.engine.shared import SharedPieces
from skill.policy import (
    AdvocateRule,
    ExpansionRule,
    LoyaltyRule,
    Opportunity,
    OpportunityRule,
    RoomToGrowRule,
    SentimentBar,
)
from skill.record import AccountRecord
from skill.vocabulary import Band, OpportunityCode, Tier

_SCORED_BANDS = frozenset(b for b in Band if b is not Band.NO_DATA)
_SCORED_TIERS = frozenset(t for t in Tier if t is not Tier.NO_DATA)


def _share(part: int, whole: int) -> float:
    return 100 * part / whole


def _growth(ctx: AccountContext, rule: ExpansionRule) -> str | None:
    """Usage rising by logins, else by the newest week of activity (as usage_drop reads a fall)."""
    return usage_moved(ctx.record, rule.min_logins, rule.min_growth_pct, rising=True)


def _adoption(r: AccountRecord) -> float | None:
    if r.features_adopted is None or not r.features_total:
        return None
    return _share(r.features_adopted, r.features_total)


def _adoption_text(r: AccountRecord, pct: float) -> str:
    adopted = f"{r.features_adopted} of {r.features_total} key features adopted"
    return f"{adopted} ({round_half_up(pct)}%)"


def _expansion_ready(ctx: AccountContext, rule: ExpansionRule) -> list[str] | None:
    r = ctx.record
    signals = []
    if r.active_users is not None and r.licensed_seats:
        used = _share(r.active_users, r.licensed_seats)
        growth = _growth(ctx, rule) if used >= rule.seats_full_pct else None
        if growth is not None:
            signals.append(
                f"seats {round_half_up(used)}% used ({r.active_users} of {r.licensed_seats}) "
                f"and growing ({growth})"
            )
    if r.expansion_signal is True:
        signals.append("expansion signal in the CRM")
    adoption = _adoption(r)
    if adoption is not None and adoption >= rule.broad_adoption_pct:
        signals.append(_adoption_text(r, adoption))
    return signals if len(signals) >= rule.min_signals else None


def _positive_sentiment(r: AccountRecord, bar: SentimentBar) -> list[str]:
    found = []
    if r.nps is not None and r.nps >= bar.min_nps:
        found.append(f"account NPS {r.nps:g}")
    if r.nps_response is not None and r.nps_response >= bar.min_nps_response:
        found.append(f"latest NPS response {r.nps_response:g} of 10")
    if r.csat is not None and r.csat >= bar.min_csat:
        found.append(f"CSAT {r.csat:g} of 5")
    return found


def _advocate(ctx: AccountContext, rule: AdvocateRule) -> list[str] | None:
    r = ctx.record
    sentiment = _positive_sentiment(r, rule)
    if not sentiment or r.sev1_open is None or r.sev1_open > rule.max_sev1_open:
        return None
    replied = days_between(r.last_customer_reply_date, ctx.as_of)
    if r.champion not in rule.champions or replied is None or replied > rule.max_reply_days:
        return None
    tickets = (
        "no open severity-1 ticket"
        if r.sev1_open == 0
        else f"{r.sev1_open} open severity-1 ticket{'s' if r.sev1_open != 1 else ''}"
    )
    return [
        ", ".join(sentiment),
        tickets,
        f"{r.champion.value} champion, last customer reply {replied} days ago",
    ]


def _loyal_customer(ctx: AccountContext, rule: LoyaltyRule) -> list[str] | None:
    r = ctx.record
    days = ctx.days_to_renewal
    if ctx.renewal_window is None or days is None or not 0 <= days <= rule.renewal_within_days:
        return None
    sentiment = _positive_sentiment(r, rule)
    if not sentiment or r.payment_status not in rule.payment_statuses:
        return None
    term = f", {r.contract_term.label}" if r.contract_term else ""
    return [
        ", ".join(sentiment),
        f"payment {r.payment_status.value}",
        f"renewal in {days} days ({r.renewal_date}){term}",
    ]


def _room_to_grow(ctx: AccountContext, rule: RoomToGrowRule) -> list[str] | None:
    r = ctx.record
    adoption = _adoption(r)
    replied = days_between(r.last_customer_reply_date, ctx.as_of)
    if adoption is None or adoption >= rule.max_adoption_pct:
        return None
    if replied is None or replied > rule.max_reply_days:
        return None
    return [_adoption_text(r, adoption), f"last customer reply {replied} days ago"]


Detector = Callable[[AccountContext, OpportunityRule], list[str] | None]

_DETECTORS: dict[OpportunityCode, Detector] = {
    OpportunityCode.EXPANSION_READY: _expansion_ready,  # type: ignore[dict-item]
    OpportunityCode.ADVOCATE: _advocate,  # type: ignore[dict-item]
    OpportunityCode.LOYAL_CUSTOMER: _loyal_customer,  # type: ignore[dict-item]
    OpportunityCode.ROOM_TO_GROW: _room_to_grow,  # type: ignore[dict-item]
}


class OpportunityDetector:
    """Built once per run from the policy, called once per account after band and tier."""

    def __init__(self, opportunity: Opportunity, shared: SharedPieces) -> None:
        self.shared = shared
        self.rules: dict[OpportunityCode, OpportunityRule] = {
            code: plain_copy(getattr(opportunity.flags, code.value)) for code in OpportunityCode
        }
        # A rule limited to some bands or tiers names the account's in its evidence.
        self.names_band = {c: set(r.bands) != _SCORED_BANDS for c, r in self.rules.items()}
        self.names_tier = {c: set(r.tiers) != _SCORED_TIERS for c, r in self.rules.items()}
        # Per flag, in OpportunityCode order: its detector, rule, bands and tiers as sets,
        # and whether its evidence names the tier and the band.
        self.detectors = tuple(
            (
                code,
                detect,
                self.rules[code],
                frozenset(self.rules[code].bands),
                frozenset(self.rules[code].tiers),
                self.names_tier[code],
                self.names_band[code],
            )
            for code, detect in _DETECTORS.items()
        )

    def detect(self, ctx: AccountContext) -> list[OpportunityFlag]:
        """Flags in OpportunityCode order; none for an account with no data."""
        found = []
        band, tier = ctx.band, ctx.tier
        for code, detect, rule, bands, tiers, names_tier, names_band in self.detectors:
            if band not in bands or tier not in tiers:
                continue
            signals = detect(ctx, rule)
            if signals is None:
                continue
            standing = []
            if names_tier:
                standing.append(f"tier {tier}")
            if names_band:
                standing.append(f"band {band}")
            evidence = "; ".join([", ".join(standing), *signals] if standing else signals)
            found.append(self.shared.get(OpportunityFlag, code, rule.label, evidence, rule.hint))
            ctx.opportunities.add(code)
        return found
