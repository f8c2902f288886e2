"""``kitaru.wait()``: stop a flow until a human, an agent or a webhook answers.

A wait is an operation of kind ``wait``. Its identity is ``(name, fingerprint, n)`` like any
other: the fingerprint hashes the question and the JSON schema of the expected type, so two
different questions under one name are two waits, and the n-th identical one is told apart by
``n``. A wait called inside another operation (an adapter's tool call, a checkpoint body) also
hashes the enclosing operation's id and counts ``n`` within that operation's attempt, so it is
found again when the enclosing operation runs again on resume or on a retry.

An answered wait is written to the operation log as a completed operation whose output is the
answer (plain JSON); resumes and replays reuse it like any checkpoint. An unanswered one is
stored as a pending row in the waits table, polled for ``timeout`` seconds (and asked on the
terminal when stdin is one), and then suspends the execution by raising ExecutionSuspended.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kitaru_core.engine import _cancel, _context
from kitaru_core.engine._drain import in_worker_mode
from kitaru_core.engine._fingerprint import canonical_json, digest
from kitaru_core.engine._oplog import OperationId
from kitaru_core.engine._replay_plan import OVERRIDE_MARK, preset_answer
from kitaru_core.engine._runtime import check_storable
from kitaru_core.errors import (
    ExecutionSuspended,
    InvalidWaitAnswer,
    KitaruError,
    WaitAborted,
)
from kitaru_core.store._records import OperationRecord, WaitRecord
from kitaru_core.waits._answers import validation_message
from kitaru_core.waits._prompt import Terminal

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from kitaru_core.engine._runtime import ExecutionRun, OperationScope

POLL_SECONDS = 0.25
"""How often an unanswered wait looks for an answer while its timeout runs."""

_scope_counts: dict[int, dict[tuple[str, str], int]] = {}
_scope_lock = threading.Lock()


@dataclass(frozen=True)
class WaitCall:
    """One call of ``kitaru.wait()`` with its identity worked out."""

    run: ExecutionRun
    identity: OperationId
    input_text: str
    adapter: TypeAdapter[Any]
    schema: dict[str, Any]
    question: str | None
    metadata: dict[str, Any]

    @property
    def name(self) -> str:
        """The wait's name."""
        return self.identity.name

    @property
    def op_id(self) -> str:
        """The wait's operation id, also its ``wait_id`` in the waits table."""
        return self.identity.text

    def validate(self, answer: Any) -> Any:
        """The stored JSON ``answer`` as the flow's type."""
        try:
            return self.adapter.validate_json(json.dumps(answer))
        except ValueError as exc:
            raise InvalidWaitAnswer(
                f"The answer to wait {self.name!r} of execution {self.run.exec_id} does not "
                f"validate against the flow's schema: {validation_message(exc)}. Replay the "
                "execution with a valid "
                f"answer: `kitaru executions replay {self.run.exec_id} "
                f"--overrides '{{\"wait.{self.name}\": ...}}'`."
            ) from exc


# identity -----------------------------------------------------------------------------------


def _adapter(schema: Any) -> tuple[TypeAdapter[Any], dict[str, Any]]:
    from pydantic import TypeAdapter

    try:
        adapter: TypeAdapter[Any] = TypeAdapter(schema)
        return adapter, adapter.json_schema()
    except Exception as exc:
        raise KitaruError(
            f"kitaru.wait(schema={schema!r}) needs a type Pydantic can validate and describe "
            f"as JSON schema: {exc}"
        ) from exc


def _count_in_scope(scope: OperationScope, key: tuple[str, str]) -> int:
    """The n-th call of ``key`` inside this attempt of the enclosing operation."""
    with _scope_lock:
        counts = _scope_counts.get(id(scope))
        if counts is None:
            counts = _scope_counts[id(scope)] = {}
            weakref.finalize(scope, _scope_counts.pop, id(scope), None)
        n = counts.get(key, 0)
        counts[key] = n + 1
    return n


