"""Who owns a running execution and when it is dead (issue 7, sections 2, 3 and 4).

An owner is dead when its lease expired, or when it runs in this PID namespace and its pid (or
that pid's start time) no longer matches. A stale owner that lost the execution records nothing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core import _config
from kitaru_core.engine import _context
from kitaru_core.engine._lease import my_owner_id
from kitaru_core.engine._liveness import PROCESS_DIED
from kitaru_core.errors import ConfigurationError, ExecutionBusy, ExecutionTakenOver
from kitaru_core.store._records import OperationRecord

linux_only = pytest.mark.skipif(
    not Path("/proc/self/ns/pid").exists(), reason="needs Linux /proc (PID namespaces)"
)

calls: Counter[str] = Counter()
takeover: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    calls.clear()
    takeover.clear()
    yield


def executions() -> Any:
    return KitaruClient().executions


@checkpoint
def tick(index: int) -> int:
    calls["tick"] += 1
    return index


@flow
def ticker(count: int) -> int:
    return sum(tick(index) for index in range(count))


def owner_of(pid: int, *, start: int | None = None) -> str:
    """The owner id a Kitaru process with ``pid`` on this machine records (start time optional)."""
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    pidns = os.stat(f"/proc/{pid}/ns/pid").st_ino
    if start is None:
        start = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    return f"{socket.gethostname()}:{pid}:test:{boot_id}:{pidns}:{start}"


@pytest.fixture
def live_process() -> Iterator[subprocess.Popen[bytes]]:
    """Another process on this machine that stays alive for the test."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def strand(exec_id: str, owner: str, lease_expires_at: float | None) -> None:
    """Leave ``exec_id`` as a ``running`` execution of ``owner`` (what a crash or outage leaves)."""
    KitaruClient().store.update_execution(
        exec_id, status="running", owner=owner, lease_expires_at=lease_expires_at, ended_at=None
    )


# item 2: an owner whose pid was reused -------------------------------------------------------


@linux_only
def test_owner_whose_pid_was_reused_by_another_live_process_is_dead(
    live_process: subprocess.Popen[bytes],
) -> None:
    handle = ticker.run(3)
    real = owner_of(live_process.pid)
    real_start = int(real.rsplit(":", 1)[1])
    # The process that ran it is gone; its pid now belongs to ``live_process`` (another start).
    strand(handle.exec_id, owner_of(live_process.pid, start=real_start - 500), time.time() + 600)

    execution = executions().get(handle.exec_id)
    assert execution.status == "failed"
    assert execution.error is not None and execution.error["type"] == PROCESS_DIED
    assert executions().resume(handle.exec_id).wait() == 3
    assert calls["tick"] == 3  # nothing ran again


@linux_only
def test_owner_in_this_namespace_with_matching_pid_and_start_time_is_alive(
    live_process: subprocess.Popen[bytes],
) -> None:
    handle = ticker.run(2)
    strand(handle.exec_id, owner_of(live_process.pid), time.time() + 600)

    assert executions().get(handle.exec_id).status == "running"
    with pytest.raises(ExecutionBusy, match=handle.exec_id):
        executions().resume(handle.exec_id)


@linux_only
def test_owner_that_died_is_dead_at_once_whatever_its_lease() -> None:
    handle = ticker.run(2)
    gone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    owner = owner_of(gone.pid)
    gone.kill()
    gone.wait()
    strand(handle.exec_id, owner, time.time() + 600)  # an immediate resume after kill -9

    assert executions().get(handle.exec_id).status == "failed"
    assert executions().resume(handle.exec_id).wait() == 1


# item 2: a live owner whose lease expired ----------------------------------------------------


@linux_only
@pytest.mark.parametrize("who", ["this process", "another live process"])
def test_live_owner_whose_lease_expired_is_resumable(
    who: str, live_process: subprocess.Popen[bytes]
) -> None:
    # A long-lived process whose final status write failed during a short store outage: the
    # execution stays ``running`` under a live owner that no longer renews its lease.
    handle = ticker.run(3)
    owner = my_owner_id() if who == "this process" else owner_of(live_process.pid)
    strand(handle.exec_id, owner, time.time() - 1)

    assert executions().get(handle.exec_id).status == "failed"
    resumed = executions().resume(handle.exec_id)
    assert (resumed.status, resumed.wait()) == ("completed", 3)
    assert calls["tick"] == 3


def test_owner_id_of_an_older_kitaru_is_judged_by_its_lease() -> None:
    handle = ticker.run(2)
    legacy = f"{socket.gethostname()}:{2**22 + 1}:abcd1234"  # host:pid:token, no namespace
    strand(handle.exec_id, legacy, time.time() + 600)
    assert executions().get(handle.exec_id).status == "running"
    strand(handle.exec_id, legacy, time.time() - 1)
    assert executions().get(handle.exec_id).status == "failed"


