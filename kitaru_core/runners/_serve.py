"""``kitaru worker``: serve a stack's queue in this process."""

from __future__ import annotations

import functools

from kitaru_core._config import load_settings, settings_for_stack
from kitaru_core.engine._drain import drain, enter_worker_mode
from kitaru_core.engine._lease import my_owner_id
from kitaru_core.errors import ConfigurationError
from kitaru_core.hooktypes import WorkerSpec
from kitaru_core.runners._job import orphans, run_job
from kitaru_core.runners._resolve import runner_for
from kitaru_core.runners._schedules import fire


def serve(stack: str | None = None, *, concurrency: int = 1, flows: str | None = None) -> None:
    """Run executions of ``stack`` (default: the active one) until SIGTERM or Ctrl-C."""
    if concurrency < 1:
        raise ConfigurationError(f"--concurrency must be 1 or more, not {concurrency}.")
    settings = settings_for_stack(stack) if stack else load_settings()
    runner = runner_for(settings)
    enter_worker_mode()
    spec = WorkerSpec(
        stack=settings.stack.name,
        concurrency=concurrency,
        lease_seconds=settings.lease_seconds,
        worker_id=my_owner_id(),
        run_job=functools.partial(run_job, settings=settings, flows=flows),
        drain=drain,
        queued=functools.partial(orphans, settings, older_than=settings.lease_seconds / 3),
        fire=functools.partial(fire, settings=settings, flows=flows),
    )
    runner.serve(spec)
