"""In-flight operations, flushed log lines and large inputs, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from kitaru_core.client._models import fold_operations
from kitaru_core.store._migrations import MIGRATIONS_DIR
from kitaru_core.store._records import ExecutionRecord, LogRecord, OperationRecord, StartedRecord
from kitaru_core.store._sql_store import SqlStore


def new_execution(store: SqlStore) -> str:
    exec_id = f"kr-{uuid.uuid4().hex[:20]}"
    now = time.time()
    store.create_execution(ExecutionRecord(exec_id, "f", "m:f", "running", now))
    return exec_id


def op(exec_id: str, name: str, attempt: int, status: str, **fields: object) -> OperationRecord:
    now = time.time()
    return OperationRecord(
        exec_id, f"{name}:abc:0", name, "checkpoint", "abc", 0, attempt, status, now, now, **fields
    )


def test_write_progress_keeps_lines_and_in_flight_attempts(store: SqlStore) -> None:
    exec_id = new_execution(store)
    seen = StartedRecord(exec_id, "slow:abc:0", 1, "slow", "checkpoint", 100.0, run_no=1)
    line = LogRecord(exec_id, 101.0, "stdout", "working\x00", "slow:abc:0")
    store.write_progress(exec_id, [line], [seen])
    store.write_progress(exec_id, [], [seen])  # the same attempt seen again replaces it

    assert store.load_started(exec_id) == [seen]
    assert [entry.line.rstrip("\x00\ufffd") for entry in store.get_logs(exec_id)] == ["working"]
    ops = fold_operations(store.load_operations(exec_id), (), store.load_started(exec_id))
    assert [(o.name, o.status, o.attempts, o.ended_at) for o in ops] == [
        ("slow", "started", 1, None)
    ]

    store.record_operation(op(exec_id, "slow", 1, "failed"))
    ops = fold_operations(store.load_operations(exec_id), (), store.load_started(exec_id))
    assert [(o.name, o.status, o.attempts) for o in ops] == [("slow", "failed", 1)]

    retry = StartedRecord(exec_id, "slow:abc:0", 2, "slow", "checkpoint", 102.0)
    store.write_progress(exec_id, [], [retry])
    ops = fold_operations(store.load_operations(exec_id), (), store.load_started(exec_id))
    assert [(o.name, o.status, o.attempts) for o in ops] == [("slow", "started", 2)]

    store.write_progress(exec_id, [], finished=True)
    assert store.load_started(exec_id) == []


def test_input_parts_round_trip(store: SqlStore) -> None:
    exec_id = new_execution(store)
    parts = ['{"doc":', {"blob": "ab" * 32, "size": 70000}, ',"style":"short"}']
    store.record_operation(op(exec_id, "big", 1, "completed", input_parts=parts))
    store.record_operation(op(exec_id, "small", 1, "completed", input_text='{"x":1}'))
    loaded = {record.name: record for record in store.load_operations(exec_id)}
    assert loaded["big"].input_parts == parts and loaded["big"].input_text is None
    assert loaded["small"].input_parts is None and loaded["small"].input_text == '{"x":1}'


def test_rows_written_before_input_parts_still_read(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        conn.execute(
            sa.text(
                "INSERT INTO kitaru_operations (exec_id, op_id, name, kind, fingerprint, n, "
                "attempt, status, input_text, started_at, ended_at, run_no, tokens_in, "
                "tokens_out, cost) VALUES ('kr-old', 'a:f:0', 'a', 'checkpoint', 'f', 0, 1, "
                "'completed', :text, 1.0, 2.0, 1, 0, 0, 0.0)"
            ),
            {"text": '{"x":1}'},
        )
    engine.dispose()
    store = SqlStore(url)
    try:
        (record,) = store.load_operations("kr-old")
        assert record.input_text == '{"x":1}' and record.input_parts is None
        assert store.load_started("kr-old") == []
    finally:
        store.close()
