"""Every Store method, the migrations and a whole flow, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kitaru import KitaruClient, checkpoint, flow
from kitaru_core import _config
from kitaru_core.errors import ArtifactNotFound, ExecutionBusy, ExecutionNotFound, StoreError
from kitaru_core.store._ids import new_artifact_id, new_exec_id
from kitaru_core.store._migrations import HEAD_REVISION, VERSION_TABLE
from kitaru_core.store._records import (
    ArtifactRecord,
    ExecutionRecord,
    LogRecord,
    OperationRecord,
    WaitRecord,
)
from kitaru_core.store._schema import TABLE_NAMES
from kitaru_core.store._schema import executions as t_executions
from kitaru_core.store._sql_store import SqlStore


def unique(prefix: str) -> str:
    """A name no other test in the (shared PostgreSQL) database uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def execution(**fields: Any) -> ExecutionRecord:
    now = time.time()
    values: dict[str, Any] = {
        "exec_id": new_exec_id(),
        "flow_name": unique("flow"),
        "flow_ref": "pkg.mod:agent",
        "status": "running",
        "created_at": now,
        "flow_file": "/srv/agent.py",
        "code_dir": "/srv",
        "is_async": True,
        "inputs_codec": "kitaru-args",
        "inputs": b'{"x": ["json", "MQ=="]}',
        "started_at": now,
        "updated_at": now,
        "owner": "host:1:abcd",
        "lease_expires_at": now + 60,
        "run_count": 1,
        "metadata": {"team": "research", "nested": {"k": [1, 2]}},
    }
    values.update(fields)
    return ExecutionRecord(**values)


def operation(exec_id: str, name: str, *, attempt: int = 1, **fields: Any) -> OperationRecord:
    now = time.time()
    values: dict[str, Any] = {
        "exec_id": exec_id,
        "op_id": f"{name}:f00d:0",
        "name": name,
        "kind": "checkpoint",
        "fingerprint": "f00d",
        "n": 0,
        "attempt": attempt,
        "status": "completed",
        "started_at": now,
        "ended_at": now + 0.5,
        "input_text": '{"x":1}',
        "output_codec": "json",
        "output": b'"out"',
        "metadata": {"score": 0.5},
        "tokens_in": 10,
        "tokens_out": 20,
        "cost": 0.25,
    }
    values.update(fields)
    return OperationRecord(**values)


def without_seq(record: OperationRecord) -> OperationRecord:
    return dataclasses.replace(record, seq=None)


# executions --------------------------------------------------------------------------------------


def test_create_get_and_list_executions(store: SqlStore) -> None:
    flow_name = unique("flow")
    records = [
        execution(flow_name=flow_name, status=status)
        for status in ("running", "completed", "failed")
    ]
    records[2].error = {"type": "builtins.ValueError", "message": "bad"}
    for record in records:
        store.create_execution(record)

    assert store.get_execution(records[2].exec_id) == records[2]
    newest_first = sorted(records, key=lambda r: r.exec_id, reverse=True)
    assert store.list_executions(flow=flow_name) == newest_first
    assert store.list_executions(flow=flow_name, limit=2) == newest_first[:2]
    assert store.list_executions(flow=flow_name, status="failed") == [records[2]]
    assert store.list_executions(flow=unique("nobody")) == []
    with pytest.raises(ExecutionNotFound, match="kr-missing"):
        store.get_execution("kr-missing")


def test_count_executions_by_status(store: SqlStore) -> None:
    before = store.count_executions()
    for status in ("running", "completed", "completed", "waiting"):
        store.create_execution(execution(status=status))
    after = store.count_executions()
    delta = {status: after.get(status, 0) - before.get(status, 0) for status in after}
    assert {status: n for status, n in delta.items() if n} == {
        "running": 1,
        "completed": 2,
        "waiting": 1,
    }


def test_update_execution_checks_the_owner_when_asked(store: SqlStore) -> None:
    record = execution()
    store.create_execution(record)
    assert not store.update_execution(record.exec_id, expected_owner="host:2:other", status="x")
    assert store.get_execution(record.exec_id).status == "running"
    assert store.update_execution(
        record.exec_id,
        expected_owner=record.owner,
        status="completed",
        result_codec="json",
        result=b"42",
        owner=None,
        metadata={},
    )
    updated = store.get_execution(record.exec_id)
    assert (updated.status, updated.result, updated.owner, updated.metadata) == (
        "completed",
        b"42",
        None,
        {},
    )
    assert store.update_execution(record.exec_id, metadata={"a": 1})
    assert store.get_execution(record.exec_id).metadata == {"a": 1}
    with pytest.raises(ExecutionNotFound, match="kr-missing"):
        store.update_execution("kr-missing", status="failed")


