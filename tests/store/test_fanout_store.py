"""Fan-out on each backend (issue 15): children run concurrently, each thread on its own
connection; a parent suspended on its children is woken exactly when the last one finishes,
however their ends and its suspension interleave."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core import _config
from kitaru_core.store import _backends
from kitaru_core.store._records import ExecutionRecord
from kitaru_core.store._sql_store import SqlStore

meeting = threading.Barrier(3, timeout=20)


@checkpoint
def meet(i: int) -> int:
    meeting.wait()  # only returns when the three children are in here at once
    return i * i


@flow
def store_child(i: int, tag: str) -> int:
    return meet(i)


@flow
def store_parent(tag: str) -> list[int]:
    return kitaru.gather(*[store_child.run(i, tag) for i in range(3)])


def test_children_run_concurrently_on_each_backend(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITARU_STORE_URL", store_url)
    _config.reset()
    _backends.close_all()
    handle = store_parent.run(uuid.uuid4().hex)  # a tag: the PostgreSQL database is shared
    assert handle.wait() == [0, 1, 4]
    children = KitaruClient().executions.list(parent=handle.exec_id)
    assert sorted(c.result for c in children) == [0, 1, 4]
    assert {c.parent_id for c in children} == {handle.exec_id}


def _execution(store: SqlStore, status: str, *, owner: str | None = None) -> str:
    exec_id = f"kr-t{uuid.uuid4().hex[:24]}"
    store.create_execution(
        ExecutionRecord(
            exec_id=exec_id,
            flow_name="f",
            flow_ref="m:f",
            status=status,
            created_at=time.time(),
            owner=owner,
        )
    )
    return exec_id


def test_a_parent_is_woken_only_when_every_child_it_waits_for_has_finished(
    store: SqlStore,
) -> None:
    parent = _execution(store, "running", owner="me")
    running, done = _execution(store, "running"), _execution(store, "completed")
    assert store.suspend_on_children(parent, [running, done], expected_owner="me")
    record = store.get_execution(parent)
    assert (record.status, record.awaiting, record.owner) == ("waiting", [running, done], "me")
    assert not store.wake_parent(parent)  # one child still runs
    store.update_execution(running, status="failed")
    assert store.wake_parent(parent)
    assert store.get_execution(parent).status == "queued"
    assert not store.wake_parent(parent)  # already woken

    # All finished before it suspended: queued at once. Another owner: nothing changes.
    again = _execution(store, "running", owner="me")
    assert not store.suspend_on_children(again, [done], expected_owner="someone else")
    assert store.suspend_on_children(again, [done], expected_owner="me")
    assert store.get_execution(again).status == "queued"

    # A parent waiting for a human, not for children, is never woken by them.
    human = _execution(store, "waiting")
    assert not store.wake_parent(human)
    assert store.get_execution(human).status == "waiting"


def test_a_parent_suspending_while_its_children_finish_is_always_woken(
    store: SqlStore,
) -> None:
    for _ in range(10):
        parent = _execution(store, "running", owner="me")
        children = [_execution(store, "running") for _ in range(4)]
        start = threading.Barrier(len(children) + 1)

        def finish(child: str, parent: str, start: threading.Barrier) -> None:
            start.wait()
            store.update_execution(child, status="completed")
            store.wake_parent(parent)

        threads = [threading.Thread(target=finish, args=(c, parent, start)) for c in children]
        for thread in threads:
            thread.start()
        start.wait()
        assert store.suspend_on_children(parent, children, expected_owner="me")
        for thread in threads:
            thread.join()
        assert store.get_execution(parent).status == "queued"  # never left waiting
