"""Cron-style schedules of flows: checking them, and starting the run due at a given time.

A runner that implements :class:`~kitaru_core.hooktypes.Scheduler` stores schedules and tells
its workers when a run is due; it must start each due time once, however many workers run.
The ``workers`` runner does so with Procrastinate's periodic-job table.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import time
from collections.abc import Iterator
from typing import Any

from kitaru_core._config import Settings
from kitaru_core.engine._code import load_flow
from kitaru_core.engine._runner import create_execution
from kitaru_core.errors import ConfigurationError, ExecutionExists, FlowNotFound
from kitaru_core.hooktypes import JobOutcome, Schedule, Scheduler
from kitaru_core.runners._job import run_job
from kitaru_core.runners._resolve import runner_for
from kitaru_core.store._backends import current_store
from kitaru_core.store._ids import scheduled_exec_id
from kitaru_core.store._records import ExecutionRecord

MAX_CATCH_UP = 60.0
"""A worker that starts late starts runs due at most this many seconds ago (once each)."""


def _croniter(cron: str, start: float) -> Any:
    try:
        from croniter import croniter
    except ImportError as exc:  # comes with Procrastinate
        raise ConfigurationError("Schedules need croniter: pip install 'kitaru[workers]'.") from exc
    return croniter(cron, start)


def check_cron(cron: str) -> str:
    """``cron`` if it is a valid 5- or 6-field expression, else a clear error."""
    try:
        _croniter(cron, time.time()).get_next(float)
    except (ValueError, KeyError) as exc:
        raise ConfigurationError(
            f"{cron!r} is not a cron expression ({exc}). Use five fields, minute hour day "
            "month weekday (e.g. '*/15 * * * *'), or six with seconds last ('* * * * * */10')."
        ) from exc
    return cron


def due_times(cron: str, since: float, until: float) -> Iterator[int]:
    """The times in ``(since, until]`` that ``cron`` names, as whole Unix seconds."""
    it = _croniter(cron, since)
    while True:
        at = round(it.get_next(float))
        if at > until:
            return
        yield int(at)


def scheduler_for(settings: Settings) -> Scheduler:
    """The stack's runner as a :class:`Scheduler`, or a clear error."""
    runner = runner_for(settings)
    if not isinstance(runner, Scheduler):
        raise ConfigurationError(
            f"Stack {settings.stack.name!r} uses runner {runner.name!r}, which keeps no "
            'schedules. Schedules run on a worker stack: runner = "workers".'
        )
    return runner


def make_schedule(name: str, cron: str, flow: Any, arguments: dict[str, Any]) -> Schedule:
    """A schedule of ``flow`` (a ``@flow``), checked: cron, arguments, JSON data."""
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ConfigurationError(
            f"Schedule name {name!r}: use letters, digits, '-', '_' and '.' only."
        )
    try:
        flow.signature.bind(**arguments)
        json.dumps(arguments, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"The arguments {arguments!r} do not fit flow {flow.name!r} as JSON keyword "
            f"arguments: {exc}."
        ) from exc
    return Schedule(
        name=name,
        cron=check_cron(cron),
        flow_ref=flow.ref,
        flow_name=flow.name,
        arguments=arguments,
        created_at=time.time(),
        flow_file=flow.file,
        code_dir=flow.code_dir,
    )


def fire(schedule: Schedule, due: int, *, settings: Settings, flows: str | None) -> JobOutcome:
    """Record the run of ``schedule`` due at ``due`` and run it in this thread."""
    try:
        flow = load_flow(
            ExecutionRecord(
                exec_id="",
                flow_name=schedule.flow_name,
                flow_ref=schedule.flow_ref,
                status="queued",
                created_at=schedule.created_at,
                flow_file=schedule.flow_file,
                code_dir=schedule.code_dir,
            )
        )
    except FlowNotFound as exc:
        return JobOutcome("declined", message=str(exc))
    if flows and not fnmatch.fnmatchcase(flow.name, flows):
        return JobOutcome(
            "declined", message=f"flow {flow.name!r} does not match --flows {flows!r}"
        )
    # The run's id follows from the schedule and the due time: when the queue hands the same
    # due time out twice (a lagging worker re-deferring it), the second fire records nothing.
    exec_id = scheduled_exec_id(schedule.name, schedule.created_at, due)
    try:
        run = create_execution(
            flow, flow.bind(**schedule.arguments), settings=settings, queued=True, exec_id=exec_id
        )
    except ExecutionExists:
        return JobOutcome(
            "skipped", message=f"the run due at {due} was already started ({exec_id})"
        )
    metadata = {"schedule": schedule.name, "scheduled_for": due}
    current_store(settings).update_execution(run.exec_id, metadata=metadata)
    return dataclasses.replace(run_job(run.exec_id, settings=settings), exec_id=run.exec_id)
