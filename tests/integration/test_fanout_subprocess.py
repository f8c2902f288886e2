"""Fan-out across real processes (issue 15): a parent killed with SIGKILL resumes without
starting its children again, a child waiting on a human suspends its parent's process, and a
cancel of the parent reaches its running children."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from kitaru_core.client import KitaruClient

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).resolve().parent / "scripts"
TIMEOUT = 60
LAUNCH = "import fanout_flows; fanout_flows.main()"


class Fanout:
    """Runs the flows of ``scripts/fanout_flows.py`` and the CLI in child processes."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.side_effects = tmp_path / "side-effects.txt"
        self.side_effects.touch()
        path = os.pathsep.join([str(SCRIPTS), env.get("PYTHONPATH", "")])
        self.env = {**env, "KITARU_TEST_SIDE_EFFECTS": str(self.side_effects), "PYTHONPATH": path}
        self.cwd = tmp_path

    def start(self, flow: str, n: int, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", LAUNCH, flow, str(n)],
            cwd=self.cwd,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, flow: str, n: int, **env: str) -> tuple[int, str]:
        proc = self.start(flow, n, **env)
        out, err = proc.communicate(timeout=TIMEOUT)
        return proc.returncode, out + err

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kitaru_core.cli", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def counts(self) -> Counter[str]:
        return Counter(self.side_effects.read_text().split())


@pytest.fixture
def fanout(subprocess_env: dict[str, str], tmp_path: Path) -> Fanout:
    return Fanout(subprocess_env, tmp_path)


def _one(flow: str) -> str:
    [execution] = KitaruClient().executions.list(flow=flow)
    return execution.exec_id


def test_parent_killed_after_its_children_completed_resumes_without_running_them_again(
    fanout: Fanout,
) -> None:
    code, output = fanout.run("orchestrator", 3, KITARU_TEST_KILL_AT="summarize")
    assert code == -signal.SIGKILL, output
    before = fanout.counts()
    assert all(before[f"research:{i}:{s}"] == 1 for i in range(3) for s in (1, 2))
    parent = _one("orchestrator")

    resumed = fanout.cli("executions", "resume", parent, "--json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert json.loads(resumed.stdout)["result"] == sum(i * 20 + 3 for i in range(3))
    after = fanout.counts()
    assert after - before == Counter({"summarize": 1})  # no child checkpoint ran again
    client = KitaruClient().executions
    assert len(client.list(flow="researcher")) == 3  # no new child execution
    assert {c.exec_id for c in client.list(parent=parent)} == {
        c.exec_id for c in client.list(flow="researcher")
    }


def test_child_killed_mid_run_continues_from_its_own_checkpoint_when_the_parent_resumes(
    fanout: Fanout,
) -> None:
    code, output = fanout.run("orchestrator", 3, KITARU_TEST_KILL_AT="research:1:2")
    assert code == -signal.SIGKILL, output
    parent = _one("orchestrator")

    resumed = fanout.cli("executions", "resume", parent, "--json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "completed"
    assert json.loads(resumed.stdout)["result"] == sum(i * 20 + 3 for i in range(3))
    counts = fanout.counts()
    # Child 1 was killed in its second checkpoint: its first is reused, the second runs once
    # more (the one in flight); child 0 had completed, child 2 had not started.
    assert counts == Counter(
        {f"research:{i}:{s}": 1 for i in range(3) for s in (1, 2)}
        | {"research:1:2": 2, "summarize": 1}
    )
    children = KitaruClient().executions.list(flow="researcher")
    assert len(children) == 3 and {c.status for c in children} == {"completed"}
    assert [c.run_count for c in sorted(children, key=lambda c: c.exec_id)] == [1, 2, 1]


def test_parent_of_a_child_waiting_on_a_human_exits_waiting_and_completes_after_the_answer(
    fanout: Fanout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITARU_TEST_SIDE_EFFECTS", str(fanout.side_effects))  # for one resume here
    code, output = fanout.run("waits_on_a_human", 2)
    assert code == 0, output
    assert json.loads(output.splitlines()[-1])["status"] == "waiting"
    parent = _one("waits_on_a_human")
    client = KitaruClient().executions
    children = client.list(parent=parent)
    assert {c.status for c in children} == {"waiting"}

    first, second = sorted(c.exec_id for c in children)
    for child in (first, second):
        client.input(child, True)
    # The first child finishes by itself; the parent still waits for the second...
    assert client.resume(first).wait() == 1
    assert client.get(parent).status == "waiting"
    # ...and a resume of the parent runs the second (answered, queued) child beside it.
    resumed = fanout.cli("executions", "resume", parent, "--json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert json.loads(resumed.stdout)["result"] == 0 * 10 + 1 + 1 * 10 + 1
    assert {c.status for c in client.list(parent=parent)} == {"completed"}
    assert fanout.counts() == Counter({"research:0:1": 1, "research:1:1": 1, "summarize": 1})


def test_cancel_of_a_parent_cancels_its_running_children(fanout: Fanout) -> None:
    proc = fanout.start("long_fan_out", 3)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            counts = fanout.counts()
            if all(counts[f"tick:{i}:1"] for i in range(3)):
                break  # every child is running its checkpoints
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
            time.sleep(0.1)
        parent = _one("long_fan_out")
        assert KitaruClient().executions.cancel(parent).status == "cancelled"
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out + err
    assert json.loads(out.splitlines()[-1])["status"] == "cancelled"
    client = KitaruClient().executions
    children = client.list(parent=parent)
    assert len(children) == 3 and {c.status for c in children} == {"cancelled"}
    ticks = sum(n for key, n in fanout.counts().items() if key.startswith("tick:"))
    assert ticks < 3 * 600  # they stopped long before their end
