"""Adapter logs (the toolkit's ``AdapterLog``, table ``kitaru_adapter_log``) on each backend."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from kitaru import flow
from kitaru_core import toolkit
from kitaru_core.errors import KitaruError
from kitaru_core.store._sql_store import SqlStore


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"  # the PostgreSQL database is shared by the session


def test_append_dedupes_by_id_and_keeps_order(store: SqlStore, namespace: str) -> None:
    store.append_adapter_log(namespace, "a/s", [("1", '{"n":1}'), (None, '{"n":2}')], at=1.0)
    store.append_adapter_log(namespace, "a/s", [("1", '{"n":1}'), ("3", '{"n":3}')], at=2.0)
    store.append_adapter_log(namespace, "a/s", [(None, '{"n":2}')], at=3.0)
    assert store.read_adapter_log(namespace, "a/s") == ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":2}']
    assert store.read_adapter_log(namespace, "a/other") is None
    assert store.read_adapter_log(f"{namespace}-x", "a/s") is None


def test_replace_keeps_one_value(store: SqlStore, namespace: str) -> None:
    store.append_adapter_log(namespace, "v", [(None, "1")], at=1.0)
    store.append_adapter_log(namespace, "v", [("k", "2")], at=2.0, replace=True)
    store.append_adapter_log(namespace, "v", [("k", "3")], at=3.0, replace=True)
    assert store.read_adapter_log(namespace, "v") == ["3"]


def test_streams_by_prefix_with_last_write_and_delete(store: SqlStore, namespace: str) -> None:
    for stream, at in (("p/s1", 5.0), ("p/s1", 7.0), ("p/s1/sub", 6.0), ("p_x/s", 1.0)):
        store.append_adapter_log(namespace, stream, [(None, "{}")], at=at)
    assert sorted(store.list_adapter_logs(namespace, "p/")) == [("p/s1", 7.0), ("p/s1/sub", 6.0)]
    # LIKE wildcards in a prefix are plain characters
    assert store.list_adapter_logs(namespace, "p_") == [("p_x/s", 1.0)]
    assert store.list_adapter_logs(namespace, "p%") == []
    store.delete_adapter_logs(namespace, "p/s1", prefix="p/s1/")
    assert store.list_adapter_logs(namespace, "") == [("p_x/s", 1.0)]


def test_adapter_log_uses_the_running_executions_store(kitaru_home: Path) -> None:
    log = toolkit.AdapterLog("tests")

    @flow
    def note() -> float:
        return log.append("in-flow", [{"a": 1}], ids=["x"])

    first = note()
    second = log.append("in-flow", [{"a": 1}, {"b": 2}], ids=["x", None])
    assert second > first > 1e12  # epoch milliseconds, increasing
    assert log.read("in-flow") == [{"a": 1}, {"b": 2}]
    assert log.streams() == [("in-flow", second)]
    log.delete("in-flow")
    assert log.read("in-flow") is None


def test_bad_adapter_log_arguments_are_clear_errors(kitaru_home: Path) -> None:
    with pytest.raises(KitaruError, match="namespace"):
        toolkit.AdapterLog("")
    with pytest.raises(KitaruError, match="one id"):
        toolkit.AdapterLog("tests").append("s", [1, 2], ids=["only-one"])
