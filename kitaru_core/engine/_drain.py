"""Worker mode: waits suspend at once, and a draining worker lets its executions go.

A ``kitaru worker`` process calls :func:`enter_worker_mode`. There an unanswered ``wait()``
suspends at once instead of polling, so a waiting execution holds no worker. On SIGTERM the
worker calls :func:`drain`: every execution it runs stops at its next operation boundary (the
operation in flight finishes and is recorded), raising
:class:`~kitaru_core.errors.ExecutionReleased`, and is recorded ``queued`` with no owner.
"""

from __future__ import annotations

import threading

from kitaru_core.errors import ExecutionReleased

_draining = threading.Event()
_worker_mode = False


def enter_worker_mode() -> None:
    """Make this process a worker: waits do not hold it (see the module docstring)."""
    global _worker_mode
    _worker_mode = True
    _draining.clear()


def in_worker_mode() -> bool:
    """Whether this process is a ``kitaru worker``."""
    return _worker_mode


def drain() -> None:
    """Ask every execution this process runs to stop after its operation in flight."""
    _draining.set()


def draining() -> bool:
    """Whether :func:`drain` was called."""
    return _draining.is_set()


def raise_if_draining(exec_id: str) -> None:
    """Raise :class:`ExecutionReleased` when this worker is draining."""
    if _draining.is_set():
        raise ExecutionReleased(exec_id)
