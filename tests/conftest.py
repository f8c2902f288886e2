"""Shared fixtures: every test gets its own KITARU_HOME with a fresh SQLite store."""

from __future__ import annotations

import os

# Tests never reach the network: LiteLLM must read its bundled price map, not fetch one. Set
# before anything imports LiteLLM (it loads the map at import), and inherited by child processes.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Hooks that fail a run with a skipped test when KITARU_TESTS_NO_SKIPS=1 (the `tests` session).
from skip_guard import pytest_collectreport, pytest_runtest_logreport, pytest_sessionfinish  # noqa: F401

from kitaru_core import _config
from kitaru_core.store import _backends

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def kitaru_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty Kitaru home for each test; settings and open stores are reset around it."""
    home = tmp_path / "kitaru-home"
    monkeypatch.setenv("KITARU_HOME", str(home))
    for name in ("KITARU_STORE_URL", "KITARU_ARTIFACT_URL", "KITARU_STACK", "KITARU_DURABILITY"):
        monkeypatch.delenv(name, raising=False)
    # The CLI's output must not depend on how pytest was started: a terminal's width (or the
    # COLUMNS that pytest-xdist's workers inherit) would wrap its lines differently.
    for name in ("COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
    _config.reset()
    _backends.close_all()
    yield home
    _backends.close_all()
    _config.reset()


@pytest.fixture
def subprocess_env(kitaru_home: Path) -> dict[str, str]:
    """Environment for child processes that must use the same store as the test."""
    env = dict(os.environ)
    env["KITARU_HOME"] = str(kitaru_home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
RunDoc = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_doc(subprocess_env: dict[str, str], tmp_path: Path) -> RunDoc:
    """Run the Python blocks of a Markdown page (path from the repo root) as one script."""

    def run(page: str, *, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        blocks = PYTHON_BLOCK.findall((REPO_ROOT / page).read_text())
        assert blocks, f"{page} has no python blocks"
        script = tmp_path / (Path(page).stem.replace("-", "_") + "_page.py")
        script.write_text("\n".join(blocks))
        proc = subprocess.run(
            [sys.executable, str(script)],
            env={**subprocess_env, **env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    return run
