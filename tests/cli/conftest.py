"""Fixtures for the CLI tests: an in-process runner and an input-file writer.

The CLI writes to `sys.stdout` / `sys.stderr`, which Click's `CliRunner` swaps
for its own buffers; in this Click version (8.2+) `result.stdout` and
`result.stderr` are captured separately (there is no `mix_stderr` argument).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from skill.cli import app

# The test modules here share `cli_support`; make it importable under every
# pytest import mode (importlib mode does not put test directories on sys.path).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from cli_support import EXTENSIONS, WRITERS  # noqa: E402


@pytest.fixture
def write_input(tmp_path: Path) -> Callable[..., Path]:
    """`write_input(records, kind="csv", name=None)`: the path of a new input file."""

    def write(
        records: Sequence[dict[str, Any]], kind: str = "csv", name: str | None = None
    ) -> Path:
        path = tmp_path / (name or f"accounts{EXTENSIONS[kind]}")
        path.write_text(WRITERS[kind](records), encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli() -> Callable[..., Result]:
    """`cli("assess", path, ..., input=None)`: run the app in-process."""

    runner = CliRunner()

    def run(*args: str | Path, input: str | None = None) -> Result:
        return runner.invoke(app, [str(a) for a in args], input=input)

    return run
