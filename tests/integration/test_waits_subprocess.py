"""Waits across processes (issue 3): the seed example suspends, its process ends, another
process answers, a third resumes it; the draft never runs twice.

Every step is a real child process: ``wait_scripts/seed_approval.py`` runs the flow, and
``python -c`` / ``python -m kitaru_core.cli`` answer, resume and cancel it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kitaru_core.client import KitaruClient
from kitaru_core.engine._liveness import PROCESS_DIED

pytestmark = pytest.mark.slow

SEED = Path(__file__).resolve().parent / "wait_scripts" / "seed_approval.py"
TIMEOUT = 60
DRAFT = "Kitaru keeps agents alive across crashes."
ANSWER = (
    "import sys\n"
    "from kitaru import KitaruClient\n"
    "KitaruClient().executions.input(sys.argv[1], sys.argv[2] == 'true')\n"
)
RESUME = (
    "import json, sys\n"
    "from kitaru import KitaruClient\n"
    "handle = KitaruClient().executions.resume(sys.argv[1])\n"
    "print(json.dumps({'result': handle.wait(), 'status': handle.status}))\n"
)


class Processes:
    """Starts children on the test's store and counts the draft's side effects."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.effects = tmp_path / "effects.txt"
        self.env = {**env, "KITARU_TEST_SIDE_EFFECTS": str(self.effects), "KITARU_NO_PROMPT": "1"}
        self.elsewhere = tmp_path / "elsewhere"
        self.elsewhere.mkdir()

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.elsewhere,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=self.elsewhere,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "kitaru_core.cli", "executions", *args)

    def drafts(self) -> int:
        return self.effects.read_text().split().count("draft") if self.effects.exists() else 0


@pytest.fixture
def procs(subprocess_env: dict[str, str], tmp_path: Path) -> Processes:
    return Processes(subprocess_env, tmp_path)


def suspended_seed(procs: Processes) -> str:
    """Run the seed example in a child until it suspends; the child must exit on its own."""
    proc = procs.run(str(SEED), "agents")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["status"] == "waiting"
    execution = KitaruClient().executions.get(out["exec_id"])
    assert (execution.status, execution._record.owner) == ("waiting", None)
    assert procs.drafts() == 1
    return str(out["exec_id"])


def stop(child: subprocess.Popen[str]) -> None:
    """Kill ``child`` if it still runs, and close its pipes."""
    if child.poll() is None:
        child.kill()
    child.communicate(timeout=TIMEOUT)


def wait_until(probe: Any, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_seed_example_suspends_is_answered_elsewhere_and_resumes_with_the_client(
    procs: Processes,
) -> None:
    exec_id = suspended_seed(procs)
    [pending] = KitaruClient().executions.pending_waits(exec_id)
    assert pending.question == f"Approve this draft?\n\n{DRAFT}"

    wrong = procs.run("-c", ANSWER.replace("sys.argv[2] == 'true'", "'not sure'"), exec_id)
    assert wrong.returncode != 0 and "InvalidWaitAnswer" in wrong.stderr
    assert KitaruClient().executions.get(exec_id).status == "waiting"

    answered = procs.run("-c", ANSWER, exec_id, "true")
    assert answered.returncode == 0, answered.stderr
    assert KitaruClient().executions.get(exec_id).status == "queued"
    second = procs.run("-c", ANSWER, exec_id, "false")
    assert second.returncode != 0 and "a wait takes one answer" in second.stderr

    resumed = procs.run("-c", RESUME, exec_id)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.strip().splitlines()[-1]) == {
        "result": f"published: {DRAFT}",
        "status": "completed",
    }
    assert procs.drafts() == 1
    ops = KitaruClient().executions.get(exec_id).operations
    assert [(op.name, op.kind, op.reused) for op in ops] == [
        ("draft", "checkpoint", True),
        ("approve", "wait", False),
    ]


