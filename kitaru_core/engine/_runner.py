"""Starting and resuming executions in this process: claim, run the body, record the outcome."""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from kitaru_core._config import Settings, load_settings, settings_for_stack
from kitaru_core.engine import _capture, _context
from kitaru_core.engine._code import load_flow
from kitaru_core.engine._drive import CALL, Steps, adrive, drive
from kitaru_core.engine._lease import leases, my_owner_id, owner_alive
from kitaru_core.engine._oplog import OperationLog
from kitaru_core.engine._replay_plan import inherited_records
from kitaru_core.engine._runtime import ExecutionRun, describe_error, unwinds
from kitaru_core.engine._snapshots import DeploymentPin, snapshot_of
from kitaru_core.errors import (
    ExecutionBusy,
    ExecutionReleased,
    ExecutionSuspended,
    ExecutionTakenOver,
    InvalidExecutionState,
)
from kitaru_core.plugins import get_plugin_manager
from kitaru_core.store._backends import check_stack, current_store
from kitaru_core.store._ids import new_exec_id
from kitaru_core.store._records import FINISHED_STATUSES, ExecutionRecord, OperationRecord
from kitaru_core.store._store import Store
from kitaru_core.store._values import ARGS_CODEC, decode_arguments, encode_arguments

if TYPE_CHECKING:
    from kitaru_core.engine._code import FlowLike as Flow


@dataclass
class LocalOutcome:
    """How a run in this process ended: its value, or the exception it raised."""

    status: str
    value: Any = None
    error: BaseException | None = None


class Ran(NamedTuple):
    """A body run in this process that has stopped: the run, and how it ended.

    ``FlowHandle.of`` (in the client) turns it into what the caller gets back.
    """

    run: ExecutionRun
    outcome: LocalOutcome | None


RESUMABLE = {
    "resume": ("queued", "waiting", "failed", "running"),
    "retry": ("failed", "running"),
}


def settings_for(flow: Flow, stack: str | None = None) -> Settings:
    """The settings a run starts with: the stack given for this run, else the flow's own
    (``@flow(stack=...)``), else the active one (configure(), KITARU_STACK, config file)."""
    name = stack or flow.stack
    return settings_for_stack(name) if name else load_settings()


def create_execution(
    flow: Flow,
    arguments: dict[str, Any],
    *,
    settings: Settings,
    original_exec_id: str | None = None,
    replay_from: str | None = None,
    inherited: dict[str, OperationRecord] | None = None,
    replay_plan: dict[str, Any] | None = None,
    queued: bool = False,
    parent: tuple[str, str] | None = None,
    detached: bool = False,
    deployment: DeploymentPin | None = None,
    exec_id: str | None = None,
) -> ExecutionRun:
    """Record a new execution owned by this process and return its run.

    The stack is checked first (once per process): one whose store or artifact store cannot
    be reached is refused before anything runs. With ``queued``, record it ``queued`` with no
    owner instead, for a worker to run. ``parent`` is ``(execution id, operation id)`` of the
    flow operation that starts this one as a child. ``deployment`` is the deployment version
    it runs; a flow loaded from a snapshot records that snapshot in any case. ``exec_id`` is a
    deterministic id to record it under (:class:`ExecutionExists` when it is taken); a new one
    by default.
    """
    check_stack(settings.stack, settings.durability)
    store = current_store(settings)
    now = time.time()
    owner = None if queued else my_owner_id()
    record = ExecutionRecord(
        exec_id=exec_id or new_exec_id(),
        flow_name=flow.name,
        flow_ref=flow.ref,
        flow_file=flow.file,
        code_dir=flow.code_dir,
        is_async=flow.is_async,
        status="queued" if queued else "running",
        created_at=now,
        started_at=None if queued else now,
        updated_at=now,
        inputs_codec=ARGS_CODEC,
        inputs=encode_arguments(arguments, what=f"Flow {flow.name!r}", settings=settings),
        original_exec_id=original_exec_id,
        replay_from=replay_from,
        replay_plan=replay_plan,
        owner=owner,
        lease_expires_at=None if queued else now + settings.lease_seconds,
        run_count=0 if queued else 1,
        parent_exec_id=parent[0] if parent else None,
        parent_op_id=parent[1] if parent else None,
        detached=detached,
        deployment=deployment.name if deployment else None,
        deployment_version=deployment.version if deployment else None,
        snapshot=deployment.snapshot if deployment else snapshot_of(flow.ref),
    )
    store.create_execution(record)
    log = OperationLog([], inherited)
    return ExecutionRun(
        record, store=store, settings=settings, log=log, run_no=1, owner=owner or ""
    )


