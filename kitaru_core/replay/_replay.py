"""Replay: a new execution that reuses a source execution's operations up to a chosen point.

``from_`` selects the first operation that runs again (by name, or by operation id). The
source's operations that completed before it (in the order they completed) are *inherited*: the
replay reuses them when it reaches them with the same identity, exactly as a resume would, and
copies them into its own log marked ``reused_from``. Overrides replace what a source operation
returned (``checkpoint.NAME``), what a wait was answered (``wait.NAME``) or a flow argument
(``arg.NAME``, or keyword arguments). Without ``from_``, a replay with overrides starts at the
earliest overridden operation, and one without overrides runs everything again. A checkpoint
override must not come after ``from_`` (that checkpoint runs again); a ``wait.NAME`` answer also
answers a wait of that name that the replay asks anew (after ``from_``, or with a new question).

Everything is checked before the new execution exists. What the replay inherits is stored with
it (``replay_plan``), so a replay that crashes or waits resumes with the same inheritance.
"""

from __future__ import annotations

import base64
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kitaru_core._config import Settings
from kitaru_core.engine._oplog import OperationId
from kitaru_core.engine._replay_plan import inherited_records
from kitaru_core.engine._runner import aexecute, create_execution, execute, settings_for
from kitaru_core.engine._runtime import ExecutionRun
from kitaru_core.engine._snapshots import DeploymentPin, pin_of, snapshot_of
from kitaru_core.errors import InvalidReplay, InvalidWaitAnswer
from kitaru_core.replay._override_types import check_override
from kitaru_core.store._backends import current_store
from kitaru_core.store._records import ExecutionRecord, OperationRecord, WaitRecord
from kitaru_core.store._store import Store
from kitaru_core.store._values import decode_arguments, encode
from kitaru_core.waits._answers import validate_answer, validation_message

if TYPE_CHECKING:
    from kitaru_core.engine._code import FlowLike as Flow

OVERRIDE_KINDS = ("checkpoint", "wait", "arg")


@dataclass
class SourceOperation:
    """One operation of the source execution, its attempts folded together."""

    op_id: str
    name: str
    kind: str
    position: int
    completed: OperationRecord | None = None
    attempts: list[OperationRecord] = field(default_factory=list)
    wait: WaitRecord | None = None


# reading the source -------------------------------------------------------------------------


def source_operations(store: Store, exec_id: str) -> list[SourceOperation]:
    """The source's operations in the order they completed (or last failed); waits never
    answered in it come last."""
    by_id: dict[str, SourceOperation] = {}
    for record in store.load_operations(exec_id):
        op = by_id.get(record.op_id)
        if op is None:
            op = by_id[record.op_id] = SourceOperation(record.op_id, record.name, record.kind, 0)
        op.attempts.append(record)
        if op.completed is None:
            op.position = record.seq or 0
            if record.status == "completed":
                op.completed = record
    end = max((op.position for op in by_id.values()), default=0) + 1
    for row in store.get_waits(exec_id):
        op = by_id.get(row.wait_id)
        if op is None:
            op = by_id[row.wait_id] = SourceOperation(row.wait_id, row.name, "wait", end)
        op.wait = row
    return sorted(by_id.values(), key=lambda op: op.position)


def _names(ops: list[SourceOperation]) -> str:
    return ", ".join(dict.fromkeys(f"{op.name} ({op.kind})" for op in ops)) or "no operations"


def select(
    ops: list[SourceOperation], selector: str, *, exec_id: str, what: str, kinds: str = "any"
) -> SourceOperation:
    """The one operation ``selector`` (an op id, or a name) designates; InvalidReplay if not."""
    fits = [op for op in ops if kinds == "any" or (op.kind == "wait") == (kinds == "wait")]
    exact = [op for op in fits if op.op_id == selector]
    if exact:
        return exact[0]
    named = [op for op in fits if op.name == selector]
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(op.op_id for op in named)
        raise InvalidReplay(
            f"{what} {selector!r} is ambiguous: it ran {len(named)} times in execution "
            f"{exec_id} ({ids}). Pass one of those operation ids instead."
        )
    other = [op for op in ops if selector in (op.op_id, op.name)]
    if other:
        prefix = "wait" if other[0].kind == "wait" else "checkpoint"
        raise InvalidReplay(
            f"{what} {selector!r} is a {other[0].kind} in execution {exec_id}; "
            f"write it as {prefix}.{selector}."
        )
    raise InvalidReplay(
        f"{what} {selector!r} names no operation of execution {exec_id}. Its operations: "
        f"{_names(ops)}. See them with `kitaru executions get {exec_id}`."
    )


