"""Fixtures for the workspace tests: a recorded demo history and clients of the app.

The history is the demo accounts recorded with `run` on 2026-11-23 and 2026-11-30
(Northwind's usage falling in between), one account's CRM note carrying a script
tag. Each test gets its own copy, so a test that approves or reviews leaves
nothing behind for the next.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")

# The test modules share `web_support`; importable under every pytest import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from starlette.testclient import TestClient  # noqa: E402
from web_support import BLOCK_SLACK, DATES, SCRIPT_NOTE  # noqa: E402

from skill.demo import demo_file  # noqa: E402
from skill.policy import Policy, deep_merge, default_policy_data, load_policy  # noqa: E402
from skill.recording import run_recording  # noqa: E402
from skill.vocabulary import AutomationLevel  # noqa: E402
from skill.web.app import create_app  # noqa: E402
from skill.web.workspace import WebConfig  # noqa: E402


def demo_accounts(**changes: dict[str, Any]) -> list[dict[str, Any]]:
    accounts = json.loads(demo_file().read_text(encoding="utf-8"))["accounts"]
    return [{**a, **changes.get(a["account_id"], {})} for a in accounts]


def record(path: Path, accounts: list[dict[str, Any]], day: str, policy: Policy) -> None:
    source = path.parent / f"accounts-{day}.json"
    source.write_text(json.dumps(accounts), encoding="utf-8")
    code = run_recording(
        str(source),
        db_path=path,
        output_format="json",
        as_of=date.fromisoformat(day),
        level=AutomationLevel.BALANCED,
        policy=policy,
        out=io.StringIO(),
        err=lambda _: None,
    )
    assert code == 0


@pytest.fixture(scope="session")
def demo_history(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("web-history")
    path = folder / "history.sqlite3"
    note = {"notes": SCRIPT_NOTE}
    record(path, demo_accounts(**{"ACC-1003": note}), DATES[0], load_policy())
    # A week later Northwind's usage fell and its tickets rose: its score moves.
    worse = {"logins_30d": 600, "open_tickets": 9, "tickets_30d": 14}
    record(path, demo_accounts(**{"ACC-1003": note, "ACC-1001": worse}), DATES[1], load_policy())
    return path


@pytest.fixture(scope="session")
def blocked_history(tmp_path_factory) -> Path:
    """The demo recorded once under a policy that blocks Slack notes for mid-market accounts."""
    folder = tmp_path_factory.mktemp("web-blocked")
    path = folder / "history.sqlite3"
    policy = Policy.model_validate(deep_merge(default_policy_data(), BLOCK_SLACK))
    record(path, demo_accounts(), DATES[0], policy)
    return path


@pytest.fixture
def db(demo_history: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "history.sqlite3"
    shutil.copy(demo_history, copy)
    return copy


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client() -> ClientFactory:
    def make(base_url: str = "http://127.0.0.1", **config: Any) -> TestClient:
        return TestClient(create_app(WebConfig(**config)), base_url=base_url)

    return make


@pytest.fixture
def client(make_client: ClientFactory, db: Path) -> TestClient:
    return make_client(db_path=db)
