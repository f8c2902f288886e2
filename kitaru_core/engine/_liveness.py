"""No execution stays ``running`` after its process died.

Ownership of a running execution is a lease (``owner`` + ``lease_expires_at``, renewed by a
heartbeat). When a read finds a ``running`` execution whose owner is provably gone (a dead pid on
this host, or a lease that expired), it records what happened: the execution becomes ``failed``
with the error type :data:`PROCESS_DIED` and a message that says how to continue. The write is
conditional on the owner being unchanged, so it never touches an execution another process has
claimed meanwhile. ``resume`` (and ``retry``) continue such an execution from its last completed
operation, exactly as they would have continued the stranded ``running`` one.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from kitaru_core.engine._lease import owner_alive
from kitaru_core.store._records import ExecutionRecord
from kitaru_core.store._store import Store

PROCESS_DIED = "kitaru.ProcessDied"
"""``error["type"]`` of an execution whose process died while running it."""


def died_error(record: ExecutionRecord) -> dict[str, Any]:
    """The stored error of an execution whose owner is gone."""
    return {
        "type": PROCESS_DIED,
        "message": (
            f"The process running this execution ({record.owner}) died or lost its lease. "
            f"Completed operations are kept; resume with `kitaru executions resume "
            f"{record.exec_id}`."
        ),
        "traceback": "",
    }


def reconcile(store: Store, record: ExecutionRecord) -> ExecutionRecord:
    """``record``, marked failed in the store first if it is ``running`` under a dead owner."""
    if record.status != "running" or owner_alive(record.owner, record.lease_expires_at):
        return record
    if record.owner is None:
        return record  # no owner to compare against; leave it to claim_execution
    now = time.time()
    fields: dict[str, Any] = {
        "status": "failed",
        "error": died_error(record),
        "owner": None,
        "lease_expires_at": None,
        "updated_at": now,
        "ended_at": now,
    }
    if store.read_only:
        return dataclasses.replace(record, **fields)  # shown as it is, recorded by a writer
    if store.update_execution(record.exec_id, expected_owner=record.owner, **fields):
        for name, value in fields.items():
            setattr(record, name, value)
        return record
    return store.get_execution(record.exec_id)