def test_transition_is_compare_and_set(store: SqlStore) -> None:
    record = execution()
    store.create_execution(record)
    assert store.transition(record.exec_id, to="waiting", from_statuses=("running",), owner=None)
    assert not store.transition(record.exec_id, to="cancelled", from_statuses=("running",))
    assert store.transition(record.exec_id, to="queued", from_statuses=("waiting", "failed"))
    assert store.get_execution(record.exec_id).status == "queued"
    assert store.get_execution(record.exec_id).owner is None
    assert not store.transition("kr-missing", to="queued", from_statuses=("waiting",))


def test_claim_execution(store: SqlStore) -> None:
    failed = execution(status="failed", owner=None, error={"message": "boom"})
    store.create_execution(failed)
    claim = {"owner": "host:7:me", "lease_expires_at": time.time() + 60}
    assert not store.claim_execution(
        failed.exec_id, from_statuses=("queued",), expected_owner=None, check_owner=False, **claim
    )
    assert store.claim_execution(
        failed.exec_id, from_statuses=("failed",), expected_owner=None, check_owner=False, **claim
    )
    claimed = store.get_execution(failed.exec_id)
    assert (claimed.status, claimed.owner, claimed.run_count, claimed.error) == (
        "running",
        "host:7:me",
        2,
        None,
    )
    assert not store.claim_execution(
        failed.exec_id, from_statuses=("failed",), expected_owner=None, check_owner=False, **claim
    )

    # Taking over a running execution only works from the owner the caller saw.
    stale = execution(owner="host:1:dead")
    store.create_execution(stale)
    running = ("running",)
    assert not store.claim_execution(
        stale.exec_id, from_statuses=running, expected_owner="host:9:x", check_owner=True, **claim
    )
    assert store.claim_execution(
        stale.exec_id,
        from_statuses=running,
        expected_owner="host:1:dead",
        check_owner=True,
        **claim,
    )
    assert store.get_execution(stale.exec_id).owner == "host:7:me"
    unowned = execution(status="queued", owner=None)
    store.create_execution(unowned)
    assert store.claim_execution(
        unowned.exec_id, from_statuses=("queued",), expected_owner=None, check_owner=True, **claim
    )


def test_renew_leases_only_touches_the_owners_executions(store: SqlStore) -> None:
    mine = [execution(owner="host:1:me", lease_expires_at=1.0) for _ in range(2)]
    theirs = execution(owner="host:2:them", lease_expires_at=1.0)
    for record in [*mine, theirs]:
        store.create_execution(record)
    store.renew_leases("host:1:me", [], 500.0)
    store.renew_leases("host:1:me", [r.exec_id for r in [*mine, theirs]], 500.0)
    assert [store.get_execution(r.exec_id).lease_expires_at for r in mine] == [500.0, 500.0]
    assert store.get_execution(theirs.exec_id).lease_expires_at == 1.0


# operations and logs -----------------------------------------------------------------------------


def test_operations_load_in_write_order_and_round_trip(store: SqlStore) -> None:
    record = execution()
    store.create_execution(record)
    written = [
        operation(
            record.exec_id,
            "zeta",
            status="failed",
            output_codec=None,
            output=None,
            error={"type": "builtins.OSError", "message": "x"},
        ),
        operation(record.exec_id, "zeta", attempt=2),
        operation(record.exec_id, "alpha", output=None, output_ref="ab" * 32),
        operation(record.exec_id, "mid", metadata={}, reused_from="kr-source", run_no=2),
    ]
    for op in written:
        store.record_operation(op)
    loaded = store.load_operations(record.exec_id)
    assert [op.seq for op in loaded] == sorted(op.seq for op in loaded)  # type: ignore[type-var]
    assert [without_seq(op) for op in loaded] == written
    assert store.load_operations("kr-none") == []


