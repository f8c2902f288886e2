"""The store interface every backend implements (SQL today, HTTP later)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from typing import Any

from kitaru_core.errors import StoreError
from kitaru_core.store._records import (
    AdapterRecord,
    ArtifactRecord,
    ExecutionRecord,
    LogRecord,
    OperationRecord,
    StartedRecord,
    WaitRecord,
)


class Store(ABC):
    """Durable state of executions. Every method is one transaction."""

    url: str
    read_only: bool = False
    """True when the store can be read but not written (writes raise ``StoreReadOnly``)."""

    @abstractmethod
    def create_execution(self, record: ExecutionRecord) -> None:
        """Insert a new execution; :class:`ExecutionExists` when its id is taken."""

    @abstractmethod
    def get_execution(self, exec_id: str) -> ExecutionRecord:
        """The execution, or :class:`ExecutionNotFound`."""

    @abstractmethod
    def list_executions(
        self, *, flow: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[ExecutionRecord]:
        """Newest first."""

    @abstractmethod
    def count_executions(self) -> dict[str, int]:
        """How many executions there are in each status (statuses with none are left out)."""

    @abstractmethod
    def update_execution(
        self, exec_id: str, *, expected_owner: str | None = None, **fields: Any
    ) -> bool:
        """Set columns of one execution; with ``expected_owner``, only while it still owns it."""

    @abstractmethod
    def suspend_execution(
        self, exec_id: str, wait_id: str, *, expected_owner: str, **fields: Any
    ) -> bool:
        """Record a run that stopped at wait ``wait_id``, in one transaction: ``queued`` when
        the wait was answered meanwhile, else ``waiting``; False when ``expected_owner`` no
        longer owns the execution (nothing changed)."""

    @abstractmethod
    def transition(
        self, exec_id: str, *, to: str, from_statuses: Collection[str], **fields: Any
    ) -> bool:
        """Set status ``to`` (and ``fields``) only if the status is one of ``from_statuses``."""

    @abstractmethod
    def claim_execution(
        self,
        exec_id: str,
        *,
        owner: str,
        lease_expires_at: float,
        from_statuses: Collection[str],
        expected_owner: str | None,
        check_owner: bool,
    ) -> bool:
        """Atomically make ``owner`` the runner if status and owner are as expected."""

    @abstractmethod
    def renew_leases(self, owner: str, exec_ids: Sequence[str], lease_expires_at: float) -> None:
        """Extend the leases ``owner`` holds."""

    @abstractmethod
    def load_operations(self, exec_id: str) -> list[OperationRecord]:
        """Every recorded attempt of the execution, in the order they were written."""

    @abstractmethod
    def record_operation(
        self, record: OperationRecord, logs: Sequence[LogRecord] = (), *, owner: str | None = None
    ) -> None:
        """Write one operation attempt, with the log lines printed before it, atomically.

        With ``owner``, only while run ``record.run_no`` of ``owner`` still holds the execution
        (or that run was cancelled), checked in the same statement; otherwise nothing is written
        and :class:`~kitaru_core.errors.ExecutionTakenOver` is raised.
        """

    @abstractmethod
    def append_logs(self, logs: Sequence[LogRecord]) -> None:
        """Write captured log lines."""

    @abstractmethod
    def write_progress(
        self,
        exec_id: str,
        logs: Sequence[LogRecord],
        started: Sequence[StartedRecord] = (),
        *,
        finished: bool = False,
    ) -> None:
        """Write flushed log lines and operations seen in flight; ``finished`` (a run of the
        execution ended) forgets its in-flight operations. One transaction."""

    @abstractmethod
    def load_started(self, exec_id: str) -> list[StartedRecord]:
        """Operations of the execution last seen in flight (possibly since completed)."""

    @abstractmethod
    def get_logs(self, exec_id: str) -> list[LogRecord]:
        """Captured lines of an execution, oldest first."""

    @abstractmethod
    def save_artifact(self, record: ArtifactRecord) -> ArtifactRecord:
        """Insert an artifact version; the store assigns ``version``."""

    @abstractmethod
    def list_artifacts(
        self, *, exec_id: str | None = None, name: str | None = None, limit: int = 100
    ) -> list[ArtifactRecord]:
        """Newest first."""

    @abstractmethod
    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        """One artifact version, or :class:`ArtifactNotFound`."""

    @abstractmethod
    def create_wait(self, record: WaitRecord) -> None:
        """Record a pending wait (idempotent for the same ``wait_id``)."""

    @abstractmethod
    def get_waits(self, exec_id: str) -> list[WaitRecord]:
        """Every wait of an execution, oldest first."""

    @abstractmethod
    def answer_wait(
        self,
        exec_id: str,
        wait_id: str,
        *,
        status: str,
        value_codec: str | None,
        value: bytes | None,
    ) -> bool:
        """Answer or abort a pending wait; False when it was not pending any more."""

    @abstractmethod
    def answer_wait_and_queue(
        self,
        exec_id: str,
        wait_id: str,
        *,
        status: str,
        value_codec: str | None,
        value: bytes | None,
    ) -> bool:
        """Answer or abort a pending wait and move its execution ``waiting`` → ``queued``, in
        one transaction; False (nothing changed) when the wait was not pending any more."""

    @abstractmethod
    def reopen_wait(self, exec_id: str, wait_id: str, *, rejection: str) -> bool:
        """Make an answered wait pending again, saying why its answer was refused; False when
        it was not answered (any more)."""

    # Logs adapters keep (toolkit.AdapterLog). Not abstract, like the records below.

    def append_adapter_log(
        self,
        namespace: str,
        stream: str,
        items: Sequence[tuple[str | None, str]],
        *,
        at: float,
        replace: bool = False,
    ) -> None:
        """Append ``(item id, JSON text)`` items to a log at time ``at`` (epoch ms), in one
        transaction; an item whose id the log already holds is skipped. ``replace`` empties the
        log first."""
        raise StoreError(f"The store at {self.url} keeps no adapter logs.")

    def read_adapter_log(self, namespace: str, stream: str) -> list[str] | None:
        """The JSON texts of a log in append order; None when it holds nothing."""
        raise StoreError(f"The store at {self.url} keeps no adapter logs.")

    def list_adapter_logs(self, namespace: str, prefix: str) -> list[tuple[str, float]]:
        """``(stream, last append time in epoch ms)`` of each log whose name starts with
        ``prefix``."""
        raise StoreError(f"The store at {self.url} keeps no adapter logs.")

    def delete_adapter_logs(
        self, namespace: str, stream: str, *, prefix: str | None = None
    ) -> None:
        """Delete log ``stream``, and with ``prefix`` every log whose name starts with it."""
        raise StoreError(f"The store at {self.url} keeps no adapter logs.")

    # Records adapters keep (toolkit.AdapterRecords). Not abstract: a backend without them
    # refuses clearly, and the rest of Kitaru works on it.

    def put_adapter_records(self, records: Sequence[AdapterRecord]) -> None:
        """Insert or replace ``records`` in one transaction."""
        raise StoreError(f"The store at {self.url} keeps no adapter records.")

    def scan_adapter_records(
        self,
        namespace: str,
        partition: str | None,
        *,
        prefix: str = "",
        below: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[AdapterRecord]:
        """Records of ``namespace`` (in ``partition``, or all) whose key starts with
        ``prefix`` (and sorts below ``below``), ordered by partition and key."""
        raise StoreError(f"The store at {self.url} keeps no adapter records.")

    def delete_adapter_records(self, namespace: str, partition: str, *, prefix: str = "") -> int:
        """Delete the records of ``partition`` whose key starts with ``prefix``; their count."""
        raise StoreError(f"The store at {self.url} keeps no adapter records.")

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections."""
