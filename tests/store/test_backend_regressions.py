"""Regressions that depend on the backend: what SQLite takes and PostgreSQL refuses."""

from __future__ import annotations

import io
import sys
from collections import Counter

import pytest

from kitaru import KitaruClient, checkpoint, flow
from kitaru_core import _config

calls: Counter[str] = Counter()


@pytest.fixture
def client(store_url: str, monkeypatch: pytest.MonkeyPatch) -> KitaruClient:
    monkeypatch.setenv("KITARU_STORE_URL", store_url)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    _config.reset()
    calls.clear()
    return KitaruClient(store_url=store_url)


@checkpoint
def dump(data: bytes) -> int:
    calls["dump"] += 1
    print("raw:", data.decode("latin-1"))
    return len(data)


@flow
def dumper(data: bytes) -> int:
    size = dump(data)
    print("done\x00", end="")
    return size


def test_printed_nul_characters_neither_lose_an_operation_nor_strand_the_execution(
    client: KitaruClient,
) -> None:
    # PostgreSQL text cannot hold NUL: before, the checkpoint's record was refused with its log
    # line (the flow failed, its work lost) and a flow-level line kept the execution `running`.
    assert dumper(b"a\x00b") == 3
    [execution] = [e for e in client.executions.list(flow="dumper", limit=100)]
    assert execution.status == "completed"
    assert [op.status for op in execution.operations] == ["completed"]
    lines = [line.line for line in client.executions.logs(execution.exec_id)]
    nul = "\x00" if client.store.dialect == "sqlite" else "\ufffd"  # exact where it can be
    assert lines == [f"raw: a{nul}b", f"done{nul}"]


@checkpoint
def step(x: int) -> int:
    calls[f"step:{x}"] += 1
    return x


@flow
def two_steps() -> int:
    step(1)
    store = KitaruClient().store
    held = store._held.conn  # type: ignore[attr-defined]
    knobs_pid.append(held.dbapi_connection.info.backend_pid)
    _drop_backend(knobs_pid[-1])
    return step(2)


knobs_pid: list[int] = []


def _drop_backend(pid: int) -> None:
    """What a server restart, idle_session_timeout or a proxy does to an idle connection."""
    import psycopg

    from tests.store.conftest import ADMIN_URL

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])


@pytest.mark.postgres
def test_a_recording_connection_the_server_dropped_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The connection that records operations is held per thread, outside the pool's pre-ping:
    # before, the first operation after the server dropped it failed (with an AttributeError
    # from the disconnect check), losing the operation and failing the flow.
    monkeypatch.setenv("KITARU_STORE_URL", postgres_url)
    _config.reset()
    calls.clear()
    assert two_steps() == 2
    [execution] = KitaruClient(store_url=postgres_url).executions.list(flow="two_steps")
    assert execution.status == "completed"
    assert [op.status for op in execution.operations] == ["completed", "completed"]
    assert calls == {"step:1": 1, "step:2": 1}
