"""Answering and aborting waits from outside the flow (client, CLI, server)."""

from __future__ import annotations

import json
import time
from typing import Any

from kitaru_core.errors import InvalidExecutionState, InvalidWaitAnswer, WaitNotFound
from kitaru_core.store._records import WaitRecord
from kitaru_core.store._store import Store

ANSWER_CODEC = "json"
CLOSED_STATUSES = ("completed", "cancelled")
"""Executions whose waits take no answer (a failed one may still be resumed, so it does)."""


def _describe(waits: list[WaitRecord]) -> str:
    return ", ".join(f"{w.name!r} ({w.wait_id}, {w.status})" for w in waits) or "none"


def pending(store: Store, exec_id: str) -> list[WaitRecord]:
    """Waits of ``exec_id`` that still need an answer, oldest first."""
    store.get_execution(exec_id)
    return [w for w in store.get_waits(exec_id) if w.status == "pending"]


def select_wait(store: Store, exec_id: str, wait: str | None) -> WaitRecord:
    """The one pending wait that ``wait`` (a name, a wait id or None) designates."""
    record = store.get_execution(exec_id)
    if record.status in CLOSED_STATUSES:
        raise InvalidExecutionState(
            f"Execution {exec_id} is {record.status}; it waits for no input."
        )
    waits = store.get_waits(exec_id)
    open_waits = [w for w in waits if w.status == "pending"]
    if not open_waits and record.status == "waiting" and record.awaiting:
        raise InvalidExecutionState(
            f"Execution {exec_id} waits for its child execution"
            f"{'s' if len(record.awaiting) > 1 else ''} {', '.join(record.awaiting)}, not for "
            "input: answer their waits (`kitaru executions waits CHILD`, `input CHILD`); it "
            "continues when they finish."
        )
    if wait is None:
        if len(open_waits) == 1:
            return open_waits[0]
        if not waits:
            raise WaitNotFound(f"Execution {exec_id} has no wait to answer.")
        if not open_waits:
            raise InvalidExecutionState(
                f"Execution {exec_id} has no pending wait: {_describe(waits)}; a wait takes "
                "one answer."
            )
        raise WaitNotFound(
            f"Execution {exec_id} has {len(open_waits)} pending waits: {_describe(open_waits)}. "
            "Say which one with wait=NAME or wait=WAIT_ID (CLI: --wait)."
        )
    matches = [w for w in waits if w.wait_id == wait] or [w for w in waits if w.name == wait]
    if not matches:
        raise WaitNotFound(
            f"Execution {exec_id} has no wait named {wait!r} (its waits: {_describe(waits)})."
        )
    open_matches = [w for w in matches if w.status == "pending"]
    if not open_matches:
        last = matches[-1]
        raise InvalidExecutionState(
            f"Wait {wait!r} of execution {exec_id} was already {last.status}; a wait takes one "
            "answer. To run it with another answer, replay the execution with "
            f"`--overrides '{{\"wait.{last.name}\": ...}}'`."
        )
    if len(open_matches) > 1:
        raise WaitNotFound(
            f"{len(open_matches)} pending waits of execution {exec_id} are named {wait!r}: "
            f"{_describe(open_matches)}. Pass the wait id instead."
        )
    return open_matches[0]


def describe_schema(schema: dict[str, Any] | None) -> str:
    """A short human description of what a JSON schema accepts."""
    if not schema:
        return "any JSON value"
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "object" and schema.get("properties"):
        required = set(schema.get("required", []))
        fields = ", ".join(
            f"{name}{'' if name in required else '?'}" for name in schema["properties"]
        )
        return f"a JSON object with {fields}"
    if isinstance(kind, str):
        return {"boolean": "true or false", "string": "text"}.get(kind, f"a JSON {kind}")
    return schema.get("title", "a JSON value")


def validate_answer(row: WaitRecord, value: Any) -> Any:
    """``value`` checked against the wait's stored JSON schema, as plain JSON data."""
    # lazy: keeps import kitaru_core.client (and so the CLI) fast: the checks need jsonschema
    from kitaru_core.waits._schema_types import SchemaMismatch, check

    try:
        return check(row.schema or {}, value)
    except SchemaMismatch as exc:
        raise InvalidWaitAnswer(
            f"{value!r} is not a valid answer to wait {row.name!r} of execution {row.exec_id} "
            f"(expects {describe_schema(row.schema)}): {exc}. Nothing was stored."
        ) from exc


def validation_message(exc: ValueError) -> str:
    """A Pydantic validation error on one line: ``where: what`` for each problem."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for error in errors(include_url=False):
        where = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(parts) or str(exc)


def _queue(store: Store, exec_id: str) -> None:
    store.transition(exec_id, to="queued", from_statuses=("waiting",), updated_at=time.time())


def _close(store: Store, row: WaitRecord, status: str, value: Any) -> WaitRecord:
    data = None if value is None else json.dumps(value).encode()
    codec = None if value is None else ANSWER_CODEC
    if not store.answer_wait_and_queue(
        row.exec_id, row.wait_id, status=status, value_codec=codec, value=data
    ):
        raise InvalidExecutionState(
            f"Wait {row.name!r} of execution {row.exec_id} was answered or aborted meanwhile; "
            "a wait takes one answer."
        )
    return next(w for w in store.get_waits(row.exec_id) if w.wait_id == row.wait_id)


def answer(store: Store, exec_id: str, value: Any, wait: str | None = None) -> WaitRecord:
    """Validate and store the answer to a pending wait; queue the execution if it was waiting."""
    row = select_wait(store, exec_id, wait)
    return _close(store, row, "answered", validate_answer(row, value))


def abort(
    store: Store, exec_id: str, wait: str | None = None, reason: str | None = None
) -> WaitRecord:
    """Abort a pending wait: the flow sees WaitAborted when it continues."""
    return _close(store, select_wait(store, exec_id, wait), "aborted", reason)


def cancel_pending(store: Store, exec_id: str) -> None:
    """Close the pending waits of a cancelled execution."""
    for row in store.get_waits(exec_id):
        if row.status == "pending":
            store.answer_wait(
                exec_id, row.wait_id, status="cancelled", value_codec=None, value=None
            )
