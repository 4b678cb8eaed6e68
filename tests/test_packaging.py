"""The wheel carries `assets/` and `prompts/`: `account-health demo` works from an install.

The test builds the wheel with the dev environment's hatchling (no build
isolation, so no network), installs it into a fresh venv with `--no-deps`, and
lends that venv the dev environment's dependencies through a `.pth` line. A
path added by a `.pth` line is not a site directory, so the `.pth` files inside
it (the editable install pointing at this checkout) are not processed: `skill`
can only come from the wheel, which the test checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_NAMES = (
    "Northwind Logistics",
    "GreenSprout Onboarding",
    "HarborView Manufacturing",
    "SilverPeak Enterprise",
)

pytestmark = pytest.mark.slow


def run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"{args}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def clean_env() -> dict[str, str]:
    """The current environment without anything that could point Python at the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the built wheel installed; returns the venv's bin directory."""
    pytest.importorskip("hatchling", reason="the dev extra provides hatchling")
    work = tmp_path_factory.mktemp("packaging")
    dist = work / "dist"
    pip = [sys.executable, "-m", "pip"]
    run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, ROOT],
        cwd=work,
    )
    [wheel] = dist.glob("account_health_skill-*.whl")

    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=work)
    python = venv / "bin" / "python"
    purelib = run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work
    ).strip()
    dev_site = sysconfig.get_paths()["purelib"]
    Path(purelib, "_dev_dependencies.pth").write_text(dev_site + "\n", encoding="utf-8")

    run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], cwd=work)
    return venv / "bin"


def test_skill_is_imported_from_the_installed_wheel(installed: Path, tmp_path: Path):
    code = (
        "import json, skill, skill.paths; "
        "print(json.dumps([skill.__file__, str(skill.paths.assets_dir()), "
        "str(skill.paths.prompts_dir())]))"
    )
    out = run([installed / "python", "-c", code], cwd=tmp_path, env=clean_env())
    module, assets, prompts = (Path(p) for p in json.loads(out))
    venv = installed.parent
    for path in (module, assets, prompts):
        assert path.is_relative_to(venv), path
        assert not path.is_relative_to(ROOT), path
    assert (assets / "demo" / "accounts.json").is_file()
    assert (prompts / "fallback" / "rationale.j2").is_file()


def test_installed_demo_runs_outside_the_checkout(installed: Path, tmp_path: Path):
    out = run([installed / "account-health", "demo"], cwd=tmp_path, env=clean_env())
    for name in DEMO_NAMES:
        assert name in out


def test_installed_demo_briefs_render_the_prompt_templates(installed: Path, tmp_path: Path):
    args = [installed / "account-health", "demo", "--automation-level", "balanced"]
    out = run(args, cwd=tmp_path, env=clean_env())
    assert out.count("## Health: ") == 5
    assert "_Prose from templates (no LLM)._" in out


def test_installed_workspace_serves_its_pages_and_script(installed: Path, tmp_path: Path):
    pytest.importorskip("fastapi", reason="the web extra provides the workspace's stack")
    code = (
        "import httpx2; httpx2.alias_httpx()\n"
        "from starlette.testclient import TestClient\n"
        "from skill.web.app import WebConfig, create_app\n"
        "client = TestClient(create_app(WebConfig()), base_url='http://127.0.0.1')\n"
        "print(client.get('/try').status_code, client.get('/static/app.js').status_code)\n"
    )
    out = run([installed / "python", "-c", code], cwd=tmp_path, env=clean_env())
    assert out.split() == ["200", "200"]
