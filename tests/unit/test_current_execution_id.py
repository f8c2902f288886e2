"""kitaru.current_execution_id(): the running execution's id, so a flow can print it."""

from __future__ import annotations

import pytest

import kitaru


def test_current_execution_id_is_the_running_executions_id() -> None:
    seen: list[str] = []

    @kitaru.checkpoint
    def step() -> str:
        seen.append(kitaru.current_execution_id())
        return "done"

    @kitaru.flow
    def outer() -> str:
        seen.append(kitaru.current_execution_id())
        return step()

    handle = outer.run()
    assert seen == [handle.exec_id, handle.exec_id]


def test_current_execution_id_outside_a_flow_says_so() -> None:
    with pytest.raises(kitaru.KitaruError, match=r"current_execution_id\(\) must be called"):
        kitaru.current_execution_id()
