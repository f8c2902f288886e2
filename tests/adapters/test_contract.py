"""The adapter contract test kit (kitaru_core.testing) run for each adapter of this repository.

Each adapter passes the same checks: a SIGKILL and a resume in a fresh process repeat no
completed model or tool call, reused calls count as saved cost, and operation names are the
ones the adapter declares (also on executions recorded by earlier versions).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import legacy_stores
import pytest

import kitaru
from kitaru_core import testing

SCRIPTS = Path(__file__).parent / "scripts"
FIXTURES = Path(__file__).parent / "fixtures"


def contract(harness: str) -> testing.AdapterContract:
    names = importlib.import_module(f"kitaru_{harness}._names").OPERATION_NAMES
    if harness == "pydantic_ai":
        return testing.AdapterContract("pydantic_ai", SCRIPTS / "contract_pydantic_ai.py", names, 3)
    return testing.AdapterContract("litellm", SCRIPTS / "contract_litellm.py", names, 2)


HARNESSES = [("pydantic_ai", "pydantic_ai"), ("litellm", "litellm")]


@pytest.mark.slow
@pytest.mark.parametrize(("harness", "requires"), HARNESSES)
def test_adapter_keeps_the_contract(
    harness: str, requires: str, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    pytest.importorskip(requires)
    execution = testing.check_contract(contract(harness), subprocess_env, tmp_path)
    assert execution.status == "completed"


@pytest.mark.parametrize(
    ("store", "exec_id"),
    [
        ("legacy_pydantic_ai_store", "kr-01m8s1w1kjkvv8dpz6eh7bq17c"),
        ("legacy_autoflow_store", "kr-01m8s3yhbc07hkcryvkgnkdycq"),
    ],
)
def test_executions_recorded_by_earlier_versions_use_the_pinned_names(
    store: str, exec_id: str, kitaru_home: Path
) -> None:
    pytest.importorskip("pydantic_ai")
    legacy_stores.restore(store, kitaru_home)
    execution = kitaru.KitaruClient().executions.get(exec_id)
    assert execution.operations
    testing.check_operation_names_pinned(contract("pydantic_ai"), execution)


def test_a_renamed_operation_breaks_the_pinned_names(kitaru_home: Path) -> None:
    pytest.importorskip("pydantic_ai")
    legacy_stores.restore("legacy_pydantic_ai_store", kitaru_home)
    execution = kitaru.KitaruClient().executions.get("kr-01m8s1w1kjkvv8dpz6eh7bq17c")
    renamed = dict(contract("pydantic_ai").operation_names)
    renamed["llm"] = ("*__model.call",)  # as if the adapter renamed its model requests
    changed = testing.AdapterContract("renamed", Path("unused"), renamed)
    with pytest.raises(testing.ContractViolation, match=r"legacy_agent__model\.request"):
        testing.check_operation_names_pinned(changed, execution)
