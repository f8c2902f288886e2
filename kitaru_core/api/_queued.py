"""Starting a flow on a worker stack: queue it (now or later) and hand back its handle."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kitaru_core._config import Settings
from kitaru_core.client._handle import FlowHandle
from kitaru_core.runners._queue import queue_execution
from kitaru_core.runners._resolve import runner_for
from kitaru_core.store._backends import current_store

if TYPE_CHECKING:
    from kitaru_core.engine._code import FlowLike


def queue_on_workers(
    flow: FlowLike,
    arguments: dict[str, Any],
    settings: Settings,
    *,
    not_before: float | None = None,
) -> FlowHandle | None:
    """The handle of a queued execution, or None when the stack runs flows in this process."""
    runner = runner_for(settings)
    if runner.in_process:
        if not_before is None:
            return None
        runner.submit("", not_before=not_before)  # refuses, before anything is recorded
    exec_id = queue_execution(flow, arguments, settings=settings, not_before=not_before)
    return FlowHandle(exec_id, store=current_store(settings), settings=settings)


def start_time(at: datetime | float | None, delay: float | None) -> float | None:
    """The Unix time a run given ``at`` (datetime or Unix time) or ``delay`` (seconds) starts."""
    if at is not None and delay is not None:
        raise ValueError("Give at= or delay=, not both.")
    if delay is not None:
        if not (isinstance(delay, int | float) and math.isfinite(delay) and delay >= 0):
            raise ValueError(f"delay= must be a number of seconds, zero or more, not {delay!r}.")
        return time.time() + float(delay)
    if at is None:
        return None
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError(
                f"at={at!r} has no time zone; pass an aware datetime, e.g. "
                "datetime.now(timezone.utc) + timedelta(minutes=5)."
            )
        return at.timestamp()
    if isinstance(at, int | float) and math.isfinite(at):
        return float(at)
    raise ValueError(f"at= must be a datetime or a Unix time, not {at!r}.")
