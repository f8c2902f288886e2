"""Many writers on one PostgreSQL store: recording a checkpoint locks only its own execution.

No global lock and no row that every checkpoint updates: while one execution's row is locked
(a takeover in flight holds it so), checkpoints of other executions are recorded at once, and
threads recording into different executions all finish with every row in place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from kitaru_core.store._sql_store import SqlStore
from tests.store.test_owner_fence import execution, operation

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(postgres_url: str) -> Iterator[SqlStore]:
    opened = SqlStore(postgres_url)
    try:
        yield opened
    finally:
        opened.close()


def test_a_locked_execution_does_not_hold_up_checkpoints_of_another(
    store: SqlStore, postgres_url: str
) -> None:
    import psycopg

    a, b = execution("worker-1"), execution("worker-2")
    store.create_execution(a)
    store.create_execution(b)
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as locker:
        locker.execute(
            "SELECT 1 FROM kitaru_executions WHERE exec_id = %s FOR UPDATE", (a.exec_id,)
        )
        blocked = threading.Thread(
            target=store.record_operation,
            args=(operation(a.exec_id, "held"),),
            kwargs={"owner": "worker-1"},
        )
        blocked.start()
        time.sleep(0.3)
        # B's checkpoints go through while A's row is locked (each in its own thread: a
        # stuck call would stop the test at the join, not hang it).
        done = threading.Event()

        def record_b() -> None:
            for name in ("one", "two", "three"):
                store.record_operation(operation(b.exec_id, name), owner="worker-2")
            done.set()

        writer = threading.Thread(target=record_b)
        writer.start()
        writer.join(timeout=30)
        assert done.is_set(), "recording into B waited for the lock on A"
        assert blocked.is_alive(), "A's checkpoint did not wait for A's row lock"
        locker.rollback()
    blocked.join(timeout=30)
    assert not blocked.is_alive()
    assert [op.name for op in store.load_operations(a.exec_id)] == ["held"]
    assert [op.name for op in store.load_operations(b.exec_id)] == ["one", "two", "three"]


def test_concurrent_writers_into_different_executions_all_land(store: SqlStore) -> None:
    executions = [execution(f"worker-{i}") for i in range(4)]
    for record in executions:
        store.create_execution(record)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        record = executions[index]
        try:
            for step in range(50):
                store.record_operation(
                    operation(record.exec_id, f"step{step}"), owner=f"worker-{index}"
                )
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    for record in executions:
        names = [op.name for op in store.load_operations(record.exec_id)]
        assert names == [f"step{step}" for step in range(50)]
