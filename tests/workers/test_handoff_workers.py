"""Hand-off on a worker stack (issue 13): a replay or a resume that the server hands off is
queued for the stack's workers instead of run in the caller, and a worker runs it."""

from __future__ import annotations

import pytest
from conftest import LEASE, Workers, wait_for

from kitaru_core._config import load_settings
from kitaru_core.client import KitaruClient
from kitaru_core.client._handoff import hand_off, hand_off_replay, handoff_log_path
from kitaru_core.errors import ExecutionSuspended

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_replay_and_resume_are_queued_for_the_workers(
    workers: Workers, worker_stack: dict[str, str]
) -> None:
    import worker_flows

    from kitaru_core.runners import runner_for

    workers.start("--concurrency", "2")
    runner = runner_for(load_settings())
    wait_for(lambda: runner.live_workers(LEASE * 5) > 0, 60, "the worker to register")
    waiting = worker_flows.approve_then_double.run(21)
    with pytest.raises(ExecutionSuspended):
        waiting.wait(timeout=60)
    client = KitaruClient()
    settings = load_settings()

    # A waiting execution handed off for resume is queued (not run here); with no answer it
    # suspends again at its wait.
    hand_off(client.store, settings, waiting.exec_id, "resume")
    wait_for(lambda: client.executions.get(waiting.exec_id).run_count >= 2, 60, "a worker run")
    wait_for(lambda: waiting.status == "waiting", 30, "the wait to suspend it again")

    client.executions.input(waiting.exec_id, True)
    assert waiting.wait(timeout=60) == 42

    new_id = hand_off_replay(
        client.store, settings, waiting.exec_id, None, {"wait.approve": False}, {}
    )
    replay = client.executions.handle(new_id)
    assert replay.wait(timeout=60) == 21
    assert client.executions.get(new_id).original_exec_id == waiting.exec_id
    # Nothing was started as a detached process: the workers ran both.
    assert not handoff_log_path(settings, new_id, "resume").exists()
    assert not handoff_log_path(settings, waiting.exec_id, "resume").exists()