def test_a_lone_operation_record_leaves_the_connection_to_explicit_transactions(
    store: SqlStore,
) -> None:
    # On PostgreSQL an operation without logs is written in autocommit (one round trip); the
    # held connection then goes back to the pool, whose users rely on BEGIN ... ROLLBACK.
    record = execution()
    store.create_execution(record)
    store.record_operation(operation(record.exec_id, "alone"))
    store._drop_held()  # back to the pool, as when the recording thread ends
    engine = store._engine
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(t_executions.delete().where(t_executions.c.exec_id == record.exec_id))
        raise RuntimeError("roll it back")
    assert store.get_execution(record.exec_id).exec_id == record.exec_id
    assert [op.name for op in store.load_operations(record.exec_id)] == ["alone"]


def test_record_operation_writes_its_logs_in_the_same_transaction(store: SqlStore) -> None:
    record = execution()
    store.create_execution(record)
    op = operation(record.exec_id, "talk")
    lines = [
        LogRecord(record.exec_id, time.time(), "stdout", f"line {i}", op.op_id) for i in range(3)
    ]
    store.record_operation(op, lines)
    assert store.get_logs(record.exec_id) == lines

    # A log line the database rejects (NULL text) rolls the operation back with it.
    bad = [LogRecord(record.exec_id, time.time(), "stdout", None)]  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="lost"):
        store.record_operation(operation(record.exec_id, "lost"), bad)
    assert [op.name for op in store.load_operations(record.exec_id)] == ["talk"]
    assert store.get_logs(record.exec_id) == lines

    # The same attempt twice is refused; the store stays usable afterwards.
    with pytest.raises(StoreError, match="talk"):
        store.record_operation(operation(record.exec_id, "talk"))
    store.record_operation(operation(record.exec_id, "after"))
    assert [op.name for op in store.load_operations(record.exec_id)] == ["talk", "after"]


def test_many_threads_record_at_once(store: SqlStore) -> None:
    """A flow may fan checkpoints out to more threads than a connection pool usually holds."""
    record = execution()
    store.create_execution(record)
    count = 24
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def record_one(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            store.record_operation(operation(record.exec_id, f"op{i}"))
            barrier.wait(timeout=10)  # every thread still holds whatever it used
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=record_one, args=(i,)) for i in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert time.monotonic() - started < 10
    assert len(store.load_operations(record.exec_id)) == count


def test_append_and_get_logs(store: SqlStore) -> None:
    record = execution()
    store.create_execution(record)
    store.append_logs([])
    first = [LogRecord(record.exec_id, 1.0, "stdout", "hello")]
    second = [
        LogRecord(record.exec_id, 2.0, "stderr", "oops", "op:1"),
        LogRecord(record.exec_id, 3.0, "log", "WARNING x: y"),
    ]
    store.append_logs(first)
    store.append_logs(second)
    assert store.get_logs(record.exec_id) == first + second
    assert store.get_logs("kr-none") == []


# artifacts ---------------------------------------------------------------------------------------


def artifact(exec_id: str, name: str, **fields: Any) -> ArtifactRecord:
    values: dict[str, Any] = {
        "artifact_id": new_artifact_id(),
        "exec_id": exec_id,
        "name": name,
        "version": 0,
        "codec": "json",
        "created_at": time.time(),
        "size": 2,
        "data": b"{}",
    }
    values.update(fields)
    return ArtifactRecord(**values)


def test_artifacts_are_versioned_per_execution_and_name(store: SqlStore) -> None:
    one, two = execution(), execution()
    store.create_execution(one)
    store.create_execution(two)
    saved = [store.save_artifact(artifact(one.exec_id, "report")) for _ in range(3)]
    assert [a.version for a in saved] == [1, 2, 3]
    assert store.save_artifact(artifact(one.exec_id, "notes")).version == 1
    blob = store.save_artifact(artifact(two.exec_id, "report", data=None, ref="cd" * 32, size=9))
    assert blob.version == 1

    assert store.get_artifact(saved[1].artifact_id) == saved[1]
    assert store.get_artifact(blob.artifact_id) == blob
    listed = store.list_artifacts(exec_id=one.exec_id, name="report")
    assert [a.version for a in listed] == [3, 2, 1]
    assert len(store.list_artifacts(exec_id=one.exec_id)) == 4
    assert store.list_artifacts(exec_id=one.exec_id, name="report", limit=1) == [saved[2]]
    with pytest.raises(ArtifactNotFound, match="ka-missing"):
        store.get_artifact("ka-missing")


