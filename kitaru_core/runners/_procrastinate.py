"""The ``workers`` runner: executions queued in PostgreSQL through Procrastinate.

Procrastinate is the queue (``SELECT ... FOR UPDATE SKIP LOCKED``, ``LISTEN/NOTIFY``, delayed
jobs, worker heartbeats); its tables live in the stack's own PostgreSQL database, created on
first use. Kitaru adds only the durable part: a job names an execution, the worker claims that
execution under a lease (renewed by heartbeats) and runs or resumes it; a sweep re-submits the
executions whose worker died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from kitaru_core.errors import ConfigurationError, MissingExtraError
from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import JobOutcome, Runner, Schedule, WorkerSpec

REQUIRES = ("procrastinate", "psycopg")
EXTRA = "workers"

TASK = "kitaru.run_execution"
FIRE = "kitaru.fire_schedule"
QUEUE = "kitaru"
SCHEDULES_DDL = (
    "CREATE TABLE IF NOT EXISTS kitaru_schedules ("
    "name text PRIMARY KEY, cron text NOT NULL, flow_ref text NOT NULL, "
    "flow_name text NOT NULL, arguments jsonb NOT NULL, created_at double precision NOT NULL, "
    "flow_file text, code_dir text)"
)
SCHEDULE_COLUMNS = "name, cron, flow_ref, flow_name, arguments, created_at, flow_file, code_dir"
_SCHEMA_LOCK = 7_310_201_201  # pg_advisory_xact_lock key: one process creates the tables

log = logging.getLogger("kitaru.worker")


def conninfo_of(store_url: str, stack: str) -> str:
    """The libpq connection string of a ``postgresql+psycopg://`` store URL."""
    import sqlalchemy as sa

    url = sa.make_url(store_url)
    if not url.drivername.startswith("postgresql"):
        raise ConfigurationError(
            f"Stack {stack!r} uses runner 'workers', which queues executions in PostgreSQL, but "
            f"its store is {url.drivername}. Give the stack a postgresql+psycopg:// store."
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _require() -> None:
    try:
        import procrastinate  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("workers", "procrastinate") from exc


def ensure_schema(conninfo: str) -> None:
    """Create Procrastinate's tables, and Kitaru's schedules table, unless they exist (under
    an advisory lock, so one of many starting workers creates them)."""
    import psycopg
    from procrastinate.schema import SchemaManager

    with psycopg.connect(conninfo) as conn:
        if conn.execute("SELECT to_regclass('kitaru_schedules')").fetchone() != (None,):
            return
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() == (None,):
            conn.execute(SchemaManager.get_schema())
        conn.execute(SCHEDULES_DDL)


def _when(not_before: float | None) -> datetime | None:
    return None if not_before is None else datetime.fromtimestamp(not_before, tz=UTC)


class ProcrastinateRunner:
    """Queues executions as Procrastinate jobs; ``kitaru worker`` runs them."""

    name = "workers"
    in_process = False

    def __init__(self, stack: str, store_url: str) -> None:
        self.stack = stack
        self.conninfo = conninfo_of(store_url, stack)
        self._app: Any = None
        self._lock = threading.Lock()
        self._schema_ready = False

    # the submitting side (any process) -------------------------------------------------------

    def _sync_app(self) -> Any:
        with self._lock:
            if self._app is None:
                _require()
                import procrastinate

                self._ready()
                connector = procrastinate.SyncPsycopgConnector(
                    conninfo=self.conninfo, min_size=1, max_size=2
                )
                self._app = procrastinate.App(connector=connector).open()
            return self._app

    def _ready(self) -> None:
        if not self._schema_ready:
            ensure_schema(self.conninfo)
            self._schema_ready = True

    def submit(self, exec_id: str, *, not_before: float | None = None) -> None:
        """Defer a job for ``exec_id`` (one waiting job per execution: the queueing lock)."""
        from procrastinate.exceptions import AlreadyEnqueued

        app = self._sync_app()
        deferrer = app.configure_task(
            TASK, queue=QUEUE, queueing_lock=exec_id, schedule_at=_when(not_before)
        )
        with contextlib.suppress(AlreadyEnqueued):  # a job for it is already waiting
            deferrer.defer(exec_id=exec_id)

    def live_workers(self, within: float) -> int:
        """Workers whose Procrastinate heartbeat is younger than ``within`` seconds."""
        import psycopg

        self._ready()
        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - make_interval(secs => %s)",
                (within,),
            ).fetchone()
        return int(row[0]) if row else 0

    # schedules (kept next to the queue, in the stack's database) --------------------------

    def add_schedule(self, schedule: Schedule) -> None:
        """Store ``schedule`` (replacing one of that name); workers pick it up within seconds."""
        import psycopg
        from psycopg.types.json import Jsonb

        self._ready()
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                f"INSERT INTO kitaru_schedules ({SCHEDULE_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
                "cron = EXCLUDED.cron, flow_ref = EXCLUDED.flow_ref, "
                "flow_name = EXCLUDED.flow_name, arguments = EXCLUDED.arguments, "
                "created_at = EXCLUDED.created_at, flow_file = EXCLUDED.flow_file, "
                "code_dir = EXCLUDED.code_dir",
                (
                    schedule.name,
                    schedule.cron,
                    schedule.flow_ref,
                    schedule.flow_name,
                    Jsonb(schedule.arguments),
                    schedule.created_at,
                    schedule.flow_file,
                    schedule.code_dir,
                ),
            )

    def list_schedules(self) -> list[Schedule]:
        """Every schedule, by name."""
        import psycopg

        self._ready()
        with psycopg.connect(self.conninfo) as conn:
            rows = conn.execute(
                f"SELECT {SCHEDULE_COLUMNS} FROM kitaru_schedules ORDER BY name"
            ).fetchall()
        return [Schedule(*row) for row in rows]

    def remove_schedule(self, name: str) -> bool:
        """Delete schedule ``name``; runs it already started are not touched."""
        import psycopg

        self._ready()
        with psycopg.connect(self.conninfo) as conn:
            deleted = conn.execute("DELETE FROM kitaru_schedules WHERE name = %s", (name,))
            return deleted.rowcount == 1

    # the worker side ----------------------------------------------------------------------

    def serve(self, spec: WorkerSpec) -> None:
        """Run a Procrastinate worker for this stack until SIGTERM/SIGINT, then drain."""
        _require()
        self._ready()
        asyncio.run(_Serving(self, spec).run())


