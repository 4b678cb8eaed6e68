"""Stage 1: signals become 0-100 sub-scores, with a line of evidence each.

The arithmetic that turns fields into a metric (a ratio, a change, days since)
lives here; how a metric maps to a score is the policy's `signals` table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import date
from functools import partial
from itertools import compress, pairwise, repeat
from operator import attrgetter, is_not, itemgetter
from typing import Literal, cast

from skill.assessment import (
    DimensionScore,
    Evidence,
    Maker,
    MissingData,
    SourceStatus,
    as_is,
    from_fields,
    trusted,
    trusted_from_fields,
)
from skill.engine.context import AccountContext, days_between
from skill.engine.shared import SharedPieces
from skill.policy import Scoring, SignalRule
from skill.record import AccountRecord
from skill.vocabulary import Dimension, Source


def round_half_up(value: float) -> int:
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def pct_change(current: float, previous: float) -> float:
    if previous == 0:
        return 0.0 if current == 0 else 100.0
    return (current - previous) / previous * 100.0


def trend(current: float, previous: float) -> str:
    """`-34%`, `+12%`, or `new` when there was nothing before to compare with."""
    if previous == 0:
        return "no change" if current == 0 else "new, none prior"
    return signed_pct(pct_change(current, previous))


def signed_pct(value: float) -> str:
    rounded = round_half_up(value)
    return f"+{rounded}%" if rounded > 0 else f"{rounded}%"


def usage_moved(r: AccountRecord, min_logins: int, limit: float, rising: bool) -> str | None:
    """Evidence that usage moved past `limit` percent (up when `rising`, else down): by
    logins against the 30 days before, else by the newest week of activity against the
    average of up to four weeks before it. None when neither shows it."""
    if r.logins_30d is not None and r.logins_prev_30d and r.logins_prev_30d >= min_logins:
        change = pct_change(r.logins_30d, r.logins_prev_30d)
        if change >= limit if rising else change <= limit:
            return (
                f"logins {r.logins_30d} vs {r.logins_prev_30d} prior 30d: "
                f"{trend(r.logins_30d, r.logins_prev_30d)}"
            )
    activity = r.weekly_activity
    if activity and len(activity) >= 3:
        prior = activity[-5:-1]
        baseline = sum(prior) / len(prior)
        if baseline > 0:
            change = pct_change(activity[-1], baseline)
            if change >= limit if rising else change <= limit:
                return (
                    f"weekly activity {activity[-1]:g}% vs {round_half_up(baseline)}% average "
                    f"of the {len(prior)} weeks before: {signed_pct(change)}"
                )
    return None


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _num(value: float) -> str:
    return f"{value:g}"


# Each reader returns (metric, category, evidence text) or None when the signal is absent.
Reading = tuple[float | None, str | None, str]
Reader = Callable[[AccountRecord, date], Reading | None]


def reads(*fields: str, as_of: bool = False, remember: bool = True) -> Callable[[Reader], Reader]:
    """Declare the record fields (and whether `as_of`) a reader's result depends on.

    The scorer remembers each reader's result by those values, so an account whose
    values were seen before (open tickets 0, payment current) costs a lookup.
    `remember=False` for a list-valued field: rarely the same twice, and unhashable.
    A test checks each reader reads no field it does not declare.

    The declaration is held by a `partial` of the reader, not by the function itself:
    a function compiled with mypyc (see `build_native.py`) takes no attributes.
    """

    def declare(read: Reader) -> Reader:
        declared = partial(read)
        declared.fields = fields  # type: ignore[attr-defined]
        declared.uses_as_of = as_of  # type: ignore[attr-defined]
        declared.remember = remember  # type: ignore[attr-defined]
        return declared

    return declare


@reads("active_users", "licensed_seats")
def _seat_utilisation(r: AccountRecord, _: date) -> Reading | None:
    if r.active_users is None or not r.licensed_seats:
        return None
    pct = r.active_users / r.licensed_seats * 100
    if pct > 100:
        # More users than seats is a data problem, not better than full use.
        return (
            100.0,
            None,
            f"active users {r.active_users} of {r.licensed_seats} seats: counted as 100% "
            "(more active users than seats)",
        )
    return (
        pct,
        None,
        (f"active users {r.active_users} of {r.licensed_seats} seats: {round_half_up(pct)}%"),
    )


@reads("logins_30d", "logins_prev_30d")
def _login_trend(r: AccountRecord, _: date) -> Reading | None:
    if r.logins_30d is None or r.logins_prev_30d is None:
        return None
    change = pct_change(r.logins_30d, r.logins_prev_30d)
    return (
        change,
        None,
        (
            f"logins {r.logins_30d} vs {r.logins_prev_30d} prior 30d: "
            f"{trend(r.logins_30d, r.logins_prev_30d)}"
        ),
    )


@reads("weekly_activity", remember=False)
def _weekly_activity(r: AccountRecord, _: date) -> Reading | None:
    if not r.weekly_activity:
        return None
    mean = sum(r.weekly_activity) / len(r.weekly_activity)
    weeks = len(r.weekly_activity)
    return (
        mean,
        None,
        (
            f"weekly activity averages {round_half_up(mean)}% over {weeks} week"
            f"{'s' if weeks != 1 else ''} (latest {_num(r.weekly_activity[-1])}%)"
        ),
    )


@reads("features_adopted", "features_total")
def _feature_adoption(r: AccountRecord, _: date) -> Reading | None:
    if r.features_adopted is None or not r.features_total:
        return None
    pct = r.features_adopted / r.features_total * 100
    return (
        pct,
        None,
        (f"features adopted {r.features_adopted} of {r.features_total}: {round_half_up(pct)}%"),
    )


@reads("onboarding_milestones_done", "onboarding_milestones_total")
def _onboarding_progress(r: AccountRecord, _: date) -> Reading | None:
    if r.onboarding_milestones_done is None or not r.onboarding_milestones_total:
        return None
    pct = r.onboarding_milestones_done / r.onboarding_milestones_total * 100
    return (
        pct,
        None,
        (
            f"onboarding milestones {r.onboarding_milestones_done} of "
            f"{r.onboarding_milestones_total} done: {round_half_up(pct)}%"
        ),
    )


@reads("open_tickets")
def _open_tickets(r: AccountRecord, _: date) -> Reading | None:
    if r.open_tickets is None:
        return None
    return r.open_tickets, None, f"open tickets: {r.open_tickets}"


@reads("tickets_30d", "tickets_prev_30d")
def _ticket_trend(r: AccountRecord, _: date) -> Reading | None:
    if r.tickets_30d is None or r.tickets_prev_30d is None:
        return None
    change = pct_change(r.tickets_30d, r.tickets_prev_30d)
    return (
        change,
        None,
        (
            f"tickets {r.tickets_30d} vs {r.tickets_prev_30d} prior 30d: "
            f"{trend(r.tickets_30d, r.tickets_prev_30d)}"
        ),
    )


@reads("escalations_90d")
def _escalations(r: AccountRecord, _: date) -> Reading | None:
    if r.escalations_90d is None:
        return None
    return r.escalations_90d, None, f"escalations in 90d: {r.escalations_90d}"


@reads("sev1_open")
def _sev1(r: AccountRecord, _: date) -> Reading | None:
    if r.sev1_open is None:
        return None
    return r.sev1_open, None, f"open severity-1 tickets: {r.sev1_open}"


@reads("csat")
def _csat(r: AccountRecord, _: date) -> Reading | None:
    if r.csat is None:
        return None
    return r.csat, None, f"CSAT {_num(r.csat)} of 5"


@reads("nps")
def _nps(r: AccountRecord, _: date) -> Reading | None:
    if r.nps is None:
        return None
    return r.nps, None, f"account NPS {_num(r.nps)}"


@reads("nps_response")
def _nps_response(r: AccountRecord, _: date) -> Reading | None:
    if r.nps_response is None:
        return None
    return r.nps_response, None, f"latest NPS response {_num(r.nps_response)} of 10"


@reads("payment_status")
def _payment_status(r: AccountRecord, _: date) -> Reading | None:
    if r.payment_status is None:
        return None
    status = r.payment_status.value
    return None, status, f"payment status: {status}"


@reads("days_overdue")
def _days_overdue(r: AccountRecord, _: date) -> Reading | None:
    if r.days_overdue is None:
        return None
    return r.days_overdue, None, f"oldest invoice {r.days_overdue} days overdue"


@reads("expansion_signal")
def _expansion(r: AccountRecord, _: date) -> Reading | None:
    if r.expansion_signal is None:
        return None
    return (
        None,
        str(r.expansion_signal).lower(),
        (f"expansion signal: {_yes_no(r.expansion_signal)}"),
    )


@reads("discount_requested")
def _discount(r: AccountRecord, _: date) -> Reading | None:
    if r.discount_requested is None:
        return None
    return (
        None,
        str(r.discount_requested).lower(),
        (f"discount requested: {_yes_no(r.discount_requested)}"),
    )


@reads("last_exec_touch_date", as_of=True)
def _exec_touch(r: AccountRecord, as_of: date) -> Reading | None:
    days = days_between(r.last_exec_touch_date, as_of)
    if days is None:
        return None
    return days, None, f"last executive touch {days} days ago ({r.last_exec_touch_date})"


@reads("champion")
def _champion(r: AccountRecord, _: date) -> Reading | None:
    if r.champion is None:
        return None
    champion = r.champion.value
    return None, champion, f"champion: {champion}"


@reads("last_customer_reply_date", as_of=True)
def _customer_reply(r: AccountRecord, as_of: date) -> Reading | None:
    days = days_between(r.last_customer_reply_date, as_of)
    if days is None:
        return None
    return days, None, f"last customer reply {days} days ago ({r.last_customer_reply_date})"


@reads("qbr_attended")
def _qbr(r: AccountRecord, _: date) -> Reading | None:
    if r.qbr_attended is None:
        return None
    return None, str(r.qbr_attended).lower(), f"attended last QBR: {_yes_no(r.qbr_attended)}"


@reads("success_milestones_missed", "success_milestones_total")
def _success_milestones(r: AccountRecord, _: date) -> Reading | None:
    if r.success_milestones_missed is None or not r.success_milestones_total:
        return None
    pct = r.success_milestones_missed / r.success_milestones_total * 100
    return (
        pct,
        None,
        (
            f"success milestones missed {r.success_milestones_missed} of "
            f"{r.success_milestones_total}: {round_half_up(pct)}%"
        ),
    )


READERS: dict[str, Reader] = {
    "seat_utilisation": _seat_utilisation,
    "login_trend": _login_trend,
    "weekly_activity": _weekly_activity,
    "feature_adoption": _feature_adoption,
    "onboarding_progress": _onboarding_progress,
    "open_tickets": _open_tickets,
    "ticket_trend": _ticket_trend,
    "escalations": _escalations,
    "sev1_open": _sev1,
    "csat": _csat,
    "nps": _nps,
    "nps_response": _nps_response,
    "payment_status": _payment_status,
    "days_overdue": _days_overdue,
    "expansion_signal": _expansion,
    "discount_requested": _discount,
    "exec_touch": _exec_touch,
    "champion": _champion,
    "customer_reply": _customer_reply,
    "qbr_attended": _qbr,
    "success_milestones": _success_milestones,
}

# The two counts behind each ratio signal, for its `min_count`.
RATIO_COUNTS: dict[str, tuple[str, str, str]] = {
    "login_trend": ("logins_30d", "logins_prev_30d", "logins"),
    "ticket_trend": ("tickets_30d", "tickets_prev_30d", "tickets"),
}


def _min_count_reader(name: str, read: Reader, min_count: int) -> Reader:
    """A ratio of tiny counts (logins 3 vs 1) is noise: it reads as no change, and says so."""
    current_field, previous_field, label = RATIO_COUNTS[name]
    fields = tuple(dict.fromkeys((*read.fields, current_field, previous_field)))  # type: ignore[attr-defined]

    @reads(*fields, as_of=read.uses_as_of, remember=read.remember)  # type: ignore[attr-defined]
    def guarded(r: AccountRecord, as_of: date) -> Reading | None:
        reading = read(r, as_of)
        if reading is None:
            return None
        current, previous = getattr(r, current_field), getattr(r, previous_field)
        if max(current, previous) >= min_count:
            return reading
        return (
            0.0,
            None,
            f"{label} {current} vs {previous} prior 30d: too few to compare "
            f"(fewer than {min_count}), read as no change",
        )

    return guarded


def readers_for(scoring: Scoring) -> dict[str, Reader]:
    """The policy's signals with their readers, `min_count` applied."""
    readers = {}
    for name, rule in scoring.signals.items():
        read = READERS[name]
        if rule.min_count is not None and name in RATIO_COUNTS:
            read = _min_count_reader(name, read, rule.min_count)
        readers[name] = read
    return readers


