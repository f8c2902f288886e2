"""Every adapter follows one convention: ``kitaru.adapters.<harness>`` re-exports the public
names (``__all__``) of its package ``kitaru_<harness>``, whose ``__init__`` loads them lazily so
that loading the plugin imports no harness."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = [
    ("pydantic_ai", "pydantic_ai"),
    ("litellm", "litellm"),
    ("langgraph", "langgraph"),
    ("openai_agents", "agents"),
]


@pytest.mark.parametrize(("harness", "requires"), ADAPTERS)
def test_kitaru_adapters_module_re_exports_the_package_public_names(
    harness: str, requires: str
) -> None:
    pytest.importorskip(requires)
    public = importlib.import_module(f"kitaru.adapters.{harness}")
    package = importlib.import_module(f"kitaru_{harness}")
    assert public.__all__ == package.__all__ and package.__all__
    for name in package.__all__:
        assert getattr(public, name) is getattr(package, name), name


@pytest.mark.parametrize(("harness", "requires"), ADAPTERS)
def test_loading_an_adapter_plugin_imports_no_harness(harness: str, requires: str) -> None:
    code = (
        f"import sys, kitaru_{harness}._plugin; "
        f"print([m for m in sys.modules if m.split('.')[0] == {requires!r}])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == "[]"