def test_concurrent_saves_get_distinct_versions(store: SqlStore) -> None:
    record = execution()
    store.create_execution(record)
    versions: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: versions.append(
                store.save_artifact(artifact(record.exec_id, "x")).version
            )
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]


# waits -------------------------------------------------------------------------------------------


def wait(exec_id: str, wait_id: str, **fields: Any) -> WaitRecord:
    values: dict[str, Any] = {
        "exec_id": exec_id,
        "wait_id": wait_id,
        "name": wait_id.split(":")[0],
        "status": "pending",
        "created_at": time.time(),
        "schema": {"type": "boolean"},
        "question": "Approve?",
        "metadata": {"who": "ops"},
    }
    values.update(fields)
    return WaitRecord(**values)


def test_waits_are_created_once_and_answered_once(store: SqlStore) -> None:
    record = execution()
    store.create_execution(record)
    first = wait(record.exec_id, "approve:0", created_at=1.0)
    second = wait(record.exec_id, "review:0", created_at=2.0, schema=None, metadata={})
    store.create_wait(first)
    store.create_wait(second)
    store.create_wait(wait(record.exec_id, "approve:0", question="changed?", created_at=3.0))
    assert store.get_waits(record.exec_id) == [first, second]

    assert store.answer_wait(
        record.exec_id, "approve:0", status="answered", value_codec="json", value=b"true"
    )
    assert not store.answer_wait(
        record.exec_id, "approve:0", status="answered", value_codec="json", value=b"false"
    )
    assert not store.answer_wait(
        record.exec_id, "approve:0", status="aborted", value_codec=None, value=None
    )
    answered = store.get_waits(record.exec_id)[0]
    assert (answered.status, answered.value_codec, answered.value) == ("answered", "json", b"true")
    assert answered.answered_at is not None
    assert store.answer_wait(
        record.exec_id, "review:0", status="aborted", value_codec=None, value=None
    )
    assert not store.answer_wait(
        record.exec_id, "nope:0", status="answered", value_codec="json", value=b"1"
    )


def test_answer_wait_and_queue_changes_wait_and_execution_together(store: SqlStore) -> None:
    waiting = execution(status="waiting")
    running = execution(status="running")
    for record in (waiting, running):
        store.create_execution(record)
        store.create_wait(wait(record.exec_id, "approve:0"))

    assert store.answer_wait_and_queue(
        waiting.exec_id, "approve:0", status="answered", value_codec="json", value=b"true"
    )
    assert store.get_execution(waiting.exec_id).status == "queued"
    # A second answer changes nothing, not even an execution that went back to waiting.
    store.transition(waiting.exec_id, to="waiting", from_statuses=("queued",))
    assert not store.answer_wait_and_queue(
        waiting.exec_id, "approve:0", status="aborted", value_codec=None, value=None
    )
    assert store.get_execution(waiting.exec_id).status == "waiting"
    assert store.get_waits(waiting.exec_id)[0].value == b"true"
    # An execution still running (its wait polls) keeps running: the poll picks the answer up.
    assert store.answer_wait_and_queue(
        running.exec_id, "approve:0", status="answered", value_codec="json", value=b"false"
    )
    assert store.get_execution(running.exec_id).status == "running"
    assert store.get_waits(running.exec_id)[0].status == "answered"


