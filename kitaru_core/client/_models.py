"""What the client returns: executions, their operations, log lines and artifacts."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kitaru_core._config import Settings
from kitaru_core.engine._error_names import public_error
from kitaru_core.errors import ExecutionCancelled, ExecutionFailed, ExecutionSuspended, KitaruError
from kitaru_core.replay._replay import lineage
from kitaru_core.store._records import ArtifactRecord, ExecutionRecord, OperationRecord
from kitaru_core.store._store import Store
from kitaru_core.store._values import decode, decode_arguments


@dataclass
class OperationInfo:
    """One operation of an execution, its attempts folded together."""

    op_id: str
    name: str
    kind: str
    status: str
    attempts: int
    duration: float
    reused: bool
    started_at: float
    ended_at: float
    reused_from: str | None = None
    error: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    input_text: str | None = None
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    spent_cost: float = 0.0
    _record: OperationRecord | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def fold_operations(
    records: list[OperationRecord], reused_ops: Collection[str]
) -> list[OperationInfo]:
    """Group attempt rows by operation id, in the order operations first appeared.

    ``reused_ops`` are the operations the latest finished run returned from the record. A
    reused operation shows 0 attempts, whether a resume or a replay reused it.
    """
    grouped: dict[str, list[OperationRecord]] = {}
    for record in records:
        grouped.setdefault(record.op_id, []).append(record)
    infos = []
    for op_id, attempts in grouped.items():
        final = next((a for a in attempts if a.status == "completed"), attempts[-1])
        ran = [a for a in attempts if a.reused_from is None]
        reused = final.reused_from is not None or op_id in reused_ops
        infos.append(
            OperationInfo(
                op_id=op_id,
                name=final.name,
                kind=final.kind,
                status=final.status,
                attempts=0 if reused else len(ran),  # the latest run did not run it
                duration=final.ended_at - final.started_at,
                reused=reused,
                started_at=attempts[0].started_at,
                ended_at=final.ended_at,
                reused_from=final.reused_from,
                error=public_error(final.error),
                metadata=final.metadata,
                input_text=final.input_text,
                model=final.model,
                tokens_in=sum(a.tokens_in for a in ran),
                tokens_out=sum(a.tokens_out for a in ran),
                cost=final.cost,
                spent_cost=sum(a.cost for a in ran),
                _record=final,
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
            self._store.load_operations(self.exec_id), set(self._record.reused_ops or ())
        )

    @cached_property
    def inputs(self) -> dict[str, Any]:
        """The flow's arguments by parameter name."""
        return decode_arguments(self._record.inputs, what=f"Flow {self.flow_name!r}")

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
        raise_for_record(self.exec_id, self.status, self.error)

    def to_dict(self, *, with_operations: bool = True) -> dict[str, Any]:
        """JSON-ready fields."""
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
        }
        if with_operations:
            data["operations"] = [op.to_dict() for op in self.operations]
            data["tokens_in"] = self.tokens_in
            data["tokens_out"] = self.tokens_out
            data["cost_spent"] = self.cost_spent
        else:  # the totals stored when a run of it last stopped: no operations to load
            data["tokens_in"] = self._record.tokens_in
            data["tokens_out"] = self._record.tokens_out
            data["cost_spent"] = self._record.cost_spent
        return data


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


def raise_for_record(exec_id: str, status: str, error: dict[str, Any] | None) -> None:
    """Raise the error that stands for a non-completed stored execution."""
    if status == "waiting":
        raise ExecutionSuspended(exec_id)
    if status == "cancelled":
        raise ExecutionCancelled(f"Execution {exec_id} was cancelled.", exec_id=exec_id)
    if status == "failed":
        message = f"{(error or {}).get('type', 'Error')}: {(error or {}).get('message', '')}"
        raise ExecutionFailed(exec_id, message, (error or {}).get("next_step"))
    raise KitaruError(f"Execution {exec_id} is {status} and has no result yet.")
