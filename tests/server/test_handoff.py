"""Hand-off (issue 13): resume, retry and replay run in a detached process, not the caller."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from kitaru_core._config import load_settings
from kitaru_core.client import KitaruClient
from kitaru_core.client._handoff import hand_off, hand_off_replay, handoff_log_path
from kitaru_core.errors import InvalidExecutionState, InvalidReplay

pytestmark = pytest.mark.slow

FLOWS = """
import os
import kitaru
from kitaru import checkpoint, flow


@checkpoint
def double(x: int) -> int:
    return x * 2


@checkpoint
def mark(value: int) -> int:
    with open(os.environ["HANDOFF_MARKS"], "a") as marks:
        marks.write(f"{os.getpid()}\\n")
    return value


@flow
def approve(x: int) -> int:
    doubled = double(x)
    ok = kitaru.wait(schema=bool, name="ok", question="Add one?", timeout=0)
    return mark(doubled + (1 if ok else 0))
"""


@pytest.fixture
def flows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    path = tmp_path / "handoff_flows.py"
    path.write_text(FLOWS)
    monkeypatch.setenv("HANDOFF_MARKS", str(tmp_path / "marks.txt"))
    monkeypatch.chdir(tmp_path)
    spec = importlib.util.spec_from_file_location("handoff_flows", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "handoff_flows", module)
    spec.loader.exec_module(module)
    return module


def _settled(client: KitaruClient, exec_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.executions.get(exec_id).status
        if status in ("completed", "failed", "waiting", "cancelled"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"{exec_id} still {status} after {timeout}s")


def test_resume_and_replay_run_in_a_detached_process(flows: ModuleType, tmp_path: Path) -> None:
    handle = flows.approve.run(3)
    client = KitaruClient()
    assert client.executions.get(handle.exec_id).status == "waiting"
    client.executions.input(handle.exec_id, True)
    settings = load_settings()

    hand_off(client.store, settings, handle.exec_id, "resume")
    assert _settled(client, handle.exec_id) == "completed", handoff_log_path(
        settings, handle.exec_id, "resume"
    ).read_text()
    assert client.executions.get(handle.exec_id).result == 7
    pids = (tmp_path / "marks.txt").read_text().split()
    assert pids and all(int(pid) != os.getpid() for pid in pids)

    new_id = hand_off_replay(
        client.store, settings, handle.exec_id, None, {"wait.ok": False}, {"x": 10}
    )
    assert new_id != handle.exec_id
    assert _settled(client, new_id) == "completed"
    replay = client.executions.get(new_id)
    assert replay.result == 20
    assert replay.original_exec_id == handle.exec_id


def test_bad_requests_are_refused_before_anything_starts(flows: ModuleType) -> None:
    handle = flows.approve.run(2)
    client = KitaruClient()
    settings = load_settings()
    with pytest.raises(InvalidExecutionState, match="retry"):
        hand_off(client.store, settings, handle.exec_id, "retry")  # waiting, not failed
    before = len(client.executions.list())
    with pytest.raises(InvalidReplay, match="nope"):
        hand_off_replay(client.store, settings, handle.exec_id, None, {"checkpoint.nope": 1}, {})
    assert len(client.executions.list()) == before
    assert not handoff_log_path(settings, handle.exec_id, "retry").exists()
