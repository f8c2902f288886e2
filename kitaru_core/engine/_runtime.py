"""State of one running execution, and the machinery that records or reuses its operations."""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kitaru_core._config import Settings
from kitaru_core.engine import _cancel, _context
from kitaru_core.engine._drive import CALL, Steps, adrive, drive
from kitaru_core.engine._error_names import error_type_name
from kitaru_core.engine._flusher import Flusher
from kitaru_core.engine._oplog import OperationId, OperationLog
from kitaru_core.errors import (
    ExecutionCancelled,
    ExecutionReleased,
    ExecutionSuspended,
    ExecutionTakenOver,
    InvalidName,
    SerializationError,
)
from kitaru_core.plugins import get_plugin_manager
from kitaru_core.store._records import ExecutionRecord, LogRecord, OperationRecord, StartedRecord
from kitaru_core.store._store import Store
from kitaru_core.store._values import StoredValue, decode, encode

T = TypeVar("T")

CONTROL_FLOW = (ExecutionSuspended, ExecutionCancelled, ExecutionTakenOver, ExecutionReleased)
"""Exceptions that unwind a flow on purpose: never retried, never recorded as failures."""


def unwinds(run: ExecutionRun, exc: BaseException) -> bool:
    """Whether ``exc`` suspends or cancels ``run`` itself.

    A flow that waits on another execution's handle gets that execution's ExecutionSuspended or
    ExecutionCancelled: an error of this flow, not a reason for it to wait or stop.
    """
    if not isinstance(exc, CONTROL_FLOW):
        return False
    exec_id = getattr(exc, "exec_id", None)
    return exec_id is None or exec_id == run.exec_id


def describe_error(exc: BaseException) -> dict[str, Any]:
    """What is stored about an exception (with its ``next_step`` advice, when it has one)."""
    described = {
        "type": error_type_name(type(exc)),
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
    }
    next_step = getattr(exc, "next_step", None)
    if isinstance(next_step, str):
        described["next_step"] = next_step
    return described


DEFAULT_MAX_CONCURRENCY = 8
"""Child executions a flow runs at once on a local stack, unless ``@flow(max_concurrency=)``."""

NAME_LIMIT = 200
KIND_LIMIT = 32
"""The longest operation (and flow, wait, artifact) name and operation kind a store keeps: the
column sizes in _schema.py, which PostgreSQL enforces and SQLite does not."""


def check_storable(what: str, value: str, limit: int | None = NAME_LIMIT) -> None:
    """Refuse ``value`` up front if a store could not record it (after the work was done).

    The rule is the same for every store, so a flow that runs on SQLite runs on PostgreSQL:
    at most ``limit`` characters, no NUL (PostgreSQL text cannot hold it) and no lone surrogate
    (no store can encode it).
    """
    if limit is not None and len(value) > limit:
        raise InvalidName(
            f"{what} {value[:40]!r}... is {len(value)} characters long; a store keeps at most "
            f"{limit}. Use a shorter one."
        )
    if "\x00" in value or (not value.isascii() and not _encodable(value)):
        raise InvalidName(
            f"{what} {value[:80]!r} cannot be stored: it holds a NUL character or a lone "
            "surrogate (text that is not valid Unicode, e.g. an undecodable file name). "
            "Remove it, or decode such text with errors='replace'."
        )


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """How one kind of operation behaves: its name, kind and retry policy."""

    name: str
    kind: str = "checkpoint"
    retries: int = 0
    retry_delay: float = 1.0
    cache: bool = True

    def __post_init__(self) -> None:
        what = "Checkpoint name" if self.kind == "checkpoint" else "Operation name"
        check_storable(what, self.name)
        check_storable("Operation type", self.kind, KIND_LIMIT)

    def backoff(self, failed_attempts: int) -> float:
        """Seconds to sleep after ``failed_attempts`` failures: exponential from retry_delay."""
        return float(self.retry_delay * (2 ** (failed_attempts - 1)))