def identify(
    schema: Any, name: str | None, question: str | None, metadata: dict[str, Any] | None
) -> WaitCall:
    """Work out the identity of a wait called in the current flow (and operation)."""
    run = _context.current_run()
    if run is None:
        raise KitaruError(
            "kitaru.wait() must be called while a @flow runs: a wait suspends an execution."
        )
    name = name or "wait"
    check_storable("Wait name", name)
    if question is not None:
        check_storable("Wait question", question, limit=None)
    adapter, json_schema = _adapter(schema)
    inputs: dict[str, Any] = {"question": question, "schema": json_schema}
    scope = _context.current_operation()
    if scope is not None:
        inputs["within"] = scope.op_id
    text = canonical_json(inputs)
    fingerprint = digest(text)
    if scope is None:
        identity = run.log.next_id(name, fingerprint)
    else:
        identity = OperationId(name, fingerprint, _count_in_scope(scope, (name, fingerprint)))
    return WaitCall(run, identity, text, adapter, json_schema, question, dict(metadata or {}))


# the store side -----------------------------------------------------------------------------


def find_wait(call: WaitCall) -> WaitRecord | None:
    """This wait's row in the waits table, if it was reached before."""
    for row in call.run.store.get_waits(call.run.exec_id):
        if row.wait_id == call.op_id:
            return row
    return None


def open_wait(call: WaitCall) -> WaitRecord:
    """The existing row of this wait, or a new pending one."""
    row = find_wait(call)
    if row is not None:
        return row
    row = WaitRecord(
        exec_id=call.run.exec_id,
        wait_id=call.op_id,
        name=call.name,
        status="pending",
        created_at=time.time(),
        schema=call.schema,
        question=call.question,
        metadata=call.metadata,
    )
    call.run.store.create_wait(row)
    return find_wait(call) or row


def answer_value(row: WaitRecord) -> Any:
    """The JSON answer stored in a wait row."""
    return json.loads(row.value) if row.value is not None else None


def settle(call: WaitCall, row: WaitRecord) -> tuple[bool, Any]:
    """``(True, value)`` for an answered row, recorded as the wait's operation.

    An answer the flow's own type refuses (a validator the JSON schema cannot express) puts the
    wait back to pending with the reason, so a new answer can be given: ``(False, None)``, and
    the wait goes on polling or suspends (so does a cancelled row: the poll then stops the flow).
    An aborted row raises :class:`WaitAborted`.
    """
    if row.status == "aborted":
        raise WaitAborted(
            f"Wait {call.name!r} of execution {call.run.exec_id} was aborted"
            f"{': ' + str(answer_value(row)) if row.value else ''}.",
            exec_id=call.run.exec_id,
            wait_name=call.name,
        )
    if row.status != "answered":  # cancelled: the next poll meets the execution's cancel
        return False, None
    answer = answer_value(row)
    try:
        value = call.adapter.validate_json(json.dumps(answer))
    except ValueError as exc:
        reason = (
            f"The answer {json.dumps(answer)} was refused by the flow: {validation_message(exc)}."
        )
        call.run.store.reopen_wait(call.run.exec_id, call.op_id, rejection=reason)
        return False, None
    record_answer(call, row.created_at, answer)
    return True, value


def record_answer(
    call: WaitCall, started_at: float, answer: Any, metadata: dict[str, Any] | None = None
) -> None:
    """Write the answered wait as a completed operation, so later runs reuse it."""
    run = call.run
    stored = run.encode(answer, what=f"The answer to wait {call.name!r}")
    record = OperationRecord(
        exec_id=run.exec_id,
        op_id=call.op_id,
        name=call.name,
        kind="wait",
        fingerprint=call.identity.fingerprint,
        n=call.identity.n,
        attempt=run.log.next_attempt(call.op_id),
        status="completed",
        started_at=started_at,
        ended_at=time.time(),
        input_text=call.input_text,
        output_codec=stored.codec,
        output=stored.data,
        output_ref=stored.ref,
        metadata=call.metadata if metadata is None else metadata,
        run_no=run.run_no,
    )
    run.write(record)


