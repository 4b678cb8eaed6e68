"""One row per account: a portfolio at a glance."""

from __future__ import annotations

from collections.abc import Iterable

from skill.assessment import Assessment
from skill.vocabulary import ActionStatus

COLUMNS = ("Account", "Segment", "Score", "Band", "Tier", "Conf.", "Legacy", "Flags", "Actions")


def row(a: Assessment) -> tuple[str, ...]:
    counts = {status: 0 for status in ActionStatus}
    for action in a.actions:
        counts[action.status] += 1
    actions = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "none"
    flags = ", ".join(f.code.value for f in a.flags) or "-"
    capped = "*" if a.caps else ""
    return (
        f"{a.name} ({a.account_id})",
        a.segment.value,
        "—" if a.score is None else f"{a.score}{capped}",
        a.band.value,
        a.tier.value,
        a.confidence.value,
        f"{a.legacy.total} {a.legacy.band}",
        flags,
        actions,
    )


def render_table(assessments: Iterable[Assessment], width: int | None = None) -> str:
    return render_rows((row(a) for a in assessments), width)


def render_rows(rows: Iterable[tuple[str, ...]], width: int | None = None) -> str:
    """The table of these rows (`row` of each assessment, made wherever it was assessed)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(*COLUMNS, title="Account health", caption="* score held down by a guard rail")
    for cells in rows:
        table.add_row(*cells)
    console = Console(width=width or 160, record=True, file=_Null())
    console.print(table)
    return console.export_text()


class _Null:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass
