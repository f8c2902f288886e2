"""Child executions started from a flow (fan-out).

Starting a child (``child.run(...)`` while a flow runs) is an operation of the parent, of kind
``child``: its identity is the child flow's name, the fingerprint of its arguments and the
ordinal, and its output is the child's execution id. Its body first looks for a child that
this very operation created before (the parent died between creating it and recording the
operation), so a resume never makes a second child. On a local stack the child then runs in a
thread of this process (at most the parent's ``max_concurrency`` at once); on a worker stack
it is queued for the workers. A resume of the parent starts again any child that was
interrupted with it (queued, or running under a dead owner): the child resumes from its own
last checkpoint.

Waiting for children (``handle.wait()`` / :func:`gather` inside a flow) returns their results
once they have all finished. When one of them waits (for a human, say) — or, on a worker stack,
has not finished yet — the parent suspends like at ``kitaru.wait()``: it becomes ``waiting``
and its process lets go of it; the last child to finish moves it to ``queued``
(``Store.wake_parent``), and a worker (or ``kitaru executions resume``) continues it.
"""

from __future__ import annotations

import contextvars
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any, Protocol

from kitaru_core._config import Settings, settings_for_stack
from kitaru_core.engine import _cancel, _context
from kitaru_core.engine._fingerprint import digest
from kitaru_core.engine._runner import continue_execution, create_execution
from kitaru_core.engine._runtime import ExecutionRun, OperationSpec, run_operation
from kitaru_core.errors import (
    ExecutionCancelled,
    ExecutionFailed,
    ExecutionSuspended,
    KitaruError,
)
from kitaru_core.runners._job import needs_worker
from kitaru_core.runners._resolve import runner_for
from kitaru_core.store._backends import current_store
from kitaru_core.store._records import FINISHED_STATUSES, ExecutionRecord

if TYPE_CHECKING:
    from kitaru_core.engine._code import FlowLike

CHILD_KIND = "child"
"""The kind of the operation that starts a child execution (persisted data)."""

POLL_SECONDS = 0.2
"""How often a parent looks at children that run outside this process, and at its own cancel."""


class HasExecId(Protocol):
    """What :func:`gather` takes: a handle of a started execution."""

    @property
    def exec_id(self) -> str: ...


class Children:
    """The children one parent run runs in threads of this process (local stacks)."""

    def __init__(self, limit: int) -> None:
        self._pool = ThreadPoolExecutor(max(1, limit), thread_name_prefix="kitaru-child")
        self._running: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()

    def launch(self, exec_id: str, *, settings: Settings, action: str = "resume") -> None:
        """Resume (or retry) ``exec_id`` in a pool thread, unless this run already runs it.

        The thread starts from an empty context: the child is its own current execution, and
        the store gives each thread its own connection.
        """
        with self._lock:
            running = self._running.get(exec_id)
            if running is not None and not running.done():
                return
            self._running[exec_id] = self._pool.submit(
                contextvars.Context().run, _run_child, exec_id, settings, action
            )

    def running(self, exec_ids: Sequence[str]) -> list[Future[Any]]:
        """The futures of those of ``exec_ids`` that run in this process now."""
        with self._lock:
            found = [self._running.get(exec_id) for exec_id in exec_ids]
        return [future for future in found if future is not None and not future.done()]

    def refused(self, exec_id: str) -> KitaruError | None:
        """Why this run's last attempt to run ``exec_id`` here stopped before running it (its
        code cannot be imported here, its stack is down...), if it did."""
        with self._lock:
            future = self._running.get(exec_id)
        if future is None or not future.done():
            return None
        result = future.result()
        return result if isinstance(result, KitaruError) else None

    def close(self) -> None:
        """Let the threads finish their children; take no new ones."""
        self._pool.shutdown(wait=False)


def _run_child(exec_id: str, settings: Settings, action: str) -> KitaruError | None:
    """Run the child here; the error that kept it from running, if one did (the parent reads
    how it ended from its status)."""
    store = current_store(settings)
    try:
        continue_execution(exec_id, store=store, settings=settings, action=action)
    except KitaruError as exc:
        return exc
    finally:
        store.release_thread()  # the pool thread may end: give its connection back
    return None


_children: weakref.WeakKeyDictionary[ExecutionRun, Children] = weakref.WeakKeyDictionary()
_children_lock = threading.Lock()


def children_of(run: ExecutionRun) -> Children:
    """The thread pool of ``run``'s children, made on first use."""
    with _children_lock:
        found = _children.get(run)
        if found is None:
            found = _children[run] = Children(run.max_concurrency)
            weakref.finalize(run, found.close)
        return found


# starting -----------------------------------------------------------------------------------


def child_settings(flow: FlowLike, stack: str | None, parent: ExecutionRun) -> Settings:
    """The settings a child runs with: its own stack when one is given, else the parent's.

    A child lives in its parent's store (that is where the link is); a stack with another
    store is refused.
    """
    name = stack or getattr(flow, "stack", None)
    settings = settings_for_stack(name) if name else parent.settings
    if settings.stack.store_url != parent.settings.stack.store_url:
        raise KitaruError(
            f"Flow {flow.name!r} cannot run as a child of execution {parent.exec_id} on stack "
            f"{settings.stack.name!r}: a child is recorded in its parent's store, and stack "
            f"{settings.stack.name!r} uses another one. Start it on stack "
            f"{parent.settings.stack.name!r}, or outside the flow."
        )
    return settings


