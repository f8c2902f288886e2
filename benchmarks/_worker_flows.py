"""Flows that benchmarks/workers.py queues; ``kitaru worker`` processes import them by name."""

from __future__ import annotations

import time

import kitaru
from kitaru import checkpoint, flow


@checkpoint
def call_tool(i: int, pause: float) -> int:
    """An I/O-bound checkpoint: the time a model or tool call spends waiting."""
    time.sleep(pause)
    return i


@flow
def io_bound(steps: int, pause: float) -> int:
    return sum(call_tool(i, pause) for i in range(steps))


@flow
def approve() -> bool:
    return bool(kitaru.wait(bool, name="approve"))