def test_racing_answers_exactly_one_wins(store: SqlStore) -> None:
    record = execution()
    store.create_execution(record)
    store.create_wait(wait(record.exec_id, "approve:0"))
    barrier = threading.Barrier(6)
    wins: list[bytes] = []

    def answer(value: bytes) -> None:
        barrier.wait(timeout=10)
        if store.answer_wait(
            record.exec_id, "approve:0", status="answered", value_codec="json", value=value
        ):
            wins.append(value)

    threads = [threading.Thread(target=answer, args=(str(i).encode(),)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(wins) == 1
    assert store.get_waits(record.exec_id)[0].value == wins[0]


# migrations --------------------------------------------------------------------------------------


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _revisions(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    finally:
        engine.dispose()


def test_migrations_are_applied_on_connect_and_idempotent(
    empty_store_url: Callable[[], str],
) -> None:
    url = empty_store_url()
    assert _tables(url) == set()
    first = SqlStore(url)
    record = execution()
    first.create_execution(record)
    first.close()
    assert _tables(url) == TABLE_NAMES | {VERSION_TABLE}
    assert _revisions(url) == [HEAD_REVISION]

    again = SqlStore(url)
    try:
        assert again.get_execution(record.exec_id) == record
    finally:
        again.close()
    assert _revisions(url) == [HEAD_REVISION]


@pytest.mark.parametrize(("durability", "synchronous"), [("process", 1), ("power", 2)])
def test_sqlite_runs_in_wal_with_the_chosen_fsync_policy(
    tmp_path: Path, durability: str, synchronous: int
) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'wal.db'}", durability=durability)
    try:
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == synchronous  # NORMAL/FULL
    finally:
        store.close()


def test_a_store_from_a_newer_kitaru_is_refused(empty_store_url: Callable[[], str]) -> None:
    url = empty_store_url()
    SqlStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="9999"):
        SqlStore(url)
    assert _revisions(url) == ["9999"]


# a whole flow on each backend --------------------------------------------------------------------

calls: Counter[str] = Counter()
knobs: dict[str, bool] = {}


@checkpoint
def gather(topic: str) -> list[str]:
    calls["gather"] += 1
    return [f"{topic}-{i}" for i in range(3)]


@checkpoint
def summarize(notes: list[str]) -> str:
    calls["summarize"] += 1
    if knobs.get("broken"):
        raise RuntimeError("model unavailable")
    return " / ".join(notes)


@checkpoint
def finalize(summary: str) -> dict[str, Any]:
    calls["finalize"] += 1
    return {"summary": summary, "length": len(summary)}


@flow
def research(topic: str) -> dict[str, Any]:
    print(f"researching {topic}")
    return finalize(summarize(gather(topic)))


@pytest.fixture
def on_backend(store_url: str, monkeypatch: pytest.MonkeyPatch) -> KitaruClient:
    monkeypatch.setenv("KITARU_STORE_URL", store_url)
    _config.reset()
    calls.clear()
    knobs.clear()
    client = KitaruClient(store_url=store_url)
    assert client.store.url == store_url
    return client


def _dead_owner() -> str:
    """The owner id of a Kitaru process on this machine that has exited."""
    code = "from kitaru_core.engine._lease import my_owner_id; print(my_owner_id())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def test_a_flow_runs_and_resumes_on_each_backend(on_backend: KitaruClient) -> None:
    knobs["broken"] = True
    handle = research.run("kv")
    assert handle.status == "failed"
    knobs["broken"] = False

    resumed = on_backend.executions.resume(handle.exec_id)
    expected = {"summary": "kv-0 / kv-1 / kv-2", "length": 18}
    assert resumed.wait() == expected
    assert calls == {"gather": 1, "summarize": 2, "finalize": 1}
    execution_ = on_backend.executions.get(handle.exec_id)
    assert (execution_.status, execution_.result, execution_.run_count) == (
        "completed",
        expected,
        2,
    )
    assert [(op.name, op.reused) for op in execution_.operations] == [
        ("gather", True),
        ("summarize", False),
        ("finalize", False),
    ]
    lines = [line.line for line in on_backend.executions.logs(handle.exec_id)]
    assert lines == ["researching kv", "researching kv"]


def test_an_execution_whose_process_died_is_taken_over(on_backend: KitaruClient) -> None:
    done = research.run("db")
    # Make it look like a process that died after its first checkpoint.
    store = on_backend.store
    first_op = store.load_operations(done.exec_id)[0]
    stranded = dataclasses.replace(
        store.get_execution(done.exec_id),
        exec_id=new_exec_id(),
        status="running",
        owner=f"{socket.gethostname()}:{os.getppid()}:alive",
        lease_expires_at=time.time() + 60,
        result_codec=None,
        result=None,
        ended_at=None,
    )
    store.create_execution(stranded)
    store.record_operation(dataclasses.replace(first_op, exec_id=stranded.exec_id, seq=None))
    calls.clear()

    with pytest.raises(ExecutionBusy, match=stranded.exec_id):
        on_backend.executions.resume(stranded.exec_id)  # its owner is a live process
    store.update_execution(stranded.exec_id, owner=_dead_owner())
    resumed = on_backend.executions.resume(stranded.exec_id).wait()
    assert resumed == {"summary": "db-0 / db-1 / db-2", "length": 18}
    assert calls == {"summarize": 1, "finalize": 1}
    taken = on_backend.executions.get(stranded.exec_id)
    assert (taken.status, taken.run_count) == ("completed", 2)
    assert [op.reused for op in taken.operations] == [True, False, False]
