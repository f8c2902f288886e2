"""Owners in real processes: another PID namespace, and a stale owner woken after a takeover.

Children run ``scripts/held_flows.py``, whose first checkpoint holds until the test creates a
release file, so the test reads and resumes while the owner is really running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kitaru_core.client import KitaruClient
from kitaru_core.errors import ExecutionBusy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/ns/pid").exists(), reason="needs Linux /proc"),
]

SCRIPTS = Path(__file__).resolve().parent / "scripts"
RUN_HELD = "import json, held_flows\nprint(json.dumps(held_flows.held(1)))\n"
RESUME = (
    "import json, sys\n"
    "from kitaru import KitaruClient\n"
    "print(json.dumps(KitaruClient().executions.resume(sys.argv[1]).wait()))\n"
)
TIMEOUT = 60


def wait_for(condition: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Held:
    """One child process running ``held_flows.held``, with its own held/release files."""

    def __init__(self, tmp_path: Path, name: str) -> None:
        self.held = tmp_path / f"{name}.held"
        self.release = tmp_path / f"{name}.release"
        self.env = {"KITARU_TEST_HELD": str(self.held), "KITARU_TEST_RELEASE": str(self.release)}
        self.proc: subprocess.Popen[str] | None = None

    def start(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv,
            cwd=SCRIPTS,
            env={**env, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: self.held.exists() or self.proc.poll() is not None, "the held step")  # type: ignore[union-attr]
        assert self.held.exists(), self.finish()

    def finish(self) -> tuple[int, str, str]:
        assert self.proc is not None
        self.release.touch()
        out, err = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def env(subprocess_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    side_effects = tmp_path / "side-effects.txt"
    side_effects.touch()
    return {**subprocess_env, "KITARU_TEST_SIDE_EFFECTS": str(side_effects)}


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Callable[[str], Held]]:
    made: list[Held] = []

    def make(name: str) -> Held:
        made.append(Held(tmp_path, name))
        return made[-1]

    yield make
    for held in made:
        held.kill()


def side_effects(env: dict[str, str]) -> Counter[str]:
    return Counter(Path(env["KITARU_TEST_SIDE_EFFECTS"]).read_text().split())


def pid_alive_here(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def free_pid() -> int:
    """A pid that no process has in this namespace right now."""
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    return next(pid for pid in range(pid_max - 1, 300, -1) if not pid_alive_here(pid))


def in_new_pid_namespace(pid: int, argv: list[str]) -> list[str]:
    """``argv`` run as ``pid`` in a new PID namespace (``unshare``), or a skip saying why not."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    script = 'echo "$1" > /proc/sys/kernel/ns_last_pid && shift && "$@"; exit $?'
    for flags in (["--user", "--map-root-user"], []):
        prefix = ["unshare", *flags, "--pid", "--fork", "--mount-proc", "--kill-child"]
        probe = subprocess.run(
            [
                *prefix,
                "sh",
                "-c",
                script,
                "sh",
                str(pid - 1),
                sys.executable,
                "-c",
                "import os; print(os.getpid())",
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if probe.returncode == 0 and probe.stdout.strip() == str(pid):
            return [*prefix, "sh", "-c", script, "sh", str(pid - 1), *argv]
    pytest.skip(f"cannot create a PID namespace here: {probe.stderr.strip()}")


# item 1: a live owner in another PID namespace ----------------------------------------------


def test_live_owner_in_another_pid_namespace_is_not_judged_dead(
    env: dict[str, str], children: Callable[[str], Held]
) -> None:
    pid = free_pid()
    owner = children("owner")
    owner.start(in_new_pid_namespace(pid, [sys.executable, "-c", RUN_HELD]), env)

    client = KitaruClient()
    running = client.executions.latest()  # a read: it must not declare the owner dead
    assert running.status == "running", running.error
    assert running._record.owner is not None
    # Its pid is that of no process here: a pid-only check would call it dead.
    assert int(running._record.owner.split(":")[1]) == pid
    assert not pid_alive_here(pid)
    with pytest.raises(ExecutionBusy, match=running.exec_id):
        client.executions.resume(running.exec_id)
    assert client.executions.get(running.exec_id).status == "running"

    code, out, err = owner.finish()
    assert (code, out.strip()) == (0, "2"), err
    done = client.executions.get(running.exec_id)
    assert (done.status, done.result, done.run_count) == ("completed", 2, 1)
    assert side_effects(env) == {"hold": 1, "add_one": 1}  # ran once, in its owner only


# item 3: a stale owner woken after a takeover ------------------------------------------------


def test_stale_owner_woken_after_takeover_gets_execution_taken_over(
    env: dict[str, str], children: Callable[[str], Held]
) -> None:
    stale = children("stale")
    stale.start([sys.executable, "-c", RUN_HELD], {**env, "KITARU_LEASE_SECONDS": "1"})
    assert stale.proc is not None
    store = KitaruClient().store
    exec_id = KitaruClient().executions.latest().exec_id

    os.kill(stale.proc.pid, signal.SIGSTOP)  # paused: its heartbeat stops with it
    try:
        wait_for(
            lambda: (store.get_execution(exec_id).lease_expires_at or 0) < time.time(),
            "the paused owner's lease to expire",
        )
        new = children("new")
        new.start([sys.executable, "-c", RESUME, exec_id], env)
        new_owner = store.get_execution(exec_id).owner
        assert new_owner is not None
        stale.release.touch()
    finally:
        os.kill(stale.proc.pid, signal.SIGCONT)

    code, _, err = stale.finish()
    assert code != 0
    assert "ExecutionTakenOver" in err and f"taken over by {new_owner}" in err, err
    assert "duplicate" not in err.lower() and "unique" not in err.lower(), err

    code, out, err = new.finish()
    assert (code, out.strip()) == (0, "2"), err
    done = KitaruClient().executions.get(exec_id)
    assert (done.status, done.result, done.run_count) == ("completed", 2, 2)
    ops = store.load_operations(exec_id)
    # Only the new owner's records: the stale owner wrote nothing after losing the execution.
    assert sorted((op.name, op.status, op.run_no) for op in ops) == [
        ("add_one", "completed", 2),
        ("hold", "completed", 2),
    ]
    assert side_effects(env) == {"hold": 2, "add_one": 1}  # the in-flight step ran once more