@dataclass(slots=True, weakref_slot=True)
class OperationScope:
    """The operation whose body is running: where metadata and model usage accumulate."""

    run: ExecutionRun
    spec: OperationSpec
    identity: OperationId
    input_text: str | None
    op_id: str = field(init=False)  # identity.text, worked out once
    started_at: float = field(default_factory=time.time)
    metadata: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    reported: bool = False  # written as in flight by the background flusher

    def __post_init__(self) -> None:
        self.op_id = self.identity.text

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the operation's inputs."""
        return self.identity.fingerprint

    def add_usage(self, *, model: str | None, tokens_in: int, tokens_out: int, cost: float) -> None:
        """Add one model call's usage to this operation."""
        self.model = self.model or model
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        self.cost += cost


class ExecutionRun:
    """One process's run of an execution: its log, its store, what it spent and saved."""

    def __init__(
        self,
        record: ExecutionRecord,
        *,
        store: Store,
        settings: Settings,
        log: OperationLog,
        run_no: int,
        owner: str,
    ) -> None:
        self.record = record
        self.exec_id = record.exec_id
        self.store = store
        self.settings = settings
        self.log = log
        self.run_no = run_no
        self.owner = owner
        self.metadata = dict(record.metadata)
        self.saved_cost = 0.0
        self.reused_ops: list[str] = []
        self.next_cancel_check = time.monotonic() + _cancel.CHECK_EVERY
        self._observe = _operation_observers()
        self.tokens_in = 0
        self.tokens_out = 0
        self.spent_cost = 0.0
        self._pending_logs: list[LogRecord] = []
        self._partial: dict[str, str] = {}
        self._logs_lock = threading.Lock()  # threads of the flow print concurrently
        self.inflight: dict[str, OperationScope] = {}  # attempts running now, by operation id
        # Serializes this run's writes with the flusher's, so log lines stay in print order and
        # an in-flight attempt is written before (never after) its outcome.
        self._write_lock = threading.Lock()
        self._inline_limit = settings.inline_limit
        self._flusher: Flusher | None = None
        self._reported_started = False
        self.max_concurrency = DEFAULT_MAX_CONCURRENCY
        """How many child executions this run runs at once in its process (local stacks)."""

    def watch_operations(self) -> None:
        """Look again for operation observers (a plugin may register one as a run starts)."""
        self._observe = _operation_observers()

    # captured output ----------------------------------------------------------------------

    def capture(self, stream: str, text: str) -> None:
        """Collect printed text; whole lines are written with the next operation."""
        scope = _context.current_operation()
        op_id = scope.op_id if scope is not None else None
        with self._logs_lock:
            buffered = self._partial.get(stream, "") + text
            *lines, rest = buffered.split("\n")
            self._partial[stream] = rest
            now = time.time()
            self._pending_logs.extend(
                LogRecord(self.exec_id, now, stream, line, op_id) for line in lines
            )

    def take_logs(self, *, final: bool = False) -> list[LogRecord]:
        """Lines collected so far (and, when ``final``, unterminated ones too)."""
        with self._logs_lock:
            if final:
                for stream, rest in self._partial.items():
                    if rest:
                        self._pending_logs.append(
                            LogRecord(self.exec_id, time.time(), stream, rest)
                        )
                self._partial.clear()
            taken, self._pending_logs = self._pending_logs, []
        return taken

    def start_flusher(self) -> None:
        """Start the background flusher of this run (see :meth:`flush`)."""
        self._flusher = Flusher(self)
        self._flusher.start()

    def stop_flusher(self) -> None:
        """Stop the background flusher, if it runs."""
        if self._flusher is not None:
            self._flusher.stop()

    def flush(self) -> None:
        """Write whole printed lines, and attempts running for longer than one flush interval.

        Called by the background flusher (``_flusher.py``), never on the hot path.
        """
        with self._write_lock:
            logs = self.take_logs()
            cutoff = time.time() - self.settings.log_flush_seconds
            fresh = [
                scope
                for scope in self.inflight.copy().values()
                if not scope.reported and scope.started_at <= cutoff
            ]
            if not logs and not fresh:
                return
            started = [
                StartedRecord(
                    exec_id=self.exec_id,
                    op_id=scope.op_id,
                    attempt=self.log.peek_attempt(scope.op_id),
                    name=scope.spec.name,
                    kind=scope.spec.kind,
                    started_at=scope.started_at,
                    run_no=self.run_no,
                )
                for scope in fresh
            ]
            try:
                self.store.write_progress(self.exec_id, logs, started)
            except BaseException:
                with self._logs_lock:  # not lost: the next flush or write takes them again
                    self._pending_logs[:0] = logs
                raise
            for scope in fresh:
                scope.reported = True
            self._reported_started = self._reported_started or bool(fresh)

    def finish_logs(self) -> None:
        """Write every line left (unterminated ones too) and forget in-flight attempts: those
        this run reported, or an earlier run's (this one resumes it). No write when none."""
        with self._write_lock:
            self.store.write_progress(
                self.exec_id,
                self.take_logs(final=True),
                finished=self._reported_started or self.run_no > 1,
            )

    # values -------------------------------------------------------------------------------

    def encode(self, value: Any, *, what: str) -> StoredValue:
        """Serialize for the store (inline or blob)."""
        return encode(value, what=what, settings=self.settings)

    def decode(self, codec: str | None, data: bytes | None, ref: str | None, *, what: str) -> Any:
        """Read back what :meth:`encode` wrote."""
        return decode(codec, data, ref, what=what, settings=self.settings)

    # operations ---------------------------------------------------------------------------

    def write(self, record: OperationRecord) -> None:
        """Write one attempt together with the log lines printed before it (while this run
        still owns the execution: else ExecutionTakenOver)."""
        try:
            with self._write_lock:
                self.store.record_operation(record, self.take_logs(), owner=self.owner)
        except ExecutionTakenOver:
            self.next_cancel_check = -math.inf  # every later operation boundary stops too
            raise
        self.log.add(record)
        if record.reused_from is None:
            self.tokens_in += record.tokens_in
            self.tokens_out += record.tokens_out
            self.spent_cost += record.cost
            if self._observe is not None:  # a replay's copy of a reused one: see reuse()
                self._observe(record.status, record)

    def count_spent(self, records: Iterable[OperationRecord]) -> None:
        """Add earlier attempts' tokens and cost to this execution's totals (not reused copies)."""
        for record in records:
            if record.reused_from is None:
                self.tokens_in += record.tokens_in
                self.tokens_out += record.tokens_out
                self.spent_cost += record.cost

    def reuse(self, recorded: OperationRecord) -> Any:
        """Return a recorded operation's output without running it."""
        value = self.decode(
            recorded.output_codec,
            recorded.output,
            recorded.output_ref,
            what=f"Recorded output of {recorded.name!r}",
        )
        self.saved_cost += recorded.cost
        self.reused_ops.append(recorded.op_id)
        if recorded.exec_id != self.exec_id:
            copy = OperationRecord(
                **{**recorded.__dict__, "exec_id": self.exec_id, "seq": None, "attempt": 1},
            )
            copy.reused_from = recorded.exec_id
            copy.run_no = self.run_no
            self.write(copy)
            recorded = copy  # observers see the operation of this execution
        if self._observe is not None:
            self._observe("reused", recorded)
        return value

    def observe_start(self, scope: OperationScope) -> None:
        """Tell operation observers that an attempt of ``scope`` starts (when there are any)."""
        if self._observe is None:
            return
        self._observe(
            "started",
            OperationRecord(
                exec_id=self.exec_id,
                op_id=scope.op_id,
                name=scope.spec.name,
                kind=scope.spec.kind,
                fingerprint=scope.identity.fingerprint,
                n=scope.identity.n,
                attempt=self.log.peek_attempt(scope.op_id),
                status="started",
                started_at=scope.started_at,
                ended_at=scope.started_at,
                run_no=self.run_no,
            ),
        )

    def _attempt_record(self, scope: OperationScope, status: str) -> OperationRecord:
        spec, identity = scope.spec, scope.identity
        input_text, input_parts = scope.input_text, None
        if input_text is not None and len(input_text) > self._inline_limit:
            input_parts = self._split_input(input_text)
            input_text = None
        return OperationRecord(
            exec_id=self.exec_id,
            op_id=scope.op_id,
            name=spec.name,
            kind=spec.kind,
            fingerprint=identity.fingerprint,
            n=identity.n,
            attempt=self.log.next_attempt(scope.op_id),
            status=status,
            started_at=scope.started_at,
            ended_at=time.time(),
            input_text=input_text,
            input_parts=input_parts,
            metadata=scope.metadata,
            run_no=self.run_no,
            model=scope.model,
            tokens_in=scope.tokens_in,
            tokens_out=scope.tokens_out,
            cost=scope.cost,
        )

    def _split_input(self, text: str) -> list[Any]:
        from kitaru_core.store._backends import current_blob_store
        from kitaru_core.store._inputs import split_input

        return split_input(text, self._inline_limit, current_blob_store(self.settings).put)

    def record_failure(self, scope: OperationScope, exc: BaseException) -> None:
        """Write a failed attempt."""
        record = self._attempt_record(scope, "failed")
        record.error = describe_error(exc)
        self.write(record)

    def record_success(self, scope: OperationScope, value: Any) -> None:
        """Write the completed attempt; an unstorable output fails the operation instead."""
        what = f"The output of {scope.spec.kind} {scope.spec.name!r}"
        try:
            stored = self.encode(value, what=what)
        except SerializationError as exc:
            self.record_failure(scope, exc)
            raise
        record = self._attempt_record(scope, "completed")
        record.output_codec, record.output = stored.codec, stored.data
        record.output_ref = stored.ref
        self.write(record)


