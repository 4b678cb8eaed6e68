"""The same inputs, policy and as_of always give byte-identical JSON; the engine is pure."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from skill.engine import assess_account, assess_records
from skill.paths import assets_dir
from skill.policy import Policy, load_policy
from skill.record import AccountRecord
from skill.vocabulary import AutomationLevel

RecordFactory = Callable[..., AccountRecord]  # the `make_record` fixture

ENGINE_DIR = Path(__file__).resolve().parents[2] / "skill" / "engine"
ENGINE_FILES = sorted(ENGINE_DIR.glob("*.py"))
FORBIDDEN_PACKAGES = ("skill.drafting", "skill.render", "skill.cli", "skill.store")
CLOCK_AND_CHANCE_MODULES = {"time", "random", "secrets", "uuid"}
CLOCK_CALLS = {"today", "now", "utcnow", "fromtimestamp", "utcfromtimestamp"}


def demo_records() -> list[AccountRecord]:
    data = json.loads((assets_dir() / "demo" / "accounts.json").read_text(encoding="utf-8"))
    return [AccountRecord.model_validate(row) for row in data["accounts"]]


def mixed_records(make_record: RecordFactory) -> list[AccountRecord]:
    return [
        *demo_records(),
        make_record(account_id="ACC-A", segment="enterprise", renewal_date="2026-12-13"),
        make_record(account_id="ACC-B", blocker="major", notes="Asked about pricing."),
        make_record(account_id="ACC-C", csat=4.8, nps=-40, product_synced_at="2026-10-01"),
    ]


def test_same_inputs_give_byte_identical_json(
    policy: Policy, as_of: date, make_record: RecordFactory
) -> None:
    for record in mixed_records(make_record):
        for level in AutomationLevel:
            first = assess_account(record, policy, as_of, level).model_dump_json()
            again = assess_account(record, load_policy(), as_of, level).model_dump_json()
            assert first == again


def test_order_of_records_does_not_change_any_assessment(
    policy: Policy, as_of: date, make_record: RecordFactory
) -> None:
    records = mixed_records(make_record)
    forward = {a.account_id: a.model_dump_json() for a in assess_records(records, policy, as_of)}
    backward = {
        a.account_id: a.model_dump_json()
        for a in assess_records(list(reversed(records)), policy, as_of)
    }
    assert forward == backward
    assert len(forward) == len(records)


def test_assessing_a_batch_equals_assessing_one_by_one(
    policy: Policy, as_of: date, make_record: RecordFactory
) -> None:
    records = mixed_records(make_record)
    batch = [a.model_dump_json() for a in assess_records(records, policy, as_of)]
    single = [assess_account(r, policy, as_of).model_dump_json() for r in records]
    assert batch == single


@pytest.mark.slow
def test_json_is_identical_across_processes_with_different_hash_seeds() -> None:
    script = (
        "import json, sys\n"
        "from datetime import date\n"
        "from skill.engine import assess_records\n"
        "from skill.paths import assets_dir\n"
        "from skill.policy import load_policy\n"
        "from skill.record import AccountRecord\n"
        "rows = json.loads((assets_dir() / 'demo' / 'accounts.json').read_text())['accounts']\n"
        "records = [AccountRecord.model_validate(r) for r in rows]\n"
        "for a in assess_records(records, load_policy(), date(2026, 11, 23)):\n"
        "    sys.stdout.write(a.model_dump_json() + '\\n')\n"
    )
    root = str(ENGINE_DIR.parents[1])
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


# --- purity, read from the source


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # `from ..render import x` inside skill/engine is skill.render
            package = ["skill", "engine"][: max(0, 3 - node.level)] if node.level else []
            modules.add(".".join([*package, *filter(None, [node.module])]))
    return modules


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: p.name)
def test_engine_imports_nothing_downstream(path: Path) -> None:
    downstream = {m for m in imported_modules(path) if m.startswith(FORBIDDEN_PACKAGES)}
    assert downstream == set()


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: p.name)
def test_engine_reads_no_clock_and_draws_no_random_numbers(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = {m.split(".")[0] for m in imported_modules(path)}
    assert roots & CLOCK_AND_CHANCE_MODULES == set()
    clock_calls = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in CLOCK_CALLS
    ]
    assert clock_calls == []
    text = path.read_text(encoding="utf-8")
    for pattern in (r"\bdate\.today\b", r"\bdatetime\.now\b", r"\btime\.", r"\brandom\b"):
        assert re.search(pattern, text) is None, pattern


def test_engine_files_were_found() -> None:
    assert {p.name for p in ENGINE_FILES} >= {"__init__.py", "gate.py", "scoring.py"}
