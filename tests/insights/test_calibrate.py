"""`calibrate`: the split, binning, points per signal, the policy file, too few outcomes."""

from __future__ import annotations

import hashlib
import json
import math
import random
from datetime import date
from pathlib import Path

import pytest
from insights_support import GOOD, WEEK_2, account, record, write_outcomes
from typer.testing import CliRunner

from skill import assess
from skill.cli import app
from skill.insights.calibrate import (
    PointScale,
    calibrate,
    fit_signals,
    held_out,
    numeric_binning,
    policy_yaml,
    write_policy,
)
from skill.insights.measure import roc_auc
from skill.paths import assets_dir
from skill.policy import load_policy
from skill.record import AccountRecord, Segment
from skill.store.db import connect
from skill.store.outcomes import import_outcomes

AS_OF = date(2027, 3, 31)
PER_SEGMENT = 40
SMALL = "measurement:\n  min_outcomes: 20\n  min_churned: 5\n"


def test_the_split_is_by_hash_deterministic_and_near_the_share():
    ids = [f"ACC-{i:05d}" for i in range(10_000)]
    held = [i for i in ids if held_out(i, 0.3)]
    assert held == [i for i in ids if held_out(i, 0.3)]
    assert 0.28 < len(held) / len(ids) < 0.32
    first = "ACC-00000"
    fraction = int(hashlib.sha256(first.encode()).hexdigest()[:16], 16) / 2**64
    assert held_out(first, 0.3) == (fraction < 0.3)


def test_numeric_bins_cut_at_quantiles():
    binning = numeric_binning("weekly_activity", [float(v) for v in range(100)], 4, 0.05)
    assert binning.edges == [25.0, 50.0, 75.0, float("inf")]
    assert [binning.index(v) for v in (0.0, 25.0, 25.5, 99.0)] == [0, 0, 1, 3]


def test_a_small_bin_merges_with_its_neighbour():
    # 95 zeros and 5 larger values: quantiles give one bin of zeros and one tiny bin.
    values = [0.0] * 95 + [1.0, 2.0, 3.0, 4.0, 5.0]
    assert numeric_binning("open_tickets", values, 5, 0.10).edges == [float("inf")]
    assert numeric_binning("open_tickets", values, 5, 0.05).edges == [0.0, float("inf")]


def _rows(signal: str, churn_rises_with_value: bool, n: int = 2000) -> list:
    """Training rows whose churn depends on one signal only."""
    rng = random.Random(3)
    rows = []
    for i in range(n):
        value = rng.uniform(0, 100)
        p = 0.05 + 0.4 * (value / 100 if churn_rises_with_value else 1 - value / 100)
        noise = rng.uniform(0, 100)
        rows.append(({signal: value, "csat": 1 + noise / 25}, rng.random() < p, f"A{i}"))
    return rows


def test_a_reversed_free_signal_gets_negative_points_where_the_default_saw_health():
    # The default policy scores high seat utilisation as healthy; here it means churn.
    fitted = fit_signals(_rows("seat_utilisation", churn_rises_with_value=True), load_policy())
    points = [-r for r in fitted["seat_utilisation"].risk]
    half = len(points) // 2
    assert points[0] > 0 > points[-1]
    assert sum(points[:half]) > 0 > sum(points[-half:])


def test_a_signal_with_a_stated_direction_stays_monotone_against_the_data():
    # open_tickets: fewer is healthier (policy). Data saying the opposite flattens it.
    fitted = fit_signals(_rows("open_tickets", churn_rises_with_value=False), load_policy())
    risk = fitted["open_tickets"].risk
    assert risk == sorted(risk)
    assert fitted["open_tickets"].span < 0.05


def test_a_weak_scorecard_keeps_twenty_points_per_doubling_of_the_odds():
    fitted = fit_signals(_rows("weekly_activity", churn_rises_with_value=False), load_policy())
    scale = PointScale.of(fitted, points_to_double=20)
    assert scale.total_range * 20 / math.log(2) < 100
    assert scale.per_log_odds == pytest.approx(20 / math.log(2))
    signal = fitted["weekly_activity"]
    best, worst = (scale.score(signal, r) for r in (min(signal.risk), max(signal.risk)))
    assert best + worst == pytest.approx(100)  # centred on 50
    assert best - worst == pytest.approx(scale.per_log_odds * scale.total_range)


def test_a_strong_scorecard_is_squeezed_into_0_to_100():
    fitted = fit_signals(_rows("weekly_activity", churn_rises_with_value=False), load_policy())
    scale = PointScale.of(fitted, points_to_double=100)
    signal = fitted["weekly_activity"]
    assert scale.score(signal, min(signal.risk)) == pytest.approx(100)
    assert scale.score(signal, max(signal.risk)) == pytest.approx(
        100 - 100 * signal.span / scale.total_range
    )


def test_an_irrelevant_signal_earns_little_weight():
    fitted = fit_signals(_rows("weekly_activity", churn_rises_with_value=False), load_policy())
    assert fitted["weekly_activity"].span > 5 * fitted["csat"].span


