"""What the client returns: executions, their operations, log lines and artifacts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kitaru_core._config import Settings
from kitaru_core.engine._error_names import public_error
from kitaru_core.engine._oplog import OperationId
from kitaru_core.errors import ExecutionCancelled, ExecutionFailed, ExecutionSuspended, KitaruError
from kitaru_core.replay._replay import lineage
from kitaru_core.store._preview import Preview, cut, full, preview
from kitaru_core.store._records import (
    ArtifactRecord,
    ExecutionRecord,
    OperationRecord,
    StartedRecord,
)
from kitaru_core.store._store import Store
from kitaru_core.store._values import decode, decode_arguments, operation_input, stored_size

STARTED = "started"
"""Status of an operation seen running with no outcome recorded: still running, or its process
died in it."""


@dataclass
class OperationInfo:
    """One operation of an execution, its attempts folded together.

    ``status`` is ``started`` for an attempt seen running with no outcome recorded yet (its
    ``ended_at`` and ``duration`` are None): still running, or its process died in it.
    """

    op_id: str
    name: str
    kind: str
    status: str
    attempts: int
    duration: float | None
    reused: bool
    started_at: float
    ended_at: float | None
    reused_from: str | None = None
    error: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    spent_cost: float = 0.0
    _record: OperationRecord | None = field(default=None, repr=False)
    _settings: Settings | None = field(default=None, repr=False)

    @cached_property
    def input_text(self) -> str | None:
        """The operation's inputs as canonical JSON; large ones are read from the blob store."""
        if self._record is None:
            return None
        if self._record.input_parts is None or self._settings is None:
            return self._record.input_text
        return operation_input(self._record, settings=self._settings)

    @property
    def output(self) -> Any:
        """The recorded output (None unless completed)."""
        record = self._record
        if record is None or record.status != "completed" or self._settings is None:
            return None
        return decode(
            record.output_codec,
            record.output,
            record.output_ref,
            what=f"The output of {record.kind} {record.name!r}",
            settings=self._settings,
        )

    def to_dict(self, *, full_values: bool = False) -> dict[str, Any]:
        """JSON-ready fields, with ``input_text`` and ``output`` cut to previews unless
        ``full_values``; a cut one gets ``input_truncated``/``output_truncated`` and its size."""
        data = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if not f.name.startswith("_")
        }
        data.update(self._input_fields(full_values))
        data.update(self._output_fields(full_values))
        return data

    def _input_fields(self, full_values: bool) -> dict[str, Any]:
        record = self._record
        if full_values or record is None or record.input_parts is None:
            text = self.input_text if full_values else (record.input_text if record else None)
            if full_values or text is None:
                return {"input_text": text}
            shown, cut_off = cut(text)
            size = len(text)
        else:  # large inputs: outline the parts kept in the row, read no blob
            from kitaru_core.store._inputs import outline_input

            shown, _ = cut(outline_input(record.input_parts, _blob_placeholder))
            cut_off = True
            size = sum(len(p) if isinstance(p, str) else p["size"] for p in record.input_parts)
        fields: dict[str, Any] = {"input_text": shown}
        if cut_off:
            fields.update(input_truncated=True, input_size=size)
        return fields

    def _output_fields(self, full_values: bool) -> dict[str, Any]:
        record = self._record
        if record is None or record.status != "completed" or self._settings is None:
            return {"output": None}
        if record.output_ref is not None and not full_values:
            size = stored_size(None, record.output_ref, settings=self._settings)
            return {"output": None, "output_truncated": True, "output_size": size}
        return _value_fields(
            "output",
            lambda: self.output,
            full_values=full_values,
            size=None if record.output is None else len(record.output),
        )


def _blob_placeholder(part: dict[str, Any]) -> str:
    return f"<{part['size']} characters in blob {part['blob'][:12]}>"


def _value_fields(
    name: str, load: Callable[[], Any], *, full_values: bool, size: int | None
) -> dict[str, Any]:
    """``{name: preview}`` plus ``NAME_truncated``/``NAME_size``/``NAME_is_repr`` as they apply,
    or ``NAME_error`` when the value cannot be read."""
    try:
        value = load()
    except KitaruError as exc:
        return {name: None, f"{name}_error": str(exc)}
    shown: Preview = full(value) if full_values else preview(value, size=size)
    fields: dict[str, Any] = {name: shown.value}
    if shown.truncated:
        fields[f"{name}_truncated"] = True
        fields[f"{name}_size"] = size
    if shown.is_repr:
        fields[f"{name}_is_repr"] = True
    return fields


