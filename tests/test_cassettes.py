"""Recorded LLM cassettes hold no credentials and no live ids.

Scans every file under `tests/cassettes/`. Passes while the folder holds no
cassettes yet, and proves the drafting fixtures' scrubbers on a cassette it
records itself from the stand-in.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml
from llm_standin import STANDIN_URL, StandIn

CASSETTES = Path(__file__).resolve().parent / "cassettes"
CASSETTE_SUFFIXES = {".yaml", ".yml", ".json"}

KEY_PATTERNS = {
    "Anthropic API key": re.compile(r"sk-ant-[A-Za-z0-9_-]{10,}"),
    "x-api-key header not REDACTED": re.compile(
        r"x-api-key[\"']?\s*:\s*(?:-\s*|\[\s*)?[\"']?(?!REDACTED\b)[^\s\"'\[\]-]", re.IGNORECASE
    ),
    "bearer authorization header": re.compile(
        r"authorization[\"']?\s*:\s*(?:-\s*|\[\s*)?[\"']?Bearer\s+(?!REDACTED\b)\S", re.IGNORECASE
    ),
}
#: A response id the recorder should have replaced with `msg_scrubbed` and friends.
UNSCRUBBED_ID = re.compile(r"\b(msgbatch|msg|req)_(?!scrubbed\b)[A-Za-z0-9_]+")
CREDENTIAL_HEADERS = {"x-api-key", "authorization", "anthropic-api-key", "proxy-authorization"}
IDENTIFYING_RESPONSE_HEADERS = {"anthropic-organization-id", "set-cookie", "request-id"}


def _shown(secret: str) -> str:
    """Enough of a match to find it, not enough to leak it into a CI log."""
    return secret[:14] + "…"


def _text_problems(where: str, text: str, *, ids: bool) -> list[str]:
    found = [
        f"{where}: {label}: {_shown(match.group(0))}"
        for label, pattern in KEY_PATTERNS.items()
        for match in pattern.finditer(text)
    ]
    if ids:
        found += [f"{where}: unscrubbed id {m.group(0)}" for m in UNSCRUBBED_ID.finditer(text)]
    return found


def _body_text(body: Any) -> str:
    value = body.get("string") if isinstance(body, dict) else body
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else ""


def _structure_problems(path: Path) -> list[str]:
    """Header by header, and bodies stored as !!binary, which a text scan cannot read."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return [f"{path.name}: not a readable cassette ({exc.__class__.__name__})"]
    found = []
    for n, interaction in enumerate((data or {}).get("interactions") or []):
        where = f"{path.name} #{n}"
        request, response = interaction.get("request", {}), interaction.get("response", {})
        for name, values in (request.get("headers") or {}).items():
            values = values if isinstance(values, list) else [values]
            if name.lower() in CREDENTIAL_HEADERS and any(v != "REDACTED" for v in values):
                found.append(f"{where}: request header {name} is not REDACTED")
        for name in response.get("headers") or {}:
            if name.lower() in IDENTIFYING_RESPONSE_HEADERS:
                found.append(f"{where}: response header {name} was recorded")
        found += _text_problems(where, str(request.get("uri", "")), ids=True)
        found += _text_problems(f"{where} response", _body_text(response.get("body")), ids=True)
    return found


def cassette_problems(folder: Path) -> list[str]:
    problems = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        is_cassette = path.suffix in CASSETTE_SUFFIXES
        problems += _text_problems(path.name, text, ids=is_cassette)
        if path.suffix in {".yaml", ".yml"}:
            problems += _structure_problems(path)
    return problems


def test_cassette_folder_exists():
    assert CASSETTES.is_dir(), f"{CASSETTES} is missing; it holds the LLM cassettes and README"


def test_no_cassette_holds_a_key_or_an_unscrubbed_id():
    problems = cassette_problems(CASSETTES)
    assert not problems, "re-record with the scrubbing fixtures:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer sk-ant-api03-abcdefghijklmnop",
        "      x-api-key:\n      - sk-live-something\n",
        '"x-api-key": ["abc123"]',
        "      authorization:\n      - Bearer abc.def\n",
        '{"id": "msg_01XFDUDYJgAACzvnptvVoYEL"}',
        "uri: http://127.0.0.1:47111/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF",
        '"request_id": "req_standin_0003"',
    ],
)
def test_the_scan_catches_leaks(tmp_path, text):
    (tmp_path / "leak.yaml").write_text(text, encoding="utf-8")
    assert cassette_problems(tmp_path)