SOURCE_FIELDS: dict[Source, tuple[str, ...]] = {
    Source.CRM: (
        "csat",
        "nps",
        "nps_response",
        "last_survey_date",
        "payment_status",
        "days_overdue",
        "expansion_signal",
        "discount_requested",
        "last_exec_touch_date",
        "champion",
        "last_customer_reply_date",
        "qbr_attended",
        "success_milestones_missed",
        "success_milestones_total",
        "blocker",
    ),
    Source.SUPPORT: (
        "open_tickets",
        "tickets_30d",
        "tickets_prev_30d",
        "escalations_90d",
        "sev1_open",
    ),
    Source.PRODUCT: (
        "active_users",
        "licensed_seats",
        "logins_30d",
        "logins_prev_30d",
        "weekly_activity",
        "features_adopted",
        "features_total",
        "onboarding_milestones_done",
        "onboarding_milestones_total",
    ),
}

SOURCE_SYNC_FIELD = {
    Source.CRM: "crm_synced_at",
    Source.SUPPORT: "support_synced_at",
    Source.PRODUCT: "product_synced_at",
}

SOURCE_LABEL = {
    Source.CRM: "CRM",
    Source.SUPPORT: "support platform",
    Source.PRODUCT: "product analytics",
}

DIMENSIONS = tuple(Dimension)

