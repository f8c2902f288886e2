"""A flow killed with SIGKILL inside a checkpoint resumes from another process (issue 2).

Children run the flows in ``scripts/``; every checkpoint body appends ``name:index`` to a
side-effect file before doing its work, so the test counts real executions. The checkpoint named
by ``KITARU_TEST_KILL_AT`` kills its own process right after that append: the crash point is
exact, and the killed checkpoint has already had its side effect (the at-least-once case).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from kitaru_core.client import Execution, KitaruClient

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).resolve().parent / "scripts"
TIMEOUT = 60
RESUME_WITH_CLIENT = (
    "import json, sys\n"
    "from kitaru import KitaruClient\n"
    "handle = KitaruClient().executions.resume(sys.argv[1])\n"
    "print(json.dumps({'result': handle.wait(), 'status': handle.status}))\n"
)


class Child:
    """Runs helper processes for one test, counting checkpoint side effects in a file."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.side_effects = tmp_path / "side-effects.txt"
        self.env = {**env, "KITARU_TEST_SIDE_EFFECTS": str(self.side_effects)}
        self.elsewhere = tmp_path / "elsewhere"
        self.elsewhere.mkdir()

    def run(
        self, args: list[str], *, cwd: Path, kill_at: str | None = None, **extra_env: str
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **extra_env}
        env.pop("KITARU_TEST_KILL_AT", None)
        if kill_at is not None:
            env["KITARU_TEST_KILL_AT"] = kill_at
        return subprocess.run(
            [sys.executable, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def crash(self, args: list[str], *, cwd: Path, kill_at: str, **extra_env: str) -> Execution:
        """Run until the checkpoint ``kill_at`` kills the process; return the stranded execution."""
        proc = self.run(args, cwd=cwd, kill_at=kill_at, **extra_env)
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        execution = KitaruClient().executions.latest()
        # Stranded as it was, or already recorded as failed by a read that saw its owner dead.
        assert execution.status in ("running", "failed")
        if execution.status == "failed":
            assert execution.error is not None and "ProcessDied" in execution.error["type"]
        return execution

    def resume(self, exec_id: str, how: str, *, action: str = "resume", **extra_env: str) -> None:
        """Resume ``exec_id`` in a new process whose working directory is unrelated to the flow."""
        if how == "client":
            args = ["-c", RESUME_WITH_CLIENT.replace(".resume(", f".{action}("), exec_id]
        else:
            args = ["-m", "kitaru_core.cli", "executions", action, exec_id]
        proc = self.run(args, cwd=self.elsewhere, **extra_env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        if how == "client":
            assert json.loads(proc.stdout.strip().splitlines()[-1])["status"] == "completed"
        else:
            assert "completed" in proc.stdout

    def counts(self) -> Counter[str]:
        """How often each ``name:index`` checkpoint body ran, over every process so far."""
        return Counter(self.side_effects.read_text().split())


def completed_keys(execution: Execution) -> set[str]:
    """``name:index`` of every operation recorded as completed (``index`` from its inputs)."""
    keys = set()
    for op in KitaruClient().executions.get(execution.exec_id).operations:
        if op.status == "completed":
            assert op.input_text is not None
            keys.add(f"{op.name}:{json.loads(op.input_text)['index']}")
    return keys


def finished(exec_id: str) -> Execution:
    execution = KitaruClient().executions.get(exec_id)
    assert execution.status == "completed", execution.error
    assert execution.run_count == 2
    return execution


@pytest.fixture
def child(subprocess_env: dict[str, str], tmp_path: Path) -> Child:
    return Child(subprocess_env, tmp_path)


@pytest.mark.parametrize(("how", "k"), [("client", 0), ("client", 17), ("client", 29), ("cli", 17)])
def test_killed_flow_resumes_from_checkpoint_k(child: Child, how: str, k: int) -> None:
    crashed = child.crash([str(SCRIPTS / "launch.py"), "thirty"], cwd=SCRIPTS, kill_at=f"step:{k}")
    assert completed_keys(crashed) == {f"step:{i}" for i in range(k)}

    child.resume(crashed.exec_id, how)

    execution = finished(crashed.exec_id)
    assert execution.result == sum(i * i for i in range(30))
    counts = child.counts()
    assert all(counts[f"step:{i}"] == 1 for i in range(k)), counts
    # k had its side effect before the kill, so it ran once more: the at-most-twice bound.
    assert counts[f"step:{k}"] == 2
    assert all(counts[f"step:{i}"] == 1 for i in range(k + 1, 30)), counts
    reused = [op.reused for op in execution.operations]
    assert reused == [True] * k + [False] * (30 - k)


@pytest.mark.parametrize("how", ["client", "cli"])
def test_failed_flow_retried_from_another_process_reruns_only_the_failed_checkpoint(
    child: Child, how: str
) -> None:
    k = 12
    proc = child.run(
        [str(SCRIPTS / "launch.py"), "thirty"], cwd=SCRIPTS, KITARU_TEST_FAIL_AT=f"step:{k}"
    )
    assert proc.returncode != 0 and f"step:{k} failed on purpose" in proc.stderr
    failed = KitaruClient().executions.latest()
    assert failed.status == "failed"
    assert failed.error is not None and f"step:{k} failed on purpose" in failed.error["message"]

    child.resume(failed.exec_id, how, action="retry")  # the cause (the env var) is gone

    execution = finished(failed.exec_id)
    assert execution.result == sum(i * i for i in range(30))
    counts = child.counts()
    assert [counts[f"step:{i}"] for i in range(30)] == [1] * k + [2] + [1] * (29 - k)
    failed_step = execution.operations[k]
    assert (failed_step.status, failed_step.attempts, failed_step.reused) == ("completed", 2, False)


@pytest.mark.parametrize("how", ["client", "cli"])
def test_killed_script_flow_resumes_from_another_directory(
    child: Child, tmp_path: Path, how: str
) -> None:
    """``python agent.py`` (flow in ``__main__``) resumes by file path, sibling imports and all."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(SCRIPTS / "script_flow.py", project / "agent.py")
    shutil.copy(SCRIPTS / "script_helpers.py", project / "script_helpers.py")
    crashed = child.crash(["agent.py"], cwd=project, kill_at="score:11")
    assert completed_keys(crashed) == {f"score:{i}" for i in range(11)}

    child.resume(crashed.exec_id, how)

    # The recorded Score dataclasses (defined in the script) decode in the resuming process.
    execution = finished(crashed.exec_id)
    assert execution.result == {"count": 30, "total": sum(3 * i + 1 for i in range(30))}
    counts = child.counts()
    assert [counts[f"score:{i}"] for i in range(30)] == [1] * 11 + [2] + [1] * 18


def test_killed_async_flow_with_gathered_checkpoints_resumes(child: Child) -> None:
    """Killed mid-batch; the resume gathers in the opposite order and still reuses by identity."""
    k = 17  # batch 3 of 6 (indexes 15..19); its siblings are completed or in flight at the kill
    crashed = child.crash(
        [str(SCRIPTS / "launch.py"), "gathered"], cwd=SCRIPTS, kill_at=f"fetch-late:{k}"
    )
    done_before_crash = completed_keys(crashed)
    assert {f"fetch:{i}" for i in range(15)} <= done_before_crash
    assert f"fetch:{k}" not in done_before_crash

    child.resume(crashed.exec_id, "client", KITARU_TEST_REVERSE="1")

    execution = finished(crashed.exec_id)
    base = 0
    for batch in range(6):
        base = sum(base + batch * 5 + j for j in range(5))
    assert execution.result == base
    counts = child.counts()
    for i in range(30):
        key = f"fetch:{i}"
        assert counts[key] == (1 if key in done_before_crash or i >= 20 else 2), (key, counts)
    assert counts[f"fetch:{k}"] == 2


def test_changed_inputs_rerun_only_what_they_feed(child: Child, tmp_path: Path) -> None:
    """Edit the config between crash and resume: changed operations and their dependants re-run."""
    config = tmp_path / "config.json"
    old = [3, 1, 4, 1, 5, 9, 2, 6]
    config.write_text(json.dumps({"values": old}))
    crashed = child.crash(
        [str(SCRIPTS / "launch.py"), "configured", json.dumps([str(config)])],
        cwd=SCRIPTS,
        kill_at="finish:6",
    )
    assert completed_keys(crashed) == {f"prepare:{i}" for i in range(7)} | {
        f"finish:{i}" for i in range(6)
    }

    new = list(old)
    new[2], new[5] = 40, 90
    config.write_text(json.dumps({"values": new}))
    child.resume(crashed.exec_id, "client")

    execution = finished(crashed.exec_id)
    assert execution.result == sum(value * 10 + i for i, value in enumerate(new))
    counts = child.counts()
    changed = {2, 5}
    assert {i: counts[f"prepare:{i}"] for i in range(8)} == {
        i: 2 if i in changed else 1 for i in range(8)
    }
    assert {i: counts[f"finish:{i}"] for i in range(8)} == {
        i: 2 if i in changed | {6} else 1 for i in range(8)
    }
    assert counts["report:0"] == 1


@pytest.mark.parametrize("stranded_by", ["kill", "failure"])
def test_two_processes_racing_to_resume_claim_it_once(
    child: Child, tmp_path: Path, stranded_by: str
) -> None:
    """Two resumers start at the same instant: one continues the execution, the other is refused."""
    k = 9
    launch = [str(SCRIPTS / "launch.py"), "thirty"]
    if stranded_by == "kill":
        exec_id = child.crash(launch, cwd=SCRIPTS, kill_at=f"step:{k}").exec_id
    else:
        proc = child.run(launch, cwd=SCRIPTS, KITARU_TEST_FAIL_AT=f"step:{k}")
        assert proc.returncode != 0 and f"step:{k} failed on purpose" in proc.stderr
        exec_id = KitaruClient().executions.latest().exec_id
        assert KitaruClient().executions.get(exec_id).status == "failed"

    go = tmp_path / "go"

    def racer(i: int) -> tuple[Path, subprocess.Popen[str]]:
        ready = tmp_path / f"ready-{i}"
        args = [sys.executable, str(SCRIPTS / "race_resume.py"), exec_id, str(ready), str(go)]
        pipe = subprocess.PIPE
        return ready, subprocess.Popen(
            args, cwd=child.elsewhere, env=child.env, stdout=pipe, stderr=pipe, text=True
        )

    racers = [racer(i) for i in range(2)]
    try:
        deadline = time.monotonic() + TIMEOUT
        while not all(ready.exists() for ready, _ in racers):
            assert time.monotonic() < deadline, "the resumers never became ready"
            assert all(proc.poll() is None for _, proc in racers), "a resumer exited early"
            time.sleep(0.005)
        go.touch()
        outcomes = sorted(
            (*proc.communicate(timeout=TIMEOUT), proc.returncode) for _, proc in racers
        )
    finally:
        for _, proc in racers:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=TIMEOUT)

    codes = sorted(code for _, _, code in outcomes)
    assert codes == [0, 3], outcomes
    execution = KitaruClient().executions.get(exec_id)
    assert (execution.status, execution.result) == ("completed", sum(i * i for i in range(30)))
    counts = child.counts()
    assert [counts[f"step:{i}"] for i in range(30)] == [1] * k + [2] + [1] * (29 - k)
