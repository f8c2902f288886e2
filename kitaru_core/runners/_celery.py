"""The ``celery`` runner: executions queued through Celery (Redis or RabbitMQ broker).

For a team that already runs Celery: ``kitaru worker`` on a stack with ``runner = "celery"``
starts a Celery worker (thread pool) that consumes the stack's queue. The broker URL is the
stack's ``broker`` key (``[stacks.NAME] broker = "redis://127.0.0.1:6379/0"``), or
``KITARU_CELERY_BROKER``. Celery only moves execution ids; the lease, takeover and records are
Kitaru's, exactly as with the ``workers`` runner: every worker runs a sweep that queues again the
executions whose worker died, so no broker redelivery setting is relied on.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from typing import Any

from kitaru_core._config import read_config_file
from kitaru_core.errors import MissingExtraError
from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import Runner, WorkerSpec

REQUIRES = ("celery",)
EXTRA = "celery"
TASK = "kitaru.run_execution"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def broker_of(stack: str) -> str:
    """The broker URL of ``stack``: ``KITARU_CELERY_BROKER``, its ``broker`` key, or local Redis."""
    entry = (read_config_file().get("stacks") or {}).get(stack) or {}
    return os.environ.get("KITARU_CELERY_BROKER") or str(entry.get("broker") or DEFAULT_BROKER)


def _app(broker: str) -> Any:
    try:
        from celery import Celery
    except ImportError as exc:
        raise MissingExtraError("celery", "celery") from exc
    app = Celery("kitaru", broker=broker)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


class CeleryRunner:
    """Queues executions as Celery tasks on a queue of the stack's own."""

    name = "celery"
    in_process = False

    def __init__(self, stack: str, store_url: str) -> None:
        self.stack = stack
        self.broker = broker_of(stack)
        # One queue per store: two stacks sharing a broker never take each other's executions.
        self.queue = "kitaru-" + hashlib.sha256(store_url.encode()).hexdigest()[:12]
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            self._app = _app(self.broker)
        return self._app

    def submit(
        self, exec_id: str, *, not_before: float | None = None, declined_by: list[str] | None = None
    ) -> None:
        """Send a task for ``exec_id`` (``not_before``: a Unix time, sent as a countdown)."""
        countdown = None if not_before is None else max(0.0, not_before - time.time())
        self.app.send_task(
            TASK,
            kwargs={"exec_id": exec_id, "declined_by": declined_by or []},
            queue=self.queue,
            countdown=countdown,
        )

    def live_workers(self, within: float) -> int:
        """Celery workers of this queue that answer a ping (waits at most a second)."""
        replies = self.app.control.ping(timeout=min(1.0, within))
        return len(replies or [])

    def serve(self, spec: WorkerSpec) -> None:
        """Run a Celery worker (thread pool) on this stack's queue until SIGTERM."""
        from celery.signals import worker_shutting_down

        app = self.app

        @app.task(name=TASK, bind=False)
        def run_execution(exec_id: str, declined_by: list[str] | None = None) -> None:
            declined = list(declined_by or [])
            me = spec.worker_id
            if me in declined:
                self.submit(
                    exec_id, not_before=time.time() + _backoff(declined), declined_by=declined
                )
                return
            outcome = spec.run_job(exec_id)
            if outcome.status == "requeue":
                self.submit(exec_id, not_before=time.time() + outcome.delay)
            elif outcome.status == "declined":
                declined.append(me)
                _say(
                    f"worker {me} leaves execution {exec_id} for another worker: {outcome.message}"
                )
                self.submit(
                    exec_id, not_before=time.time() + _backoff(declined), declined_by=declined
                )

        def on_shutdown(**_: Any) -> None:
            _say(
                f"worker {me_id} draining: running executions stop after their operation in flight"
            )
            spec.drain()

        me_id = spec.worker_id
        worker_shutting_down.connect(on_shutdown, weak=False)
        stop = threading.Event()
        threading.Thread(target=self._sweep, args=(spec, stop), daemon=True).start()
        _say(f"worker {me_id} serving stack {spec.stack!r} on Celery queue {self.queue}")
        try:
            app.worker_main(
                [
                    "worker",
                    "--pool=threads",
                    f"--concurrency={spec.concurrency}",
                    f"--queues={self.queue}",
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    f"--hostname=kitaru-{os.getpid()}@%h",
                ]
            )
        finally:
            stop.set()
        _say(f"worker {me_id} stopped")

    def _sweep(self, spec: WorkerSpec, stop: threading.Event) -> None:
        period = spec.lease_seconds / 3
        while not stop.wait(period):
            try:
                for exec_id in spec.queued():
                    self.submit(exec_id)
            except Exception as exc:  # the store or broker is briefly away: try again
                _say(f"worker sweep failed ({exc!r}); trying again in {period:g} s")


def _backoff(declined: list[str]) -> float:
    return min(30.0, 0.5 * 2 ** len(declined))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@hookimpl
def resolve_runner(name: str, stack: str, store_url: str) -> Runner | None:
    """The Celery runner for ``name == "celery"``."""
    return CeleryRunner(stack, store_url) if name == "celery" else None