DIMENSION_SOURCE = {
    Dimension.USAGE: Source.PRODUCT,
    Dimension.ADOPTION: Source.PRODUCT,
    Dimension.SUPPORT: Source.SUPPORT,
    Dimension.SATISFACTION: Source.CRM,
    Dimension.COMMERCIAL: Source.CRM,
    Dimension.RELATIONSHIP: Source.CRM,
    Dimension.OUTCOMES: Source.CRM,
}


Scale = Callable[[float | None, str | None], int]


def signal_scale(rule: SignalRule) -> Scale:
    """The rule as a function of (metric, category) to a 0-100 score, 100 healthy.

    A `values` rule looks the category up (one it does not list scores 0); a `curve`
    rule interpolates between its points and holds the end scores beyond them.
    Made once per run, so the per-account call does no more than that.
    """
    if rule.values is not None:
        scores = {category: round_half_up(score) for category, score in rule.values.items()}
        return lambda _, category: scores.get(category or "", 0)
    assert rule.curve is not None
    points = tuple(rule.curve)
    first_x = points[0][0]
    first, last = round_half_up(points[0][1]), round_half_up(points[-1][1])
    segments = tuple(pairwise(points))

    def on_curve(metric: float | None, _: str | None) -> int:
        assert metric is not None
        if metric <= first_x:
            return first
        for (x0, y0), (x1, y1) in segments:
            if metric <= x1:
                return round_half_up(y0 + (y1 - y0) * (metric - x0) / (x1 - x0))
        return last

    return on_curve


