"""The store interface every backend implements (SQL today, HTTP later)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from typing import Any

from kitaru_core.errors import StoreError
from kitaru_core.store._records import (
    AdapterRecord,
    ArtifactRecord,
    DeploymentRecord,
    ExecutionRecord,
    LogRecord,
    OperationRecord,
    StartedRecord,
    TokenRecord,
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
        self,
        *,
        flow: str | None = None,
        status: str | None = None,
        limit: int = 50,
        parent: str | None = None,
    ) -> list[ExecutionRecord]:
        """Newest first; with ``parent``, only the children of that execution."""

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

    # Child executions (fan-out). Not abstract: a backend without them refuses clearly.

    def find_child(self, parent_exec_id: str, parent_op_id: str) -> ExecutionRecord | None:
        """The child that operation ``parent_op_id`` of ``parent_exec_id`` started, if any."""
        raise StoreError(f"The store at {self.url} keeps no child executions.")

    def suspend_on_children(
        self, exec_id: str, children: Sequence[str], *, expected_owner: str, **fields: Any
    ) -> bool:
        """Record a run that stopped to wait for ``children``, in one transaction: ``queued``
        when they all finished meanwhile, else ``waiting`` (remembering them in ``awaiting``);
        False when ``expected_owner`` no longer owns the execution (nothing changed)."""
        raise StoreError(f"The store at {self.url} keeps no child executions.")

    def wake_parent(self, exec_id: str) -> bool:
        """Move ``exec_id`` from ``waiting`` to ``queued`` when it waits on children and they
        have all finished, in one transaction; True when it did."""
        raise StoreError(f"The store at {self.url} keeps no child executions.")

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

    def release_thread(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release what the calling thread holds (a thread that ends calls it: a child run)."""

    # The server's API tokens (digests only). Not abstract: only a server's own store has them.

    def create_token(self, record: TokenRecord) -> None:
        """Insert a token record."""
        raise StoreError(f"The store at {self.url} keeps no API tokens.")

    def list_tokens(self) -> list[TokenRecord]:
        """Every token record, oldest first (revoked ones too)."""
        raise StoreError(f"The store at {self.url} keeps no API tokens.")

    def get_token(self, token_id: str) -> TokenRecord | None:
        """One token record, or None."""
        raise StoreError(f"The store at {self.url} keeps no API tokens.")

    def revoke_token(self, token_id: str, *, at: float) -> bool:
        """Mark a token revoked; False when there is no such live token."""
        raise StoreError(f"The store at {self.url} keeps no API tokens.")

    # Deployments (versioned snapshots of flows). Not abstract, like the adapter records.

    def save_deployment(
        self, record: DeploymentRecord, *, tags: Sequence[str] = ()
    ) -> tuple[DeploymentRecord, bool]:
        """Record ``record`` (its ``version`` is assigned here: one more than any version of
        ``record.name`` ever had) and point ``tags`` at it, in one transaction; a snapshot the
        name already has keeps its version (revived if it was deleted). Returns the stored
        record and whether it is a new version."""
        raise StoreError(f"The store at {self.url} keeps no deployments.")

    def list_deployments(self, name: str | None = None) -> list[DeploymentRecord]:
        """Versions not deleted (of ``name``), each with its tags; by name, newest first."""
        raise StoreError(f"The store at {self.url} keeps no deployments.")

    def deployment_tags(self, name: str) -> dict[str, int]:
        """Tag -> version of the deployment ``name``."""
        raise StoreError(f"The store at {self.url} keeps no deployments.")

    def set_deployment_tag(self, name: str, tag: str, version: int, *, at: float) -> bool:
        """Point ``tag`` at ``version``; False (nothing changed) when no such version exists."""
        raise StoreError(f"The store at {self.url} keeps no deployments.")

    def delete_deployment(
        self, name: str, version: int, *, at: float
    ) -> tuple[list[str], list[str]]:
        """Delete a version unless executions of it are unfinished, in one transaction.

        Returns ``(tags removed with it, unfinished execution ids)``; when the second list is
        not empty nothing was changed. The row is kept as deleted so its number is not reused.
        """
        raise StoreError(f"The store at {self.url} keeps no deployments.")

    def list_deployment_executions(
        self,
        name: str | None,
        version: int | None,
        *,
        statuses: Collection[str] | None = None,
        limit: int = 50,
    ) -> list[ExecutionRecord]:
        """Executions started from deployment ``name`` (any, if None) at ``version`` (any, if
        None), in ``statuses`` (any, if None); newest first."""
        raise StoreError(f"The store at {self.url} keeps no deployments.")

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections."""
