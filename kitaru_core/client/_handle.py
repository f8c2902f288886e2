"""FlowHandle: what ``flow.run()``, ``resume``, ``retry`` and ``replay`` give back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kitaru_core._config import Settings
from kitaru_core.errors import (
    ExecutionCancelled,
    ExecutionFailed,
    ExecutionSuspended,
    KitaruError,
)
from kitaru_core.store._records import FINISHED_STATUSES
from kitaru_core.store._store import Store

if TYPE_CHECKING:
    from kitaru_core.client import Execution

_POLL_SECONDS = 0.2


@dataclass
class LocalOutcome:
    """How a run in this process ended: its value, or the exception it raised."""

    status: str
    value: Any = None
    error: BaseException | None = None


class FlowHandle:
    """A started execution. ``wait()`` gives its result; ``get()`` the full record."""

    def __init__(
        self,
        exec_id: str,
        *,
        store: Store,
        settings: Settings,
        outcome: LocalOutcome | None = None,
    ) -> None:
        self.exec_id = exec_id
        self._store = store
        self._settings = settings
        self._outcome = outcome

    def __repr__(self) -> str:
        return f"FlowHandle({self.exec_id!r}, status={self.status!r})"

    @property
    def status(self) -> str:
        """Current status, read from the store."""
        return self._store.get_execution(self.exec_id).status

    def get(self) -> Execution:
        """The execution with its operations."""
        from kitaru_core.client import Execution

        return Execution.from_record(
            self._store.get_execution(self.exec_id), self._store, self._settings
        )

    def wait(self, timeout: float | None = None) -> Any:
        """The flow's result; raises its error, or ExecutionSuspended when it waits for input."""
        if self._outcome is not None:
            return self._local_result(self._outcome)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self._store.get_execution(self.exec_id)
            if record.status in FINISHED_STATUSES or record.status == "waiting":
                return self.get().result_or_raise()
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Execution {self.exec_id} is still {record.status} after {timeout}s."
                )
            time.sleep(_POLL_SECONDS)

    def _local_result(self, outcome: LocalOutcome) -> Any:
        if outcome.status == "completed":
            return outcome.value
        if outcome.error is not None:
            raise outcome.error
        if outcome.status == "waiting":
            raise ExecutionSuspended(self.exec_id)
        if outcome.status == "cancelled":
            raise ExecutionCancelled(
                f"Execution {self.exec_id} was cancelled.", exec_id=self.exec_id
            )
        raise ExecutionFailed(self.exec_id, outcome.status)


def raise_for_record(exec_id: str, status: str, error: dict[str, Any] | None) -> None:
    """Raise the error that stands for a non-completed stored execution."""
    if status == "waiting":
        raise ExecutionSuspended(exec_id)
    if status == "cancelled":
        raise ExecutionCancelled(f"Execution {exec_id} was cancelled.", exec_id=exec_id)
    if status == "failed":
        message = f"{(error or {}).get('type', 'Error')}: {(error or {}).get('message', '')}"
        raise ExecutionFailed(exec_id, message)
    raise KitaruError(f"Execution {exec_id} is {status} and has no result yet.")
