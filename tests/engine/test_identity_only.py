"""An identity-only record: no score, band and tier no_data, nothing automatic,
ranked after scored accounts by the review budget, no trend against a null score."""

from __future__ import annotations

from datetime import date, timedelta

from skill.assessment import PriorAssessment
from skill.engine import Engine
from skill.policy import Policy, ReviewBudget
from skill.record import AccountRecord
from skill.review_budget import ReviewBudgeter
from skill.store.trends import trend_note
from skill.vocabulary import ActionStatus, Band, Confidence, Tier

AS_OF = date(2026, 11, 23)
IDENTITY = {
    "account_id": "NEW-1",
    "segment": "smb",
    "name": "Newco",
    "owner": "Lee Park",
    "arr": 500000,
    "renewal_date": "2027-01-15",
}


def test_identity_only_record_has_no_score(policy: Policy) -> None:
    a = Engine(policy).assess(AccountRecord.model_validate(IDENTITY), AS_OF)
    assert (a.score, a.raw_score, a.band, a.tier) == (None, None, Band.NO_DATA, Tier.NO_DATA)
    assert a.confidence is Confidence.LOW and a.account_evidence is Confidence.LOW
    assert a.churn_risk is None and a.trend is None
    assert all(a.status is not ActionStatus.AUTO for a in a.actions)
    assert a.review_task is not None
    assert any("connect" in r for r in a.review_task.reasons)
    assert (
        a.model_dump_json()
        == Engine(policy).assess(AccountRecord.model_validate(IDENTITY), AS_OF).model_dump_json()
    )


def test_no_data_ranks_after_every_scored_account(policy: Policy, assess) -> None:
    engine = Engine(policy)
    no_data = engine.assess(AccountRecord.model_validate(IDENTITY), AS_OF)
    scored = assess(account_id="SCORED", arr=1000, escalations_90d=1)
    assert scored.review_task is not None
    budgeter = ReviewBudgeter(ReviewBudget(max_share=0.5, min_tasks=1))
    budgeter.add(no_data)
    budgeter.add(scored)
    assert [account for account, _ in budgeter.kept()] == ["SCORED"]
    (deferred,) = budgeter.decide().also_at_risk
    assert (deferred.account_id, deferred.score) == ("NEW-1", None)


def test_history_with_a_null_score_gives_no_delta(policy: Policy, make_record) -> None:
    engine = Engine(policy)
    earlier = PriorAssessment(
        as_of=AS_OF - timedelta(days=7), score=None, band="no_data", dimensions={}
    )
    a = engine.assess(make_record(), AS_OF, [earlier])
    assert a.score is not None and a.trend is None
    note = trend_note(a, earlier, policy.history)
    assert note.delta is None and "no delta" in note.note
    empty = engine.assess(AccountRecord.model_validate(IDENTITY), AS_OF, [earlier])
    assert trend_note(empty, None, policy.history).note.startswith("First snapshot: no data")