def test_a_running_execution_of_this_process_with_a_fresh_lease_is_busy() -> None:
    handle = ticker.run(2)
    strand(handle.exec_id, my_owner_id(), time.time() + 600)

    assert executions().get(handle.exec_id).status == "running"
    with pytest.raises(ExecutionBusy, match="lease"):
        executions().resume(handle.exec_id)


# the lease length is a setting ---------------------------------------------------------------


@checkpoint
def lease_left() -> float:
    run = _context.current_run()
    assert run is not None
    record = run.store.get_execution(run.exec_id)
    assert record.lease_expires_at is not None
    return record.lease_expires_at - time.time()


@flow
def lease_probe() -> float:
    return lease_left()


def test_lease_length_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _config.load_settings().lease_seconds == 60.0
    monkeypatch.setenv("KITARU_LEASE_SECONDS", "7.5")
    _config.reset()
    assert _config.load_settings().lease_seconds == 7.5
    assert 5.0 < lease_probe() <= 7.5
    kitaru.configure(lease_seconds=30)
    assert 28.0 < lease_probe() <= 30.0


@checkpoint
def outlive_the_lease(seconds: float) -> str:
    time.sleep(seconds)
    run = _context.current_run()
    assert run is not None
    return str(executions().get(run.exec_id).status)  # a read that judges the owner


@flow
def long_step(seconds: float) -> str:
    return outlive_the_lease(seconds)


def test_heartbeat_keeps_a_short_lease_alive_while_a_step_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KITARU_LEASE_SECONDS", "0.9")
    _config.reset()
    assert long_step(2.5) == "running"  # renewed every 0.3 s: never judged dead, not taken over


@pytest.mark.parametrize("value", ["0", "-3", "soon", "nan"])
def test_a_lease_length_that_is_not_a_positive_number_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITARU_LEASE_SECONDS", value)
    _config.reset()
    with pytest.raises(ConfigurationError, match="lease_seconds"):
        _config.load_settings()


# item 3: a stale owner woken after a takeover ------------------------------------------------


NEW_OWNER = "otherhost:4242:cafe0001:00000000-0000-0000-0000-000000000000:4026531836:1234"


def take_over_now(value: int, *, new_owner_records: bool) -> None:
    """Inside a checkpoint body: another process takes the execution over (its lease expired)."""
    run = _context.current_run()
    scope = _context.current_operation()
    assert run is not None and scope is not None
    store = run.store
    assert store.claim_execution(
        run.exec_id,
        owner=NEW_OWNER,
        lease_expires_at=time.time() + 60,
        from_statuses=("running",),
        expected_owner=run.owner,
        check_owner=True,
    )
    takeover["exec_id"] = run.exec_id
    if new_owner_records:  # the new owner has already run and recorded the same operation
        stored = run.encode(value, what="test")
        now = time.time()
        store.record_operation(
            OperationRecord(
                exec_id=run.exec_id,
                op_id=scope.op_id,
                name=scope.spec.name,
                kind=scope.spec.kind,
                fingerprint=scope.fingerprint,
                n=0,
                attempt=1,
                status="completed",
                started_at=now,
                ended_at=now,
                output_codec=stored.codec,
                output=stored.data,
                run_no=2,
            )
        )


@checkpoint
def slow_step(value: int, new_owner_records: bool) -> int:
    calls["slow_step"] += 1
    take_over_now(value, new_owner_records=new_owner_records)
    return value


@checkpoint
def next_step(value: int) -> int:
    calls["next_step"] += 1
    return value + 1


@flow
def paused_flow(value: int, new_owner_records: bool) -> int:
    return next_step(slow_step(value, new_owner_records))


@pytest.mark.parametrize("new_owner_records", [True, False])
def test_stale_owner_woken_after_takeover_gets_execution_taken_over(
    new_owner_records: bool,
) -> None:
    with pytest.raises(ExecutionTakenOver, match="taken over by") as raised:
        paused_flow(5, new_owner_records)
    assert NEW_OWNER in str(raised.value)
    assert calls == {"slow_step": 1}  # it stopped: no later step ran in the stale process

    exec_id = takeover["exec_id"]
    store = KitaruClient().store
    record = store.get_execution(exec_id)
    # The new owner's execution and records are as it left them.
    assert (record.status, record.owner, record.run_count) == ("running", NEW_OWNER, 2)
    ops = store.load_operations(exec_id)
    assert [(op.name, op.run_no) for op in ops] == ([("slow_step", 2)] if new_owner_records else [])