def test_seed_example_round_trip_through_the_cli(procs: Processes) -> None:
    exec_id = suspended_seed(procs)

    waits = procs.cli("waits", exec_id, "--json")
    assert waits.returncode == 0, waits.stderr
    [pending] = json.loads(waits.stdout)
    assert (pending["name"], pending["question"]) == ("approve", f"Approve this draft?\n\n{DRAFT}")

    wrong = procs.cli("input", exec_id, "--wait", "approve", "--value", "12")
    assert wrong.returncode == 1 and "Nothing was stored" in wrong.stderr
    answered = procs.cli("input", exec_id, "--wait", "approve", "--value", "true")
    assert answered.returncode == 0, answered.stderr
    assert f"kitaru executions resume {exec_id}" in answered.stdout

    resumed = procs.cli("resume", exec_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert (data["status"], data["result"]) == ("completed", f"published: {DRAFT}")
    assert procs.drafts() == 1

    replay = procs.cli("replay", exec_id, "--overrides", '{"wait.approve": false}', "--json")
    assert replay.returncode == 0, replay.stderr
    replayed = json.loads(replay.stdout)
    assert (replayed["status"], replayed["result"]) == ("completed", "rejected")
    assert replayed["original_exec_id"] == exec_id
    assert procs.drafts() == 1

    lineage = procs.cli("lineage", replayed["exec_id"], "--json")
    assert [e["exec_id"] for e in json.loads(lineage.stdout)] == [replayed["exec_id"], exec_id]


def test_an_answer_from_another_process_reaches_a_wait_that_is_still_polling(
    procs: Processes,
) -> None:
    child = procs.start(str(SEED), "agents", WAIT_TIMEOUT=str(POLLING_WAIT_TIMEOUT))
    try:
        exec_id = wait_until(
            lambda: [
                e.exec_id
                for e in KitaruClient().executions.list()
                if e.status == "running" and KitaruClient().executions.pending_waits(e.exec_id)
            ]
        )[0]
        answered = procs.run("-c", ANSWER, exec_id, "false")
        assert answered.returncode == 0, answered.stderr
        out, err = child.communicate(timeout=TIMEOUT)
    finally:
        stop(child)
    assert child.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["status"] == "completed"
    execution = KitaruClient().executions.get(exec_id)
    assert (execution.status, execution.result, execution.run_count) == ("completed", "rejected", 1)


def test_a_process_killed_while_waiting_is_not_left_running_and_resumes(
    procs: Processes,
) -> None:
    child = procs.start(str(SEED), "agents", WAIT_TIMEOUT=str(POLLING_WAIT_TIMEOUT))
    try:
        exec_id = wait_until(
            lambda: [
                e.exec_id
                for e in KitaruClient().executions.list()
                if KitaruClient().executions.pending_waits(e.exec_id)
            ]
        )[0]
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=TIMEOUT)
    finally:
        stop(child)

    execution = KitaruClient().executions.get(exec_id)
    assert execution.status == "failed"
    assert execution.error is not None and execution.error["type"] == PROCESS_DIED
    assert f"kitaru executions resume {exec_id}" in execution.error["message"]

    assert procs.cli("input", exec_id, "--value", "true").returncode == 0  # still pending
    resumed = procs.cli("resume", exec_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["result"] == f"published: {DRAFT}"
    assert procs.drafts() == 1


POLLING_WAIT_TIMEOUT = 120


def test_cancel_from_another_process_stops_a_polling_wait(procs: Processes) -> None:
    child = procs.start(str(SEED), "agents", WAIT_TIMEOUT=str(POLLING_WAIT_TIMEOUT))
    try:
        exec_id = wait_until(
            lambda: [
                e.exec_id
                for e in KitaruClient().executions.list()
                if KitaruClient().executions.pending_waits(e.exec_id)
            ]
        )[0]
        started = time.monotonic()
        cancelled = procs.cli("cancel", exec_id)
        assert cancelled.returncode == 0, cancelled.stderr
        out, err = child.communicate(timeout=TIMEOUT)
    finally:
        stop(child)
    # The wait stopped because of the cancel, well before its own timeout (a loose bound: a
    # busy machine takes seconds to start the CLI; this is not a speed check).
    assert time.monotonic() - started < POLLING_WAIT_TIMEOUT / 2
    assert child.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["status"] == "cancelled"
    assert KitaruClient().executions.get(exec_id).status == "cancelled"