# Readings remembered per signal, by the values its reader declares (`reads`): the
# bound keeps memory flat when values vary from account to account.
MEMO_PER_SIGNAL = 1024
_ABSENT = object()  # remembered: the reader found no value
_dimension_of = itemgetter(0)  # of a (dimension, mean, evidence) that `read_signals` gives
_new_evidence = trusted_from_fields(Evidence)

Signal = tuple[
    str,
    Reader,
    Scale,
    float,
    Callable[[AccountRecord], object] | None,
    bool,
    bool,
    dict[object, object],
]


def _signal(name: str, read: Reader, scale: Scale, weight: float) -> Signal:
    """One signal ready for `DimensionScorer.score`: with its memo when its reader declares
    the values it depends on (a reader without a declaration is read every time)."""
    fields = getattr(read, "fields", None)
    key_of = attrgetter(*fields) if fields and getattr(read, "remember", False) else None
    uses_as_of = bool(getattr(read, "uses_as_of", True))
    return (name, read, scale, weight, key_of, uses_as_of, _holds_floats(fields or ()), {})


def _holds_floats(fields: Iterable[str]) -> bool:
    """Whether any of these record fields can hold a float (see `rememberable`)."""
    known = AccountRecord.model_fields
    return any(name not in known or "float" in str(known[name].annotation) for name in fields)