def _wait_schema(store: Store, op: SourceOperation) -> dict[str, Any] | None:
    """The stored schema of a wait, following reuse back to the execution that asked it."""
    if op.wait is not None:
        return op.wait.schema
    exec_id = op.completed.reused_from if op.completed is not None else None
    seen: set[str] = set()
    while exec_id and exec_id not in seen:
        seen.add(exec_id)
        for row in store.get_waits(exec_id):
            if row.wait_id == op.op_id:
                return row.schema
        source = [r for r in store.load_operations(exec_id) if r.op_id == op.op_id]
        exec_id = next((r.reused_from for r in source if r.reused_from), None)
    return None


# building the plan --------------------------------------------------------------------------


@dataclass
class ReplayRequest:
    """What the caller asked for, before it is checked."""

    source_id: str
    from_: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    flow_kwargs: dict[str, Any] = field(default_factory=dict)


def _encode_override(
    op: SourceOperation, value: Any, settings: Settings, selector: str
) -> dict[str, Any]:
    stored = encode(value, what=f"The override {selector!r}", settings=settings)
    template = op.completed or (op.attempts[-1] if op.attempts else None)
    identity = OperationId.parse(op.op_id)
    return {
        "op_id": op.op_id,
        "name": op.name,
        "kind": op.kind,
        "fingerprint": identity.fingerprint,
        "n": identity.n,
        "input_text": template.input_text if template else None,
        "input_parts": template.input_parts if template else None,
        "codec": stored.codec,
        "data": base64.b64encode(stored.data).decode() if stored.data is not None else None,
        "ref": stored.ref,
    }


def _answer(store: Store, op: SourceOperation, value: Any, exec_id: str) -> Any:
    row = op.wait or WaitRecord(exec_id, op.op_id, op.name, "answered", 0.0)
    row.schema = _wait_schema(store, op)
    try:
        return validate_answer(row, value)
    except InvalidWaitAnswer as exc:
        raise InvalidReplay(f"Override wait.{op.name}: {exc}") from exc