def test_the_scan_accepts_scrubbed_text(tmp_path):
    (tmp_path / "clean.yaml").write_text(
        "interactions:\n- request:\n    headers:\n      x-api-key:\n      - REDACTED\n"
        "      authorization:\n      - REDACTED\n"
        "    uri: http://127.0.0.1:47111/v1/messages/batches/msgbatch_scrubbed\n"
        '  response:\n    body:\n      string: \'{"id": "msg_scrubbed", "request_id": '
        '"req_scrubbed"}\'\n    headers: {}\n',
        encoding="utf-8",
    )
    (tmp_path / "README.md").write_text("Ids like msg_… become msg_scrubbed.", encoding="utf-8")
    assert cassette_problems(tmp_path) == []


# --- the drafting fixtures' scrubbers, end to end -------------------------------------------------


def _drafting_fixtures() -> ModuleType:
    path = Path(__file__).resolve().parent / "drafting" / "conftest.py"
    spec = importlib.util.spec_from_file_location("drafting_cassette_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _exercise(client: Any) -> dict[str, Any]:
    """A rate-limited call and its retry, then a batch's whole lifecycle."""
    import anthropic

    facts = json.dumps(
        {
            "account_id": "ratelimit-rt",
            "account_name": "Testco",
            "owner_name": "Alex Kim",
            "score": 60,
            "band": "yellow",
            "actions": [],
        }
    )
    params = {
        "model": "claude-standin-test",
        "max_tokens": 500,
        "system": [{"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": f"<facts>\n{facts}\n</facts>"}],
    }
    seen: dict[str, Any] = {}
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(**params)
    seen["message_id"] = client.messages.create(**params).id
    batch = client.messages.batches.create(requests=[{"custom_id": "one", "params": params}])
    seen["statuses"] = [client.messages.batches.retrieve(batch.id).processing_status for _ in "12"]
    seen["results"] = [
        (line.custom_id, line.result.type) for line in client.messages.batches.results(batch.id)
    ]
    seen["batch_id"] = batch.id
    return seen


def test_a_standin_cassette_is_scrubbed_and_replays_offline(tmp_path):
    vcr = pytest.importorskip("vcr")
    anthropic = pytest.importorskip("anthropic")
    fixtures = _drafting_fixtures()
    recorder = vcr.VCR(
        match_on=["method", "scheme", "host", "port", "path", "query", "body"],
        filter_headers=fixtures.FILTER_HEADERS,
        before_record_request=fixtures.scrub_request,
        before_record_response=fixtures.scrub_response,
        decode_compressed_response=True,
    )
    cassette = tmp_path / "roundtrip.yaml"
    fake_key = "sk-ant-api03-" + "NotARealKey" * 3

    with recorder.use_cassette(str(cassette), record_mode="once"), StandIn(port=0) as standin:
        url = standin.url
        client = anthropic.Anthropic(api_key=fake_key, base_url=url, max_retries=0)
        recorded = _exercise(client)
        client.close()
    assert recorded["message_id"] == "msg_standin_0001"  # the live answer is untouched

    text = cassette.read_text(encoding="utf-8")
    assert cassette_problems(tmp_path) == []
    assert "NotARealKey" not in text
    assert "msg_scrubbed" in text and "msgbatch_scrubbed" in text
    assert "/v1/messages/batches/msgbatch_scrubbed/results" in text

    with recorder.use_cassette(str(cassette), record_mode="none") as replay:
        client = anthropic.Anthropic(api_key="test-key-not-a-secret", base_url=url, max_retries=0)
        replayed = _exercise(client)
        client.close()
    assert replay.all_played
    assert replayed == {
        "message_id": "msg_scrubbed",
        "statuses": ["in_progress", "ended"],
        "results": [("one", "succeeded")],
        "batch_id": "msgbatch_scrubbed",
    }


def test_real_api_uris_are_stored_with_the_standin_origin():
    fixtures = _drafting_fixtures()

    request = SimpleNamespace(
        uri="https://api.anthropic.com/v1/messages/batches/msgbatch_01abc/results",
        headers={"x-api-key": "REDACTED", "x-goog-api-key": "secret"},
    )
    scrubbed = fixtures.scrub_request(request)
    assert scrubbed.uri == f"{STANDIN_URL}/v1/messages/batches/msgbatch_scrubbed/results"
    assert scrubbed.headers == {"x-api-key": "REDACTED"}