def _scored(
    name: str,
    read: Reader,
    scale: Scale,
    weight: float,
    record: AccountRecord,
    as_of: date,
    new_evidence: Callable[..., Evidence] = _new_evidence,
) -> tuple[int, Evidence, float] | object:
    """The signal's score, its evidence, and the score times the signal's weight."""
    reading = read(record, as_of)
    if reading is None:
        return _ABSENT
    metric, category, text = reading
    score = scale(metric, category)
    return score, new_evidence({"signal": name, "score": score, "text": text}), weight * score


def rememberable(key: object) -> bool:
    """Not a key holding a float zero (0.0 and -0.0 are equal keys but read "0" and "-0")
    or a NaN (never equal to itself)."""
    values = key if type(key) is tuple else (key,)
    for value in values:
        if type(value) is tuple:
            if not rememberable(value):
                return False
        elif type(value) is float and (value == 0 or value != value):
            return False
    return True


def _remembered(
    memo: dict[object, object],
    key: object,
    floats: bool,
    name: str,
    read: Reader,
    scale: Scale,
    weight: float,
    record: AccountRecord,
    as_of: date,
    new_evidence: Callable[..., Evidence] = _new_evidence,
    keep: Callable[[Evidence], Evidence] | None = None,
) -> tuple[int, Evidence, float] | object:
    """A reading not in `memo`: read, and kept while there is room and the key can be;
    `keep`: how its evidence is held once remembered (see `written_once`)."""
    found = _scored(name, read, scale, weight, record, as_of, new_evidence)
    if len(memo) < MEMO_PER_SIGNAL and (not floats or rememberable(key)):
        if keep is not None and found is not _ABSENT:
            score, evidence, weighted = cast(tuple[int, Evidence, float], found)
            found = (score, keep(evidence), weighted)
        memo[key] = found
    return found


def _compile_reader(
    grouped: tuple[tuple[Dimension, tuple[Signal, ...]], ...],
    new_evidence: Callable[..., Evidence] = _new_evidence,
    keep: Callable[[Evidence], Evidence] | None = None,
    recorded: frozenset[str] | None = None,
) -> Callable[..., list[tuple[Dimension, float, list[Evidence]]]] | None:
    """`DimensionScorer.read_signals_one_by_one` written out for these signals: one
    block per signal, its memo key read straight from the record's fields, no loop.

    Reading twenty-odd signals is the engine's largest stage, and part of its cost
    was the loop's own bookkeeping (unpacking each signal's entry, a call to build
    its key, lists summed at the end). The same lookups and calls in the same order,
    and running totals that add the same numbers in the same order from 0 as `sum`
    does, so the same result (a test compares the two). Each memo entry carries its
    score times the signal's weight. None when a signal's declared fields are not
    plain names (then the loop is used).
    """
    namespace: dict[str, object] = {
        "_ABSENT": _ABSENT,
        "_scored": _scored,
        "_remembered": _remembered,
        "_new_evidence": new_evidence,
        "_keep": keep,
    }
    lines = ["def read_signals(r, as_of, signal_scores, weights):", "    scored = []"]
    for d, (dimension, signals) in enumerate(grouped):
        lines += ["    weighted = 0", "    weight_sum = 0", "    evidence = []"]
        for i, (name, read, scale, weight, key_of, uses_as_of, floats, memo) in enumerate(signals):
            tag = f"{d}_{i}"
            namespace.update(
                {f"name_{tag}": name, f"read_{tag}": read, f"scale_{tag}": scale}
                | {f"weight_{tag}": weight, f"memo_{tag}": memo}
            )
            args = f"name_{tag}, read_{tag}, scale_{tag}, weight_{tag}, r, as_of, _new_evidence"
            if key_of is None:
                lines.append(f"    found = _scored({args})")
            else:
                fields = tuple(getattr(read, "fields", ()))
                if not fields or not all(f.isidentifier() for f in fields):
                    return None
                values = [f"r.{f}" for f in fields]
                key = values[0] if len(values) == 1 else f"({', '.join(values)})"
                if uses_as_of:
                    key = f"({key}, as_of)"
                lines += [
                    f"    key = {key}",
                    f"    found = memo_{tag}.get(key)",
                    "    if found is None:",
                    f"        found = _remembered(memo_{tag}, key, {floats}, {args}, _keep)",
                ]
            lines.append("    if found is not _ABSENT:")
            if recorded is None or name in recorded:
                lines.append(f"        signal_scores[name_{tag}] = found[0]")
            lines += [
                "        evidence.append(found[1])",
                "        weighted += found[2]",
                f"        weight_sum += weight_{tag}",
            ]
        namespace[f"dimension_{d}"] = dimension
        lines += [
            f"    if evidence and weight_sum > 0 and weights.get(dimension_{d}, 0) > 0:",
            f"        scored.append((dimension_{d}, weighted / weight_sum, evidence))",
        ]
    lines.append("    return scored")
    exec("\n".join(lines) + "\n", namespace)  # built from the policy's signal names only
    return namespace["read_signals"]  # type: ignore[return-value]


