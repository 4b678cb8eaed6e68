"""`account-health demo`: seed 000's four accounts and a thriving fifth, one lesson each.

Without a level it compares the three automation levels side by side; with
one it prints the full briefs at that level.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import TextIO

from skill.assessment import Assessment
from skill.paths import assets_dir
from skill.pipeline import EXIT_OK, AssessmentStream, write_assessments
from skill.policy import Policy
from skill.render.markdown import cell
from skill.vocabulary import AutomationLevel


def demo_file():
    return assets_dir() / "demo" / "accounts.json"


def demo_as_of() -> date:
    """The demo data's own date, so `make demo` shows the same thing on any day."""
    with open(demo_file(), encoding="utf-8") as handle:
        return date.fromisoformat(json.load(handle)["as_of"])


def _assess(policy: Policy, as_of: date, level: AutomationLevel) -> list[Assessment]:
    return list(AssessmentStream(demo_file(), policy=policy, as_of=as_of, level=level))


def render_level_comparison(by_level: dict[AutomationLevel, list[Assessment]]) -> str:
    levels = list(by_level)
    first = by_level[levels[0]]
    lines = [
        f"# Account Health Action Engine: demo ({first[0].as_of})",
        "",
        f"{_count_words(len(first))} demo accounts. The engine decides every score, flag and "
        "status; the automation level only changes how much runs without a person.",
        "",
    ]
    for index, base in enumerate(first):
        caps = (
            f" (capped from {base.raw_score}: {', '.join(c.code for c in base.caps)})"
            if base.caps
            else ""
        )
        shown = "no data" if base.score is None else base.score
        lines += [
            f"## {base.name}: {shown}{caps} · {base.band.value} · tier {base.tier.value}",
            f"Legacy additive score: {base.legacy.total} pts · {base.legacy.band}. "
            f"Themes: {', '.join(t.label for t in base.themes) or 'none'}. "
            f"Flags: {', '.join(f.code.value for f in base.flags) or 'none'}. "
            f"Opportunities: {', '.join(o.code.value for o in base.opportunities) or 'none'}.",
            "",
            "| Action | Priority | " + " | ".join(level.value for level in levels) + " |",
            "|---|---|" + "---|" * len(levels),
        ]
        for position, action in enumerate(base.actions):
            statuses = []
            for level in levels:
                status = by_level[level][index].actions[position].status.value
                statuses.append(status)
            marker = " ⇄" if len(set(statuses)) > 1 else ""
            lines.append(
                f"| {cell(action.label)}{marker} | {action.priority.value} | "
                + " | ".join(statuses)
                + " |"
            )
        lines.append("")
    lines += [
        "⇄ marks actions whose status depends on the automation level. Signal overrides and "
        "stop rules apply at every level, so some actions never run automatically.",
        "Full briefs: account-health demo --automation-level balanced",
        "",
    ]
    return "\n".join(lines)


def _count_words(n: int) -> str:
    words = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}
    return words.get(n, str(n))


def run_demo(
    *,
    level: AutomationLevel | None,
    output_format: str,
    as_of: date | None,
    policy: Policy,
    out: TextIO,
    err: Callable[[str], None],
) -> int:
    as_of = as_of or demo_as_of()
    if level is None and output_format == "md":
        by_level = {lv: _assess(policy, as_of, lv) for lv in AutomationLevel}
        out.write(render_level_comparison(by_level))
        return EXIT_OK
    level = level or AutomationLevel.BALANCED
    stream = AssessmentStream(demo_file(), policy=policy, as_of=as_of, level=level)
    write_assessments(stream, output_format, out, policy, as_of, level)
    return EXIT_OK
