"""Noticing, inside a running flow, that its execution was cancelled from elsewhere.

``client.executions.cancel`` only writes the store. The running process finds out at its next
operation boundary: :func:`check` reads the execution at most once every :data:`CHECK_EVERY`
seconds (so the hot path pays a clock read, not a query) and raises
:class:`~kitaru_core.errors.ExecutionCancelled`, which unwinds the flow without being retried or
recorded as a failure. A wait that polls for input checks on every poll.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from kitaru_core.engine._drain import raise_if_draining
from kitaru_core.errors import ExecutionCancelled, ExecutionTakenOver

if TYPE_CHECKING:
    from kitaru_core.engine._runtime import ExecutionRun
    from kitaru_core.store._records import ExecutionRecord

CHECK_EVERY = 1.0
"""Seconds between two store reads of one execution's status at operation boundaries."""


def raise_if_cancelled(run: ExecutionRun, record: ExecutionRecord) -> None:
    """Raise when ``record`` says the execution was cancelled, or taken over by another run."""
    if record.status == "cancelled":
        raise ExecutionCancelled(f"Execution {run.exec_id} was cancelled.", exec_id=run.exec_id)
    if record.owner != run.owner:
        raise ExecutionTakenOver(run.exec_id, new_owner=record.owner, status=record.status)


def check(run: ExecutionRun) -> None:
    """Raise ExecutionCancelled if the execution was cancelled (throttled store read), or
    ExecutionReleased when this worker is draining."""
    raise_if_draining(run.exec_id)
    now = time.monotonic()
    if now < run.next_cancel_check:
        return
    run.next_cancel_check = now + CHECK_EVERY
    raise_if_cancelled(run, run.store.get_execution(run.exec_id))
