"""The ``celery`` runner: two Celery-backed ``kitaru worker``s (Redis broker), one SIGKILLed.

10 executions of 20 checkpoints all complete with the right results; counted per checkpoint, no
completed checkpoint ran twice and only checkpoints in flight in the killed worker ran again.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
from conftest import Workers, check_counts, marks, wait_for

from kitaru_core import _config
from kitaru_core.runners._resolve import forget_runners

pytest.importorskip("celery", reason="celery is not installed (pip install 'kitaru[celery]')")

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

BROKER = os.environ.get("KITARU_TEST_CELERY_BROKER", "redis://127.0.0.1:6379/0")
EXECUTIONS = 10


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


def test_celery_workers_one_killed(
    worker_db: str, kitaru_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _broker_up():
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    kitaru_home.mkdir(parents=True, exist_ok=True)
    (kitaru_home / "config.toml").write_text(
        f'lease_seconds = 2.0\n\n[stacks.prod]\nstore = "{worker_db}"\n'
        f'artifacts = "{tmp_path / "artifacts"}"\nrunner = "celery"\nbroker = "{BROKER}"\n'
    )
    mark_file = tmp_path / "marks.txt"
    here = Path(__file__).parent
    monkeypatch.setenv("KITARU_STACK", "prod")
    monkeypatch.setenv("KITARU_TEST_MARKS", str(mark_file))
    monkeypatch.syspath_prepend(str(here))
    _config.reset()
    forget_runners()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(here), str(here.parent.parent)])

    import worker_flows

    from kitaru_core._config import load_settings
    from kitaru_core.runners import runner_for

    runner = runner_for(load_settings())
    assert runner.name == "celery"
    pool = Workers(env, tmp_path)
    try:
        victim = pool.start("--concurrency", "2", env={"KITARU_TEST_DIE_AT_MARK": "80"})
        pool.start("--concurrency", "2")
        wait_for(lambda: runner.live_workers(2.0) >= 2, 60, "two Celery workers")
        handles = {n: worker_flows.twenty_steps.run(n, pause=0.05) for n in range(EXECUTIONS)}
        assert victim.wait(timeout=120) == -signal.SIGKILL
        results = {n: handle.wait(timeout=120) for n, handle in handles.items()}
    finally:
        pool.stop_all()

    assert results == {n: worker_flows.expected(n) for n in range(EXECUTIONS)}
    rows = marks(mark_file)
    check_counts(rows, victim.pid, 2, EXECUTIONS * (worker_flows.STEPS + 1))
