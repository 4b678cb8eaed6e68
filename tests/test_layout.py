"""The package layout is the architecture: module-level imports form no circle, and the
shells (cli, mcp_server) are never imported by the library."""

from __future__ import annotations

import ast
from pathlib import Path

SKILL = Path(__file__).resolve().parent.parent / "skill"
SHELLS = ("skill.cli", "skill.mcp_server", "skill.web")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SKILL.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path) -> set[str]:
    """Imports run at import time: module level, outside `if TYPE_CHECKING:`."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("skill")}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SKILL.rglob("*.py")}
    return {
        name: {
            target for target in _top_level_imports(path) if target in modules and target != name
        }
        for name, path in modules.items()
    }


def test_module_level_imports_form_no_circle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            # A package's __init__ importing its own submodules is how it registers them.
            if target.startswith(node + "."):
                continue
            if state.get(target) == 1:
                cycle = [*trail[trail.index(target) :], target]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_library_never_imports_a_shell():
    for name, targets in _graph().items():
        if name.startswith(SHELLS) or name == "skill.__main__":
            continue
        shells = sorted(t for t in targets if t.startswith(SHELLS))
        assert not shells, f"{name} imports the shell {shells}"
