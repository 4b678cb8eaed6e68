"""Stage 1: each dimension is scored 0-100 from its signals, with a line of evidence each."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from skill.assessment import Assessment, DimensionScore
from skill.engine.dimensions import READERS
from skill.vocabulary import Dimension, Source

Assessor = Callable[..., Assessment]  # the `assess` fixture
DIMENSIONS_SOURCE = Path(__file__).resolve().parents[2] / "skill" / "engine" / "dimensions.py"

PRODUCT_FIELDS = {
    "active_users": None,
    "licensed_seats": None,
    "logins_30d": None,
    "logins_prev_30d": None,
    "weekly_activity": None,
    "features_adopted": None,
    "features_total": None,
    "product_synced_at": None,
}


def dimension(result: Assessment, which: Dimension) -> DimensionScore:
    return next(d for d in result.dimensions if d.dimension is which)


def evidence_text(result: Assessment, which: Dimension, signal: str) -> str:
    return next(e.text for e in dimension(result, which).evidence if e.signal == signal)


def signal_score(result: Assessment, which: Dimension, signal: str) -> int:
    return next(e.score for e in dimension(result, which).evidence if e.signal == signal)


def test_healthy_baseline_scores_every_dimension_high(assess: Assessor) -> None:
    result = assess()
    assert [d.dimension for d in result.dimensions] == list(Dimension)
    assert all(d.score >= 85 for d in result.dimensions)


def test_login_trend_evidence_shows_both_counts_and_the_change(assess: Assessor) -> None:
    result = assess(logins_30d=410, logins_prev_30d=620)
    text = evidence_text(result, Dimension.USAGE, "login_trend")
    assert text == "logins 410 vs 620 prior 30d: -34%"


def test_falling_logins_lower_the_usage_score(assess: Assessor) -> None:
    steady = dimension(assess(), Dimension.USAGE).score
    falling = dimension(assess(logins_30d=410, logins_prev_30d=620), Dimension.USAGE).score
    assert falling < steady


def test_seat_utilisation_evidence(assess: Assessor) -> None:
    text = evidence_text(
        assess(active_users=30, licensed_seats=120), Dimension.USAGE, "seat_utilisation"
    )
    assert text == "active users 30 of 120 seats: 25%"


def test_weekly_activity_evidence_gives_mean_weeks_and_latest(assess: Assessor) -> None:
    text = evidence_text(assess(weekly_activity=[40, 50, 60]), Dimension.USAGE, "weekly_activity")
    assert text == "weekly activity averages 50% over 3 weeks (latest 60%)"


def test_curve_interpolates_between_points(assess: Assessor) -> None:
    # csat curve: 3 -> 50, 5 -> 100, so 4 -> 75
    assert signal_score(assess(csat=4), Dimension.SATISFACTION, "csat") == 75


def test_curve_is_flat_beyond_its_ends(assess: Assessor) -> None:
    assert signal_score(assess(open_tickets=40), Dimension.SUPPORT, "open_tickets") == 0
    assert (
        signal_score(
            assess(active_users=100, licensed_seats=100), Dimension.USAGE, "seat_utilisation"
        )
        == 100
    )


@pytest.mark.parametrize(
    ("champion", "score"), [("strong", 100), ("weak", 50), ("none", 25), ("departed", 0)]
)
def test_champion_categories(assess: Assessor, champion: str, score: int) -> None:
    result = assess(champion=champion)
    assert signal_score(result, Dimension.RELATIONSHIP, "champion") == score
    assert evidence_text(result, Dimension.RELATIONSHIP, "champion") == f"champion: {champion}"


def test_days_since_evidence_uses_as_of(assess: Assessor) -> None:
    result = assess(last_customer_reply_date="2026-10-24")
    text = evidence_text(result, Dimension.RELATIONSHIP, "customer_reply")
    assert text == "last customer reply 30 days ago (2026-10-24)"


def test_an_open_sev1_drags_support_down_more_than_one_ticket(assess: Assessor) -> None:
    baseline = dimension(assess(), Dimension.SUPPORT).score
    one_sev1 = dimension(assess(sev1_open=1), Dimension.SUPPORT).score
    assert one_sev1 < baseline - 20


def test_commercial_evidence_for_payment_and_booleans(assess: Assessor) -> None:
    result = assess(payment_status="overdue", days_overdue=45, discount_requested=True)
    texts = [e.text for e in dimension(result, Dimension.COMMERCIAL).evidence]
    assert "payment status: overdue" in texts
    assert "oldest invoice 45 days overdue" in texts
    assert "discount requested: yes" in texts


def test_success_milestones_evidence(assess: Assessor) -> None:
    result = assess(success_milestones_missed=2, success_milestones_total=4)
    text = evidence_text(result, Dimension.OUTCOMES, "success_milestones")
    assert text == "success milestones missed 2 of 4: 50%"
    assert dimension(result, Dimension.OUTCOMES).score == 20


def test_zero_seats_or_features_is_no_signal_not_a_division_error(assess: Assessor) -> None:
    result = assess(licensed_seats=0, features_total=0)
    usage_signals = {e.signal for e in dimension(result, Dimension.USAGE).evidence}
    assert "seat_utilisation" not in usage_signals
    assert Dimension.ADOPTION not in {d.dimension for d in result.dimensions}


def test_missing_signal_is_reported_missing_not_zero(assess: Assessor) -> None:
    result = assess(success_milestones_missed=None, success_milestones_total=None)
    assert Dimension.OUTCOMES not in {d.dimension for d in result.dimensions}
    [missing] = result.missing_data
    assert missing.dimension is Dimension.OUTCOMES
    assert missing.reason == "no signal in the record (success_milestones)"


def test_unconnected_source_is_named_as_the_reason(assess: Assessor) -> None:
    result = assess(**PRODUCT_FIELDS)
    reasons = {m.dimension: m.reason for m in result.missing_data}
    assert reasons == {
        Dimension.USAGE: "product analytics not connected",
        Dimension.ADOPTION: "product analytics not connected",
    }
    product = next(s for s in result.sources if s.source is Source.PRODUCT)
    assert not product.connected
    assert product.fields_used == []


def test_source_missing_from_the_whole_input_is_named_as_such(assess: Assessor) -> None:
    result = assess(input_sources={Source.CRM, Source.SUPPORT}, **PRODUCT_FIELDS)
    reasons = {m.dimension: m.reason for m in result.missing_data}
    assert reasons[Dimension.USAGE] == "product analytics not connected in this input"
    product = next(s for s in result.sources if s.source is Source.PRODUCT)
    assert product.in_input is False


def test_source_in_the_input_but_empty_for_this_account_is_named_as_such(
    assess: Assessor,
) -> None:
    result = assess(input_sources=set(Source), **PRODUCT_FIELDS)
    reasons = {m.dimension: m.reason for m in result.missing_data}
    assert reasons[Dimension.USAGE] == "no product analytics data for this account"
    product = next(s for s in result.sources if s.source is Source.PRODUCT)
    assert (product.connected, product.in_input) == (False, True)


def test_source_synced_but_without_data_is_connected(assess: Assessor) -> None:
    result = assess(**{**PRODUCT_FIELDS, "product_synced_at": "2026-11-22"})
    product = next(s for s in result.sources if s.source is Source.PRODUCT)
    assert product.connected
    assert {m.dimension for m in result.missing_data} == {Dimension.USAGE, Dimension.ADOPTION}
    assert all(m.reason.startswith("no signal in the record") for m in result.missing_data)


def test_source_lists_the_fields_it_contributed(assess: Assessor) -> None:
    result = assess()
    support = next(s for s in result.sources if s.source is Source.SUPPORT)
    assert support.fields_used == [
        "open_tickets",
        "tickets_30d",
        "tickets_prev_30d",
        "escalations_90d",
        "sev1_open",
    ]


def test_source_synced_more_than_14_days_ago_is_stale(assess: Assessor) -> None:
    result = assess(support_synced_at="2026-11-08", crm_synced_at="2026-11-09")
    stale = {s.source: s.stale for s in result.sources}
    assert stale == {Source.CRM: False, Source.SUPPORT: True, Source.PRODUCT: False}


# -- what each reader declares it reads: its remembered readings depend on nothing else


@pytest.mark.parametrize("name", sorted(n for n, r in READERS.items() if hasattr(r, "fields")))
def test_a_reader_reads_only_the_fields_it_declares(name: str) -> None:
    # Declaring them (`reads`) is how a reader's results come to be remembered; a
    # reader that declares nothing is simply read every time.
    read = READERS[name]
    # Found by name in the module's source: a compiled reader has no source of its own.
    function = next(
        node
        for node in ast.walk(ast.parse(DIMENSIONS_SOURCE.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name == read.func.__name__
    )
    record, as_of = (arg.arg for arg in function.args.args)
    used = {
        node.attr
        for node in ast.walk(function)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == record
    }
    assert used == set(read.fields)
    names = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    assert (as_of in names) == read.uses_as_of
    assert not (names & {"getattr", "vars"}), "reads the record by a computed name"
