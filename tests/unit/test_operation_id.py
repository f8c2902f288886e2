"""Operation identity as data: ``OperationId`` and its stored text ``name:fingerprint:n``."""

from __future__ import annotations

import time

import pytest

from kitaru import KitaruClient, checkpoint, flow
from kitaru_core._config import load_settings
from kitaru_core.engine._oplog import OperationId
from kitaru_core.store._backends import current_store
from kitaru_core.store._records import OperationRecord
from kitaru_core.store._values import encode

calls: list[str] = []
knobs = {"fail_first": False}


@checkpoint
def shout(word: str) -> str:
    calls.append(word)
    return word.upper()


@flow
def greet(word: str) -> str:
    if knobs["fail_first"]:
        raise RuntimeError("stop before any checkpoint")
    return shout(word) + shout(word)


def test_operation_id_text_is_name_fingerprint_n() -> None:
    assert OperationId("write", "0a1b", 2).text == "write:0a1b:2"
    assert str(OperationId("write", "0a1b", 2)) == "write:0a1b:2"


@pytest.mark.parametrize(
    "identity",
    [
        OperationId("shout", "9f" * 16, 0),
        OperationId("pydantic_ai.event:agent:approve", "", 12),  # names may hold ':'
    ],
)
def test_operation_id_parse_reads_back_its_text(identity: OperationId) -> None:
    assert OperationId.parse(identity.text) == identity


@pytest.mark.parametrize("text", ["shout", "shout:abc", "shout:abc:x", "shout:abc:-1", "a:b:²"])
def test_operation_id_parse_refuses_text_that_is_not_one(text: str) -> None:
    with pytest.raises(ValueError, match="is not an operation id"):
        OperationId.parse(text)


def test_stored_op_ids_keep_the_name_fingerprint_n_format() -> None:
    """The op id is persisted data: records written today must read as before."""
    calls.clear()
    knobs["fail_first"] = False
    assert greet("hi") == "HIHI"
    [execution] = KitaruClient().executions.list()
    records = current_store(load_settings()).load_operations(execution.exec_id)
    assert [(r.name, r.n) for r in records] == [("shout", 0), ("shout", 1)]
    for record in records:
        assert record.op_id == f"{record.name}:{record.fingerprint}:{record.n}"


def test_execution_stored_with_text_op_ids_reuses_them_on_retry() -> None:
    """A record written by hand in the stored format, as an older Kitaru wrote it, is reused."""
    calls.clear()
    knobs["fail_first"] = False
    greet("hi")
    store = current_store(load_settings())
    [done] = KitaruClient().executions.list()
    fingerprint = store.load_operations(done.exec_id)[0].fingerprint

    knobs["fail_first"] = True
    with pytest.raises(RuntimeError):
        greet("hi")
    failed = next(e for e in KitaruClient().executions.list() if e.status == "failed")
    stored = encode("FROM THE STORE", what="test", settings=load_settings())
    now = time.time()
    for n in (0, 1):
        store.record_operation(
            OperationRecord(
                exec_id=failed.exec_id,
                op_id=f"shout:{fingerprint}:{n}",
                name="shout",
                kind="checkpoint",
                fingerprint=fingerprint,
                n=n,
                attempt=1,
                status="completed",
                started_at=now,
                ended_at=now,
                output_codec=stored.codec,
                output=stored.data,
            )
        )
    calls.clear()
    knobs["fail_first"] = False
    result = KitaruClient().executions.retry(failed.exec_id).wait()
    assert result == "FROM THE STOREFROM THE STORE"
    assert calls == []
