"""The MCP assess tool gives an identity-only account a no_data assessment, not a rejection."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("mcp", reason="the mcp extra provides the SDK (make test installs it)")

import anyio
from mcp import Client

from skill.assessment import AssessmentRun
from skill.mcp_server import build_server


def test_assess_accounts_gives_an_identity_only_account_no_score() -> None:
    accounts: list[dict[str, Any]] = [
        {"account_id": "NEW-1", "segment": "smb", "name": "Newco", "owner": "Lee Park"},
        {"account_id": "OLD-1", "segment": "smb", "csat": 4.2},
    ]

    async def go():
        async with Client(build_server()) as client:
            return await client.call_tool(
                "assess_accounts", {"accounts": accounts, "as_of": "2026-11-23"}
            )

    result = anyio.run(go)
    assert not result.is_error, result.content
    data = dict(result.structured_content)
    data.pop("warnings")  # the tool's warnings come beside the run
    run = AssessmentRun.model_validate(data)
    assert run.rejected == []
    new, old = run.assessments
    assert (new.score, new.band.value, new.tier.value) == (None, "no_data", "no_data")
    assert old.score is not None
