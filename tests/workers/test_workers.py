"""The ``workers`` runner: queueing, direct calls, waits, drain, handles, declines, delays."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import LEASE, Workers, marks, wait_for

from kitaru import KitaruClient
from kitaru_core.errors import ConfigurationError, ExecutionSuspended, NoWorkerRunning

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def live_worker(pool: Workers, *args: str, env: dict[str, str] | None = None) -> None:
    """Start a worker and wait until its heartbeat counts."""
    from kitaru_core._config import load_settings
    from kitaru_core.runners import runner_for

    pool.start(*args, env=env)
    runner = runner_for(load_settings())
    before = runner.live_workers(LEASE * 5)
    wait_for(lambda: runner.live_workers(LEASE * 5) > before, 30, "the worker to register")


def test_direct_call_without_worker_says_so(worker_stack: dict[str, str]) -> None:
    import worker_flows

    started = time.monotonic()
    with pytest.raises(NoWorkerRunning, match="kitaru worker --stack prod") as caught:
        worker_flows.twenty_steps(1, pause=0)
    assert time.monotonic() - started < 10
    # The execution stays queued: a worker started later runs it.
    assert KitaruClient().executions.get(caught.value.exec_id).status == "queued"


def test_run_queues_and_a_worker_runs_it(workers: Workers, worker_stack: dict[str, str]) -> None:
    import worker_flows

    handle = worker_flows.twenty_steps.run(3, pause=0)
    assert handle.status == "queued"  # run() returns at once on a worker stack
    live_worker(workers)
    assert handle.wait(timeout=60) == worker_flows.expected(3)
    # A direct call queues and waits for the result.
    assert worker_flows.twenty_steps(4, pause=0) == worker_flows.expected(4)
    # handle.wait() works from any process, through KitaruClient().executions.handle(ID).
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from kitaru import KitaruClient; "
            "print(KitaruClient().executions.handle(sys.argv[1]).wait(timeout=30))",
            handle.exec_id,
        ],
        env=worker_stack,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == str(worker_flows.expected(3))


def test_waiting_execution_holds_no_worker_and_an_answer_resumes_it(
    workers: Workers, worker_stack: dict[str, str]
) -> None:
    import worker_flows

    live_worker(workers, "--concurrency", "1")
    waiting = worker_flows.approve_then_double.run(21)
    with pytest.raises(ExecutionSuspended):
        waiting.wait(timeout=30)
    assert waiting.status == "waiting"
    # The only worker slot is free: another flow runs while the first one waits.
    assert worker_flows.twenty_steps(5, pause=0) == worker_flows.expected(5)
    answered = time.monotonic()
    KitaruClient().executions.input(waiting.exec_id, True)
    assert waiting.wait(timeout=30) == 42
    assert time.monotonic() - answered < 5  # resumed at once, not at the next sweep


def test_sigterm_drains_after_the_operation_in_flight(
    workers: Workers, worker_stack: dict[str, str], tmp_path: Path
) -> None:
    import worker_flows

    mark_file = Path(worker_stack["KITARU_TEST_MARKS"])
    live_worker(workers)
    first = workers.procs[0]
    handle = worker_flows.twenty_steps.run(7, pause=0.4)
    wait_for(lambda: len(marks(mark_file)) >= 5, 30, "the flow to be inside step 2 or later")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0
    rows = marks(mark_file)
    # The operation in flight finished: every start has its end, nothing was cut short.
    assert [r[3] for r in rows].count("start") == [r[3] for r in rows].count("end")
    record = KitaruClient().store.get_execution(handle.exec_id)
    assert record.status == "queued" and record.owner is None  # the lease is released
    assert "draining" in workers.log(0)
    live_worker(workers)
    assert handle.wait(timeout=60) == worker_flows.expected(7)
    starts = [(r[0], r[1]) for r in marks(mark_file) if r[3] == "start"]
    assert len(starts) == len(set(starts)) == worker_flows.STEPS + 1  # nothing ran twice


def test_worker_that_cannot_import_a_flow_leaves_it_for_one_that_can(
    workers: Workers, worker_stack: dict[str, str]
) -> None:
    import worker_flows

    live_worker(workers, env={"KITARU_TEST_CANNOT_IMPORT": "1"})
    handle = worker_flows.twenty_steps.run(8, pause=0)
    wait_for(lambda: "leaves execution" in workers.log(0), 30, "the worker to decline the flow")
    assert "worker_flows is not deployed on this worker" in workers.log(0)
    assert handle.status == "queued"
    live_worker(workers, "--flows", "twenty_*")
    assert handle.wait(timeout=60) == worker_flows.expected(8)


def test_flows_pattern_declines_other_flows(workers: Workers, worker_stack: dict[str, str]) -> None:
    import worker_flows

    live_worker(workers, "--flows", "approve_*")
    handle = worker_flows.twenty_steps.run(9, pause=0)
    wait_for(lambda: "does not match --flows" in workers.log(0), 30, "the worker to decline")
    assert handle.status == "queued"


def test_delayed_run_does_not_start_before_its_time(
    workers: Workers, worker_stack: dict[str, str]
) -> None:
    import worker_flows

    live_worker(workers)
    asked = time.time()
    handle = worker_flows.started_at.options(delay=3).run()
    time.sleep(1)
    assert handle.status == "queued"
    began = handle.wait(timeout=60)
    assert began >= asked + 3


def test_delayed_run_on_a_local_stack_is_refused(kitaru_home: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        import worker_flows
    finally:
        sys.path.pop(0)
    with pytest.raises(ConfigurationError, match='runner = "workers"'):
        worker_flows.started_at.options(delay=5).run()
    assert KitaruClient().executions.list() == []  # refused before anything was recorded


def test_worker_on_a_local_stack_is_refused(kitaru_home: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", "worker"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "runner local" in proc.stderr and 'runner = "workers"' in proc.stderr