def claim_execution(
    exec_id: str, *, store: Store, settings: Settings, action: str
) -> tuple[Flow, ExecutionRun, dict[str, Any]]:
    """Take over a stored execution for ``action`` (resume or retry) in this process.

    The stack is checked first, as for a new run (:func:`create_execution`).
    """
    check_stack(settings.stack, settings.durability)
    record = store.get_execution(exec_id)
    allowed = RESUMABLE[action]
    if record.status not in allowed:
        hint = {
            "completed": "it already completed; replay it with "
            f"`kitaru executions replay {exec_id}`",
            "cancelled": "it was cancelled",
        }.get(record.status, f"only {', '.join(allowed)} executions can be {action}d")
        raise InvalidExecutionState(f"Cannot {action} execution {exec_id}: {hint}.")
    # Find the code and inputs before claiming: a failure here leaves the execution as it was.
    flow = load_flow(record, settings)
    arguments = decode_arguments(
        record.inputs, what=f"Flow {record.flow_name!r}", settings=settings
    )
    owner = my_owner_id()
    lease = time.time() + settings.lease_seconds
    if record.status == "running":
        if owner_alive(record.owner, record.lease_expires_at):
            left = (record.lease_expires_at or 0.0) - time.time()
            raise ExecutionBusy(
                f"Execution {exec_id} is running in {record.owner}, whose lease runs for "
                f"{left:.0f} s more and is renewed while it lives. Wait for it, or cancel it "
                "with `kitaru executions cancel`."
            )
        claimed = store.claim_execution(
            exec_id,
            owner=owner,
            lease_expires_at=lease,
            from_statuses=("running",),
            expected_owner=record.owner,
            check_owner=True,
        )
    else:
        claimed = store.claim_execution(
            exec_id,
            owner=owner,
            lease_expires_at=lease,
            # Only from the status just read: `allowed` holds "running", so a claim that another
            # resumer made in between would otherwise be taken over while it runs.
            from_statuses=(record.status,),
            expected_owner=None,
            check_owner=False,
        )
    if not claimed:
        raise ExecutionBusy(f"Execution {exec_id} changed while being claimed; try again.")
    record = store.get_execution(exec_id)
    inherited = None
    if record.replay_plan:
        inherited = inherited_records(store, record.replay_plan)
    records = store.load_operations(exec_id)
    log = OperationLog(records, inherited)
    run = ExecutionRun(
        record, store=store, settings=settings, log=log, run_no=record.run_count, owner=owner
    )
    run.count_spent(records)  # every earlier attempt, including those of a process that died
    return flow, run, arguments


# running the body ---------------------------------------------------------------------------


def _finish(
    run: ExecutionRun,
    status: str,
    wait_id: str | None = None,
    children: tuple[str, ...] = (),
    **fields: Any,
) -> None:
    """Record how the run ended; a run that stopped at wait ``wait_id`` (or to wait for its
    ``children``) becomes ``waiting``, or ``queued`` at once (same transaction) when that wait
    was answered (those children finished) meanwhile. A child that finished wakes its parent
    when the parent waits for it."""
    now = time.time()
    record = run.record
    fields.update(
        status=status,
        updated_at=now,
        ended_at=now if status in ("completed", "failed", "cancelled") else None,
        owner=None,
        lease_expires_at=None,
        metadata=run.metadata,
        tokens_in=run.tokens_in,
        tokens_out=run.tokens_out,
        cost_spent=run.spent_cost,
        cost_saved=record.cost_saved + run.saved_cost,
        reused_ops=run.reused_ops,
    )
    run.stop_flusher()
    run.finish_logs()
    if wait_id is not None:
        fields.pop("status")
        recorded = run.store.suspend_execution(
            run.exec_id, wait_id, expected_owner=run.owner, **fields
        )
    elif children:
        fields.pop("status")
        recorded = run.store.suspend_on_children(
            run.exec_id, children, expected_owner=run.owner, **fields
        )
    else:
        recorded = run.store.update_execution(run.exec_id, expected_owner=run.owner, **fields)
    if not recorded:
        now_record = run.store.get_execution(run.exec_id)
        if now_record.status != "cancelled":  # another process owns it now: leave it alone
            raise ExecutionTakenOver(
                run.exec_id, new_owner=now_record.owner, status=now_record.status
            )
        # Cancelled meanwhile (a cancel clears the owner): the status stays, what was spent counts.
        spent = ("tokens_in", "tokens_out", "cost_spent", "cost_saved")
        run.store.transition(
            run.exec_id,
            to="cancelled",
            from_statuses=("cancelled",),
            **{name: fields[name] for name in spent},
        )
    if record.parent_exec_id is not None and status in FINISHED_STATUSES:
        run.store.wake_parent(record.parent_exec_id)
    if status != "queued":  # a drained run is not an event of the execution's life
        _emit_execution(status, run)


def _emit_execution(event: str, run: ExecutionRun) -> None:
    hook = get_plugin_manager().hook.on_execution_event
    if hook.get_hookimpls():
        hook(event=event, execution=run.record)


def _complete(run: ExecutionRun, flow: Flow, value: Any) -> LocalOutcome:
    try:
        stored = run.encode(value, what=f"The result of flow {flow.name!r}")
    except Exception as exc:
        return _fail(run, exc)
    _finish(run, "completed", result_codec=stored.codec, result=stored.data, result_ref=stored.ref)
    return LocalOutcome("completed", value=value)


