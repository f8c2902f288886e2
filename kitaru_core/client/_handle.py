"""FlowHandle: what ``flow.run()``, ``resume``, ``retry`` and ``replay`` give back."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any

from kitaru_core._config import Settings
from kitaru_core.client._models import Execution
from kitaru_core.engine._runner import LocalOutcome, Ran, continue_execution
from kitaru_core.errors import (
    ExecutionCancelled,
    ExecutionFailed,
    ExecutionSuspended,
)
from kitaru_core.runners._fanout import await_children, in_flow, retry_child
from kitaru_core.runners._job import needs_worker
from kitaru_core.runners._queue import WorkerWatch
from kitaru_core.store._records import FINISHED_STATUSES
from kitaru_core.store._store import Store

_POLL_SECONDS = 0.2


class FlowHandle:
    """A started execution. ``wait()`` gives its result; ``get()`` the full record."""

    def __init__(
        self,
        exec_id: str,
        *,
        store: Store,
        settings: Settings,
        outcome: LocalOutcome | None = None,
    ) -> None:
        self.exec_id = exec_id
        self._store = store
        self._settings = settings
        self._outcome = outcome

    @classmethod
    def of(cls, ran: Ran) -> FlowHandle:
        """The handle of an execution whose run in this process has just stopped."""
        run, outcome = ran
        return cls(run.exec_id, store=run.store, settings=run.settings, outcome=outcome)

    @classmethod
    async def of_async(cls, ran: Awaitable[Ran]) -> FlowHandle:
        """:meth:`of` for a run of an async flow."""
        return cls.of(await ran)

    def __repr__(self) -> str:
        return f"FlowHandle({self.exec_id!r}, status={self.status!r})"

    @property
    def status(self) -> str:
        """Current status, read from the store."""
        return self._store.get_execution(self.exec_id).status

    def get(self) -> Execution:
        """The execution with its operations."""
        return Execution.from_record(
            self._store.get_execution(self.exec_id), self._store, self._settings
        )

    def wait(self, timeout: float | None = None) -> Any:
        """The flow's result; raises its error, or ExecutionSuspended when it waits for input.

        Works from any process. On a worker stack it raises :class:`NoWorkerRunning` when the
        execution is queued and no worker has sent a heartbeat lately; an execution whose worker
        died is waited for while another worker takes it over.

        Inside a flow it waits for a child execution: a failed child raises
        :class:`ExecutionFailed` naming it, and when the child waits for input (or, on a worker
        stack, has not finished) the calling flow suspends until it finishes, as at
        ``kitaru.wait()``. ``timeout`` does not apply there.
        """
        parent = in_flow()
        if parent is not None and parent.exec_id != self.exec_id:
            (record,) = await_children(parent, [self.exec_id])
            return Execution.from_record(record, self._store, self._settings).result
        if self._outcome is not None:
            return self._local_result(self._outcome)
        deadline = None if timeout is None else time.monotonic() + timeout
        watch = WorkerWatch(self._settings, self.exec_id)
        while True:
            record = self._store.get_execution(self.exec_id)
            # A parent waiting for its children on a worker stack continues on its own.
            waiting = record.status == "waiting" and (
                not record.awaiting or watch.runner.in_process
            )
            settled = record.status in FINISHED_STATUSES or waiting
            if settled and (watch.runner.in_process or not needs_worker(record)):
                return self.get().result_or_raise()
            if record.status == "queued":
                watch.check()  # nobody runs it: say so instead of waiting forever
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Execution {self.exec_id} is still {record.status} after {timeout}s."
                )
            time.sleep(_POLL_SECONDS)

    def retry(self) -> FlowHandle:
        """Run this failed execution again in the same execution id; its completed operations
        are reused. Inside a flow (a failed child) it starts the child again beside the flow,
        as ``child.run()`` does; elsewhere it runs here, like ``client.executions.retry``."""
        parent = in_flow()
        if parent is not None:
            retry_child(parent, self.exec_id, self._settings)
            return FlowHandle(self.exec_id, store=self._store, settings=self._settings)
        return FlowHandle.of(
            continue_execution(
                self.exec_id, store=self._store, settings=self._settings, action="retry"
            )
        )

    def _local_result(self, outcome: LocalOutcome) -> Any:
        if outcome.status == "completed":
            return outcome.value
        if outcome.error is not None:
            raise outcome.error
        if outcome.status == "waiting":
            raise ExecutionSuspended(self.exec_id)
        if outcome.status == "cancelled":
            raise ExecutionCancelled(
                f"Execution {self.exec_id} was cancelled.", exec_id=self.exec_id
            )
        raise ExecutionFailed(self.exec_id, outcome.status)


def gather(*handles: FlowHandle) -> list[Any]:
    """The results of these executions, in order.

    Inside a flow it waits for child executions together (they run concurrently): the first
    failed one raises :class:`ExecutionFailed` naming it, and while any waits for input (or,
    on a worker stack, has not finished) the flow suspends until they all finish. Outside a
    flow it waits for each in turn (``handle.wait()``).
    """
    parent = in_flow()
    if parent is None:
        return [handle.wait() for handle in handles]
    records = await_children(parent, [handle.exec_id for handle in handles])
    return [
        Execution.from_record(record, handle._store, handle._settings).result
        for record, handle in zip(records, handles, strict=True)
    ]


async def gather_async(*handles: FlowHandle) -> list[Any]:
    """:func:`gather` for async flows: waits in a thread, so the event loop keeps running."""
    import asyncio

    return await asyncio.to_thread(gather, *handles)
