"""The job a worker runs for one execution, whatever queue delivered it."""

from __future__ import annotations

import fnmatch
import time

from kitaru_core._config import Settings
from kitaru_core.engine._lease import owner_alive
from kitaru_core.engine._liveness import PROCESS_DIED
from kitaru_core.engine._runner import continue_execution
from kitaru_core.errors import (
    ExecutionBusy,
    ExecutionNotFound,
    ExecutionTakenOver,
    FlowNotFound,
    InvalidExecutionState,
)
from kitaru_core.hooktypes import JobOutcome
from kitaru_core.runners._resolve import runner_for
from kitaru_core.store._backends import current_store
from kitaru_core.store._records import FINISHED_STATUSES, ExecutionRecord


def needs_worker(record: ExecutionRecord) -> bool:
    """Whether a worker should run ``record``: queued, or running/failed under a dead owner."""
    if record.status == "queued":
        return True
    if record.status == "running":
        return not owner_alive(record.owner, record.lease_expires_at)
    return record.status == "failed" and (record.error or {}).get("type") == PROCESS_DIED


def run_job(exec_id: str, *, settings: Settings, flows: str | None = None) -> JobOutcome:
    """Run (or take over) execution ``exec_id`` in this thread until it stops.

    ``flows`` is a ``fnmatch`` pattern of the flow names this worker runs; an execution of
    another flow, or one whose code cannot be imported here, is declined.
    """
    store = current_store(settings)
    try:
        record = store.get_execution(exec_id)
    except ExecutionNotFound:
        return JobOutcome("skipped", message=f"execution {exec_id} does not exist")
    if not needs_worker(record):
        return JobOutcome("skipped", message=f"execution {exec_id} is {record.status}")
    if flows and not fnmatch.fnmatchcase(record.flow_name, flows):
        return JobOutcome(
            "declined", message=f"flow {record.flow_name!r} does not match --flows {flows!r}"
        )
    try:
        continue_execution(exec_id, store=store, settings=settings, action="resume")
    except FlowNotFound as exc:
        return JobOutcome("declined", message=str(exc))
    except ExecutionBusy:
        # Another live worker holds the lease; if it dies, a sweep queues the execution again.
        return JobOutcome("skipped", message=f"execution {exec_id} is running elsewhere")
    except (ExecutionTakenOver, InvalidExecutionState) as exc:
        return JobOutcome("skipped", message=str(exc))
    after = store.get_execution(exec_id)
    _continue_parent(after, settings)
    if after.status == "queued":  # released by a drain, or its wait was answered meanwhile
        return JobOutcome("requeue")
    return JobOutcome("waiting" if after.status == "waiting" else "done")


def _continue_parent(record: ExecutionRecord, settings: Settings) -> None:
    """Queue the parent of a child that just finished, when that woke it (its last awaited
    child finished: ``Store.wake_parent`` made it ``queued``), so a worker continues it."""
    if record.parent_exec_id is None or record.status not in FINISHED_STATUSES:
        return
    store = current_store(settings)
    if store.get_execution(record.parent_exec_id).status == "queued":
        runner_for(settings).submit(record.parent_exec_id)


def orphans(settings: Settings, *, older_than: float, limit: int = 500) -> list[str]:
    """Executions that need a worker and were not touched for ``older_than`` seconds.

    A worker submits these again (a queue deduplicates): a crashed worker's execution, a queued
    one whose job was lost, a wait answered where no runner was told.
    """
    store = current_store(settings)
    cutoff = time.time() - older_than
    found: list[str] = []
    for status in ("queued", "running"):
        for record in store.list_executions(status=status, limit=limit):
            stale = record.status == "running" or (record.updated_at or 0.0) <= cutoff
            if stale and needs_worker(record):
                found.append(record.exec_id)
    return found
