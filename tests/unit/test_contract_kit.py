"""The contract test kit itself (kitaru_core.testing), on a bare install: a small fake adapter
built on the toolkit passes it, and the same adapter with a defect fails the check that the
defect breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitaru_core import testing

FAKE_ADAPTER = '''
"""A fake harness adapter on the toolkit: `ask` is a model call, `look` a tool call."""
import os
import time

import kitaru
from kitaru import toolkit
from kitaru_core import testing

VOLATILE = os.environ.get("FAKE_VOLATILE_IDENTITY") == "1"
NO_USAGE = os.environ.get("FAKE_NO_USAGE") == "1"
PREFIX = os.environ.get("FAKE_PREFIX", "fake")


def ask(question):
    def call():
        testing.note_call("model " + question)
        if not NO_USAGE:
            toolkit.report_usage("fake-model", 10, 5, cost=0.01)
        return "answer " + question
    inputs = {"q": question, "at": time.time() if VOLATILE else None}
    return toolkit.run_operation(PREFIX + "__model.request", call, kind="llm", inputs=inputs)


def look(topic):
    def call():
        testing.note_call("tool " + topic)
        return "notes " + topic
    return toolkit.run_operation(PREFIX + "__tool:look", call, kind="tool", inputs=topic)


@kitaru.flow
def scenario():
    return [look(ask(q)) for q in ("a", "b", "c")]


if __name__ == "__main__":
    testing.arm_kill_switch()
    print(scenario())
'''

NAMES = {"llm": ("fake__model.request",), "tool": ("fake__tool:*",)}


@pytest.fixture
def fake_adapter(tmp_path: Path) -> Path:
    script = tmp_path / "fake_adapter.py"
    script.write_text(FAKE_ADAPTER)
    return script


def contract(script: Path, **env: str) -> testing.AdapterContract:
    return testing.AdapterContract("fake", script, NAMES, kill_after=3, extra_env=env)


@pytest.mark.slow
def test_an_adapter_on_the_toolkit_keeps_the_contract(
    fake_adapter: Path, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    execution = testing.check_contract(contract(fake_adapter), subprocess_env, tmp_path)
    assert [op.reused for op in execution.operations] == [True] * 3 + [False] * 3
    assert execution.cost_saved == pytest.approx(0.02)


@pytest.mark.slow
def test_an_identity_that_changes_on_resume_fails_the_no_repeat_check(
    fake_adapter: Path, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    broken = contract(fake_adapter, FAKE_VOLATILE_IDENTITY="1")  # a timestamp in the identity
    with pytest.raises(testing.ContractViolation, match="repeated completed calls"):
        testing.check_contract(broken, subprocess_env, tmp_path)


@pytest.mark.slow
def test_model_calls_without_usage_fail_the_saved_cost_check(
    fake_adapter: Path, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    broken = contract(fake_adapter, FAKE_NO_USAGE="1")
    with pytest.raises(testing.ContractViolation, match="saved 0"):
        testing.check_contract(broken, subprocess_env, tmp_path)


@pytest.mark.slow
def test_an_undeclared_operation_name_fails_the_pinned_names_check(
    fake_adapter: Path, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    renamed = contract(fake_adapter, FAKE_PREFIX="renamed")
    with pytest.raises(testing.ContractViolation, match=r"renamed__model\.request"):
        testing.check_contract(renamed, subprocess_env, tmp_path)
