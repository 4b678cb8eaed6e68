"""The compiled engine (build_native.py, skill.native): used only when it fits the
sources, switched off by one variable, and never a reason for an install to fail."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skill import native

ROOT = Path(__file__).resolve().parents[1]


def engine_form(**env: str) -> str:
    """`compiled` or `python`: how a fresh interpreter with `env` loads the engine."""
    check = (
        "import skill.engine, skill.native\n"
        "print('compiled' if skill.native.is_compiled(skill.engine) else 'python')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    return done.stdout.strip()


def test_the_pure_variable_keeps_the_engine_in_python() -> None:
    assert engine_form(**{native.PURE_VARIABLE: "1"}) == "python"


def test_a_build_of_these_sources_is_what_the_engine_loads() -> None:
    manifest = native.read_manifest()
    if manifest is None or native._usable(manifest) is not None:
        pytest.skip("no compiled build of these sources here (make install makes one)")
    assert engine_form(**{native.PURE_VARIABLE: ""}) == "compiled"


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout of one source file with a build of it, as `skill.native` sees it."""
    source = tmp_path / "skill" / "engine" / "gate.py"
    source.parent.mkdir(parents=True)
    source.write_text("RULES = 1\n", encoding="utf-8")
    build = tmp_path / "build" / "native"
    monkeypatch.setattr(native, "ROOT", tmp_path)
    monkeypatch.setattr(native, "BUILD_DIR", build)
    modules = {name: f"lib/{name}.so" for name in (*native.COMPILED, "shared__mypyc")}
    for relative in modules.values():
        (build / relative).parent.mkdir(parents=True, exist_ok=True)
        (build / relative).write_bytes(b"")
    sources = ["skill/engine/gate.py"]
    manifest = {
        "fingerprint": native.fingerprint(sources),
        "version": sys.version,
        "suffix": importlib.machinery.EXTENSION_SUFFIXES[0],
        "shared_module": "shared__mypyc",
        "modules": modules,
        "sources": {name: native._stat(tmp_path / name) for name in sources},
    }
    (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return tmp_path


def manifest_of(checkout: Path) -> dict:
    return json.loads((checkout / "build" / "native" / "manifest.json").read_text())


def test_a_build_of_the_sources_on_disk_is_used(checkout: Path) -> None:
    assert native._usable(manifest_of(checkout)) is None


def test_a_source_edited_after_the_build_leaves_the_build_unused(checkout: Path) -> None:
    (checkout / "skill" / "engine" / "gate.py").write_text("RULES = 2\n", encoding="utf-8")
    assert native._usable(manifest_of(checkout)) == "the sources changed since the build"


def test_a_source_touched_but_unchanged_keeps_the_build(checkout: Path) -> None:
    source = checkout / "skill" / "engine" / "gate.py"
    os.utime(source, ns=(1, 1))
    assert native._usable(manifest_of(checkout)) is None


def test_a_build_for_another_python_is_not_used(checkout: Path) -> None:
    manifest = {**manifest_of(checkout), "version": "3.10.0 (elsewhere)"}
    assert native._usable(manifest) == "built for another Python version"


def test_a_build_missing_a_module_is_not_used(checkout: Path) -> None:
    (checkout / "build" / "native" / "lib" / "skill.engine.gate.so").unlink()
    assert native._usable(manifest_of(checkout)) == "a compiled file is missing"


def test_without_a_c_compiler_the_build_says_so_in_one_line_and_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("build_native", ROOT / "build_native.py")
    assert spec is not None and spec.loader is not None
    build_native = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_native)
    monkeypatch.setattr(native, "BUILD_DIR", tmp_path / "build" / "native")
    monkeypatch.setattr(build_native, "LOG", tmp_path / "build" / "native.log")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.delenv(native.PURE_VARIABLE, raising=False)
    monkeypatch.setattr(sys, "argv", ["build_native.py"])
    build_native.main()
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "engine: running as pure Python, not compiled: "
        f"no C compiler ({tmp_path / 'no-such-cc'} not found)"
    ]
    assert not (tmp_path / "build" / "native").exists()


def test_the_engine_as_python_gives_the_pinned_output_too() -> None:
    """A compiled build is what this suite runs; a `pip install` (and `PURE=1`) runs the
    same modules as Python. The golden digests must hold in that form as well."""
    import skill.engine

    if not native.is_compiled(skill.engine):
        pytest.skip("the engine runs as Python here: the suite itself checks that form")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "tests/test_golden_output.py",
            "tests/engine/test_compact_output.py",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), native.PURE_VARIABLE: "1"},
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