class _Serving:
    """One ``kitaru worker`` process: the Procrastinate worker plus Kitaru's sweep."""

    def __init__(self, runner: ProcrastinateRunner, spec: WorkerSpec) -> None:
        import procrastinate

        self.runner = runner
        self.spec = spec
        connector = procrastinate.PsycopgConnector(
            conninfo=runner.conninfo, min_size=1, max_size=spec.concurrency + 3
        )
        self.app = procrastinate.App(connector=connector)
        self.app.task(name=TASK, queue=QUEUE)(self._job)
        self.app.task(name=FIRE, queue=QUEUE)(self._fire)
        self._last_due: dict[tuple[str, str], int] = {}

    async def _defer(self, exec_id: str, delay: float, declined_by: list[str]) -> None:
        from procrastinate.exceptions import AlreadyEnqueued

        deferrer = self.app.configure_task(
            TASK, queue=QUEUE, queueing_lock=exec_id, schedule_in={"seconds": delay}
        )
        with contextlib.suppress(AlreadyEnqueued):
            kwargs: dict[str, Any] = {"exec_id": exec_id}
            if declined_by:
                kwargs["declined_by"] = declined_by
            await deferrer.defer_async(**kwargs)

    async def _job(self, exec_id: str, declined_by: list[str] | None = None) -> None:
        """The Procrastinate task: run the execution in a thread, then act on the outcome."""
        declined = list(declined_by or [])
        me = self.spec.worker_id
        if me in declined:
            outcome = JobOutcome("declined", message="this worker declined it before")
        else:
            outcome = await asyncio.to_thread(self.spec.run_job, exec_id)
        if outcome.status == "requeue":
            await self._defer(exec_id, outcome.delay, [])
        elif outcome.status == "declined":
            if me not in declined:
                declined.append(me)
                _say(
                    f"worker {me} leaves execution {exec_id} for another worker: {outcome.message}"
                )
            # Back off as more workers decline, so a flow nobody can run does not spin.
            await self._defer(exec_id, min(30.0, 0.5 * 2 ** len(declined)), declined)

    async def _fire(
        self, schedule: str, timestamp: int, declined_by: list[str] | None = None
    ) -> None:
        """The job of one due run of a schedule: record its execution and run it."""
        found = [
            s for s in await asyncio.to_thread(self.runner.list_schedules) if s.name == schedule
        ]
        if not found:
            return  # removed meanwhile
        declined = list(declined_by or [])
        me = self.spec.worker_id
        if me in declined:
            outcome = JobOutcome("declined", message="this worker declined it before")
        else:
            outcome = await asyncio.to_thread(self.spec.fire, found[0], timestamp)
        if outcome.status == "declined":
            if me not in declined:
                declined.append(me)
                _say(
                    f"worker {me} leaves schedule {schedule!r} ({timestamp}) for another "
                    f"worker: {outcome.message}"
                )
            deferrer = self.app.configure_task(
                FIRE, queue=QUEUE, schedule_in={"seconds": min(30.0, 0.5 * 2 ** len(declined))}
            )
            declined_json: list[Any] = list(declined)
            await deferrer.defer_async(
                schedule=schedule, timestamp=timestamp, declined_by=declined_json
            )
        elif outcome.status == "requeue":
            await self._defer(outcome.exec_id, outcome.delay, [])

    async def _schedules(self) -> None:
        """Each second, defer the runs of every schedule that fell due. Every worker does this;
        Procrastinate's periodic-defer table lets one job per schedule and due time through."""
        from procrastinate import jobs

        from kitaru_core.runners._schedules import MAX_CATCH_UP, due_times

        while True:
            try:
                now = time.time()
                for schedule in await asyncio.to_thread(self.runner.list_schedules):
                    key = (schedule.name, schedule.cron)
                    since = self._last_due.get(key) or max(schedule.created_at, now - MAX_CATCH_UP)
                    for due in due_times(schedule.cron, since, now):
                        self._last_due[key] = due
                        job = jobs.Job(
                            id=None,
                            queue=QUEUE,
                            lock=None,
                            queueing_lock=None,
                            task_name=FIRE,
                            task_kwargs={"schedule": schedule.name, "timestamp": due},
                        )
                        await self.app.job_manager.defer_periodic_job(
                            job,
                            periodic_id=f"{schedule.name}@{schedule.created_at}",
                            defer_timestamp=due,
                        )
            except Exception as exc:
                _say(f"worker schedule check failed ({exc!r}); trying again")
            await asyncio.sleep(1.0 - time.time() % 1.0 + 0.01)

    async def _sweep(self) -> None:
        """Every third of a lease, re-submit executions that need a worker and have no job, and
        close the jobs of workers that died (their executions are taken over by the former)."""
        period = self.spec.lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            try:
                for exec_id in await asyncio.to_thread(self.spec.queued):
                    await self._defer(exec_id, 0.0, [])
                await self._close_stalled_jobs()
            except Exception as exc:  # the store or the queue is briefly away: try again
                _say(f"worker sweep failed ({exc!r}); trying again in {period:g} s")

    async def _close_stalled_jobs(self) -> None:
        """Mark ``failed`` the jobs left ``doing`` by a worker whose heartbeat is older than a
        lease. The execution itself is not lost: its lease expired too, and the sweep queued it
        again, so the job row is all that is left to tidy."""
        from procrastinate import jobs

        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=self.spec.lease_seconds
        )
        for job in stalled:
            await manager.finish_job(job, status=jobs.Status.FAILED, delete_job=False)

    async def run(self) -> None:
        lease = self.spec.lease_seconds
        async with self.app.open_async():
            worker = asyncio.create_task(
                self.app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=self.spec.concurrency,
                    install_signal_handlers=False,
                    update_heartbeat_interval=lease / 3,
                    stalled_worker_timeout=lease,
                    fetch_job_polling_interval=max(0.5, min(5.0, lease / 3)),
                    delete_jobs="successful",
                    name=self.spec.worker_id,
                )
            )
            sweep = asyncio.create_task(self._sweep())
            schedules = asyncio.create_task(self._schedules())
            loop = asyncio.get_running_loop()

            def stop() -> None:
                _say(
                    f"worker {self.spec.worker_id} draining: running executions stop after "
                    "their operation in flight"
                )
                self.spec.drain()
                worker.cancel()

            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop)
            _say(
                f"worker {self.spec.worker_id} serving stack {self.spec.stack!r} "
                f"(concurrency {self.spec.concurrency})"
            )
            try:
                await worker
            except asyncio.CancelledError:
                pass
            finally:
                for side in (sweep, schedules):
                    side.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await side
        _say(f"worker {self.spec.worker_id} stopped")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@hookimpl
def resolve_runner(name: str, stack: str, store_url: str) -> Runner | None:
    """The Procrastinate runner for ``name == "workers"``."""
    return ProcrastinateRunner(stack, store_url) if name == "workers" else None
