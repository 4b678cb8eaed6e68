"""Help text explains things in its own words: no command's --help cites a source document."""

from __future__ import annotations

import re

import typer.main
from typer.testing import CliRunner

from skill.cli import app


def _command_paths(command, path: tuple[str, ...] = ()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


def test_no_help_page_cites_a_seed_document():
    runner = CliRunner()
    root = typer.main.get_command(app)
    paths = list(_command_paths(root))
    assert len(paths) > 15
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert not re.search(r"seed\s*0\d\d", result.output, re.I), (path, result.output)
