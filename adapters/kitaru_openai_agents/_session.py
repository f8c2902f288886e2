"""A ``Session`` on resume holds what it held when the run began.

The SDK reads a session's items into each run's input and appends the run's new items. A
crashed attempt may have appended some: read back on resume they would change the input of
recorded model requests (which then run, and are paid for, again) and be appended twice. So
the first run records how many items the session held when it began (an operation), and a
resume drops the items added after that before running again.
"""

from __future__ import annotations

from typing import Any

from kitaru_core import toolkit


async def restore(runner: str, session: Any) -> None:
    """Record (first run) or restore (resume) the session's length at the start of a run."""
    if not toolkit.in_durable_unit():
        return
    held = len(await session.get_items())

    async def count() -> int:
        return held

    started = await toolkit.arun_operation(
        f"{runner}__session.start",
        count,
        kind="openai_agents",
        inputs={"session": getattr(session, "session_id", None)},
    )
    for _ in range(held - int(started)):
        await session.pop_item()
