"""Sync and async operations and flows are written once (``engine/_drive.py``): they must record
the same attempts, in the same order, with the same bookkeeping."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core.engine import _context, _runtime
from kitaru_core.llm._llm import ModelUsage, arecord_model_call, record_model_call

calls: Counter[str] = Counter()
seen_inflight: dict[str, list[tuple[list[str], str]]] = {"sync": [], "async": []}
USAGE = ModelUsage("test/model", tokens_in=3, tokens_out=4, cost=0.25)


@pytest.fixture(autouse=True)
def _fresh() -> None:
    calls.clear()
    for seen in seen_inflight.values():
        seen.clear()


def _attempt(kind: str, what: str) -> int:
    """Count an attempt and note what the run holds in flight while it runs."""
    run, scope = _context.current_run(), _context.current_operation()
    assert run is not None and scope is not None
    seen_inflight[kind].append((sorted(run.inflight), scope.op_id))
    calls[f"{kind}:{what}"] += 1
    return calls[f"{kind}:{what}"]


def _reply(kind: str) -> tuple[str, ModelUsage]:
    calls[f"{kind}:model"] += 1
    if calls[f"{kind}:model"] == 1:
        raise ConnectionError("the model is down")
    return "reply", USAGE


@checkpoint(name="flaky", retries=2, retry_delay=0.02)
def flaky(x: int) -> int:
    if _attempt("sync", "flaky") < 3:
        raise ValueError(f"attempt {calls['sync:flaky']}")
    return 2 * x


@checkpoint(name="flaky", retries=2, retry_delay=0.02)
async def aflaky(x: int) -> int:
    await asyncio.sleep(0)
    if _attempt("async", "flaky") < 3:
        raise ValueError(f"attempt {calls['async:flaky']}")
    return 2 * x


@checkpoint(name="broken", retries=1, retry_delay=0.01)
def broken(x: int) -> int:
    _attempt("sync", "broken")
    raise KeyError("always")


@checkpoint(name="broken", retries=1, retry_delay=0.01)
async def abroken(x: int) -> int:
    _attempt("async", "broken")
    raise KeyError("always")


@checkpoint(name="gate", retries=2, retry_delay=0.01)
def gate() -> str:
    _attempt("sync", "gate")
    return str(kitaru.wait(name="approve", timeout=0))


@checkpoint(name="gate", retries=2, retry_delay=0.01)
async def agate() -> str:
    _attempt("async", "gate")
    return str(await kitaru.wait_async(name="approve", timeout=0))


@flow(name="twins")
def sync_flow(x: int) -> str:
    doubled = flaky(x)
    for _ in range(2):
        with contextlib.suppress(ConnectionError):
            record_model_call("ask", {"q": x}, lambda: _reply("sync"))
    with pytest.raises(KeyError):
        broken(x)
    return f"{doubled} {gate()}"


@flow(name="twins")
async def async_flow(x: int) -> str:
    doubled = await aflaky(x)
    for _ in range(2):

        async def reply() -> tuple[str, ModelUsage]:
            return _reply("async")

        with contextlib.suppress(ConnectionError):
            await arecord_model_call("ask", {"q": x}, reply)
    with pytest.raises(KeyError):
        await abroken(x)
    return f"{doubled} {await agate()}"


def _records(exec_id: str) -> list[tuple[Any, ...]]:
    rows = KitaruClient().store.load_operations(exec_id)
    return [
        (r.name, r.kind, r.fingerprint, r.n, r.attempt, r.status)
        + ((r.error["type"], r.error["message"]) if r.error else (None, None))
        + (r.output, r.model, r.tokens_in, r.tokens_out, r.cost)
        for r in rows
    ]


def _backoffs(exec_id: str, name: str) -> list[float]:
    rows = [r for r in KitaruClient().store.load_operations(exec_id) if r.name == name]
    return [later.started_at - earlier.ended_at for earlier, later in itertools.pairwise(rows)]


def test_sync_and_async_operations_record_the_same_attempts() -> None:
    sync = sync_flow.run(5)
    asynchronous = asyncio.run(async_flow.run(5))
    for handle in (sync, asynchronous):
        assert handle.status == "waiting"  # the wait in `gate` suspended the flow

    records = _records(sync.exec_id)
    assert records == _records(asynchronous.exec_id)
    assert [(name, attempt, status) for name, _, _, _, attempt, status, *_ in records] == [
        ("flaky", 1, "failed"),
        ("flaky", 2, "failed"),
        ("flaky", 3, "completed"),
        ("ask", 1, "failed"),
        ("ask", 1, "completed"),
        ("broken", 1, "failed"),
        ("broken", 2, "failed"),
    ]  # the suspending `gate` is neither recorded as a failure nor retried
    assert calls["sync:gate"] == calls["async:gate"] == 1
    for handle in (sync, asynchronous):
        first, second = _backoffs(handle.exec_id, "flaky")
        assert first >= 0.02 and second >= 0.04  # exponential backoff from retry_delay
    # Each attempt runs as the one operation in flight, and none is left in flight after.
    assert seen_inflight["sync"] == seen_inflight["async"]
    assert all(inflight == [op_id] for inflight, op_id in seen_inflight["sync"])
    for handle in (sync, asynchronous):
        assert KitaruClient().store.load_started(handle.exec_id) == []


def test_sync_and_async_model_calls_keep_usage_inside_a_checkpoint() -> None:
    @flow
    def outer() -> int:
        return inner()

    @checkpoint
    def inner() -> int:
        record_model_call("ask", {"q": 1}, lambda: ("a", USAGE), prompt="p")
        return 1

    @flow
    async def aouter() -> int:
        return await ainner()

    @checkpoint(name="inner")
    async def ainner() -> int:
        async def reply() -> tuple[str, ModelUsage]:
            return "a", USAGE

        await arecord_model_call("ask", {"q": 1}, reply, prompt="p")
        return 1

    outer()
    asyncio.run(aouter())
    sync, asynchronous = [
        KitaruClient().store.load_operations(e.exec_id)
        for e in sorted(KitaruClient().executions.list(), key=lambda e: e.created_at)
    ]
    [(s, a)] = zip(sync, asynchronous, strict=True)
    assert (s.tokens_in, s.tokens_out, s.cost) == (3, 4, 0.25)
    assert (a.tokens_in, a.tokens_out, a.cost) == (3, 4, 0.25)
    assert s.metadata["llm_calls"][0].keys() == a.metadata["llm_calls"][0].keys()


@checkpoint(retries=1, retry_delay=0)
def exhausted() -> None:
    calls["exhausted"] += 1
    raise StopIteration


@flow
def stops() -> None:
    with pytest.raises(StopIteration):
        exhausted()


def test_checkpoint_body_raising_stopiteration_keeps_its_type() -> None:
    """A generator turns a StopIteration that leaves it into a RuntimeError (PEP 479): the
    shared core must hand the body's own exception back, as the plain call did."""
    stops()
    [execution] = KitaruClient().executions.list()
    rows = KitaruClient().store.load_operations(execution.exec_id)
    assert [(r.status, r.error and r.error["type"]) for r in rows] == [
        ("failed", "builtins.StopIteration"),
        ("failed", "builtins.StopIteration"),
    ]