def support_driven(rng: random.Random, index: int, segment: str) -> tuple[dict, bool]:
    """An account whose churn depends on support load only; other signals are noise."""
    tickets = rng.randint(0, 15)
    record_ = account(
        GOOD,
        f"{segment[:3].upper()}-{index:03d}",
        segment=segment,
        open_tickets=tickets,
        escalations_90d=rng.randint(0, 3) if tickets >= 8 else 0,
        active_users=rng.randint(30, 100),
        csat=round(rng.uniform(2.5, 5.0), 1),
        features_adopted=rng.randint(3, 10),
        champion=rng.choice(["strong", "weak"]),
    )
    churned = rng.random() < (0.8 if tickets >= 8 else 0.05)
    return record_, churned


@pytest.fixture(scope="module")
def support_history(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("calibrate")
    db = folder / "history.sqlite3"
    connection = connect(db)
    rng = random.Random(11)
    records, outcomes = [], []
    for segment in Segment:
        for index in range(PER_SEGMENT):
            record_, churned = support_driven(rng, index, segment.value)
            records.append(record_)
            outcome = "churned" if churned else "renewed"
            outcomes.append((record_["account_id"], outcome, "2027-01-10"))
    record(connection, records, WEEK_2)
    import_outcomes(connection, write_outcomes(folder / "outcomes.csv", outcomes))
    connection.close()
    return db


@pytest.fixture
def small_policy(tmp_path: Path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_calibration_learns_that_support_predicts_churn(support_history: Path, small_policy):
    connection = connect(support_history)
    result = calibrate(connection, load_policy(small_policy), as_of=AS_OF)
    connection.close()
    assert result.status == "fitted", result.message
    assert result.outcomes == 3 * PER_SEGMENT
    assert result.split.startswith("held out 30% of accounts by hash of account_id")
    held = sum(held_out(f"{s.value[:3].upper()}-{i:03d}", 0.3) for s in Segment for i in range(40))
    assert f": {held} accounts (" in result.split
    assert result.holdout.accounts == held
    strongest = max(result.signals, key=lambda f: f.weight)
    assert strongest.signal == "open_tickets"
    assert strongest.bins[0].points > 0 > strongest.bins[-1].points
    weights = result.weights["smb"]
    assert max(weights, key=weights.get) == "support"
    assert abs(sum(weights.values()) - 1.0) < 1e-9
    assert result.auc_after.value > result.auc_before.value
    assert result.auc_after.n == result.holdout.snapshots
    assert result.brier_after < result.brier_base_rate
    assert sum(d.n for d in result.calibration_table) == result.holdout.snapshots


def test_the_adopted_policy_scores_the_held_out_accounts_as_calibrate_predicted(
    support_history: Path, small_policy, tmp_path: Path
):
    connection = connect(support_history)
    result = calibrate(connection, load_policy(small_policy), as_of=AS_OF)
    rows = connection.execute(
        "SELECT document(s.record_json), o.outcome FROM snapshots s "
        "JOIN outcomes o USING (account_id)"
    ).fetchall()
    connection.close()
    path = write_policy(result, tmp_path / "calibrated.yaml")
    assert path.read_text(encoding="utf-8") == policy_yaml(result)
    adopted = load_policy(path)
    held = [
        (AccountRecord.model_validate_json(r), o)
        for r, o in rows
        if held_out(json.loads(r)["account_id"], 0.3)
    ]
    scores = [
        assess([r.model_dump()], policy=adopted, as_of=WEEK_2).assessments[0].score for r, _ in held
    ]
    assert roc_auc(scores, [o == "churned" for _, o in held]) == result.outcome_auc_after


def test_a_calibrated_policy_gives_each_assessment_a_churn_probability(
    support_history: Path, small_policy, tmp_path: Path
):
    connection = connect(support_history)
    result = calibrate(connection, load_policy(small_policy), as_of=AS_OF)
    connection.close()
    adopted = load_policy(write_policy(result, tmp_path / "calibrated.yaml"))
    calm = account(GOOD, "CALM", open_tickets=0)
    swamped = account(GOOD, "SWAMPED", open_tickets=14, escalations_90d=3)
    low, high = (
        assess([a], policy=adopted, as_of=WEEK_2).assessments[0].churn_risk for a in (calm, swamped)
    )
    assert low.horizon_days == high.horizon_days == 90
    assert low.fitted_as_of == "2027-03-31"
    assert 0 <= low.probability < high.probability <= 1
    assert assess([calm], as_of=WEEK_2).assessments[0].churn_risk is None


@pytest.fixture(scope="module")
def segments_differ(tmp_path_factory) -> Path:
    """SMB accounts churn on support load, enterprise ones on satisfaction."""
    folder = tmp_path_factory.mktemp("segments")
    db = folder / "history.sqlite3"
    connection = connect(db)
    rng = random.Random(7)
    records, outcomes = [], []
    for segment, driver in (("smb", "tickets"), ("enterprise", "csat")):
        for index in range(150):
            tickets, csat = rng.randint(0, 15), round(rng.uniform(1.0, 5.0), 1)
            risky = tickets >= 8 if driver == "tickets" else csat <= 2.5
            account_id = f"{segment[:3].upper()}-{index:03d}"
            records.append(
                account(GOOD, account_id, segment=segment, open_tickets=tickets, csat=csat)
            )
            churned = rng.random() < (0.7 if risky else 0.05)
            outcomes.append((account_id, "churned" if churned else "renewed", "2027-01-10"))
    record(connection, records, WEEK_2)
    import_outcomes(connection, write_outcomes(folder / "outcomes.csv", outcomes))
    connection.close()
    return db


def test_each_segment_with_enough_churn_gets_its_own_dimension_weights(
    segments_differ: Path, small_policy
):
    connection = connect(segments_differ)
    result = calibrate(connection, load_policy(small_policy), as_of=AS_OF)
    connection.close()
    own = {c.segment: c.weights for c in result.segments}
    assert own == {"smb": "own", "mid_market": "pooled", "enterprise": "own"}
    smb, enterprise = result.weights["smb"], result.weights["enterprise"]
    assert smb["support"] > enterprise["support"]
    assert enterprise["satisfaction"] > smb["satisfaction"]
    assert result.policy["scoring"]["weights"] == result.weights


def test_too_few_outcomes_says_how_many_more(support_history: Path, tmp_path: Path):
    strict = tmp_path / "strict.yaml"
    strict.write_text("measurement:\n  min_outcomes: 500\n  min_churned: 10\n", "utf-8")
    connection = connect(support_history)
    result = calibrate(connection, load_policy(strict), as_of=AS_OF)
    connection.close()
    assert result.status == "insufficient"
    assert result.message.startswith("too few outcomes to calibrate")
    assert f"needs {500 - 3 * PER_SEGMENT} more outcomes" in result.message
    assert "Nothing was written" in result.message
    assert result.policy is None


def test_an_empty_history_needs_every_outcome(tmp_path: Path):
    connection = connect(tmp_path / "h.sqlite3")
    result = calibrate(connection, load_policy(), as_of=AS_OF)
    connection.close()
    assert result.status == "insufficient"
    assert "needs 60 more outcomes and 10 more churned outcomes" in result.message
    assert result.auc_before.value is None


# -- CLI ---------------------------------------------------------------------------------


def policy_files() -> dict[str, str]:
    folder = assets_dir() / "policy"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.yaml")}


def test_cli_writes_a_policy_and_never_touches_the_active_one(
    support_history: Path, small_policy, tmp_path: Path
):
    before = policy_files()
    out = tmp_path / "calibrated.yaml"
    args = ["calibrate", "--db", str(support_history), "--policy", str(small_policy)]
    args += ["--as-of", "2027-03-31", "--out", str(out), "--format", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "fitted" and data["policy_path"] == str(out)
    assert f"wrote {out}" in result.stderr
    load_policy(out)
    assert policy_files() == before
    connection = connect(support_history)
    logged = connection.execute("SELECT weights_path, auc_after FROM calibrations").fetchall()
    connection.close()
    assert [tuple(r) for r in logged][-1] == (str(out), data["auc_after"]["value"])


def test_cli_markdown_shows_points_per_signal(support_history: Path, small_policy, tmp_path):
    out = tmp_path / "calibrated.yaml"
    args = ["calibrate", "--db", str(support_history), "--policy", str(small_policy)]
    result = CliRunner().invoke(app, [*args, "--as-of", "2027-03-31", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "## Points per signal" in result.stdout
    assert "| open_tickets | support | lower |" in result.stdout
    assert "## Calibration table" in result.stdout


def test_cli_with_too_few_outcomes_writes_nothing_and_exits_0(
    support_history: Path, tmp_path: Path
):
    out = tmp_path / "calibrated.yaml"
    strict = tmp_path / "strict.yaml"
    strict.write_text("measurement:\n  min_outcomes: 500\n", "utf-8")
    args = ["calibrate", "--db", str(support_history), "--policy", str(strict)]
    result = CliRunner().invoke(app, [*args, "--as-of", "2027-03-31", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert not out.exists()
    assert "needs 380 more outcomes" in result.stdout
    assert "Nothing was written" in result.stderr


def test_cli_refuses_to_write_into_assets(support_history: Path):
    out = assets_dir() / "policy" / "calibrated.yaml"
    result = CliRunner().invoke(app, ["calibrate", "--db", str(support_history), "--out", str(out)])
    assert result.exit_code == 2
    assert "never writes into the bundled assets" in result.stderr
    assert not out.exists()


def test_cli_without_scikit_learn_says_how_to_install_it(
    support_history: Path, tmp_path: Path, monkeypatch
):
    from skill.insights import calibrate as module

    def missing():
        raise module.CalibrationUnavailable(
            f"calibrate needs scikit-learn: {module.INSTALL_HINT} (make installs it)"
        )

    monkeypatch.setattr(module, "_sklearn", missing)
    out = tmp_path / "calibrated.yaml"
    result = CliRunner().invoke(app, ["calibrate", "--db", str(support_history), "--out", str(out)])
    assert result.exit_code == 2
    assert "pip install 'account-health-skill[calibrate]'" in result.stderr
    assert not out.exists()
