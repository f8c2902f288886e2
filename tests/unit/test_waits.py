"""kitaru.wait(): suspend, answer, abort, resume, nesting, cancel, and dead owners (issue 3)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import BaseModel, field_validator

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core.engine import _cancel
from kitaru_core.engine._lease import my_owner_id
from kitaru_core.engine._liveness import PROCESS_DIED
from kitaru_core.errors import (
    ExecutionCancelled,
    ExecutionFailed,
    ExecutionSuspended,
    InvalidExecutionState,
    InvalidWaitAnswer,
    KitaruError,
    WaitAborted,
    WaitNotFound,
)
from kitaru_core.waits import _waits

calls: Counter[str] = Counter()
knobs: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    calls.clear()
    knobs.clear()
    yield


def executions() -> Any:
    return KitaruClient().executions


# the seed example ----------------------------------------------------------------------------


@checkpoint
def draft(topic: str) -> str:
    calls["draft"] += 1
    return f"A short post about {topic}."


@flow
def publish(topic: str) -> str:
    text = draft(topic)
    approved = kitaru.wait(
        schema=bool,
        name="approve",
        question=f"Approve this draft?\n\n{text}",
        timeout=knobs.get("timeout", 0),
    )
    return f"published: {text}" if approved else "rejected"


def test_unanswered_wait_suspends_and_run_returns_a_waiting_handle() -> None:
    handle = publish.run("owls")

    assert handle.status == "waiting"
    [pending] = executions().pending_waits(handle.exec_id)
    assert (pending.name, pending.status, pending.schema) == (
        "approve",
        "pending",
        {"type": "boolean"},
    )
    assert pending.question == "Approve this draft?\n\nA short post about owls."
    assert (
        pending.command == f"kitaru executions input {handle.exec_id} --wait approve --value JSON"
    )
    with pytest.raises(ExecutionSuspended):
        handle.wait()


def test_direct_call_raises_suspended_with_the_id_and_the_answer_command() -> None:
    with pytest.raises(ExecutionSuspended) as caught:
        publish("owls")

    exec_id = executions().latest().exec_id
    assert caught.value.exec_id == exec_id
    assert caught.value.wait_name == "approve"
    assert caught.value.command == f"kitaru executions input {exec_id} --wait approve --value JSON"
    assert executions().get(exec_id).status == "waiting"


def test_answer_queues_and_resume_completes_without_rerunning_the_draft() -> None:
    exec_id = publish.run("owls").exec_id

    answered = executions().input(exec_id, True)
    assert (answered.status, answered.value) == ("answered", True)
    assert executions().get(exec_id).status == "queued"
    assert executions().pending_waits(exec_id) == []

    handle = executions().resume(exec_id)
    assert handle.wait() == "published: A short post about owls."
    assert calls["draft"] == 1
    ops = executions().get(exec_id).operations
    assert [(op.name, op.kind, op.status, op.reused) for op in ops] == [
        ("draft", "checkpoint", "completed", True),
        ("approve", "wait", "completed", False),
    ]


def test_a_wrong_typed_answer_is_rejected_and_nothing_is_stored() -> None:
    exec_id = publish.run("owls").exec_id

    with pytest.raises(InvalidWaitAnswer) as caught:
        executions().input(exec_id, "maybe")

    message = str(caught.value)
    assert "'approve'" in message and exec_id in message and "true or false" in message
    assert "is not of type 'boolean'" in message and "Nothing was stored" in message
    [pending] = executions().pending_waits(exec_id)
    assert (pending.status, pending.value, pending.answered_at) == ("pending", None, None)
    assert executions().get(exec_id).status == "waiting"


def test_a_second_answer_is_rejected() -> None:
    exec_id = publish.run("owls").exec_id
    executions().input(exec_id, False)

    with pytest.raises(InvalidExecutionState, match="already answered"):
        executions().input(exec_id, True, wait="approve")
    with pytest.raises(InvalidExecutionState, match="no pending wait: 'approve'"):
        executions().input(exec_id, True)
    assert executions().resume(exec_id).wait() == "rejected"


def test_an_answer_arriving_while_the_wait_polls_continues_without_suspending() -> None:
    knobs["timeout"] = 30
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(publish, "owls")
        exec_id = wait_for(lambda: _pending_exec_id())
        assert executions().get(exec_id).status == "running"
        executions().input(exec_id, True)
        assert result.result(timeout=10) == "published: A short post about owls."
    execution = executions().get(exec_id)
    assert (execution.status, execution.run_count) == ("completed", 1)


def _pending_exec_id() -> str | None:
    found = executions().list()
    if found and executions().pending_waits(found[0].exec_id):
        return str(found[0].exec_id)
    return None


def wait_for(probe: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_an_answer_given_while_the_flow_gives_up_requeues_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_suspend = _waits.suspend

    def answer_then_suspend(call: _waits.WaitCall) -> ExecutionSuspended:
        KitaruClient().executions.input(call.run.exec_id, True)  # lands after the last poll
        return real_suspend(call)

    monkeypatch.setattr(_waits, "suspend", answer_then_suspend)
    handle = publish.run("owls")

    assert handle.status == "queued"
    monkeypatch.setattr(_waits, "suspend", real_suspend)
    assert executions().resume(handle.exec_id).wait().startswith("published")


# several waits, abort ------------------------------------------------------------------------


@flow
def two_questions() -> str:
    try:
        first = kitaru.wait(str, name="first", question="First?", timeout=0)
    except ExecutionSuspended:
        first = "?"  # a flow may go on asking; the execution still ends up waiting
    second = kitaru.wait(str, name="second", question="Second?", timeout=0)
    return f"{first}/{second}"


def test_input_without_a_wait_name_needs_exactly_one_pending_wait() -> None:
    exec_id = two_questions.run().exec_id
    assert [w.name for w in executions().pending_waits(exec_id)] == ["first", "second"]

    with pytest.raises(WaitNotFound, match="2 pending waits") as caught:
        executions().input(exec_id, "x")
    assert "'first'" in str(caught.value) and "'second'" in str(caught.value)
    with pytest.raises(WaitNotFound, match="no wait named 'third'"):
        executions().input(exec_id, "x", wait="third")

    executions().input(exec_id, "a", wait="first")
    executions().input(exec_id, "b")  # now only "second" is pending
    assert executions().resume(exec_id).wait() == "a/b"


@flow
def guarded() -> str:
    try:
        return "approved" if kitaru.wait(bool, name="approve", timeout=0) else "declined"
    except WaitAborted as exc:
        return f"aborted: {exc}"


def test_abort_makes_the_flow_see_wait_aborted() -> None:
    exec_id = guarded.run().exec_id

    aborted = executions().abort_wait(exec_id, reason="budget frozen")
    assert aborted.status == "aborted"
    assert executions().get(exec_id).status == "queued"
    with pytest.raises(InvalidExecutionState, match="already aborted"):
        executions().input(exec_id, True, wait="approve")

    result = executions().resume(exec_id).wait()
    assert result.startswith("aborted: Wait 'approve'") and "budget frozen" in result


def test_an_unhandled_abort_fails_the_execution() -> None:
    exec_id = publish.run("owls").exec_id
    executions().abort_wait(exec_id, wait="approve")

    handle = executions().resume(exec_id)
    assert handle.status == "failed"
    assert executions().get(exec_id).error["type"].endswith("WaitAborted")


def test_failure_after_an_aborted_wait_points_at_replay_with_the_wait_override() -> None:
    exec_id = publish.run("owls").exec_id
    executions().abort_wait(exec_id, wait="approve", reason="too late")
    assert executions().resume(exec_id).status == "failed"

    with pytest.raises(ExecutionFailed) as caught:
        executions().get(exec_id).result_or_raise()
    message = str(caught.value)
    # Before: "Fix the cause, then `kitaru executions retry ...`", which fails the same way.
    assert "kitaru executions retry" not in message
    command = f"`kitaru executions replay {exec_id} --overrides '{{\"wait.approve\": ...}}'`"
    assert command in message
    assert "too late" in message

    replayed = executions().replay(exec_id, overrides={"wait.approve": True})
    assert replayed.wait() == "published: A short post about owls."
    assert calls["draft"] == 1


# schemas ------------------------------------------------------------------------------------


class Review(BaseModel):
    approved: bool
    score: int
    note: str = ""


@flow
def reviewed() -> str:
    review = kitaru.wait(Review, name="review", question="Review it", timeout=0)
    assert isinstance(review, Review)
    return f"{review.approved}:{review.score}:{review.note}"


def test_model_schema_validates_fields_and_returns_the_model() -> None:
    exec_id = reviewed.run().exec_id
    [pending] = executions().pending_waits(exec_id)
    assert pending.schema["required"] == ["approved", "score"]

    with pytest.raises(InvalidWaitAnswer, match="score: is required"):
        executions().input(exec_id, {"approved": True})
    with pytest.raises(InvalidWaitAnswer, match="score: 'high' is not of type 'integer'"):
        executions().input(exec_id, {"approved": True, "score": "high"})
    with pytest.raises(InvalidWaitAnswer, match="approved: 'yes' is not of type 'boolean'"):
        executions().input(exec_id, {"approved": "yes", "score": 7})
    executions().input(exec_id, {"approved": True, "score": 7})

    assert executions().resume(exec_id).wait() == "True:7:"


class Budget(BaseModel):
    amount: int

    @field_validator("amount")
    @classmethod
    def _even(cls, amount: int) -> int:
        if amount % 2:
            raise ValueError("the amount must be even")
        return amount


@flow
def budgeted() -> str:
    budget = kitaru.wait(Budget, name="budget", question="How much?", timeout=0)
    return f"budget {budget.amount}"


def test_answer_refused_by_the_flows_own_validator_reopens_the_wait() -> None:
    from typer.testing import CliRunner

    from kitaru_core.cli import app

    exec_id = budgeted.run().exec_id
    executions().input(exec_id, {"amount": 3})  # the JSON schema cannot know the validator

    # Before, this resume failed, and so did every later one: the answer could not be changed.
    assert executions().resume(exec_id).status == "waiting"
    assert executions().get(exec_id).status == "waiting"
    [pending] = executions().pending_waits(exec_id)
    assert (pending.name, pending.status, pending.value) == ("budget", "pending", None)
    assert pending.rejection is not None
    assert '{"amount": 3}' in pending.rejection and "the amount must be even" in pending.rejection
    shown = CliRunner().invoke(app, ["executions", "waits", exec_id])
    assert shown.exit_code == 0, shown.output
    assert "the amount must be even" in " ".join(shown.stdout.split())

    executions().input(exec_id, {"amount": 4})
    assert executions().resume(exec_id).wait() == "budget 4"
    [answered] = executions().waits(exec_id)
    assert (answered.status, answered.value) == ("answered", {"amount": 4})
    assert answered.rejection is None


def test_wait_outside_a_flow_and_with_a_bad_schema_are_errors() -> None:
    with pytest.raises(KitaruError, match="while a @flow runs"):
        kitaru.wait(bool)

    @flow
    def odd() -> None:
        kitaru.wait(schema=threading.Lock, timeout=0)

    with pytest.raises(KitaruError, match="needs a type Pydantic can validate"):
        odd()


# nesting ------------------------------------------------------------------------------------


@checkpoint(retries=1, retry_delay=0)
def send_refund(amount: int) -> str:
    calls["send_refund"] += 1
    ok = kitaru.wait(bool, name="approve", question=f"Refund {amount}?", timeout=0)
    if knobs.pop("fail_once", False):
        raise RuntimeError("payment API hiccup")
    return f"refunded {amount}" if ok else "refused"


@flow
def refunds(amounts: list[int]) -> list[str]:
    return [send_refund(amount) for amount in amounts]


def test_a_wait_nested_in_an_operation_is_found_answered_on_resume_and_on_retry() -> None:
    exec_id = refunds.run([10, 20]).exec_id
    [first] = executions().pending_waits(exec_id)
    assert first.question == "Refund 10?"
    executions().input(exec_id, True)

    knobs["fail_once"] = True  # the checkpoint fails after the wait: its retry reuses the answer
    assert executions().resume(exec_id).status == "waiting"
    [second] = executions().pending_waits(exec_id)
    assert second.question == "Refund 20?"
    executions().input(exec_id, False)

    assert executions().resume(exec_id).wait() == ["refunded 10", "refused"]
    waits = executions().waits(exec_id)
    assert [(w.question, w.value) for w in waits] == [("Refund 10?", True), ("Refund 20?", False)]
    ops = executions().get(exec_id).operations
    assert [(op.name, op.kind, op.status) for op in ops] == [
        ("approve", "wait", "completed"),
        ("send_refund", "checkpoint", "completed"),
        ("approve", "wait", "completed"),
        ("send_refund", "checkpoint", "completed"),
    ]


@flow
async def async_publish(topic: str) -> str:
    text = draft(topic)
    approved = await kitaru.wait_async(bool, name="approve", question="Approve?", timeout=0)
    return f"published: {text}" if approved else "rejected"


def test_async_flow_waits_with_wait_async() -> None:
    import asyncio

    handle = asyncio.run(async_publish.run("owls"))
    assert handle.status == "waiting"
    executions().input(handle.exec_id, True)
    assert executions().resume(handle.exec_id).wait() == "published: A short post about owls."
    assert calls["draft"] == 1


# terminal prompt ----------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_an_interactive_terminal_is_asked_and_a_bad_answer_is_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pty

    leader, follower = pty.openpty()
    terminal_in = os.fdopen(follower, "r")
    monkeypatch.setattr(sys, "stdin", terminal_in)
    monkeypatch.delenv("KITARU_NO_PROMPT", raising=False)
    knobs["timeout"] = 20
    try:
        with ThreadPoolExecutor(1) as pool:
            result = pool.submit(publish, "owls")
            wait_for(lambda: _pending_exec_id())
            os.write(leader, b"maybe\n")
            time.sleep(0.3)
            assert not result.done()
            os.write(leader, b"yes\n")  # not JSON, and text is no boolean: asked again
            time.sleep(0.3)
            assert not result.done()
            os.write(leader, b"true\n")
            assert result.result(timeout=10) == "published: A short post about owls."
    finally:
        terminal_in.close()
        os.close(leader)
    [answered] = executions().waits(executions().latest().exec_id)
    assert (answered.status, answered.value) == ("answered", True)


# cancel -------------------------------------------------------------------------------------


def test_cancel_of_a_waiting_execution_closes_its_waits() -> None:
    exec_id = publish.run("owls").exec_id

    assert executions().cancel(exec_id).status == "cancelled"
    assert executions().pending_waits(exec_id) == []
    assert executions().waits(exec_id)[0].status == "cancelled"
    with pytest.raises(InvalidExecutionState, match="cancelled"):
        executions().input(exec_id, True)
    with pytest.raises(InvalidExecutionState, match="cancelled"):
        executions().resume(exec_id)


@checkpoint
def tick(i: int) -> int:
    calls["tick"] += 1
    time.sleep(0.01)
    return i


@flow
def ticker(n: int) -> int:
    return sum(tick(i) for i in range(n))


def _started_in_background(func: Callable[[], Any]) -> tuple[ThreadPoolExecutor, Future[Any], str]:
    pool = ThreadPoolExecutor(1)
    result = pool.submit(func)
    exec_id = wait_for(lambda: [e.exec_id for e in executions().list(status="running")])[0]
    return pool, result, exec_id


def test_cancel_of_a_running_execution_stops_it_at_an_operation_boundary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_cancel, "CHECK_EVERY", 0.02)
    pool, result, exec_id = _started_in_background(lambda: ticker(1000))
    with pool:
        wait_for(lambda: calls["tick"] >= 3)
        executions().cancel(exec_id)
        with pytest.raises(ExecutionCancelled, match=exec_id):
            result.result(timeout=10)

    execution = executions().get(exec_id)
    assert execution.status == "cancelled"  # the runner's final write did not overwrite it
    assert 3 <= len(execution.operations) < 1000
    assert calls["tick"] == len(execution.operations)


def test_cancel_reaches_a_wait_that_is_polling() -> None:
    knobs["timeout"] = 60
    pool, result, exec_id = _started_in_background(lambda: publish("owls"))
    with pool:
        wait_for(lambda: executions().pending_waits(exec_id))
        started = time.monotonic()
        executions().cancel(exec_id)
        with pytest.raises(ExecutionCancelled):
            result.result(timeout=10)
        assert time.monotonic() - started < 5
    assert executions().get(exec_id).status == "cancelled"


# an owner that died -------------------------------------------------------------------------


def _dead_owner() -> str:
    """The owner id of a Kitaru process on this machine that has exited."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kitaru_core.engine._lease import my_owner_id; print(my_owner_id())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def test_a_running_execution_whose_process_died_is_not_reported_running() -> None:
    handle = ticker.run(3)
    store = KitaruClient().store
    store.update_execution(
        handle.exec_id, status="running", owner=_dead_owner(), lease_expires_at=time.time() + 60
    )

    assert executions().list(status="running") == []
    execution = executions().get(handle.exec_id)
    assert execution.status == "failed"
    assert execution.error["type"] == PROCESS_DIED
    assert f"kitaru executions resume {handle.exec_id}" in execution.error["message"]

    resumed = executions().resume(handle.exec_id)
    assert (resumed.status, resumed.wait()) == ("completed", 3)
    assert calls["tick"] == 3  # nothing ran again


def test_a_live_owner_stays_running() -> None:
    handle = ticker.run(2)
    store = KitaruClient().store
    store.update_execution(
        handle.exec_id, status="running", owner=my_owner_id(), lease_expires_at=time.time() + 60
    )
    assert executions().get(handle.exec_id).status == "running"
