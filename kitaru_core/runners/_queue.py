"""Queueing an execution on a worker stack, and noticing when no worker will run it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from kitaru_core._config import Settings
from kitaru_core.engine._runner import create_execution
from kitaru_core.errors import NoWorkerRunning
from kitaru_core.hooktypes import Runner
from kitaru_core.runners._resolve import runner_for

if TYPE_CHECKING:
    from kitaru_core.engine._code import FlowLike


def queue_execution(
    flow: FlowLike,
    arguments: dict[str, Any],
    *,
    settings: Settings,
    not_before: float | None = None,
) -> str:
    """Record a ``queued`` execution of ``flow`` and hand it to the stack's runner."""
    runner = runner_for(settings)
    run = create_execution(flow, arguments, settings=settings, queued=True)
    runner.submit(run.exec_id, not_before=not_before)
    return run.exec_id


def heartbeat_window(settings: Settings) -> float:
    """How recent a worker's heartbeat must be for it to count as alive."""
    return settings.lease_seconds


def check_workers(runner: Runner, settings: Settings, exec_id: str) -> None:
    """Raise :class:`NoWorkerRunning` when no worker of the stack sent a heartbeat lately."""
    within = heartbeat_window(settings)
    if runner.live_workers(within) == 0:
        raise NoWorkerRunning(exec_id, settings.stack.name, within)


class WorkerWatch:
    """Throttled :func:`check_workers` for a loop that waits on a queued execution."""

    def __init__(self, settings: Settings, exec_id: str) -> None:
        self.settings = settings
        self.exec_id = exec_id
        self.runner = runner_for(settings)
        self._next = 0.0

    def check(self) -> None:
        """Check at most once per third of the heartbeat window."""
        now = time.monotonic()
        if self.runner.in_process or now < self._next:
            return
        self._next = now + heartbeat_window(self.settings) / 3
        check_workers(self.runner, self.settings, self.exec_id)
