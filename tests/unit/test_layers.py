"""The layers of kitaru_core (docs/architecture.md) and the import contracts that keep them.

The contracts live in pyproject.toml (``[tool.importlinter]``) and run in ``nox -s lint``.
These tests run ``lint-imports`` on this tree (it must pass) and on broken copies of it in a
temporary folder (each must fail, naming the import at fault). They skip where import-linter is
not installed (the bare unit-test environment).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _lint_imports() -> str:
    pytest.importorskip("importlinter")
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the lint-imports command is not installed")
    return found


def _run(command: str, cwd: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    args = [command, "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _core_only_config() -> dict[str, Any]:
    """The repository's contracts that are about kitaru_core alone."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = [
        c
        for c in config["contracts"]
        if all(m.startswith("kitaru_core") for m in c.get("source_modules", ["kitaru_core"]))
    ]
    return {**config, "root_packages": ["kitaru_core"], "contracts": contracts}


@pytest.fixture
def core_copy(tmp_path: Path) -> Path:
    """A copy of kitaru_core with the repository's kitaru_core contracts, in ``tmp_path``."""
    import tomli_w

    shutil.copytree(
        REPO_ROOT / "kitaru_core",
        tmp_path / "kitaru_core",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    config = {"tool": {"importlinter": _core_only_config()}}
    (tmp_path / "pyproject.toml").write_text(tomli_w.dumps(config))
    return tmp_path


def _inject(module: Path, line: str) -> None:
    text = module.read_text()
    marker = "from __future__ import annotations\n"
    assert marker in text, module
    module.write_text(text.replace(marker, f"{marker}\n{line}\n", 1))


def test_import_contracts_hold_on_this_tree() -> None:
    proc = _run(_lint_imports(), REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 broken" in proc.stdout
    assert "BROKEN" not in proc.stdout


def test_the_copy_in_tmp_is_the_one_checked_and_passes(core_copy: Path) -> None:
    """The control for the tests below: unchanged, the copy keeps every contract."""
    found = subprocess.run(
        [sys.executable, "-c", "import kitaru_core; print(kitaru_core.__file__)"],
        cwd=core_copy,
        env={**os.environ, "PYTHONPATH": str(core_copy)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(found.stdout.strip()).is_relative_to(core_copy)
    proc = _run(_lint_imports(), core_copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("module", "line", "broken", "names"),
    [
        pytest.param(
            "store/_records.py",
            "from kitaru_core.client import KitaruClient",
            "kitaru_core is layered",
            "kitaru_core.store._records -> kitaru_core.client",
            id="store-imports-client",
        ),
        pytest.param(
            "engine/_runtime.py",
            "from kitaru_core.replay import _replay",
            "kitaru_core is layered",
            "kitaru_core.engine._runtime -> kitaru_core.replay._replay",
            id="engine-imports-replay",
        ),
        pytest.param(
            "waits/_answers.py",
            "from kitaru_core.waits import _waits",
            "No import cycles",
            "No cycles are allowed in kitaru_core.waits",
            id="cycle-inside-waits",
        ),
        pytest.param(
            "engine/_runner.py",
            "import pydantic_ai",
            "kitaru_core imports no agent harness",
            "kitaru_core.engine._runner -> pydantic_ai",
            id="core-imports-a-harness",
        ),
    ],
)
def test_an_import_against_the_layers_fails_lint_imports(
    core_copy: Path, module: str, line: str, broken: str, names: str
) -> None:
    _inject(core_copy / "kitaru_core" / module, line)
    proc = _run(_lint_imports(), core_copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = proc.stdout.split("Broken contracts", 1)[-1]
    assert broken in report and names in report, proc.stdout


def test_a_flat_module_without_a_layer_fails_lint_imports(core_copy: Path) -> None:
    (core_copy / "kitaru_core" / "_unplaced.py").write_text('"""Not given a layer."""\n')
    proc = _run(_lint_imports(), core_copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "kitaru_core._unplaced" in proc.stdout


def test_import_kitaru_loads_only_the_decorators_and_the_context() -> None:
    """The function-local imports marked ``# lazy: keeps import kitaru fast`` exist for this."""
    code = "import sys, kitaru; print(sorted(m for m in sys.modules if m.startswith('kitaru')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == str(
        [
            "kitaru",
            "kitaru_core",
            "kitaru_core.api",
            "kitaru_core.api._decorators",
            "kitaru_core.engine",
            "kitaru_core.engine._context",
            "kitaru_core.errors",
        ]
    )


def _adapter_packages() -> tuple[str, ...]:
    """The adapter packages the contract covers (its source modules in pyproject.toml)."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["id"] == "adapters-use-the-toolkit"]
    return tuple(contract["source_modules"])


ADAPTER_PACKAGES = _adapter_packages()


@pytest.fixture
def adapters_copy(tmp_path: Path) -> Path:
    """A copy of kitaru_core and the adapter packages with the repository's adapter contract."""
    import tomli_w

    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "kitaru_core", tmp_path / "kitaru_core", ignore=ignore)
    for package in ADAPTER_PACKAGES:
        shutil.copytree(REPO_ROOT / "adapters" / package, tmp_path / package, ignore=ignore)
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = [c for c in config["contracts"] if c["id"] == "adapters-use-the-toolkit"]
    assert contracts, "the adapter contract is missing from pyproject.toml"
    adapters_only = {
        **config,
        "root_packages": ["kitaru_core", *ADAPTER_PACKAGES],
        "contracts": contracts,
    }
    (tmp_path / "pyproject.toml").write_text(
        tomli_w.dumps({"tool": {"importlinter": adapters_only}})
    )
    return tmp_path


def test_the_adapter_copy_keeps_the_adapter_contract(adapters_copy: Path) -> None:
    """The control for the test below: the adapters as they are import only the toolkit."""
    proc = _run(_lint_imports(), adapters_copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Adapters import only kitaru_core.toolkit" in proc.stdout


@pytest.mark.parametrize(
    ("module", "line", "names"),
    [
        pytest.param(
            "kitaru_pydantic_ai/_tools.py",
            "from kitaru_core.engine import _context",
            "kitaru_pydantic_ai._tools -> kitaru_core.engine._context",
            id="pydantic-ai-imports-the-engine",
        ),
        pytest.param(
            "kitaru_litellm/_completion.py",
            "from kitaru_core.llm._llm import note_usage",
            "kitaru_litellm._completion -> kitaru_core.llm._llm",
            id="litellm-imports-llm",
        ),
    ],
)
def test_an_adapter_importing_a_private_core_module_fails_lint_imports(
    adapters_copy: Path, module: str, line: str, names: str
) -> None:
    _inject(adapters_copy / module, line)
    proc = _run(_lint_imports(), adapters_copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = proc.stdout.split("Broken contracts", 1)[-1]
    assert "Adapters import only kitaru_core.toolkit" in report and names in report, proc.stdout
