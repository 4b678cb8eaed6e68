"""The engine's hot modules compiled with mypyc, used when a build matches the sources.

`build_native.py` (run by `make install`, `make test` and the like) compiles the
modules in `COMPILED` into C extensions under the checkout's `build/native/`, with a
manifest naming each file and fingerprinting every source the compiler read. On
import of `skill`, `install()` adds a finder that loads those extensions in place of
the modules' Python source, but only when the manifest's fingerprint is that of the
sources on disk now (an edited module makes the whole build unused until it is built
again: compiled modules call each other directly, so one stale module would bring
old code back) and the build is for this interpreter. Otherwise, or with
`ACCOUNT_HEALTH_PURE=1` in the environment, every module is the Python source, which
gives the same output, only slower. Nothing here is compiled itself.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

# The modules compiled, as one group: the engine's per-account stages. Left out:
# modules the run calls rarely (history's trends and smoothing, the policy compiler's
# conditions) or that use what compiled classes cannot (RecordView's borrowed
# `__dict__`, `Plain`'s dict subclass, the record's pydantic validators).
COMPILED = (
    "skill.engine",
    "skill.engine.actions",
    "skill.engine.dimensions",
    "skill.engine.flags",
    "skill.engine.gate",
    "skill.engine.legacy",
    "skill.engine.opportunities",
    "skill.engine.quality",
    "skill.engine.review",
    "skill.engine.scoring",
    "skill.engine.shared",
)
# The group's shared library, which holds the code of every compiled module.
GROUP = "account_health_native"
PURE_VARIABLE = "ACCOUNT_HEALTH_PURE"
ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build" / "native"

_state = {"status": "not checked"}


def source_path(module: str) -> Path:
    """The Python source of a module of this package."""
    parts = module.split(".")
    package = ROOT.joinpath(*parts)
    return package / "__init__.py" if package.is_dir() else package.with_suffix(".py")


def fingerprint(sources: Sequence[str]) -> str:
    """One digest of these source files (paths relative to the checkout) and of this
    interpreter's version and extension suffix."""
    digest = hashlib.sha256()
    digest.update(sys.version.encode())
    digest.update(importlib.machinery.EXTENSION_SUFFIXES[0].encode())
    for relative in sorted(sources):
        digest.update(relative.encode() + b"\0")
        digest.update((ROOT / relative).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def read_manifest() -> dict | None:
    try:
        return json.loads((BUILD_DIR / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _usable(manifest: dict) -> str | None:
    """Why the build cannot be used with the sources on disk, or None when it can."""
    if manifest.get("suffix") != importlib.machinery.EXTENSION_SUFFIXES[0]:
        return "built for another interpreter"
    if manifest.get("version") != sys.version:
        return "built for another Python version"
    if set(manifest.get("modules", {})) != {*COMPILED, manifest.get("shared_module")}:
        return "built for another list of modules"
    files = [BUILD_DIR / name for name in manifest["modules"].values()]
    if not all(path.is_file() for path in files):
        return "a compiled file is missing"
    sources = manifest.get("sources", {})
    # Unchanged size and modification time of every source: as fingerprinted. Else
    # (a checkout that touched files, an edit) the contents decide.
    try:
        stats = {name: _stat(ROOT / name) for name in sources}
    except OSError:
        return "a source file is missing"
    if stats == sources:
        return None
    if fingerprint(list(sources)) != manifest.get("fingerprint"):
        return "the sources changed since the build"
    return None


def _stat(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


class _Finder:
    """Finds the compiled form of the modules in the manifest (a meta path finder).

    A compiled package's own code sets its `__path__` to the build's directory, where
    only the compiled modules are: its other modules (the package's Python source
    beside them) are found here too, in the package's source directory.
    """

    def __init__(self, modules: dict[str, str]) -> None:
        self.modules = modules
        self.packages = {
            name: str(source_path(name).parent)
            for name in modules
            if source_path(name).name == "__init__.py"
        }

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        relative = self.modules.get(name)
        if relative is None:
            package = self.packages.get(name.rpartition(".")[0])
            if package is None:
                return None
            return importlib.machinery.PathFinder.find_spec(name, [package])
        location = str(BUILD_DIR / relative)
        return importlib.util.spec_from_file_location(
            name,
            location,
            loader=_Loader(name, location, self.packages.get(name)),
            submodule_search_locations=[self.packages[name]] if name in self.packages else None,
        )


class _Loader(importlib.machinery.ExtensionFileLoader):
    """Loads a compiled module; a package's `__path__` then names its source directory."""

    def __init__(self, name: str, path: str, package_dir: str | None) -> None:
        super().__init__(name, path)
        self.package_dir = package_dir

    def exec_module(self, module: ModuleType) -> None:
        super().exec_module(module)
        if self.package_dir is not None:
            module.__path__ = [self.package_dir]


def install() -> None:
    """Use the compiled modules from now on, when there is a build fit to use."""
    if _state["status"] != "not checked":
        return
    if os.environ.get(PURE_VARIABLE, "") not in ("", "0"):
        _state["status"] = f"pure Python ({PURE_VARIABLE} is set)"
        return
    manifest = read_manifest()
    if manifest is None:
        _state["status"] = "pure Python (not compiled)"
        return
    why_not = _usable(manifest)
    if why_not is not None:
        _state["status"] = f"pure Python ({why_not})"
        return
    if any(name in sys.modules for name in COMPILED):
        _state["status"] = "pure Python (the engine was imported before)"
        return
    sys.meta_path.insert(0, _Finder(manifest["modules"]))
    _state["status"] = f"compiled with mypyc ({len(COMPILED)} modules)"


def status() -> str:
    """Whether the engine runs compiled, and if not why, in a few words."""
    install()
    engine = sys.modules.get("skill.engine")
    loaded = engine is None or is_compiled(engine)
    if _state["status"].startswith("compiled") and not loaded:
        return "pure Python (the compiled engine did not load)"
    return _state["status"]


def is_compiled(module: ModuleType) -> bool:
    return isinstance(getattr(module, "__spec__", None) and module.__spec__.loader, _Loader)
