"""``client.executions`` methods for waits: list the pending ones, answer or abort them."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

from kitaru_core._config import Settings
from kitaru_core.runners._resolve import runner_for
from kitaru_core.store._records import WaitRecord
from kitaru_core.store._store import Store
from kitaru_core.waits._answers import abort, answer, pending
from kitaru_core.waits._waits import answer_value


@dataclass
class WaitInfo:
    """A point where an execution waits (or waited) for input."""

    exec_id: str
    wait_id: str
    name: str
    status: str
    created_at: float
    question: str | None = None
    schema: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    answered_at: float | None = None
    value: Any = None
    rejection: str | None = None
    """Why the flow refused the last answer (the wait is pending again), if it did."""

    @classmethod
    def from_record(cls, row: WaitRecord) -> WaitInfo:
        """Wrap a stored wait row (its answer decoded)."""
        return cls(
            exec_id=row.exec_id,
            wait_id=row.wait_id,
            name=row.name,
            status=row.status,
            created_at=row.created_at,
            question=row.question,
            schema=row.schema,
            metadata=row.metadata,
            answered_at=row.answered_at,
            value=answer_value(row),
            rejection=row.rejection,
        )

    @property
    def command(self) -> str:
        """The CLI command that answers this wait."""
        return f"kitaru executions input {self.exec_id} --wait {self.name} --value JSON"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return dict(self.__dict__)


class WaitsMixin:
    """Part of ``ExecutionsAPI``: pending_waits, waits, input, abort_wait."""

    _store: Store
    _settings: Settings

    def pending_waits(self, exec_id: str) -> builtins.list[WaitInfo]:
        """Waits of ``exec_id`` that still need an answer, oldest first."""
        return [WaitInfo.from_record(row) for row in pending(self._store, exec_id)]

    def waits(self, exec_id: str) -> builtins.list[WaitInfo]:
        """Every wait of ``exec_id`` (pending, answered, aborted, cancelled), oldest first."""
        self._store.get_execution(exec_id)
        return [WaitInfo.from_record(row) for row in self._store.get_waits(exec_id)]

    def input(self, exec_id: str, value: Any, wait: str | None = None) -> WaitInfo:
        """Answer a pending wait (by name or wait id; ``None`` if exactly one is pending).

        The value is validated against the wait's schema: a wrong one raises
        :class:`InvalidWaitAnswer` and nothing is stored; a second answer raises
        :class:`InvalidExecutionState`. A ``waiting`` execution becomes ``queued``: continue it
        with :meth:`resume`.
        """
        row = answer(self._store, exec_id, value, wait)
        _hand_to_workers(self._store, self._settings, exec_id)
        return WaitInfo.from_record(row)

    def abort_wait(
        self, exec_id: str, wait: str | None = None, reason: str | None = None
    ) -> WaitInfo:
        """Abort a pending wait: when the execution continues, ``kitaru.wait()`` raises
        :class:`WaitAborted` in the flow."""
        return WaitInfo.from_record(abort(self._store, exec_id, wait, reason))


def _hand_to_workers(store: Store, settings: Settings, exec_id: str) -> None:
    """On a worker stack, queue an execution that an answer made ``queued``: a worker resumes
    it at once."""
    runner = runner_for(settings)
    if not runner.in_process and store.get_execution(exec_id).status == "queued":
        runner.submit(exec_id)
