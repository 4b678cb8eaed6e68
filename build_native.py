"""Compile the engine's hot modules with mypyc, when this machine can; never fails.

    python build_native.py           # build, or say the build is up to date (about 30 s)
    python build_native.py --remove  # remove the build: the engine runs as Python
    python build_native.py --status  # whether the engine runs compiled here, and if not why

Run by `make install` and every target that uses it; `make ... PURE=1` (which sets
`ACCOUNT_HEALTH_PURE=1`) neither compiles nor uses compiled modules. The modules are
those in `skill.native.COMPILED`; the extensions go to `build/native/` with a
manifest that `skill.native` checks before it uses them (same sources, same
interpreter), so the checkout's Python files are never shadowed by stale ones. When
compiling is not possible (mypyc not installed, no C compiler, no Python headers, or
the compiler fails) it prints one line saying so and the engine runs as Python: same
output, slower. Exit status 0 either way.
"""

from __future__ import annotations

import argparse
import ast
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from skill import native  # noqa: E402  (this checkout's, whatever is installed)

LOG = native.BUILD_DIR.parent / "native.log"
# The type checker's cache between builds (a rebuild after an edit is quicker).
MYPY_CACHE = native.BUILD_DIR.parent / "native-mypy-cache"


def say(message: str) -> None:
    print(f"engine: {message}", flush=True)


def module_sources() -> list[str]:
    """The compiled modules' sources and every module of this package they import,
    directly or not (their types are compiled in): paths relative to the checkout."""
    seen: set[str] = set()
    pending = list(native.COMPILED)
    while pending:
        module = pending.pop()
        path = native.source_path(module)
        relative = path.relative_to(native.ROOT).as_posix()
        if relative in seen or not path.is_file():
            continue
        seen.add(relative)
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Import):
                pending += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                pending.append(node.module)
                pending += [f"{node.module}.{alias.name}" for alias in node.names]
    return sorted(name for name in seen if name.startswith("skill/"))


def missing_prerequisite() -> str | None:
    """Why this machine cannot compile, or None when it looks able to."""
    try:
        import mypyc.build  # noqa: F401
        import setuptools  # noqa: F401
    except ImportError as error:
        return f"mypyc is not installed ({error.name} missing; pip install mypy setuptools)"
    include = sysconfig.get_paths().get("include")
    if not include or not (Path(include) / "Python.h").is_file():
        return "no Python headers (Python.h) for this interpreter"
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    if not compiler or shutil.which(compiler[0]) is None:
        return f"no C compiler ({compiler[0] if compiler else 'cc'} not found)"
    return None


def compile_into(target: Path) -> None:
    """Run mypyc and the C compiler; the extensions go to `target / "lib"`.

    Run in a child process (its output goes to the log); raises on any failure.
    """
    import setuptools  # before mypyc.build, which then builds with setuptools
    from mypyc.build import mypycify

    files = [str(native.source_path(module)) for module in native.COMPILED]
    os.chdir(target)  # setuptools reads no project file here
    extensions = mypycify(
        [
            "--follow-imports=silent",
            "--ignore-missing-imports",
            f"--cache-dir={MYPY_CACHE}",
            *files,
        ],
        opt_level="3",
        debug_level="0",
        group_name=native.GROUP,
        target_dir=str(target / "c"),
        multi_file=True,  # one C file per module: compiled in parallel
    )
    setuptools.setup(
        name="account-health-native",
        packages=[],
        py_modules=[],
        ext_modules=extensions,
        script_args=[
            "build_ext",
            f"--build-lib={target / 'lib'}",
            f"--build-temp={target / 'temp'}",
            f"--parallel={max(1, min(4, os.cpu_count() or 1))}",
        ],
    )


def build(sources: list[str]) -> str | None:
    """Compile into a fresh `build/native`; None when done, else why not."""
    # Of the sources as they are before compiling: an edit meanwhile leaves it unused.
    fingerprint = native.fingerprint(sources)
    stats = {name: native._stat(ROOT / name) for name in sources}
    native.BUILD_DIR.parent.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix="native-", dir=native.BUILD_DIR.parent))
    try:
        with LOG.open("w") as log:
            done = subprocess.run(
                [sys.executable, __file__, "--compile-into", str(target)],
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=900,
            )
        if done.returncode != 0:
            errors = [line for line in LOG.read_text().splitlines() if ": error:" in line]
            first = f"{errors[0].strip()}; " if errors else ""
            return f"compiling failed ({first}see {LOG.relative_to(ROOT)})"
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        shared = f"{native.GROUP}__mypyc"
        modules = {}
        for name in (*native.COMPILED, shared):
            parts = name.split(".")
            if name == "skill.engine":
                parts.append("__init__")
            relative = "/".join(parts) + suffix
            if not (target / "lib" / relative).is_file():
                return f"compiling made no {relative} (see {LOG.relative_to(ROOT)})"
            modules[name] = f"lib/{relative}"
        manifest = {
            "fingerprint": fingerprint,
            "version": sys.version,
            "suffix": suffix,
            "shared_module": shared,
            "modules": modules,
            "sources": stats,
        }
        (target / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        for name in ("c", "temp"):
            shutil.rmtree(target / name, ignore_errors=True)
        remove()
        target.rename(native.BUILD_DIR)
        native.BUILD_DIR.chmod(0o755)
        return None
    finally:
        shutil.rmtree(target, ignore_errors=True)


def loads() -> str | None:
    """Import the compiled engine in a fresh interpreter; None when it loads, else
    what went wrong (the last line of its error)."""
    check = (
        "import skill.engine, skill.native\n"
        "assert skill.native.is_compiled(skill.engine), skill.native.status()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), native.PURE_VARIABLE: ""},
    )
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def remove() -> None:
    shutil.rmtree(native.BUILD_DIR, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--remove", action="store_true", help="remove the build: pure Python")
    parser.add_argument("--status", action="store_true", help="whether the engine runs compiled")
    parser.add_argument("--compile-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compile_into:
        compile_into(args.compile_into)
        return
    if args.status:
        import skill.engine

        say(f"{native.status()} ({skill.engine.__file__})")
        return
    if args.remove:
        remove()
        say("pure Python (compiled modules removed)")
        return
    if os.environ.get(native.PURE_VARIABLE, "") not in ("", "0"):
        say(f"pure Python ({native.PURE_VARIABLE} is set: nothing compiled or used)")
        return
    sources = module_sources()
    manifest = native.read_manifest()
    if manifest is not None and native._usable(manifest) is None:
        stats = {name: native._stat(ROOT / name) for name in manifest["sources"]}
        if stats != manifest["sources"]:  # touched, same contents: no hashing at each start
            manifest["sources"] = stats
            manifest_text = json.dumps(manifest, indent=1)
            (native.BUILD_DIR / "manifest.json").write_text(manifest_text, encoding="utf-8")
        say(f"compiled with mypyc, up to date ({len(native.COMPILED)} modules)")
        return
    why_not = missing_prerequisite()
    if why_not is None:
        started = time.monotonic()
        try:
            why_not = build(sources) or loads()
        except (OSError, subprocess.SubprocessError) as error:
            why_not = f"compiling failed ({error})"
    if why_not is not None:
        remove()
        say(f"running as pure Python, not compiled: {why_not}")
        return
    took = time.monotonic() - started
    say(f"compiled with mypyc ({len(native.COMPILED)} modules, {took:.0f} s)")


if __name__ == "__main__":
    main()