def _emit_operation(event: str, record: OperationRecord) -> None:
    hook = get_plugin_manager().hook.on_operation_event
    if hook.get_hookimpls():
        hook(event=event, operation=record)


def _operation_observers() -> Callable[[str, OperationRecord], None] | None:
    """:func:`_emit_operation`, or None when no plugin observes operations (checked per run)."""
    return _emit_operation if get_plugin_manager().hook.on_operation_event.get_hookimpls() else None


def operation_steps(
    run: ExecutionRun,
    spec: OperationSpec,
    fingerprint: str,
    input_text: str | None,
    *,
    before: Callable[[], object] | None = None,
    after: Callable[[Any], Any] | None = None,
) -> Steps[Any]:
    """The recorded output of this operation, or its body run and recorded, with retries.

    Written once for sync and async callers (see ``_drive.py``): yields ``CALL`` for each
    attempt of the body and the backoff pauses between attempts. ``before`` runs inside the
    operation before each attempt, ``after`` turns the body's result into the operation's
    output; a failure of either fails the attempt like one of the body.
    """
    _cancel.check(run)
    identity = run.log.next_id(spec.name, fingerprint)
    if spec.cache:
        recorded = run.log.recorded(identity.text)
        if recorded is not None:
            return run.reuse(recorded)
    for failures in range(spec.retries + 1):
        scope = OperationScope(run, spec, identity, input_text)
        run.observe_start(scope)
        token = _context.enter_operation(scope)
        run.inflight[scope.op_id] = scope
        try:
            if before is not None:
                before()
            result = yield CALL
            if after is not None:
                result = after(result)
        except Exception as exc:
            if unwinds(run, exc):
                raise
            run.record_failure(scope, exc)
            if failures == spec.retries:
                raise
            yield spec.backoff(failures + 1)
            continue
        finally:
            _context.exit_operation(token)
            run.inflight.pop(scope.op_id, None)
        run.record_success(scope, result)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def run_operation(
    run: ExecutionRun,
    spec: OperationSpec,
    fingerprint: str,
    input_text: str | None,
    call: Callable[[], T],
) -> T:
    """Return the recorded output of this operation, or run ``call`` and record it."""
    return drive(operation_steps(run, spec, fingerprint, input_text), call)


async def arun_operation(
    run: ExecutionRun,
    spec: OperationSpec,
    fingerprint: str,
    input_text: str | None,
    call: Callable[[], Awaitable[T]],
) -> T:
    """:func:`run_operation` from async code: ``call`` returns an awaitable."""
    return await adrive(operation_steps(run, spec, fingerprint, input_text), call)
