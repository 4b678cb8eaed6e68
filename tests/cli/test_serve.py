"""`account-health serve` refuses what it must before it starts anything."""

from __future__ import annotations

import sys

from typer.testing import CliRunner

from skill.cli import app


def test_another_host_without_a_token_is_refused(monkeypatch):
    monkeypatch.delenv("ACCOUNT_HEALTH_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "--host 0.0.0.0 serves beyond this machine" in result.stderr
    assert "--token TOKEN or ACCOUNT_HEALTH_TOKEN" in result.stderr


def test_a_short_token_is_refused():
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--token", "abc"])
    assert result.exit_code == 2
    assert "--token is 3 characters; use at least 16" in result.stderr


def test_without_the_web_extra_it_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "install the web extra: pip install 'account-health-skill[web]'" in result.stderr
