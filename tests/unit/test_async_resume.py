"""Resuming executions from code that already runs an event loop."""

from __future__ import annotations

import asyncio

import pytest

from kitaru import InvalidExecutionState, KitaruClient, checkpoint, flow

calls = {"fetch": 0, "fail": True}


@checkpoint
async def fetch(x: int) -> int:
    calls["fetch"] += 1
    return x * 10


@flow
async def gather_flow() -> int:
    values = await asyncio.gather(fetch(1), fetch(2))
    if calls["fail"]:
        raise RuntimeError("fail after fetching")
    return sum(values)


@checkpoint
def add(x: int) -> int:
    return x + 1


@flow
def sync_flow(x: int) -> int:
    if calls["fail"]:
        raise RuntimeError("not yet")
    return add(x)


def test_aretry_runs_an_async_flow_on_the_current_loop() -> None:
    calls.update(fetch=0, fail=True)

    async def scenario() -> int:
        handle = await gather_flow.run()
        calls["fail"] = False
        client = KitaruClient()
        with pytest.raises(InvalidExecutionState, match="aretry"):
            client.executions.retry(handle.exec_id)
        resumed = await client.executions.aretry(handle.exec_id)
        return int(resumed.wait())

    assert asyncio.run(scenario()) == 30
    assert calls["fetch"] == 2  # both fetches reused on the retry


def test_aresume_runs_a_sync_flow_in_a_worker_thread() -> None:
    calls["fail"] = True
    handle = sync_flow.run(1)
    calls["fail"] = False

    async def scenario() -> int:
        return int((await KitaruClient().executions.aresume(handle.exec_id)).wait())

    assert asyncio.run(scenario()) == 2