def _fail(run: ExecutionRun, exc: BaseException) -> LocalOutcome:
    _finish(run, "failed", error=describe_error(exc))
    return LocalOutcome("failed", error=exc)


def _unwind(run: ExecutionRun, exc: BaseException) -> LocalOutcome:
    if isinstance(exc, ExecutionTakenOver):
        raise exc  # not this process's execution any more: nothing to record
    if isinstance(exc, ExecutionSuspended):
        _finish(run, "waiting", wait_id=exc.wait_id, children=exc.children)
        return LocalOutcome("waiting", error=exc)
    if isinstance(exc, ExecutionReleased):
        _finish(run, "queued")  # a draining worker: the next worker continues it
        return LocalOutcome("queued", error=exc)
    _finish(run, "cancelled")
    return LocalOutcome("cancelled", error=exc)


class _Running:
    """Context for a body run: current execution, output capture and lease renewal."""

    def __init__(self, run: ExecutionRun) -> None:
        self.run = run

    def __enter__(self) -> ExecutionRun:
        self._token = _context.enter_run(self.run)
        _capture.start()
        leases.hold(self.run.exec_id, self.run.store, self.run.settings.lease_seconds)
        _emit_execution("started", self.run)
        self.run.watch_operations()  # an observer of "started" may have registered one
        self.run.start_flusher()
        return self.run

    def __exit__(self, *exc: object) -> None:
        leases.release(self.run.exec_id)
        self.run.stop_flusher()
        _capture.stop()
        _context.exit_run(self._token)


def _call_args(flow: Flow, arguments: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    bound = inspect.BoundArguments(flow.signature, arguments)
    return bound.args, bound.kwargs


def execute(flow: Flow, run: ExecutionRun, arguments: dict[str, Any]) -> Ran:
    """Run a sync flow body to its end (or suspension) in this thread."""
    args, kwargs = _call_args(flow, arguments)
    run.max_concurrency = getattr(flow, "max_concurrency", run.max_concurrency)
    with _Running(run):
        outcome = drive(_body_runs(flow, run), lambda: flow.func(*args, **kwargs))
    return Ran(run, outcome)


async def aexecute(flow: Flow, run: ExecutionRun, arguments: dict[str, Any]) -> Ran:
    """Run an async flow body to its end (or suspension)."""
    args, kwargs = _call_args(flow, arguments)
    run.max_concurrency = getattr(flow, "max_concurrency", run.max_concurrency)
    with _Running(run):
        outcome = await adrive(_body_runs(flow, run), lambda: flow.func(*args, **kwargs))
    return Ran(run, outcome)


def _body_runs(flow: Flow, run: ExecutionRun) -> Steps[LocalOutcome]:
    """Run the body (``CALL``, see ``_drive.py``) until it ends, again on failure while the
    flow's ``retries`` last, and record how it ended."""
    for attempt in range(flow.retries + 1):
        run.log.restart()
        try:
            value = yield CALL
        except Exception as exc:
            outcome = _after_error(flow, run, attempt, exc)
            if outcome is None:
                continue
        except BaseException as exc:
            _fail(run, exc)
            raise
        else:
            outcome = _complete(run, flow, value)
        return outcome
    raise AssertionError("unreachable")  # pragma: no cover


def _after_error(
    flow: Flow, run: ExecutionRun, attempt: int, exc: Exception
) -> LocalOutcome | None:
    """How a body run that raised ends, or None to run the body again (flow ``retries``)."""
    if unwinds(run, exc):
        return _unwind(run, exc)
    if attempt < flow.retries:
        return None
    return _fail(run, exc)


def continue_execution(exec_id: str, *, store: Store, settings: Settings, action: str) -> Ran:
    """Resume or retry a stored execution in this process and wait for it to stop."""
    if store.get_execution(exec_id).is_async and _event_loop_running():
        raise InvalidExecutionState(
            f"Execution {exec_id} is an async flow and an event loop is already running here; "
            f"use `await client.executions.a{action}({exec_id!r})` instead."
        )
    flow, run, arguments = claim_execution(exec_id, store=store, settings=settings, action=action)
    if flow.is_async:
        import asyncio

        return asyncio.run(aexecute(flow, run, arguments))
    return execute(flow, run, arguments)


def _event_loop_running() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def acontinue_execution(
    exec_id: str, *, store: Store, settings: Settings, action: str
) -> Ran:
    """:func:`continue_execution` from async code; sync flows run in a worker thread."""
    import asyncio
    import contextvars

    flow, run, arguments = claim_execution(exec_id, store=store, settings=settings, action=action)
    if flow.is_async:
        return await aexecute(flow, run, arguments)
    context = contextvars.copy_context()
    return await asyncio.to_thread(context.run, execute, flow, run, arguments)