def _in_flight(started: StartedRecord) -> OperationRecord:
    """An attempt seen running, as an attempt row with status ``started``."""
    try:
        identity = OperationId.parse(started.op_id)
    except ValueError:  # not written by this engine: show it anyway
        identity = OperationId(started.name, "", 0)
    return OperationRecord(
        exec_id=started.exec_id,
        op_id=started.op_id,
        name=started.name,
        kind=started.kind,
        fingerprint=identity.fingerprint,
        n=identity.n,
        attempt=started.attempt,
        status=STARTED,
        started_at=started.started_at,
        ended_at=started.started_at,
        run_no=started.run_no,
    )


def fold_operations(
    records: list[OperationRecord],
    reused_ops: Collection[str],
    started: Sequence[StartedRecord] = (),
    settings: Settings | None = None,
) -> list[OperationInfo]:
    """Group attempt rows by operation id, in the order operations first appeared.

    ``reused_ops`` are the operations the latest finished run returned from the record. A
    reused operation shows 0 attempts, whether a resume or a replay reused it.
    ``started`` are attempts seen in flight; one that has a row (the same or a later attempt)
    ended and is left out, the others come last as ``started``.
    """
    grouped: dict[str, list[OperationRecord]] = {}
    for record in records:
        grouped.setdefault(record.op_id, []).append(record)
    for seen in sorted(started, key=lambda s: s.started_at):
        attempts = grouped.setdefault(seen.op_id, [])
        if all(a.attempt < seen.attempt for a in attempts):
            attempts.append(_in_flight(seen))
    infos = []
    for op_id, attempts in grouped.items():
        if not attempts:
            continue
        final = next((a for a in attempts if a.status == "completed"), attempts[-1])
        ran = [a for a in attempts if a.reused_from is None]
        reused = final.reused_from is not None or op_id in reused_ops
        running = final.status == STARTED
        infos.append(
            OperationInfo(
                op_id=op_id,
                name=final.name,
                kind=final.kind,
                status=final.status,
                attempts=0 if reused else len(ran),  # the latest run did not run it
                duration=None if running else final.ended_at - final.started_at,
                reused=reused,
                started_at=attempts[0].started_at,
                ended_at=None if running else final.ended_at,
                reused_from=final.reused_from,
                error=public_error(final.error),
                metadata=final.metadata,
                model=final.model,
                tokens_in=sum(a.tokens_in for a in ran),
                tokens_out=sum(a.tokens_out for a in ran),
                cost=final.cost,
                spent_cost=sum(a.cost for a in ran),
                _record=final,
                _settings=settings,
            )
        )
    return infos


