"""Fan-out in one process on SQLite (issue 15): children run beside their parent, concurrently
and bounded; links, failures, retries, replay, cancel and cost roll up follow the tree."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter

import pytest
from typer.testing import CliRunner

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core.cli import app
from kitaru_core.engine import _context

calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


def executions(flow_name: str) -> list[kitaru.Execution]:
    return KitaruClient().executions.list(flow=flow_name)


# concurrency --------------------------------------------------------------------------------

meeting = threading.Barrier(3, timeout=20)
active = {"now": 0, "most": 0}
active_lock = threading.Lock()


@checkpoint
def meet(i: int) -> int:
    meeting.wait()  # returns only when all three children are in here at once
    return i


@flow
def meets(i: int) -> int:
    return meet(i)


@flow
def fans_out(n: int) -> list[int]:
    return kitaru.gather(*[meets.run(i) for i in range(n)])


def test_children_started_from_a_flow_run_concurrently() -> None:
    started = time.monotonic()
    assert fans_out(3) == [0, 1, 2]
    assert time.monotonic() - started < 20  # the barrier did not time out


@checkpoint
def crowd(i: int) -> int:
    with active_lock:
        active["now"] += 1
        active["most"] = max(active["most"], active["now"])
    time.sleep(0.05)
    with active_lock:
        active["now"] -= 1
    return i


@flow
def crowds(i: int) -> int:
    return crowd(i)


@flow(max_concurrency=2)
def bounded(n: int) -> list[int]:
    return kitaru.gather(*[crowds.run(i) for i in range(n)])


def test_max_concurrency_bounds_the_children_running_at_once() -> None:
    assert bounded(5) == [0, 1, 2, 3, 4]
    assert active["most"] <= 2


def test_max_concurrency_must_be_one_or_more() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        flow(max_concurrency=0)(lambda: None)


# links, usage roll-up, CLI ------------------------------------------------------------------


@checkpoint
def paid(i: int) -> int:
    calls[f"paid:{i}"] += 1
    scope = _context.current_operation()
    assert scope is not None
    scope.add_usage(model="test/model", tokens_in=10, tokens_out=5, cost=0.25)
    return i


@flow
def spender(i: int) -> int:
    return paid(i)


@checkpoint
def total(parts: list[int]) -> int:
    calls["total"] += 1
    return sum(parts)


@flow
def spends(n: int) -> int:
    handles = [spender.run(i) for i in range(n)]
    assert all(isinstance(h, kitaru.FlowHandle) for h in handles)
    return total([h.wait() for h in handles])


def test_links_show_in_client_and_cli_and_children_usage_rolls_up() -> None:
    handle = spends.run(2)
    assert handle.wait() == 1
    parent = KitaruClient().executions.get(handle.exec_id)
    children = parent.children
    assert [c.flow_name for c in children] == ["spender", "spender"]
    assert {c.parent_id for c in children} == {parent.exec_id}
    assert [op.kind for op in parent.operations] == ["child", "child", "checkpoint"]
    assert parent.children_usage == {
        "tokens_in": 20,
        "tokens_out": 10,
        "cost_spent": 0.5,
        "cost_saved": 0.0,
    }
    assert parent.cost_spent == 0  # its own part: it made no model call itself
    assert parent.total_usage["tokens_in"] == 20 and parent.total_usage["cost_spent"] == 0.5

    runner = CliRunner()
    listed = runner.invoke(app, ["executions", "list", "--parent", parent.exec_id, "--json"])
    assert listed.exit_code == 0, listed.output
    assert {e["exec_id"] for e in json.loads(listed.output)} == {c.exec_id for c in children}
    assert {e["parent_id"] for e in json.loads(listed.output)} == {parent.exec_id}
    got = json.loads(runner.invoke(app, ["executions", "get", parent.exec_id, "--json"]).output)
    assert got["children"] == [c.exec_id for c in children]
    assert got["children_usage"]["cost_spent"] == 0.5
    shown = runner.invoke(app, ["executions", "get", children[0].exec_id])
    assert (
        f"parent    {parent.exec_id}".split()
        == shown.output.split("\n")[
            next(i for i, line in enumerate(shown.output.split("\n")) if line.startswith("parent"))
        ].split()
    )
    text = runner.invoke(app, ["executions", "get", parent.exec_id]).output
    assert children[1].exec_id in text and "children spent" in text and "with children" in text

    missing = runner.invoke(app, ["executions", "list", "--parent", "kr-nope"])
    assert missing.exit_code != 0 and "kr-nope" in missing.output


def test_a_replay_of_the_parent_reuses_its_completed_children() -> None:
    first = spends.run(2)
    first.wait()
    calls.clear()
    replay = spends.replay(first.exec_id, from_="total")
    assert replay.wait() == 1
    assert calls == Counter({"total": 1})  # no child ran again
    assert len(executions("spender")) == 2
    replayed = KitaruClient().executions.get(replay.exec_id)
    assert replayed.children == []
    assert len(replayed.reused_children) == 2
    assert replayed.children_usage["cost_saved"] == 0.5


# failures and retry ------------------------------------------------------------------------


@checkpoint
def flaky(i: int) -> int:
    calls[f"flaky:{i}"] += 1
    if calls[f"flaky:{i}"] == 1:
        raise ValueError(f"first try of {i} fails")
    return i


@flow
def flaky_child(i: int) -> int:
    return flaky(i)


@flow
def retries_its_child(i: int) -> int:
    handle = flaky_child.run(i)
    try:
        return handle.wait()
    except kitaru.ExecutionFailed as exc:
        assert exc.exec_id == handle.exec_id and "ValueError" in str(exc)
        calls["caught"] += 1
        return handle.retry().wait() + 100


@flow
def lets_it_fail(i: int) -> int:
    return flaky_child.run(i).wait()


def test_a_failed_child_raises_execution_failed_naming_it_and_can_be_retried() -> None:
    assert retries_its_child(7) == 107
    assert calls["caught"] == 1 and calls["flaky:7"] == 2
    [child] = executions("flaky_child")
    assert (child.status, child.run_count) == ("completed", 2)  # the same execution, retried

    calls.clear()
    with pytest.raises(kitaru.ExecutionFailed) as failed:
        lets_it_fail(8)
    [child] = [c for c in executions("flaky_child") if c.inputs == {"i": 8}]
    assert child.exec_id in str(failed.value)
    [parent] = executions("lets_it_fail")
    assert parent.status == "failed" and child.exec_id in parent.error["message"]


# waiting children, cancel, detached --------------------------------------------------------


@flow
def asks(i: int) -> bool:
    return bool(kitaru.wait(bool, name="approve", question=f"ok {i}?", timeout=0))


@flow
def delegates(i: int) -> list[bool]:
    kept = asks.options(detached=True).run(i + 100)
    return kitaru.gather(asks.run(i), kept)


def test_a_child_waiting_for_input_suspends_the_parent_which_resumes_after_the_answer() -> None:
    handle = delegates.run(1)
    with pytest.raises(kitaru.ExecutionSuspended) as suspended:
        handle.wait()
    assert suspended.value.exec_id == handle.exec_id
    client = KitaruClient().executions
    children = client.get(handle.exec_id).children
    assert set(suspended.value.children) == {c.exec_id for c in children}
    assert (client.get(handle.exec_id).status, {c.status for c in children}) == (
        "waiting",
        {"waiting"},
    )
    with pytest.raises(kitaru.InvalidExecutionState, match="waits for its child executions"):
        client.input(handle.exec_id, True)  # the parent has no wait of its own to answer
    for child in children:
        client.input(child.exec_id, True)
    assert client.resume(handle.exec_id).wait() == [True, True]
    assert len(executions("asks")) == 2


def test_cancel_of_a_parent_cancels_its_children_except_detached_ones() -> None:
    handle = delegates.run(2)
    client = KitaruClient().executions
    assert handle.status == "waiting"
    client.cancel(handle.exec_id)
    statuses = {c.inputs["i"]: c.status for c in client.get(handle.exec_id).children}
    assert statuses == {2: "cancelled", 102: "waiting"}


# async --------------------------------------------------------------------------------------


@checkpoint
async def double(i: int) -> int:
    await asyncio.sleep(0.01)
    return 2 * i


@flow
async def async_child(i: int) -> int:
    return await double(i)


@flow
async def async_parent(n: int) -> list[int]:
    handles = [await async_child.run(i) for i in range(n)]
    return await kitaru.gather_async(*handles)


def test_an_async_flow_fans_out_to_async_children() -> None:
    assert asyncio.run(async_parent(3)) == [0, 2, 4]
    [parent] = executions("async_parent")
    assert len(parent.children) == 3


# identity -----------------------------------------------------------------------------------


@checkpoint(name="namesake")
def namesake_step(i: int) -> str:
    return f"checkpoint {i}"


@flow(name="namesake")
def namesake_flow(i: int) -> str:
    return f"child {i}"


@flow
def uses_both(i: int) -> list[str]:
    child = namesake_flow.run(i)
    return [namesake_step(i), child.wait()]


def test_a_child_and_a_checkpoint_of_one_name_and_arguments_are_two_operations() -> None:
    handle = uses_both.run(3)
    assert handle.wait() == ["checkpoint 3", "child 3"]
    ops = KitaruClient().executions.get(handle.exec_id).operations
    assert sorted(op.kind for op in ops) == ["checkpoint", "child"]
    # Two identities, not the 0th and 1st call of one: threads that call them in another
    # order on resume could otherwise give the checkpoint the child's record.
    assert len({op.op_id.split(":")[1] for op in ops}) == 2
    assert {op.op_id.split(":")[2] for op in ops} == {"0"}


@flow
def homeless(i: int) -> int:
    return i


@flow
def waits_for_homeless(i: int) -> int:
    return homeless.run(i).wait()


def test_a_child_that_cannot_run_here_fails_the_parent_instead_of_looping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its code cannot be imported in this process (as after a deploy that dropped it).
    monkeypatch.setattr(homeless, "ref", "kitaru_no_such_module:homeless")
    with pytest.raises(kitaru.KitaruError, match="cannot run here") as refused:
        waits_for_homeless(1)
    [child] = executions("homeless")
    assert child.exec_id in str(refused.value) and child.status == "queued"
    assert executions("waits_for_homeless")[0].status == "failed"
