"""Flows the worker tests queue; ``kitaru worker`` processes import them by name.

Every checkpoint body appends ``exec_id step pid start|end`` to the file named by
``KITARU_TEST_MARKS`` (one short ``O_APPEND`` write per line), so a test counts how often each
checkpoint really ran, and in which worker. A worker started with ``KITARU_TEST_DIE_AT_MARK=N``
SIGKILLs itself right after writing a start mark once the file holds N lines: it dies with that
checkpoint in flight, at an exact point.
"""

from __future__ import annotations

import os
import signal
import time

import kitaru
from kitaru import checkpoint, flow

if os.environ.get("KITARU_TEST_CANNOT_IMPORT"):  # a worker that lacks this flow's code
    raise ImportError("worker_flows is not deployed on this worker")

STEPS = 20
BLOB = 70 * 1024  # above the inline limit: the last step's output goes to the artifact store


def _mark(step: int, phase: str) -> None:
    path = os.environ.get("KITARU_TEST_MARKS")
    if not path:
        return
    line = f"{kitaru.current_execution_id()} {step} {os.getpid()} {phase}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    die_at = os.environ.get("KITARU_TEST_DIE_AT_MARK")
    if phase == "start" and die_at:
        with open(path) as marks:
            if sum(1 for _ in marks) >= int(die_at):
                os.kill(os.getpid(), signal.SIGKILL)  # this worker dies inside a checkpoint


@checkpoint
def work(n: int, step: int, pause: float) -> int:
    _mark(step, "start")
    time.sleep(pause)  # I/O-bound, like a model or tool call
    _mark(step, "end")
    return n * 100 + step


@checkpoint
def blob(n: int) -> str:
    _mark(STEPS, "start")
    value = str(n) * BLOB
    _mark(STEPS, "end")
    return value


@flow
def twenty_steps(n: int, pause: float = 0.05) -> int:
    """20 checkpoints; the result is known in advance: :func:`expected`."""
    total = sum(work(n, step, pause) for step in range(STEPS))
    return total + len(blob(n)) // BLOB


def expected(n: int) -> int:
    return sum(n * 100 + step for step in range(STEPS)) + len(str(n))


@flow
def approve_then_double(n: int) -> int:
    """Waits for a bool; on a worker the wait suspends at once and holds no worker."""
    ok = kitaru.wait(bool, name="approve", question=f"Double {n}?")
    return n * 2 if ok else n


@flow
def started_at() -> float:
    """When its body began (a delayed run must not begin before its time)."""
    return time.time()