class Execution:
    """One run of a flow: status, inputs, result or error, operations, tokens and cost."""

    def __init__(self, record: ExecutionRecord, store: Store, settings: Settings) -> None:
        self._record = record
        self._store = store
        self._settings = settings
        self.exec_id = record.exec_id
        self.flow_name = record.flow_name
        self.status = record.status
        self.error = public_error(record.error)
        self.original_exec_id = record.original_exec_id
        self.replay_from = record.replay_from
        self.created_at = record.created_at
        self.started_at = record.started_at
        self.updated_at = record.updated_at
        self.ended_at = record.ended_at
        self.run_count = record.run_count
        self.metadata = record.metadata
        self.cost_saved = record.cost_saved
        self.parent_id = record.parent_exec_id
        """The execution whose flow started this one as a child, if one did."""
        self.detached = record.detached
        """A detached child is not cancelled with its parent."""
        self.deployment = record.deployment
        """The deployment it was started from (``kitaru invoke``), or None."""
        self.deployment_version = record.deployment_version

    @classmethod
    def from_record(cls, record: ExecutionRecord, store: Store, settings: Settings) -> Execution:
        """Wrap a stored record."""
        return cls(record, store, settings)

    def __repr__(self) -> str:
        return f"Execution({self.exec_id!r}, flow={self.flow_name!r}, status={self.status!r})"

    @cached_property
    def operations(self) -> list[OperationInfo]:
        """Operations in the order they first ran."""
        return fold_operations(
            self._store.load_operations(self.exec_id),
            set(self._record.reused_ops or ()),
            self._store.load_started(self.exec_id),
            self._settings,
        )

    @cached_property
    def inputs(self) -> dict[str, Any]:
        """The flow's arguments by parameter name."""
        return decode_arguments(
            self._record.inputs, what=f"Flow {self.flow_name!r}", settings=self._settings
        )

    @property
    def result_size(self) -> int | None:
        """Bytes of the stored result (None when there is none); reads no blob."""
        record = self._record
        return stored_size(record.result, record.result_ref, settings=self._settings)

    @cached_property
    def result(self) -> Any:
        """The flow's return value (None unless completed)."""
        record = self._record
        if record.status != "completed":
            return None
        return decode(
            record.result_codec,
            record.result,
            record.result_ref,
            what=f"The result of execution {self.exec_id}",
            settings=self._settings,
        )

    @property
    def tokens_in(self) -> int:
        """Input tokens of every model call this execution made (not reused ones)."""
        return sum(op.tokens_in for op in self.operations)

    @property
    def tokens_out(self) -> int:
        """Output tokens of every model call this execution made."""
        return sum(op.tokens_out for op in self.operations)

    @property
    def cost_spent(self) -> float:
        """What this execution's model calls cost."""
        return sum(op.spent_cost for op in self.operations)

    @cached_property
    def children(self) -> list[Execution]:
        """The child executions this one started (``child.run()`` inside its flow), oldest
        first."""
        found = self._store.list_executions(parent=self.exec_id, limit=1_000_000)
        return [Execution(record, self._store, self._settings) for record in reversed(found)]

    @cached_property
    def reused_children(self) -> list[str]:
        """Children of another execution that this one reused instead of starting them (a
        replay reuses the source's completed children)."""
        ids = []
        for op in self.operations:
            if op.kind == "child" and op.reused_from is not None:
                ids.append(str(op.output))
        return ids

    @cached_property
    def children_usage(self) -> dict[str, Any]:
        """What this execution's children (and theirs) spent, and what reused children saved:
        ``tokens_in``, ``tokens_out``, ``cost_spent``, ``cost_saved``."""
        usage: dict[str, Any] = {"tokens_in": 0, "tokens_out": 0, "cost_spent": 0.0}
        saved = 0.0
        for child in self.children:
            below = child.children_usage
            usage["tokens_in"] += child._record.tokens_in + below["tokens_in"]
            usage["tokens_out"] += child._record.tokens_out + below["tokens_out"]
            usage["cost_spent"] += child._record.cost_spent + below["cost_spent"]
            saved += child.cost_saved + below["cost_saved"]
        for exec_id in self.reused_children:
            try:
                reused = Execution(self._store.get_execution(exec_id), self._store, self._settings)
            except KitaruError:
                continue  # deleted meanwhile: nothing to count
            saved += reused._record.cost_spent + reused.children_usage["cost_spent"]
        usage["cost_saved"] = saved
        return usage

    @property
    def total_usage(self) -> dict[str, Any]:
        """This execution's own model usage plus its children's (:attr:`children_usage`):
        ``tokens_in``, ``tokens_out``, ``cost_spent``, ``cost_saved``."""
        below = self.children_usage
        return {
            "tokens_in": self.tokens_in + below["tokens_in"],
            "tokens_out": self.tokens_out + below["tokens_out"],
            "cost_spent": self.cost_spent + below["cost_spent"],
            "cost_saved": self.cost_saved + below["cost_saved"],
        }

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, when it ended."""
        if self.ended_at is None or self.started_at is None:
            return None
        return self.ended_at - self.started_at

    def lineage(self) -> list[Execution]:
        """This execution and the executions it was replayed from, newest first."""
        chain = lineage(self._store, self.exec_id)
        return [Execution(record, self._store, self._settings) for record in chain]

    def result_or_raise(self) -> Any:
        """The result, or the error that stands for a non-completed status."""
        if self.status == "completed":
            return self.result
        raise_for_record(self.exec_id, self.status, self.error, self._record.awaiting)

    def to_dict(self, *, with_operations: bool = True, full_values: bool = False) -> dict[str, Any]:
        """JSON-ready fields; operations' inputs and outputs are previews unless
        ``full_values`` (see :meth:`OperationInfo.to_dict`)."""
        data: dict[str, Any] = {
            "exec_id": self.exec_id,
            "flow_name": self.flow_name,
            "status": self.status,
            "error": self.error,
            "original_exec_id": self.original_exec_id,
            "replay_from": self.replay_from,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "run_count": self.run_count,
            "metadata": self.metadata,
            "cost_saved": self.cost_saved,
            "parent_id": self.parent_id,
            "detached": self.detached,
            "deployment": self.deployment,
            "deployment_version": self.deployment_version,
        }
        if with_operations:
            data["operations"] = [op.to_dict(full_values=full_values) for op in self.operations]
            data["tokens_in"] = self.tokens_in
            data["tokens_out"] = self.tokens_out
            data["cost_spent"] = self.cost_spent
            data["children"] = [child.exec_id for child in self.children]
            data["reused_children"] = self.reused_children
            data["children_usage"] = self.children_usage
            data["total_usage"] = self.total_usage
        else:  # the totals stored when a run of it last stopped: no operations to load
            data["tokens_in"] = self._record.tokens_in
            data["tokens_out"] = self._record.tokens_out
            data["cost_spent"] = self._record.cost_spent
        return data

    def value_fields(self, *, full_values: bool = False) -> dict[str, Any]:
        """``inputs`` (each argument) and ``result``, as previews unless ``full_values``, with
        ``result_truncated``/``result_size``/``result_is_repr``/``result_error`` as they apply."""
        fields: dict[str, Any] = {"inputs": {}}
        try:
            for name, value in self.inputs.items():
                shown = full(value) if full_values else preview(value)
                fields["inputs"][name] = shown.value
                if shown.truncated:
                    fields.setdefault("inputs_truncated", []).append(name)
        except KitaruError as exc:
            fields = {"inputs": None, "inputs_error": str(exc)}
        return {**fields, **self._result_fields(full_values)}

    def _result_fields(self, full_values: bool) -> dict[str, Any]:
        if self.status != "completed":
            return {"result": None}
        try:
            size = self.result_size
        except KitaruError as exc:
            return {"result": None, "result_error": str(exc)}
        return _value_fields("result", lambda: self.result, full_values=full_values, size=size)


class Artifact:
    """One version of a saved artifact; ``load()`` reads its value."""

    def __init__(self, record: ArtifactRecord, settings: Settings) -> None:
        self._record = record
        self._settings = settings
        self.artifact_id = record.artifact_id
        self.exec_id = record.exec_id
        self.name = record.name
        self.version = record.version
        self.codec = record.codec
        self.size = record.size
        self.created_at = record.created_at
        self.op_id = record.op_id

    def __repr__(self) -> str:
        return f"Artifact({self.artifact_id!r}, name={self.name!r}, version={self.version})"

    def load(self) -> Any:
        """The stored value, hash-checked when it lives in a blob."""
        record = self._record
        return decode(
            record.codec,
            record.data,
            record.ref,
            what=f"Artifact {record.name!r} ({record.artifact_id})",
            settings=self._settings,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def raise_for_record(
    exec_id: str,
    status: str,
    error: dict[str, Any] | None,
    awaiting: Sequence[str] | None = None,
) -> None:
    """Raise the error that stands for a non-completed stored execution (``awaiting``: the
    children a waiting one waits for)."""
    if status == "waiting":
        raise ExecutionSuspended(exec_id, children=tuple(awaiting or ()))
    if status == "cancelled":
        raise ExecutionCancelled(f"Execution {exec_id} was cancelled.", exec_id=exec_id)
    if status == "failed":
        message = f"{(error or {}).get('type', 'Error')}: {(error or {}).get('message', '')}"
        raise ExecutionFailed(exec_id, message, (error or {}).get("next_step"))
    raise KitaruError(f"Execution {exec_id} is {status} and has no result yet.")