def reused(call: WaitCall) -> tuple[bool, Any]:
    """``(True, value)`` when the operation log (or a replay's inheritance) has this wait, or a
    replay was given its answer (``wait.NAME`` override)."""
    recorded = call.run.log.recorded(call.op_id)
    if recorded is not None:
        return True, call.validate(call.run.reuse(recorded))
    if not call.run.record.replay_plan:
        return False, None
    found, answer = preset_answer(call.run.record.replay_plan, call.name)
    if not found:
        return False, None
    value = call.validate(answer)
    record_answer(call, time.time(), answer, {**call.metadata, OVERRIDE_MARK: True})
    return True, value


def suspend(call: WaitCall) -> ExecutionSuspended:
    """The exception that unwinds the flow when no answer came in time."""
    return ExecutionSuspended(call.run.exec_id, call.name, wait_id=call.op_id)


def _poll_once(call: WaitCall) -> WaitRecord | None:
    """The row once it is no longer pending; raises if the execution was cancelled."""
    _cancel.raise_if_cancelled(call.run, call.run.store.get_execution(call.run.exec_id))
    row = find_wait(call)
    return row if row is not None and row.status != "pending" else None


# the public functions -----------------------------------------------------------------------


def _begin(
    schema: Any, name: str | None, question: str | None, metadata: dict[str, Any] | None
) -> tuple[WaitCall, bool, Any]:
    """``(call, settled, value)``: settled when the wait was already recorded or answered."""
    call = identify(schema, name, question, metadata)
    found, value = reused(call)
    if found:
        return call, True, value
    row = open_wait(call)
    if row.status != "pending":
        settled, value = settle(call, row)
        return call, settled, value
    return call, False, None


def _deadline(timeout: float | None) -> float | None:
    if in_worker_mode():
        return time.monotonic()  # a worker never holds a waiting execution: suspend at once
    return None if timeout is None else time.monotonic() + max(timeout, 0)


def _poll(call: WaitCall, deadline: float | None) -> tuple[bool, Any, float]:
    """One poll: ``(settled, value, seconds to pause before the next)``; suspends when due."""
    done = _poll_once(call)
    if done is not None:
        settled, value = settle(call, done)
        if settled:
            return True, value, 0.0
    remaining = None if deadline is None else deadline - time.monotonic()
    if remaining is not None and remaining <= 0:
        raise suspend(call)
    return False, None, POLL_SECONDS if remaining is None else min(POLL_SECONDS, remaining)


def wait(
    schema: Any = str,
    name: str | None = None,
    question: str | None = None,
    timeout: float | None = 600,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Wait for input of type ``schema``; suspend the execution if none arrives in ``timeout`` s.

    Returns the answer validated against ``schema`` (any type Pydantic can validate). An
    unanswered wait polls for up to ``timeout`` seconds (``None``: no limit), asking on the
    terminal when stdin is one, then raises :class:`ExecutionSuspended`: the execution becomes
    ``waiting`` and this process lets go of it. Answer it with
    ``KitaruClient().executions.input(exec_id, value)`` or ``kitaru executions input``, then
    resume. An aborted wait raises :class:`WaitAborted`.
    """
    call, settled, value = _begin(schema, name, question, metadata)
    if settled:
        return value
    deadline = _deadline(timeout)
    terminal = Terminal.open(call) if timeout != 0 and not in_worker_mode() else None
    while True:
        settled, value, pause = _poll(call, deadline)
        if settled:
            return value
        if terminal is None:
            time.sleep(pause)
        else:
            terminal.ask(pause)


async def wait_async(
    schema: Any = str,
    name: str | None = None,
    question: str | None = None,
    timeout: float | None = 600,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """:func:`wait` for async code: polls with ``asyncio.sleep`` so the event loop keeps running.

    It does not ask on the terminal; answer it from another process.
    """
    import asyncio

    call, settled, value = _begin(schema, name, question, metadata)
    if settled:
        return value
    deadline = _deadline(timeout)
    while True:
        settled, value, pause = _poll(call, deadline)
        if settled:
            return value
        await asyncio.sleep(pause)