def start_child(
    run: ExecutionRun,
    flow: FlowLike,
    arguments: dict[str, Any],
    fingerprint: tuple[str, str],
    *,
    stack: str | None = None,
    detached: bool = False,
) -> tuple[str, Settings]:
    """Start (or, on resume, find again) a child execution of ``run``; its id and settings.

    ``fingerprint`` is ``(fingerprint, canonical input text)`` of the child's arguments. The
    operation's fingerprint hashes them with the kind, so a checkpoint that shares the child
    flow's name and arguments is never taken for the child (or the child for it) when threads
    call them in another order on resume.
    """
    settings = child_settings(flow, stack, run)
    spec = OperationSpec(name=flow.name, kind=CHILD_KIND)
    identity = digest(f"{CHILD_KIND}:{fingerprint[0]}")

    def create() -> str:
        scope = _context.current_operation()
        assert scope is not None  # the body runs inside its operation
        existing = run.store.find_child(run.exec_id, scope.op_id)
        if existing is not None:
            return existing.exec_id
        child = create_execution(
            flow,
            arguments,
            settings=settings,
            queued=True,
            parent=(run.exec_id, scope.op_id),
            detached=detached,
        )
        return child.exec_id  # set going below, once the operation is recorded

    exec_id: str = run_operation(run, spec, identity, fingerprint[1], create)
    record = run.store.get_execution(exec_id)
    if needs_worker(record):
        _set_going(run, record, settings)
    return exec_id, settings


def _set_going(run: ExecutionRun, record: ExecutionRecord, settings: Settings) -> None:
    """Have a child that needs running run: in a thread here, or queued for the workers."""
    runner = runner_for(settings)
    if runner.in_process:
        children_of(run).launch(record.exec_id, settings=settings)
    else:  # queued for the workers (again, when a worker died in it: a queue deduplicates)
        runner.submit(record.exec_id)


def retry_child(run: ExecutionRun, exec_id: str, settings: Settings) -> None:
    """Run a failed child of ``run`` again (``handle.retry()`` inside a flow)."""
    record = run.store.get_execution(exec_id)
    if record.status != "failed":
        raise KitaruError(
            f"Cannot retry child execution {exec_id}: it is {record.status}; only a failed "
            "child can be retried."
        )
    # Queued first, so a wait right after it never reads the failure it replaces.
    if run.store.transition(
        exec_id, to="queued", from_statuses=("failed",), error=None, updated_at=time.time()
    ):
        _set_going(run, run.store.get_execution(exec_id), settings)


# waiting ------------------------------------------------------------------------------------


def await_children(run: ExecutionRun, exec_ids: Sequence[str]) -> list[ExecutionRecord]:
    """The children's records once each has finished, or the parent suspends.

    On a local stack this blocks while children run (in this process, or another live one);
    a child that waits for input suspends the parent. On a worker stack the parent suspends
    at once while any child has not finished, releasing its worker.
    """
    in_process = runner_for(run.settings).in_process
    ids = list(dict.fromkeys(exec_ids))
    while True:
        _cancel.raise_if_cancelled(run, run.store.get_execution(run.exec_id))
        records = {exec_id: run.store.get_execution(exec_id) for exec_id in ids}
        unfinished = [r for r in records.values() if not _settled(r)]
        if not unfinished:
            break
        if not in_process:
            for record in unfinished:
                if needs_worker(record) and record.status != "queued":
                    runner_for(run.settings).submit(record.exec_id)
            raise ExecutionSuspended(run.exec_id, children=tuple(r.exec_id for r in unfinished))
        for record in unfinished:
            if needs_worker(record):
                refused = children_of(run).refused(record.exec_id)
                if refused is not None:
                    raise KitaruError(
                        f"Child execution {record.exec_id} (flow {record.flow_name!r}) of "
                        f"execution {run.exec_id} cannot run here: {refused}"
                    ) from refused
                children_of(run).launch(record.exec_id, settings=run.settings)
        futures = children_of(run).running([r.exec_id for r in unfinished])
        if futures:
            wait_futures(futures, timeout=POLL_SECONDS)
        else:
            time.sleep(POLL_SECONDS)  # running in another live process
    ordered = [records[exec_id] for exec_id in exec_ids]
    for record in ordered:
        _raise_for_child(run, record)
    waiting = tuple(r.exec_id for r in ordered if r.status == "waiting")
    if waiting:
        raise ExecutionSuspended(run.exec_id, children=tuple(dict.fromkeys(waiting)))
    return ordered


def _settled(record: ExecutionRecord) -> bool:
    """Finished for good (not a failure of a dead process, which a resume continues), or
    waiting for input."""
    if needs_worker(record):
        return False
    return record.status in FINISHED_STATUSES or record.status == "waiting"


def _raise_for_child(run: ExecutionRun, record: ExecutionRecord) -> None:
    """Raise what a failed or cancelled child stands for in its parent."""
    if record.status == "failed":
        error = record.error or {}
        raise ExecutionFailed(
            record.exec_id,
            f"{error.get('type', 'Error')}: {error.get('message', '')} (flow "
            f"{record.flow_name!r}, a child of execution {run.exec_id})",
            "Catch kitaru.ExecutionFailed in the parent and call handle.retry(), or fix the "
            f"cause and `kitaru executions retry {record.exec_id}`, then resume the parent.",
        )
    if record.status == "cancelled":
        raise ExecutionCancelled(
            f"Child execution {record.exec_id} (flow {record.flow_name!r}) of execution "
            f"{run.exec_id} was cancelled.",
            exec_id=record.exec_id,
        )


def in_flow() -> ExecutionRun | None:
    """The parent run when called from a flow's body (outside any operation), else None."""
    return _context.durable_run()
