"""The published JSON, pinned byte for byte on generated accounts at every level.

The engine and its serialiser are tuned for speed (compiled rules, trusted
construction, orjson). Any such change must leave every assessment's JSON exactly
as it was; this test holds a short digest of each account's JSONL line per case in
`tests/fixtures/golden/assess_jsonl.tsv` and names the accounts whose line moved.

When a change is meant to change the output (a new field, a policy default), rewrite
the file with `GOLDEN_UPDATE=1 pytest tests/test_golden_output.py` and say why in the
commit. The input is `benchmarks/synthetic.py`'s: a change there rewrites it too.
"""

from __future__ import annotations

import hashlib
import io
import os
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from synthetic import AS_OF, write_accounts_csv

from skill.assessment import PriorAssessment, to_json
from skill.engine import Engine
from skill.ingest import read_accounts
from skill.pipeline import run_assessment
from skill.policy import Policy
from skill.vocabulary import AutomationLevel

ROOT = Path(__file__).resolve().parents[1]


ACCOUNTS = 1500
SEED = 11
GOLDEN = ROOT / "tests" / "fixtures" / "golden" / "assess_jsonl.tsv"
CASES = (*(level.value for level in AutomationLevel), "balanced_with_history")


def _digest(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_accounts_csv(tmp_path_factory.mktemp("golden") / "a.csv", ACCOUNTS, seed=SEED)


def _assess_lines(path: Path, policy: Policy, level: AutomationLevel) -> list[str]:
    out = io.StringIO()
    code = run_assessment(
        path,
        output_format="jsonl",
        as_of=AS_OF,
        level=level,
        policy=policy,
        out=out,
        err=lambda _: None,
        workers=1,
    )
    assert code == 0
    return out.getvalue().splitlines()


def _lines_with_history(path: Path, policy: Policy) -> list[str]:
    """Each account a fortnight after an earlier assessment of the same record."""
    engine = Engine(policy, AutomationLevel.BALANCED)
    lines = []
    for item in read_accounts(path):
        record = item.record
        before = engine.assess(record.model_copy(update={"as_of": None}), AS_OF - timedelta(14))
        prior = PriorAssessment(
            as_of=before.as_of,
            score=None if before.score is None else min(100, before.score + 12),
            band=before.band.value,
            dimensions={d.dimension.value: min(100, d.score + 15) for d in before.dimensions},
        )
        lines.append(to_json(engine.assess(record, AS_OF, [prior])))
    return lines


@pytest.fixture(scope="module")
def outputs(accounts: Path, policy: Policy) -> dict[str, list[dict]]:
    """Each case's assessments, parsed, with the digest of the line each came from."""
    by_case: dict[str, list[dict]] = {}
    for case in CASES:
        if case == "balanced_with_history":
            lines = _lines_with_history(accounts, policy)
        else:
            lines = _assess_lines(accounts, policy, AutomationLevel(case))
        by_case[case] = [{**orjson.loads(line), "_digest": _digest(line)} for line in lines]
    return by_case


@pytest.fixture(scope="module")
def digests(outputs: dict[str, list[dict]]) -> dict[str, dict[str, str]]:
    return {
        case: {a["account_id"]: a["_digest"] for a in assessments}
        for case, assessments in outputs.items()
    }


def _golden() -> dict[str, dict[str, str]]:
    rows = GOLDEN.read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t")[1:]
    table: dict[str, dict[str, str]] = {case: {} for case in header}
    for row in rows[1:]:
        account, *values = row.split("\t")
        for case, value in zip(header, values, strict=True):
            table[case][account] = value
    return table


def _write_golden(digests: dict[str, dict[str, str]]) -> None:
    accounts = list(digests[CASES[0]])
    rows = ["account_id\t" + "\t".join(CASES)]
    rows += [account + "\t" + "\t".join(digests[c][account] for c in CASES) for account in accounts]
    GOLDEN.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_golden_file_covers_every_case_and_account(digests: dict[str, dict[str, str]]) -> None:
    if os.environ.get("GOLDEN_UPDATE"):
        _write_golden(digests)
    golden = _golden()
    assert list(golden) == list(CASES)
    for case in CASES:
        assert len(golden[case]) == ACCOUNTS, case
        assert set(golden[case]) == set(digests[case]), case


@pytest.mark.parametrize("case", CASES)
def test_every_account_serialises_exactly_as_pinned(
    digests: dict[str, dict[str, str]], case: str
) -> None:
    golden = _golden()[case]
    moved = [account for account, digest in digests[case].items() if golden.get(account) != digest]
    assert not moved, (
        f"{len(moved)} of {len(golden)} accounts' JSON changed at {case}, first: {moved[:5]}; "
        "if intended, rewrite with GOLDEN_UPDATE=1 and say why in the commit"
    )


def test_the_pinned_accounts_reach_what_the_engine_decides(
    outputs: dict[str, list[dict]],
) -> None:
    """A pin over dull accounts would prove little: the input reaches every band,
    every action status somewhere, trend flags once there is history, and levels
    that decide the same accounts differently."""
    bands = {a["band"] for a in outputs["balanced"]}
    assert {"green", "yellow", "red"} <= bands
    statuses = {
        action["status"] for case in CASES for a in outputs[case] for action in a["actions"]
    }
    assert statuses == {"auto", "approval_required", "recommend_only", "blocked"}
    trend_codes = {"score_drop", "usage_declining"}
    with_history = {f["code"] for a in outputs["balanced_with_history"] for f in a["flags"]}
    without = {f["code"] for a in outputs["balanced"] for f in a["flags"]}
    assert trend_codes & with_history and not trend_codes & without

    def statuses_at(case: str) -> list[list[str]]:
        return [[action["status"] for action in a["actions"]] for a in outputs[case]]

    assert statuses_at("conservative") != statuses_at("aggressive")