def _check_arguments(flow: Flow, changes: dict[str, Any]) -> dict[str, Any]:
    """Changed flow arguments, checked against the flow's signature and annotations."""
    params = flow.signature.parameters
    named = [p for p in params.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    unknown = [name for name in changes if name not in params or params[name] not in named]
    if unknown:
        raise InvalidReplay(
            f"Flow {flow.name!r} has no parameter {unknown[0]!r}; its parameters are "
            f"{', '.join(p.name for p in named) or 'none'}."
        )
    try:
        hints = typing.get_type_hints(flow.func)
    except Exception:
        hints = {}
    checked = {}
    for name, value in changes.items():
        hint = hints.get(name)
        if hint is None:
            checked[name] = value
            continue
        from pydantic import TypeAdapter

        try:
            checked[name] = TypeAdapter(hint).validate_python(value)
        except ValueError as exc:
            raise InvalidReplay(
                f"Argument {name!r} of flow {flow.name!r} does not match its annotation: "
                f"{validation_message(exc)}."
            ) from exc
    return checked


def plan_replay(
    flow: Flow, request: ReplayRequest, *, store: Store, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(replay_plan, flow arguments)`` for ``request``; raises InvalidReplay on bad input."""
    source = store.get_execution(request.source_id)
    exec_id = source.exec_id
    if source.flow_name != flow.name:
        raise InvalidReplay(
            f"Execution {exec_id} ran flow {source.flow_name!r}, not {flow.name!r}. "
            f"Replay it with {source.flow_name}.replay(...) or the client."
        )
    ops = source_operations(store, exec_id)
    changes = dict(request.flow_kwargs)
    chosen: dict[str, tuple[SourceOperation, dict[str, Any]]] = {}
    answers: dict[str, Any] = {}
    for key, value in request.overrides.items():
        kind, dot, selector = key.partition(".")
        if not dot or not selector or kind not in OVERRIDE_KINDS:
            raise InvalidReplay(
                f"Override {key!r} is not one of checkpoint.NAME, wait.NAME or arg.NAME."
            )
        if kind == "arg":
            changes[selector] = value
            continue
        op = select(ops, selector, exec_id=exec_id, what=f"Override {key!r}:", kinds=kind)
        if op.op_id in chosen:
            raise InvalidReplay(f"Two overrides name operation {op.op_id}; keep one.")
        if kind == "wait":
            value = answers[op.name] = _answer(store, op, value, exec_id)
        else:
            value = check_override(flow, op.name, op.kind, value, key)
        chosen[op.op_id] = (op, _encode_override(op, value, settings, key))
    arguments = {
        **decode_arguments(source.inputs, what=f"Flow {flow.name!r}", settings=settings),
        **_check_arguments(flow, changes),
    }
    start = _start(ops, request.from_, chosen, exec_id)
    plan = {
        "source": exec_id,
        "from": start.op_id if start else None,
        "before_seq": start.position if start else 0,
        "overrides": [spec for _, spec in chosen.values()],
        "answers": answers,
    }
    return plan, arguments


def _start(
    ops: list[SourceOperation],
    from_: str | None,
    chosen: dict[str, tuple[SourceOperation, dict[str, Any]]],
    exec_id: str,
) -> SourceOperation | None:
    overridden = sorted((op for op, _ in chosen.values()), key=lambda op: op.position)
    if from_ is None:
        return overridden[0] if overridden else None
    start = select(ops, from_, exec_id=exec_id, what="Replay start (from_)")
    later = [op for op in overridden if op.position > start.position and op.kind != "wait"]
    if later:
        raise InvalidReplay(
            f"The override of {later[0].name!r} ({later[0].op_id}) comes after from_ "
            f"{from_!r}, which runs it again, so the override would be lost. Replay from "
            f"{later[0].name!r} or an earlier operation."
        )
    return start


def lineage(store: Store, exec_id: str) -> list[ExecutionRecord]:
    """``exec_id`` and the executions it was replayed from, newest first, back to the original."""
    chain: list[ExecutionRecord] = []
    seen: set[str] = set()
    current: str | None = exec_id
    while current is not None and current not in seen:
        seen.add(current)
        record = store.get_execution(current)
        chain.append(record)
        current = record.original_exec_id
    return chain


# starting -----------------------------------------------------------------------------------


def create_replay(
    flow: Flow, request: ReplayRequest, *, store: Store, settings: Settings, queued: bool = False
) -> tuple[ExecutionRun, dict[str, Any]]:
    """Check ``request`` and record the replay execution: ``(its run, flow arguments)``.

    With ``queued``, it is recorded ``queued`` with no owner, for a worker or a detached
    ``kitaru executions resume`` to run (its inheritance is in its ``replay_plan``).
    """
    plan, arguments = plan_replay(flow, request, store=store, settings=settings)
    run = create_execution(
        flow,
        arguments,
        settings=settings,
        original_exec_id=plan["source"],
        replay_from=plan["from"],
        inherited=inherited_records(store, plan),
        replay_plan=plan,
        queued=queued,
        deployment=_same_deployment(flow, store.get_execution(plan["source"])),
    )
    return run, arguments


def start_replay(flow: Flow, request: ReplayRequest, *, store: Store, settings: Settings) -> Any:
    """Check ``request``, create the replay execution and run it here.

    Returns the stopped run (``Ran``), or for an async flow a coroutine that gives one.
    """
    run, arguments = create_replay(flow, request, store=store, settings=settings)
    if flow.is_async:
        return aexecute(flow, run, arguments)
    return execute(flow, run, arguments)


def _same_deployment(flow: Flow, source: ExecutionRecord) -> DeploymentPin | None:
    """The source's deployment version when the replay runs its snapshot (``client.executions
    .replay`` does; ``Flow.replay`` with a flow imported from source code does not)."""
    pin = pin_of(source)
    return pin if pin is not None and snapshot_of(flow.ref) == pin.snapshot else None


def replay_flow(
    flow: Flow,
    exec_id: str,
    from_: str | None,
    overrides: dict[str, Any] | None,
    flow_kwargs: dict[str, Any],
) -> Any:
    """``Flow.replay``: replay ``exec_id`` with ``flow``'s stack; see :func:`start_replay`."""
    settings = settings_for(flow)
    request = ReplayRequest(exec_id, from_, dict(overrides or {}), flow_kwargs)
    return start_replay(flow, request, store=current_store(settings), settings=settings)
