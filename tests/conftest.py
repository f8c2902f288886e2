"""Shared fixtures: every test gets its own KITARU_HOME with a fresh SQLite store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru_core import _backends, _config

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def kitaru_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty Kitaru home for each test; settings and open stores are reset around it."""
    home = tmp_path / "kitaru-home"
    monkeypatch.setenv("KITARU_HOME", str(home))
    for name in ("KITARU_STORE_URL", "KITARU_ARTIFACT_URL", "KITARU_STACK", "KITARU_DURABILITY"):
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