class DimensionScorer:
    """Stage 1 for one policy: signals are read dimension by dimension, in Dimension order.

    Built once per run; `score` and `missing` are called once per account.
    """

    def __init__(
        self,
        scoring: Scoring,
        shared: SharedPieces,
        make: Maker = trusted,
        recorded: Collection[str] | None = None,
    ) -> None:
        """`make`: how its output pieces are made, `trusted` (models) or `plain`.
        `recorded`: the signals whose scores go into the context's `signal_scores`, the
        ones a later stage reads by name (None: every signal)."""
        self.scoring = scoring
        self.recorded = None if recorded is None else frozenset(recorded)
        self.shared = shared
        self._new_evidence = from_fields(make, Evidence)
        # How a remembered reading's evidence is held (None: as it is).
        self._keep = None if shared.keep is as_is else shared.keep
        self._new_dimension_score = from_fields(make, DimensionScore)
        grouped: dict[Dimension, list[tuple[str, Reader, Scale, float]]] = {
            d: [] for d in Dimension
        }
        readers = readers_for(scoring)
        for name, rule in scoring.signals.items():
            grouped[rule.dimension].append((name, readers[name], signal_scale(rule), rule.weight))
        self.signals = tuple(
            (d, tuple(_signal(*signal) for signal in signals))
            for d, signals in grouped.items()
            if signals
        )
        self.read_signals = (
            _compile_reader(self.signals, self._new_evidence, self._keep, self.recorded)
            or self.read_signals_one_by_one
        )
        self.weights = dict(scoring.weights)  # by segment, read per account
        # Renormalised weights by segment and the dimensions that scored (at most
        # 2^7 sets per segment).
        self._shares: dict[tuple[object, ...], tuple[float, ...]] = {}
        # Why a dimension with weight has no score, by where its source is connected.
        self.missing_reasons: dict[tuple[Dimension, Connection], str] = {}
        for dimension in Dimension:
            label = SOURCE_LABEL[DIMENSION_SOURCE[dimension]]
            names = sorted(name for name, *_ in grouped[dimension])
            self.missing_reasons[(dimension, "account")] = (
                "no signal in the record (" + ", ".join(names) + ")"
            )
            self.missing_reasons[(dimension, "unknown")] = f"{label} not connected"
            self.missing_reasons[(dimension, "input")] = f"no {label} data for this account"
            self.missing_reasons[(dimension, "none")] = f"{label} not connected in this input"

    def score(self, ctx: AccountContext) -> tuple[list[DimensionScore], tuple[float, ...]]:
        """Every dimension with at least one signal and weight, and their weights
        renormalised (each dimension's `weight`, for the composite to read as numbers)."""
        record = ctx.record
        segment = record.segment
        weights = self.weights[segment]
        scored = self.read_signals(record, ctx.as_of, ctx.signal_scores, weights)

        # The renormalised weights depend only on the segment and which dimensions
        # scored: worked out once per such pair.
        present = (segment, *map(_dimension_of, scored))
        shares = self._shares.get(present)
        if shares is None:
            total_weight = sum(weights[d] for d, _, _ in scored)
            shares = tuple(round(weights[d] / total_weight, 4) for d, _, _ in scored)
            self._shares[present] = shares
        dimensions = []
        dimension_scores = ctx.dimension_scores
        new_dimension_score = self._new_dimension_score
        for i, (dimension, mean, evidence) in enumerate(scored):  # zip(strict=) parses a keyword
            share = shares[i]
            # round_half_up, written out: a mean of 0-100 scores is never negative.
            score = int(mean + 0.5) if mean >= 0 else round_half_up(mean)
            dimension_scores[dimension] = score
            dimensions.append(
                new_dimension_score(
                    {
                        "dimension": dimension,
                        "score": score,
                        "weight": share,
                        "evidence": evidence,
                        "unsmoothed": None,
                    }
                )
            )
        return dimensions, shares

    def read_signals_one_by_one(
        self,
        record: AccountRecord,
        as_of: date,
        signal_scores: dict[str, int],
        weights: dict[Dimension, float],
    ) -> list[tuple[Dimension, float, list[Evidence]]]:
        """Each dimension that scores, with the mean of its signals and their evidence;
        each signal's score into `signal_scores`.

        The plain loop: `read_signals` is the same written out per policy (see
        `_compile_reader`), and this is what it is tested against.
        """
        scored: list[tuple[Dimension, float, list[Evidence]]] = []
        for dimension, signals in self.signals:
            weighted: list[float] = []  # weight x score, in signal order
            signal_weights: list[float] = []
            evidence: list[Evidence] = []
            for name, read, scale, weight, key_of, uses_as_of, floats, memo in signals:
                if key_of is None:
                    found = _scored(name, read, scale, weight, record, as_of, self._new_evidence)
                else:
                    key = key_of(record)
                    if uses_as_of:
                        key = (key, as_of)
                    found = memo.get(key)
                    if found is None:
                        found = _remembered(
                            memo,
                            key,
                            floats,
                            name,
                            read,
                            scale,
                            weight,
                            record,
                            as_of,
                            self._new_evidence,
                            self._keep,
                        )
                if found is _ABSENT:
                    continue
                score, piece, _ = cast(tuple[int, Evidence, float], found)
                if self.recorded is None or name in self.recorded:
                    signal_scores[name] = score
                weighted.append(weight * score)
                signal_weights.append(weight)
                evidence.append(piece)
            # A zero-weight signal shows its evidence but does not count.
            weight_sum: float = sum(signal_weights)
            if evidence and weights.get(dimension, 0) > 0 and weight_sum > 0:
                weighted_sum: float = sum(weighted)
                scored.append((dimension, weighted_sum / weight_sum, evidence))
        return scored

    def missing(self, ctx: AccountContext, sources: list[SourceStatus]) -> list[MissingData]:
        """Dimensions with weight but no score, each with the reason."""
        weights = self.scoring.weights[ctx.record.segment]
        scored = ctx.dimension_scores
        missing = []
        by_source = None
        for dimension in DIMENSIONS:
            if dimension in scored or weights.get(dimension, 0) == 0:
                continue
            if by_source is None:
                by_source = {s.source: s for s in sources}
            status = by_source[DIMENSION_SOURCE[dimension]]
            reason = self.missing_reasons[(dimension, connection(status))]
            missing.append(self.shared.get(MissingData, dimension, reason))
        return missing


