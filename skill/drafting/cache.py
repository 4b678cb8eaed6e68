"""Draft cache and usage accounting: an unchanged account costs no API call."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "account-health" / "drafts"


class DraftCache:
    """Validated drafts on disk, one JSON file per key (hash of facts, prompts and model)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_cache_dir()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, OSError):
            return None

    def put(self, key: str, payload: dict[str, Any]) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(payload, sort_keys=True), encoding="utf-8")
            temporary.replace(path)
        except OSError:
            return


@dataclass
class Usage:
    """Counted per run and printed as one line at the end."""

    requests: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    fallbacks: int = 0

    def add(self, usage: Any) -> None:
        self.requests += 1
        if usage is None:
            return
        self.input_tokens += getattr(usage, "input_tokens", 0) or 0
        self.cache_read_tokens += getattr(usage, "cache_read_input_tokens", 0) or 0
        self.cache_write_tokens += getattr(usage, "cache_creation_input_tokens", 0) or 0
        self.output_tokens += getattr(usage, "output_tokens", 0) or 0

    def line(self) -> str:
        return (
            f"drafting: {self.requests} request(s), {self.cache_hits} cache hit(s), "
            f"{self.fallbacks} template fallback(s); tokens: {self.input_tokens:,} input, "
            f"{self.cache_read_tokens:,} cached, {self.output_tokens:,} output"
        )

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))
