"""An operation is recorded only while its writer still owns the execution (issue 7, section 4)."""

from __future__ import annotations

import time

import pytest

from kitaru_core.errors import ExecutionTakenOver
from kitaru_core.store._ids import new_exec_id
from kitaru_core.store._records import ExecutionRecord, LogRecord, OperationRecord
from kitaru_core.store._sql_store import SqlStore


def execution(owner: str) -> ExecutionRecord:
    now = time.time()
    return ExecutionRecord(
        exec_id=new_exec_id(),
        flow_name="fenced",
        flow_ref="pkg.mod:fenced",
        status="running",
        created_at=now,
        owner=owner,
        lease_expires_at=now + 60,
        run_count=1,
    )


def operation(exec_id: str, name: str, *, run_no: int = 1) -> OperationRecord:
    now = time.time()
    return OperationRecord(
        exec_id=exec_id,
        op_id=f"{name}:f00d:0",
        name=name,
        kind="checkpoint",
        fingerprint="f00d",
        n=0,
        attempt=1,
        status="completed",
        started_at=now,
        ended_at=now,
        output_codec="json",
        output=b'"out"',
        run_no=run_no,
    )


def test_stale_owner_record_after_takeover_is_refused_naming_the_new_owner(
    store: SqlStore,
) -> None:
    record = execution(owner="old-host:11:aaaa")
    store.create_execution(record)
    store.record_operation(operation(record.exec_id, "first"), owner="old-host:11:aaaa")
    assert store.claim_execution(
        record.exec_id,
        owner="new-host:22:bbbb",
        lease_expires_at=time.time() + 60,
        from_statuses=("running",),
        expected_owner="old-host:11:aaaa",
        check_owner=True,
    )
    # The new owner already recorded "second"; the stale one tries the same attempt, and another.
    store.record_operation(operation(record.exec_id, "second", run_no=2), owner="new-host:22:bbbb")
    line = LogRecord(record.exec_id, time.time(), "stdout", "stale line", None)
    for name in ("second", "third"):
        with pytest.raises(ExecutionTakenOver, match="taken over by new-host:22:bbbb") as raised:
            stale = operation(record.exec_id, name)
            store.record_operation(stale, [line], owner="old-host:11:aaaa")
        assert raised.value.exec_id == record.exec_id
        assert raised.value.new_owner == "new-host:22:bbbb"

    assert [(op.name, op.run_no) for op in store.load_operations(record.exec_id)] == [
        ("first", 1),
        ("second", 2),
    ]
    assert store.get_logs(record.exec_id) == []
    # The store stays usable for the new owner.
    store.record_operation(operation(record.exec_id, "third", run_no=2), owner="new-host:22:bbbb")
    assert len(store.load_operations(record.exec_id)) == 3


def test_record_for_an_execution_whose_owner_was_cleared_is_refused(store: SqlStore) -> None:
    record = execution(owner="old-host:11:aaaa")
    store.create_execution(record)
    store.update_execution(record.exec_id, status="failed", owner=None, lease_expires_at=None)
    with pytest.raises(ExecutionTakenOver, match="failed"):
        store.record_operation(operation(record.exec_id, "late"), owner="old-host:11:aaaa")
    assert store.load_operations(record.exec_id) == []


def test_the_cancelled_run_still_records_its_in_flight_operation(store: SqlStore) -> None:
    record = execution(owner="old-host:11:aaaa")
    store.create_execution(record)
    assert store.transition(record.exec_id, to="cancelled", from_statuses=("running",), owner=None)
    store.record_operation(operation(record.exec_id, "in-flight"), owner="old-host:11:aaaa")
    assert [op.name for op in store.load_operations(record.exec_id)] == ["in-flight"]

    # Once another run took the execution over, a cancel does not let the stale run write.
    taken = execution(owner="old-host:11:aaaa")
    store.create_execution(taken)
    assert store.claim_execution(
        taken.exec_id,
        owner="new-host:22:bbbb",
        lease_expires_at=time.time() + 60,
        from_statuses=("running",),
        expected_owner="old-host:11:aaaa",
        check_owner=True,
    )
    assert store.transition(taken.exec_id, to="cancelled", from_statuses=("running",), owner=None)
    with pytest.raises(ExecutionTakenOver, match="cancelled"):
        store.record_operation(operation(taken.exec_id, "late"), owner="old-host:11:aaaa")
    assert store.load_operations(taken.exec_id) == []