# Where a source is connected: for this account, in the input but not for this
# account, nowhere in the input, or not for this account with the input unknown.
Connection = Literal["account", "input", "none", "unknown"]


def connection(status: SourceStatus) -> Connection:
    if status.connected:
        return "account"
    if status.in_input is None:
        return "unknown"
    return "input" if status.in_input else "none"


def source_statuses(
    record: AccountRecord,
    as_of: date,
    stale_after_days: int,
    input_sources: frozenset[Source] | None = None,
) -> list[SourceStatus]:
    """Each source's contribution to this record; `input_sources` None: input unknown."""
    return SourceReader(stale_after_days, input_sources).read(record, as_of)[0]


# What later stages read of one source's status: connected, stale, in the input.
SourceState = tuple[bool, bool, bool | None]


class SourceReader:
    """`source_statuses` for one run: what depends only on the run is worked out once."""

    def __init__(
        self,
        stale_after_days: int,
        input_sources: frozenset[Source] | None,
        make: Maker = trusted,
    ) -> None:
        self.stale_after_days = stale_after_days
        self._new_source_status = from_fields(make, SourceStatus)
        # Per source: its reading, and `in_input` when the account has no data of it.
        self.sources = tuple(
            (*reading, None if input_sources is None else reading[0] in input_sources)
            for reading in _SOURCE_READING
        )

    def read(
        self, record: AccountRecord, as_of: date
    ) -> tuple[list[SourceStatus], tuple[SourceState, ...]]:
        """Each source's status, and the facts of them that the missing-data reasons and
        confidence read (`SourceState` per source): a key for remembering those."""
        statuses = []
        states: tuple[SourceState, ...] = ()
        stale_after_days = self.stale_after_days
        new_source_status = self._new_source_status
        for source, fields, values_of, sync_field, in_input_otherwise in self.sources:
            used = list(compress(fields, map(is_not, values_of(record), _NONES)))
            synced_at = getattr(record, sync_field)
            connected = bool(used) or synced_at is not None
            if synced_at is None:
                stale = False
            else:
                age = (as_of - synced_at).days
                # A sync date in the future is no evidence of freshness.
                stale = age > stale_after_days or age < 0
            in_input = in_input_otherwise if not connected or in_input_otherwise is None else True
            statuses.append(
                new_source_status(
                    {
                        "source": source,
                        "connected": connected,
                        "synced_at": synced_at,
                        "stale": stale,
                        "fields_used": used,
                        "in_input": in_input,
                    }
                )
            )
            states += ((connected, stale, in_input),)
        return statuses, states


def _values_of(fields: tuple[str, ...]) -> Callable[[AccountRecord], tuple[object, ...]]:
    """The fields' values as a tuple (attrgetter gives a bare value for one field)."""
    if len(fields) == 1:
        (only,) = fields
        return lambda record: (getattr(record, only),)
    return attrgetter(*fields)


# Per source, in SOURCE_FIELDS order: its fields, a reader of their values, its sync field.
_SOURCE_READING = tuple(
    (source, fields, _values_of(fields), SOURCE_SYNC_FIELD[source])
    for source, fields in SOURCE_FIELDS.items()
)
_NONES = repeat(None)  # `is_not` against None for every value
