"""Worker tests: a fresh PostgreSQL database per test, a worker stack, ``kitaru worker``s.

Each test gets its own database (``kitaru_wk_<random>``), so tests and helpers running in
parallel never share a queue. Workers are real subprocesses; the helpers here start, kill and
stop them by pid.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru_core import _config
from kitaru_core.runners._resolve import forget_runners
from kitaru_core.store import _backends

pytest.importorskip("procrastinate", reason="procrastinate is not installed: kitaru[workers]")
psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: kitaru[workers]")

ADMIN_URL = os.environ.get("KITARU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
HERE = Path(__file__).resolve().parent
LEASE = 2.0


@pytest.fixture
def worker_db() -> Iterator[str]:
    """A new PostgreSQL database; its SQLAlchemy URL. Dropped afterwards."""
    try:
        admin = psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL is unreachable at {ADMIN_URL}: {exc}")
    name = f"kitaru_wk_{secrets.token_hex(5)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        _backends.close_all()
        forget_runners()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def write_stack(home: Path, store: str, artifacts: str, runner: str = "workers") -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f"lease_seconds = {LEASE}\n\n[stacks.prod]\n"
        f'store = "{store}"\nartifacts = "{artifacts}"\nrunner = "{runner}"\n'
    )


@pytest.fixture
def worker_stack(
    worker_db: str, kitaru_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """A ``prod`` worker stack on ``worker_db`` selected with KITARU_STACK; the env for
    child processes (workers) that must use it."""
    write_stack(kitaru_home, worker_db, str(tmp_path / "artifacts"))
    monkeypatch.setenv("KITARU_STACK", "prod")
    monkeypatch.setenv("KITARU_TEST_MARKS", str(tmp_path / "marks.txt"))
    monkeypatch.syspath_prepend(str(HERE))
    _config.reset()
    forget_runners()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parent.parent)])
    yield env
    _config.reset()


class Workers:
    """``kitaru worker`` subprocesses of one test, stopped at the end."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env = env
        self.logs = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "kitaru_core.cli", "worker", *args],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, index: int) -> str:
        return (self.logs / f"worker-{index}.log").read_text()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(worker_stack: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(worker_stack, tmp_path)
    yield pool
    pool.stop_all()


def wait_for(condition: object, timeout: float, what: str) -> None:
    """Poll ``condition()`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def marks(path: Path) -> list[tuple[str, int, int, str]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        exec_id, step, pid, phase = line.split()
        rows.append((exec_id, int(step), int(pid), phase))
    return rows


def check_counts(
    rows: list[tuple[str, int, int, str]], victim: int, concurrency: int, expected_keys: int
) -> set[str]:
    """Per checkpoint: every one ran, none more than twice; one that ran twice was in flight in
    the killed worker (first run there, second elsewhere), and there are at most as many as the
    killed worker ran at once; the checkpoint it died in is among them."""
    runs: dict[tuple[str, int], list[int]] = {}
    for exec_id, step, pid, phase in rows:
        if phase == "start":
            runs.setdefault((exec_id, step), []).append(pid)
    assert len(runs) == expected_keys
    assert all(len(pids) <= 2 for pids in runs.values()), max(runs.values(), key=len)
    twice = {key: pids for key, pids in runs.items() if len(pids) == 2}
    assert all(pids[0] == victim and pids[1] != victim for pids in twice.values()), twice
    assert 1 <= len(twice) <= concurrency, twice
    died_in = [(r[0], r[1]) for r in rows if r[2] == victim and r[3] == "start"][-1]
    assert died_in in twice
    return {key[0] for key in twice}  # the executions another worker took over
