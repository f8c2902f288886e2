"""Handing off an action that runs user code (resume, retry, replay) instead of running it here.

A server (or any other long-lived caller) must not run a flow inside its own request. On a
stack whose runner queues work (``runner.in_process`` is False), the execution is made
``queued`` and submitted to the workers. Otherwise a detached ``python -m kitaru executions
resume|retry ID`` process runs it: a new session, output to ``<home>/logs/``, started in the
folder the caller was started from, with the caller's ``KITARU_*`` environment and stack.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

from kitaru_core._config import Settings
from kitaru_core.engine._code import load_flow
from kitaru_core.engine._lease import owner_alive
from kitaru_core.engine._runner import RESUMABLE
from kitaru_core.errors import ExecutionBusy, InvalidExecutionState
from kitaru_core.replay._replay import ReplayRequest, create_replay
from kitaru_core.runners._resolve import runner_for
from kitaru_core.store._store import Store

Action = Literal["resume", "retry"]


def hand_off(store: Store, settings: Settings, exec_id: str, action: Action) -> None:
    """Have ``exec_id`` resumed or retried elsewhere: by the stack's workers, or a detached
    process. Raises :class:`InvalidExecutionState` or :class:`ExecutionBusy` at once when the
    execution cannot be ``action``-ed, so the caller hears it before anything starts."""
    if action not in RESUMABLE:
        raise ValueError(f"hand_off takes action 'resume' or 'retry', not {action!r}.")
    record = store.get_execution(exec_id)
    allowed = RESUMABLE[action]
    if record.status not in allowed:
        raise InvalidExecutionState(
            f"Cannot {action} execution {exec_id}: it is {record.status}; only "
            f"{', '.join(allowed)} executions can be {action}d."
        )
    alive = record.status == "running" and owner_alive(record.owner, record.lease_expires_at)
    if alive:
        raise ExecutionBusy(
            f"Execution {exec_id} is running in {record.owner}. Wait for it, or cancel it "
            "with `kitaru executions cancel`."
        )
    runner = runner_for(settings)
    if runner.in_process:
        spawn_detached(settings, exec_id, action)
        return
    if record.status in ("failed", "waiting"):
        now = time.time()
        if not store.transition(
            exec_id,
            to="queued",
            from_statuses=(record.status,),
            updated_at=now,
            owner=None,
            lease_expires_at=None,
        ):
            raise ExecutionBusy(f"Execution {exec_id} changed while being queued; try again.")
    runner.submit(exec_id)


def hand_off_replay(
    store: Store,
    settings: Settings,
    exec_id: str,
    from_: str | None,
    overrides: dict[str, Any] | None,
    flow_kwargs: dict[str, Any] | None,
) -> str:
    """Check a replay of ``exec_id`` (raising :class:`InvalidReplay` before anything exists),
    record it ``queued`` and hand it off; the new execution's id."""
    flow = load_flow(store.get_execution(exec_id))
    request = ReplayRequest(exec_id, from_, dict(overrides or {}), dict(flow_kwargs or {}))
    run, _ = create_replay(flow, request, store=store, settings=settings, queued=True)
    hand_off(store, settings, run.exec_id, "resume")
    return run.exec_id


def handoff_log_path(settings: Settings, exec_id: str, action: str) -> Path:
    """Where a detached process's output for ``exec_id`` goes."""
    return settings.home / "logs" / f"{exec_id}-{action}.log"


def spawn_detached(settings: Settings, exec_id: str, action: Action) -> subprocess.Popen[bytes]:
    """Start ``python -m kitaru executions ACTION ID`` in its own session; the caller does not
    wait for it (a daemon thread reaps it when it exits)."""
    log_path = handoff_log_path(settings, exec_id, action)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "KITARU_HOME": str(settings.home),
        "KITARU_STACK": settings.stack.name,
        "KITARU_STORE_URL": settings.stack.store_url,
        "KITARU_ARTIFACT_URL": settings.stack.artifact_url,
        "KITARU_DURABILITY": settings.durability,
    }
    command = [sys.executable, "-m", "kitaru", "executions", action, exec_id]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=os.getcwd(),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    threading.Thread(target=process.wait, name=f"kitaru-reap-{exec_id}", daemon=True).start()
    return process
