"""Queueing an execution on a worker stack, and noticing when no worker will run it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from kitaru_core._config import Settings
from kitaru_core.engine._runner import create_execution
from kitaru_core.errors import NoWorkerRunning
from kitaru_core.runners._resolve import runner_for

if TYPE_CHECKING:
    from kitaru_core.engine._code import FlowLike
    from kitaru_core.engine._snapshots import DeploymentPin


def queue_execution(
    flow: FlowLike,
    arguments: dict[str, Any],
    *,
    settings: Settings,
    not_before: float | None = None,
    deployment: DeploymentPin | None = None,
) -> str:
    """Record a ``queued`` execution of ``flow`` (of ``deployment``, when it is one) and hand
    it to the stack's runner."""
    runner = runner_for(settings)
    run = create_execution(flow, arguments, settings=settings, queued=True, deployment=deployment)
    runner.submit(run.exec_id, not_before=not_before)
    return run.exec_id


def heartbeat_window(settings: Settings) -> float:
    """How recent a worker's heartbeat must be for it to count as alive."""
    return settings.lease_seconds


GRACE_SECONDS = 5.0
"""How long a waiter gives a worker that is starting up before saying none is running."""


class WorkerWatch:
    """Says so when no worker will run a queued execution that a caller waits for.

    It raises once no worker was alive for :data:`GRACE_SECONDS` (or the heartbeat window,
    if shorter) of the wait, so a worker started together with the caller is given time.
    """

    def __init__(self, settings: Settings, exec_id: str) -> None:
        self.settings = settings
        self.exec_id = exec_id
        self.runner = runner_for(settings)
        self._next = 0.0
        self._none_since: float | None = None

    def check(self) -> None:
        """Check at most every half second."""
        now = time.monotonic()
        if self.runner.in_process or now < self._next:
            return
        self._next = now + 0.5
        within = heartbeat_window(self.settings)
        if self.runner.live_workers(within) > 0:
            self._none_since = None
            return
        if self._none_since is None:
            self._none_since = now
        if now - self._none_since >= min(GRACE_SECONDS, within):
            raise NoWorkerRunning(self.exec_id, self.settings.stack.name, within)
