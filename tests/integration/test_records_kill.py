"""What a run killed with SIGKILL in the middle of a step leaves behind (issue 7, section 5).

The child's background flusher runs every ``KITARU_LOG_FLUSH_SECONDS``; the test sets it short
and waits (with a deadline) for the flushed state to appear before it kills the child, so it never
races the flusher.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kitaru_core.client import KitaruClient

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).resolve().parent / "scripts"
DEADLINE = 15.0
FLUSH_SECONDS = "0.1"
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str) -> T:
    """Poll ``probe`` until it returns something, or fail after DEADLINE seconds."""
    stop = time.monotonic() + DEADLINE
    while time.monotonic() < stop:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {DEADLINE} s")


@pytest.fixture
def env(subprocess_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {
        **subprocess_env,
        "KITARU_LOG_FLUSH_SECONDS": FLUSH_SECONDS,
        "KITARU_TEST_READY": str(tmp_path / "ready"),
    }


@pytest.fixture
def hung(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    """Start a flow of record_flows that hangs in a step once it wrote the ready file."""
    started: list[subprocess.Popen[str]] = []

    def start(flow_name: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPTS / "launch_records.py"), flow_name],
            cwd=SCRIPTS,
            env={**env, "KITARU_TEST_SLEEP": "120"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        ready = tmp_path / "ready"
        eventually(lambda: True if ready.exists() or proc.poll() is not None else None, "ready")
        assert proc.poll() is None, proc.communicate()
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def cli(env: dict[str, str], *args: str) -> Any:
    proc = subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", "executions", *args],
        env={**env, "KITARU_TEST_READY": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_logs_printed_before_a_kill_are_kept(hung: Any, env: dict[str, str]) -> None:
    proc = hung("prints_then_hangs")
    client = KitaruClient()
    exec_id = client.executions.latest().exec_id
    wanted = ["flow started", "line 0 from chatty", "line 1 from chatty", "line 2 from chatty"]

    def flushed() -> bool | None:
        lines = [line.line for line in client.executions.logs(exec_id)]
        names = [op.name for op in client.executions.get(exec_id).operations]
        return True if lines == wanted and "chatty" in names else None

    # The lines and the step in flight reach the store on the flusher's ticks: wait for both.
    eventually(flushed, "the printed lines and the running step reaching the store")
    kill(proc)

    assert cli(env, "logs", exec_id).splitlines() == wanted
    lines = json.loads(cli(env, "logs", exec_id, "--json"))
    assert [line["stream"] for line in lines] == ["stdout"] * 4
    chatty = [op for op in client.executions.get(exec_id).operations if op.name == "chatty"]
    assert lines[1]["op_id"] == chatty[0].op_id  # a line printed in a step names it


def test_operation_running_at_a_kill_is_shown_in_flight(hung: Any, env: dict[str, str]) -> None:
    before = time.time()
    proc = hung("long_step")
    client = KitaruClient()
    exec_id = client.executions.latest().exec_id

    def in_flight() -> list[Any] | None:
        ops = client.executions.get(exec_id).operations
        return ops if any(op.status == "started" for op in ops) else None

    eventually(in_flight, "the running step being recorded as started")
    kill(proc)

    crashed = client.executions.get(exec_id)
    assert crashed.status == "failed" and crashed.error and "ProcessDied" in crashed.error["type"]
    assert [(op.name, op.status) for op in crashed.operations] == [
        ("quick", "completed"),
        ("slow", "started"),
    ]
    slow = crashed.operations[1]
    assert slow.attempts == 1 and slow.ended_at is None
    assert before <= slow.started_at <= time.time()
    shown = json.loads(cli(env, "get", exec_id, "--json"))
    assert [(op["name"], op["status"], op["attempts"]) for op in shown["operations"]] == [
        ("quick", "completed", 1),
        ("slow", "started", 1),
    ]
    assert shown["operations"][1]["started_at"] == pytest.approx(slow.started_at)
    assert "started" in cli(env, "get", exec_id)

    cli(env, "resume", exec_id)

    done = client.executions.get(exec_id)
    assert done.status == "completed" and done.result == 50 + 1
    assert [(op.name, op.status) for op in done.operations] == [
        ("quick", "completed"),
        ("slow", "completed"),
        ("quick", "completed"),
    ]
    shown = json.loads(cli(env, "get", exec_id, "--json"))
    assert [op["status"] for op in shown["operations"]] == ["completed"] * 3
