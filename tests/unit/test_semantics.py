"""DESIGN §3 in one process: calls, handles, retries, nesting, identity, metadata, logs."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core._config import load_settings
from kitaru_core.client._handle import FlowHandle
from kitaru_core.errors import ExecutionFailed, KitaruError

calls: Counter[str] = Counter()
knobs: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    calls.clear()
    knobs.clear()


def only_execution() -> kitaru.Execution:
    [execution] = KitaruClient().executions.list()
    return execution


# sync and async flows, direct call and .run() ------------------------------------------------


@checkpoint
def double(x: int) -> int:
    calls[f"double:{x}"] += 1
    return 2 * x


@flow
def pipeline(x: int) -> int:
    return double(x) + double(x + 1)


@checkpoint
async def increment(x: int) -> int:
    calls[f"increment:{x}"] += 1
    await asyncio.sleep(0)
    return x + 1


@flow
async def apipeline(x: int) -> int:
    bumped = await increment(x)
    return double(bumped)  # a sync checkpoint inside an async flow


@flow
def explode(x: int) -> int:
    double(x)
    raise ValueError(f"bad input {x}")


def test_direct_call_runs_to_the_end_and_records_everything() -> None:
    assert pipeline(3) == 14
    execution = only_execution()
    assert execution.status == "completed"
    assert execution.flow_name == "pipeline"
    assert execution.inputs == {"x": 3}
    assert execution.result == 14
    assert execution.error is None
    assert execution.ended_at is not None and execution.duration is not None
    ops = execution.operations
    assert [(op.name, op.status, op.attempts, op.reused) for op in ops] == [
        ("double", "completed", 1, False),
        ("double", "completed", 1, False),
    ]
    assert [op.input_text for op in ops] == ['{"x":3}', '{"x":4}']


def test_run_returns_a_handle() -> None:
    handle = pipeline.run(5)
    assert isinstance(handle, FlowHandle)
    assert handle.status == "completed"
    assert handle.wait() == 22
    assert handle.wait(timeout=1) == 22
    execution = handle.get()
    assert execution.exec_id == handle.exec_id
    assert execution.result == 22


def test_a_failing_flow_raises_its_error_and_is_recorded_failed() -> None:
    with pytest.raises(ValueError, match="bad input 7"):
        explode(7)
    execution = only_execution()
    assert execution.status == "failed"
    assert execution.error is not None
    assert execution.error["type"] == "builtins.ValueError"
    assert "bad input 7" in execution.error["message"]
    assert [op.status for op in execution.operations] == ["completed"]
    with pytest.raises(ExecutionFailed, match=execution.exec_id):
        execution.result_or_raise()
    handle = explode.run(8)
    assert handle.status == "failed"
    with pytest.raises(ValueError, match="bad input 8"):
        handle.wait()


def test_async_flow_direct_call_and_run() -> None:
    assert asyncio.run(apipeline(1)) == 4
    handle = asyncio.run(apipeline.run(2))
    assert isinstance(handle, FlowHandle)
    assert handle.wait() == 6
    execution = handle.get()
    assert execution.status == "completed"
    assert [op.name for op in execution.operations] == ["increment", "double"]
    assert calls == {"increment:1": 1, "double:2": 1, "increment:2": 1, "double:3": 1}


# retries ---------------------------------------------------------------------------------------


@checkpoint(retries=2, retry_delay=0.05)
def flaky() -> str:
    calls["flaky"] += 1
    if calls["flaky"] < 3:
        raise ConnectionError(f"attempt {calls['flaky']} lost the connection")
    return "ok"


@flow
def uses_flaky() -> str:
    return flaky()


@checkpoint(retries=1, retry_delay=0.01)
def hopeless() -> str:
    calls["hopeless"] += 1
    raise ConnectionError("still down")


@flow
def uses_hopeless() -> str:
    return hopeless()


def test_checkpoint_retries_back_off_and_record_every_attempt() -> None:
    assert uses_flaky() == "ok"
    execution = only_execution()
    [op] = execution.operations
    assert (op.status, op.attempts) == ("completed", 3)
    rows = KitaruClient().store.load_operations(execution.exec_id)
    assert [(r.attempt, r.status) for r in rows] == [(1, "failed"), (2, "failed"), (3, "completed")]
    assert rows[0].error is not None and "attempt 1" in rows[0].error["message"]
    assert rows[1].error is not None and "attempt 2" in rows[1].error["message"]
    # Exponential backoff from retry_delay: 0.05 s, then 0.1 s.
    assert rows[1].started_at - rows[0].ended_at >= 0.05
    assert rows[2].started_at - rows[1].ended_at >= 0.1


def test_exhausted_retries_fail_the_flow_with_every_attempt_recorded() -> None:
    with pytest.raises(ConnectionError, match="still down"):
        uses_hopeless()
    execution = only_execution()
    assert execution.status == "failed"
    [op] = execution.operations
    assert (op.status, op.attempts) == ("failed", 2)
    assert calls["hopeless"] == 2


@checkpoint(retries=1, retry_delay=0.02)
async def aflaky() -> str:
    calls["aflaky"] += 1
    if calls["aflaky"] == 1:
        raise ConnectionError("first async attempt fails")
    return "async ok"


@flow
async def uses_aflaky() -> str:
    return await aflaky()


def test_async_checkpoint_retries_are_recorded_too() -> None:
    assert asyncio.run(uses_aflaky()) == "async ok"
    execution = only_execution()
    [op] = execution.operations
    assert (op.status, op.attempts) == ("completed", 2)
    rows = KitaruClient().store.load_operations(execution.exec_id)
    assert [(r.attempt, r.status) for r in rows] == [(1, "failed"), (2, "completed")]
    assert rows[1].started_at - rows[0].ended_at >= 0.02


# retrying a failed execution -------------------------------------------------------------------


@checkpoint
def fetch(x: int) -> int:
    calls["fetch"] += 1
    return x + 1


@checkpoint
def fragile(x: int) -> int:
    calls["fragile"] += 1
    if knobs.get("broken"):
        raise RuntimeError("the disk is full")
    return x * 10


@checkpoint
def publish(x: int) -> int:
    calls["publish"] += 1
    return x - 1


@flow
def chain(x: int) -> int:
    return publish(fragile(fetch(x)))


def test_retry_after_the_cause_is_removed_reruns_only_the_failed_checkpoint() -> None:
    knobs["broken"] = True
    with pytest.raises(RuntimeError, match="disk is full"):
        chain(1)
    failed = only_execution()
    assert failed.status == "failed"
    assert calls == {"fetch": 1, "fragile": 1}

    knobs["broken"] = False
    handle = KitaruClient().executions.retry(failed.exec_id)
    assert handle.exec_id == failed.exec_id
    assert handle.wait() == 19
    assert calls == {"fetch": 1, "fragile": 2, "publish": 1}
    execution = handle.get()
    assert (execution.status, execution.run_count) == ("completed", 2)
    summary = [(op.name, op.status, op.attempts, op.reused) for op in execution.operations]
    assert summary == [
        ("fetch", "completed", 0, True),  # reused: this run did not run it
        ("fragile", "completed", 2, False),
        ("publish", "completed", 1, False),
    ]


def test_retry_never_reraises_a_stored_error_without_running() -> None:
    knobs["broken"] = True
    with pytest.raises(RuntimeError):
        chain(2)
    exec_id = only_execution().exec_id
    with pytest.raises(RuntimeError, match="disk is full"):
        KitaruClient().executions.retry(exec_id).wait()
    assert calls["fragile"] == 2
    assert only_execution().status == "failed"


# nesting ---------------------------------------------------------------------------------------


@checkpoint
def inner(x: int) -> int:
    calls["inner"] += 1
    return x * 3


@checkpoint
def outer(x: int) -> int:
    return inner(x) + inner(x + 1)


@flow
def nested(x: int) -> int:
    value = outer(x)
    if knobs.get("broken"):
        raise RuntimeError("after outer")
    return value


def test_a_checkpoint_inside_a_checkpoint_is_part_of_it() -> None:
    knobs["broken"] = True
    with pytest.raises(RuntimeError):
        nested(2)
    exec_id = only_execution().exec_id
    assert [op.name for op in only_execution().operations] == ["outer"]
    assert calls["inner"] == 2

    knobs["broken"] = False
    assert KitaruClient().executions.retry(exec_id).wait() == 15
    assert calls["inner"] == 2  # outer was reused, so inner did not run again
    assert [op.name for op in only_execution().operations] == ["outer"]


# identity under threads and asyncio tasks -------------------------------------------------------

ITEMS = ["a", "b", "c", "d", "e", "f", "b"]


@checkpoint
def shout(item: str) -> str:
    calls[item] += 1
    time.sleep(random.uniform(0, 0.005))
    return item.upper()


@checkpoint
def gate() -> None:
    if knobs.get("broken"):
        raise RuntimeError("gate closed")


@flow
def threaded(items: list[str]) -> list[str]:
    order = list(range(len(items)))
    if knobs.get("reverse"):
        order.reverse()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {i: pool.submit(contextvars.copy_context().run, shout, items[i]) for i in order}
        results = [futures[i].result() for i in range(len(items))]
    gate()
    return results


@checkpoint
async def ashout(item: str) -> str:
    calls[item] += 1
    await asyncio.sleep(random.uniform(0, 0.005))
    return item.upper()


@flow
async def tasked(items: list[str]) -> list[str]:
    order = list(range(len(items)))
    if knobs.get("reverse"):
        order.reverse()
    tasks = {i: asyncio.create_task(ashout(items[i])) for i in order}
    results = [await tasks[i] for i in range(len(items))]
    gate()
    return results


def _rerun_in_another_order(exec_id: str) -> FlowHandle:
    knobs["broken"], knobs["reverse"] = False, True
    return KitaruClient().executions.retry(exec_id)


@pytest.mark.parametrize("kind", ["threads", "tasks"])
def test_identity_does_not_depend_on_scheduling(kind: str) -> None:
    knobs["broken"] = True
    with pytest.raises(RuntimeError, match="gate closed"):
        if kind == "threads":
            threaded(ITEMS)
        else:
            asyncio.run(tasked(ITEMS))
    exec_id = only_execution().exec_id
    first = {op.op_id: op for op in only_execution().operations if op.name != "gate"}
    assert len(first) == len(ITEMS)  # "b" twice: two identities, n=0 and n=1
    assert calls == {"a": 1, "b": 2, "c": 1, "d": 1, "e": 1, "f": 1}

    handle = _rerun_in_another_order(exec_id)
    assert handle.wait() == [item.upper() for item in ITEMS]
    assert calls == {"a": 1, "b": 2, "c": 1, "d": 1, "e": 1, "f": 1}  # nothing ran again
    again = {op.op_id: op for op in handle.get().operations if op.name != "gate"}
    assert again.keys() == first.keys()
    assert all(op.reused for op in again.values())


@checkpoint
def styled(a: int, b: int = 2) -> int:
    calls[f"styled:{a}:{b}"] += 1
    return a * b


@checkpoint(cache=False)
def uncached(a: int) -> int:
    calls["uncached"] += 1
    return a


@flow
def call_styles() -> list[int]:
    if knobs.get("keywords"):
        values = [styled(a=1), styled(b=4, a=3), uncached(a=5)]
    else:
        values = [styled(1, 2), styled(3, 4), uncached(5)]
    gate()
    return values


def test_identity_does_not_depend_on_call_style_and_cache_false_always_runs() -> None:
    knobs["broken"] = True
    with pytest.raises(RuntimeError, match="gate closed"):
        call_styles()
    knobs["broken"], knobs["keywords"] = False, True
    assert KitaruClient().executions.retry(only_execution().exec_id).wait() == [2, 12, 5]
    assert calls == {"styled:1:2": 1, "styled:3:4": 1, "uncached": 2}


# idempotency keys ------------------------------------------------------------------------------

keys: list[str] = []


@checkpoint
def charge(amount: int) -> str:
    keys.append(kitaru.idempotency_key())
    if knobs.get("broken"):
        raise RuntimeError("payment provider timed out")
    return f"charged {amount}"


@flow
def payment(amount: int) -> list[str]:
    keys.append(kitaru.idempotency_key())
    return [charge(amount), charge(amount)]


def test_idempotency_key_is_stable_across_resume() -> None:
    keys.clear()
    knobs["broken"] = True
    with pytest.raises(RuntimeError):
        payment(5)
    exec_id = only_execution().exec_id
    flow_key, first_try = keys
    assert flow_key == f"{exec_id}:flow"
    assert first_try.startswith(f"{exec_id}:charge:")

    knobs["broken"] = False
    keys.clear()
    assert KitaruClient().executions.resume(exec_id).wait() == ["charged 5", "charged 5"]
    assert keys[:2] == [flow_key, first_try]
    assert keys[2] != first_try  # the second identical call is another operation (n=1)
    with pytest.raises(KitaruError, match="while a @flow runs"):
        kitaru.idempotency_key()


# metadata, artifacts, captured output ----------------------------------------------------------


@checkpoint
def scored(x: int) -> int:
    kitaru.log(score=0.9, judge="rubric")
    return x


@flow
def logged(x: int) -> int:
    kitaru.log(cost_center="research")
    scored(x)
    kitaru.log(stage="done")
    return x


def test_log_attaches_metadata_to_the_checkpoint_or_the_execution() -> None:
    assert logged(1) == 1
    execution = only_execution()
    assert execution.metadata == {"cost_center": "research", "stage": "done"}
    [op] = execution.operations
    assert op.metadata == {"score": 0.9, "judge": "rubric"}
    with pytest.raises(KitaruError, match="while a @flow runs"):
        kitaru.log(outside=True)


@checkpoint
def big_output(size: int) -> str:
    calls["big_output"] += 1
    return "y" * size


@flow
def saver(size: int) -> dict[str, str]:
    first = kitaru.save("report", {"text": "x" * size})
    second = kitaru.save("report", "short")
    text = big_output(size)
    if knobs.get("broken"):
        raise RuntimeError("after the big output")
    return {"first": first, "second": second, "text_len": str(len(text))}


def test_save_and_load_a_value_over_the_inline_limit() -> None:
    size = load_settings().inline_limit + 1000
    knobs["broken"] = True
    with pytest.raises(RuntimeError):
        saver(size)
    exec_id = only_execution().exec_id
    knobs["broken"] = False
    ids = KitaruClient().executions.retry(exec_id).wait()
    assert calls["big_output"] == 1  # the blob-backed output was reused, read back from its blob
    assert ids["text_len"] == str(size)

    client = KitaruClient()
    assert kitaru.load(exec_id, "report") == "short"  # the latest version
    big = client.artifacts.get(ids["first"])
    assert (big.name, big.version) == ("report", 1)  # the retry got the first run's version
    assert big.size > size
    assert big.load() == {"text": "x" * size}
    # The retry's saves have the same identities and values: no duplicate versions.
    assert sorted(a.version for a in client.artifacts.list(exec_id=exec_id)) == [1, 2]
    blobs = list((load_settings().home / "artifacts" / "blobs").rglob("*"))
    assert len([p for p in blobs if p.is_file()]) == 2  # the saved dict and the checkpoint output
    with pytest.raises(KitaruError, match="while a @flow runs"):
        kitaru.save("nope", 1)


@checkpoint
def chatty() -> int:
    print("inside the checkpoint")
    return 1


@flow
def talker() -> int:
    print("flow starts")
    chatty()
    logging.getLogger("kitaru.test").warning("careful now")
    print("no newline at the end", end="")
    return 2


def test_output_is_captured_into_the_store() -> None:
    assert talker() == 2
    execution = only_execution()
    lines = KitaruClient().executions.logs(execution.exec_id)
    assert [(line.stream, line.line) for line in lines] == [
        ("stdout", "flow starts"),
        ("stdout", "inside the checkpoint"),
        ("log", "WARNING kitaru.test: careful now"),
        ("stdout", "no newline at the end"),
    ]
    [op] = execution.operations
    assert [line.op_id for line in lines] == [None, op.op_id, None, None]


# outside a flow --------------------------------------------------------------------------------


@flow
def wrapper(x: int) -> int:
    return pipeline(x) + 1


def test_checkpoints_outside_a_flow_are_plain_functions() -> None:
    assert double(4) == 8
    assert asyncio.run(increment(4)) == 5
    assert outer(1) == 9
    assert calls == {"double:4": 1, "increment:4": 1, "inner": 2}
    assert KitaruClient().executions.list() == []


def test_a_flow_called_inside_a_flow_runs_as_part_of_it() -> None:
    assert wrapper(1) == 7
    execution = only_execution()
    assert execution.flow_name == "wrapper"
    assert [op.name for op in execution.operations] == ["double", "double"]
