"""Drafting: words around the engine's decisions. It never returns a status.

`Drafter` is the seam: `TemplateDrafter` (Jinja2 templates under `prompts/`)
is the default and the offline fallback; an LLM drafter implements the same
interface and falls back to it.
"""

from skill.drafting.base import AccountTexts, Drafter, DraftSource, EmailKind, EmailTexts
from skill.drafting.templates import TemplateDrafter

__all__ = ["AccountTexts", "DraftSource", "Drafter", "EmailKind", "EmailTexts", "TemplateDrafter"]
