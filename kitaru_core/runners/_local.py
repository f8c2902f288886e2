"""The ``local`` runner: a flow runs in the process that calls it (the default)."""

from __future__ import annotations

from kitaru_core.errors import ConfigurationError
from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import Runner, WorkerSpec


class LocalRunner:
    """Runs executions in the calling process; it has no workers and queues nothing."""

    name = "local"
    in_process = True

    def __init__(self, stack: str) -> None:
        self.stack = stack

    def submit(self, exec_id: str, *, not_before: float | None = None) -> None:
        """Nothing to do: a queued execution on a local stack waits for
        ``kitaru executions resume``. A start time is refused."""
        if not_before is not None:
            raise ConfigurationError(
                f"Stack {self.stack!r} runs flows in the calling process (runner local), so it "
                'cannot start one later. Use a stack with runner = "workers" for delayed and '
                "scheduled runs."
            )

    def live_workers(self, within: float) -> int:
        """A local stack has no workers."""
        return 0

    def serve(self, spec: WorkerSpec) -> None:
        """A local stack has no queue to serve."""
        raise ConfigurationError(
            f"Stack {spec.stack!r} runs flows in the calling process (runner local); "
            '`kitaru worker` needs a stack whose runner is "workers" (or another queueing '
            'runner): add runner = "workers" to its [stacks.NAME] table.'
        )


@hookimpl
def resolve_runner(name: str, stack: str, store_url: str) -> Runner | None:
    """The local runner for ``name == "local"``."""
    return LocalRunner(stack) if name == "local" else None