def test_sync_and_async_entry_points_run_the_one_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both run_operation and arun_operation (and the model-call pair over them) go through
    operation_steps: a fix there reaches both, none can drift into a twin body again."""
    used: list[str] = []
    real = _runtime.operation_steps

    def spy(*args: Any, **kwargs: Any) -> Any:
        used.append(args[1].name)
        return real(*args, **kwargs)

    monkeypatch.setattr(_runtime, "operation_steps", spy)
    import kitaru_core.llm._llm as llm_module

    monkeypatch.setattr(llm_module, "operation_steps", spy)
    calls["sync:model"] = calls["async:model"] = 1  # the model answers at once
    sync_flow.run(1)
    asyncio.run(async_flow.run(1))
    assert used == ["flaky", "ask", "ask", "broken", "gate"] * 2


@flow(name="again", retries=1)
def again(x: int) -> int:
    value = flaky(x)
    calls["sync:again"] += 1
    if calls["sync:again"] == 1:
        raise ConnectionError("the first body run fails after its checkpoint")
    return value


@flow(name="again", retries=1)
async def aagain(x: int) -> int:
    value = await aflaky(x)
    calls["async:again"] += 1
    if calls["async:again"] == 1:
        raise ConnectionError("the first body run fails after its checkpoint")
    return value


def test_sync_and_async_flow_retries_rerun_the_body_alike() -> None:
    sync = again.run(3)
    asynchronous = asyncio.run(aagain.run(3))
    assert (sync.status, sync.get().result) == (asynchronous.status, asynchronous.get().result)
    assert sync.status == "completed"
    assert _records(sync.exec_id) == _records(asynchronous.exec_id)
    assert calls["sync:again"] == calls["async:again"] == 2
    assert calls["sync:flaky"] == calls["async:flaky"] == 3  # reused on the second body run
