"""`calibrate`: the held-out split, the fit, the weights file, and too few outcomes."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date
from pathlib import Path

import pytest
from insights_support import GOOD, WEEK_2, account, record, write_outcomes
from typer.testing import CliRunner

from skill.calibrate import (
    DIMENSIONS,
    calibrate,
    fit_logistic,
    held_out,
    weights_yaml,
    write_weights,
)
from skill.cli import app
from skill.paths import assets_dir
from skill.policy import load_policy
from skill.record import Segment
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


def test_fit_logistic_finds_the_protective_feature():
    rng = random.Random(5)
    xs = [rng.gauss(0, 1) for _ in range(400)]
    noise = [rng.gauss(0, 1) for _ in range(400)]
    ys = [1.0 if rng.random() < 1 / (1 + 2.718 ** (2 * x)) else 0.0 for x in xs]
    _, (protective, irrelevant), steps = fit_logistic([xs, noise], ys)
    assert protective < -1.0
    assert abs(irrelevant) < 0.3
    assert steps < 2000
    assert fit_logistic([xs, noise], ys) == fit_logistic([xs, noise], ys)  # deterministic


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
    assert result.status == "fitted"
    assert result.outcomes == 3 * PER_SEGMENT
    assert result.split.startswith("held out 30% of accounts by hash of account_id")
    held = sum(held_out(f"{s.value[:3].upper()}-{i:03d}", 0.3) for s in Segment for i in range(40))
    assert f": {held} accounts (" in result.split
    assert result.holdout.accounts == held
    for fit in result.segments:
        assert fit.status == "fitted", fit.reason
        weights = fit.weights_after
        assert max(weights, key=weights.get) == "support"
        assert abs(sum(weights.values()) - 1.0) < 1e-9
        assert all(w >= 0 for w in weights.values())
        assert fit.coefficients["support"] < 0
    assert result.auc_after.value > result.auc_before.value
    assert result.auc_after.n == result.holdout.outcomes


def test_the_weights_file_loads_as_a_policy(support_history: Path, small_policy, tmp_path):
    connection = connect(support_history)
    result = calibrate(connection, load_policy(small_policy), as_of=AS_OF)
    connection.close()
    out = write_weights(result, tmp_path / "weights.yaml")
    text = out.read_text(encoding="utf-8")
    assert text == weights_yaml(result)
    assert text.startswith("# Scoring weights fitted by `account-health calibrate` for 2027-03-31.")
    assert "# Split: held out 30% of accounts" in text
    assert "Held-out ROC AUC before" in text
    adopted = load_policy(out)
    for segment in Segment:
        for dimension, weight in result.weights[segment.value].items():
            assert adopted.scoring.weights[segment][dimension] == pytest.approx(weight)


def test_min_weight_keeps_every_dimension(support_history: Path, small_policy):
    connection = connect(support_history)
    result = calibrate(connection, load_policy(small_policy), as_of=AS_OF, min_weight=0.02)
    with pytest.raises(ValueError, match="min_weight"):
        calibrate(connection, load_policy(small_policy), as_of=AS_OF, min_weight=0.2)
    connection.close()
    for weights in result.weights.values():
        assert min(weights.values()) >= 0.02 - 1e-9
        assert abs(sum(weights.values()) - 1.0) < 1e-9


def test_too_few_outcomes_says_how_many_more(support_history: Path):
    connection = connect(support_history)
    policy = load_policy()  # 60 outcomes with 10 churned per segment
    result = calibrate(connection, policy, as_of=AS_OF)
    churned = {
        row[0]: row[1]
        for row in connection.execute(
            "SELECT a.segment, SUM(o.outcome = 'churned') FROM outcomes o "
            "JOIN assessments a USING (account_id) GROUP BY a.segment"
        )
    }
    connection.close()
    assert result.status == "insufficient"
    for fit in result.segments:
        assert fit.status == "insufficient"
        assert fit.needs_outcomes == 60 - PER_SEGMENT
        assert fit.needs_churned == max(0, 10 - churned[fit.segment])
        assert f"needs {60 - PER_SEGMENT} more outcomes" in fit.reason
        assert fit.weights_after == fit.weights_before
    assert result.message.startswith("too few outcomes to calibrate")
    assert "Nothing was written" in result.message


def test_an_empty_history_needs_every_outcome(tmp_path: Path):
    connection = connect(tmp_path / "h.sqlite3")
    result = calibrate(connection, load_policy(), as_of=AS_OF)
    connection.close()
    assert result.status == "insufficient"
    assert "smb has 0 outcomes (0 churned): needs 60 more outcomes and 10 more churned" in (
        result.message
    )
    assert result.auc_before.value is None


# -- CLI ---------------------------------------------------------------------------------


def policy_files() -> dict[str, str]:
    folder = assets_dir() / "policy"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.yaml")}


def test_cli_writes_weights_and_never_touches_the_active_policy(
    support_history: Path, small_policy, tmp_path: Path
):
    before = policy_files()
    out = tmp_path / "weights.yaml"
    args = ["calibrate", "--db", str(support_history), "--policy", str(small_policy)]
    args += ["--as-of", "2027-03-31", "--out", str(out), "--format", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "fitted" and data["weights_path"] == str(out)
    assert f"wrote {out}" in result.stderr
    load_policy(out)
    assert policy_files() == before
    connection = connect(support_history)
    logged = connection.execute("SELECT weights_path, auc_after FROM calibrations").fetchall()
    connection.close()
    assert [tuple(r) for r in logged][-1] == (str(out), data["auc_after"]["value"])


def test_cli_with_too_few_outcomes_writes_nothing_and_exits_0(
    support_history: Path, tmp_path: Path
):
    out = tmp_path / "weights.yaml"
    result = CliRunner().invoke(
        app,
        ["calibrate", "--db", str(support_history), "--as-of", "2027-03-31", "--out", str(out)],
    )
    assert result.exit_code == 0, result.stderr
    assert not out.exists()
    assert "needs 20 more outcomes" in result.stdout
    assert "Nothing was written" in result.stderr


def test_cli_refuses_to_write_into_assets(support_history: Path):
    out = assets_dir() / "policy" / "weights.yaml"
    result = CliRunner().invoke(app, ["calibrate", "--db", str(support_history), "--out", str(out)])
    assert result.exit_code == 2
    assert "never writes into the bundled assets" in result.stderr
    assert not out.exists()


def test_every_dimension_is_in_the_written_weights(support_history: Path, small_policy):
    connection = connect(support_history)
    result = calibrate(connection, load_policy(small_policy), as_of=AS_OF)
    connection.close()
    for weights in result.weights.values():
        assert tuple(weights) == DIMENSIONS
