"""KitaruClient: read, resume, retry and cancel executions; read artifacts."""

from __future__ import annotations

import builtins
import time
from dataclasses import replace

from kitaru_core._config import Settings, load_settings, settings_for_stack
from kitaru_core.client._deployments import DeploymentsAPI, parse_version
from kitaru_core.client._handle import FlowHandle
from kitaru_core.client._models import Artifact, Execution
from kitaru_core.client._replay import ReplayMixin
from kitaru_core.client._waits import WaitsMixin
from kitaru_core.engine._liveness import reconcile
from kitaru_core.engine._runner import acontinue_execution, continue_execution
from kitaru_core.errors import ArtifactNotFound, ExecutionNotFound, InvalidExecutionState
from kitaru_core.store._backends import current_store
from kitaru_core.store._records import LogRecord
from kitaru_core.store._store import Store
from kitaru_core.waits._answers import cancel_pending


class ExecutionsAPI(WaitsMixin, ReplayMixin):
    """``client.executions``.

    Reads never report ``running`` for an execution whose process died: such an execution is
    recorded as ``failed`` (error type ``kitaru.ProcessDied``) and can be resumed.
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def _wrap(self, exec_id: str) -> Execution:
        return Execution(
            reconcile(self._store, self._store.get_execution(exec_id)), self._store, self._settings
        )

    def list(
        self,
        flow: str | None = None,
        status: str | None = None,
        limit: int = 50,
        parent: str | None = None,
        *,
        deployment: str | None = None,
        version: int | str | None = None,
    ) -> list[Execution]:
        """Newest first, optionally filtered by flow name, status, parent execution (its
        children), and by the deployment and version they were started from (``kitaru
        invoke``)."""
        if parent is not None:
            self._store.get_execution(parent)  # an unknown parent is an error, not "none"
        if deployment is not None or version is not None:
            found = self._store.list_deployment_executions(
                deployment,
                None if version is None else parse_version(version),
                statuses=None if status is None else (status,),
                limit=limit,
            )
            found = [
                record
                for record in found
                if (flow is None or record.flow_name == flow)
                and (parent is None or record.parent_exec_id == parent)
            ]
        else:
            found = self._store.list_executions(
                flow=flow, status=status, limit=limit, parent=parent
            )
        records = [reconcile(self._store, record) for record in found]
        return [
            Execution(record, self._store, self._settings)
            for record in records
            if status is None or record.status == status
        ]

    def get(self, exec_id: str) -> Execution:
        """One execution; :class:`ExecutionNotFound` when the id is unknown."""
        return self._wrap(exec_id)

    def latest(self, flow: str | None = None) -> Execution:
        """The newest execution (of ``flow``)."""
        found = self._store.list_executions(flow=flow, limit=1)
        if not found:
            raise ExecutionNotFound(f"<latest{f' of {flow}' if flow else ''}>")
        return Execution(reconcile(self._store, found[0]), self._store, self._settings)

    def logs(self, exec_id: str) -> builtins.list[LogRecord]:
        """Lines printed or logged while the execution ran."""
        self._store.get_execution(exec_id)
        return self._store.get_logs(exec_id)

    def handle(self, exec_id: str) -> FlowHandle:
        """A handle on an execution started anywhere: ``.wait()`` gives its result."""
        self._store.get_execution(exec_id)
        return FlowHandle(exec_id, store=self._store, settings=self._settings)

    def resume(self, exec_id: str) -> FlowHandle:
        """Continue a crashed, queued or answered execution here, reusing completed operations."""
        return FlowHandle.of(
            continue_execution(exec_id, store=self._store, settings=self._settings, action="resume")
        )

    def retry(self, exec_id: str) -> FlowHandle:
        """Run a failed execution again from the top; the failed operation runs again."""
        return FlowHandle.of(
            continue_execution(exec_id, store=self._store, settings=self._settings, action="retry")
        )

    async def aresume(self, exec_id: str) -> FlowHandle:
        """:meth:`resume` from async code (an async flow runs on the current event loop)."""
        return FlowHandle.of(
            await acontinue_execution(
                exec_id, store=self._store, settings=self._settings, action="resume"
            )
        )

    async def aretry(self, exec_id: str) -> FlowHandle:
        """:meth:`retry` from async code."""
        return FlowHandle.of(
            await acontinue_execution(
                exec_id, store=self._store, settings=self._settings, action="retry"
            )
        )

    def cancel(self, exec_id: str) -> Execution:
        """Stop an execution that has not finished; a running one stops at its next operation.

        Its unfinished child executions are cancelled too (and theirs), except those started
        with ``options(detached=True)``.
        """
        record = self._store.get_execution(exec_id)
        if not self._cancel_one(exec_id):
            raise InvalidExecutionState(
                f"Cannot cancel execution {exec_id}: it is already {record.status}."
            )
        self._cancel_children(exec_id)
        return self._wrap(exec_id)

    def _cancel_children(self, exec_id: str) -> None:
        for child in self._store.list_executions(parent=exec_id, limit=1_000_000):
            if not child.detached:
                self._cancel_one(child.exec_id)
                self._cancel_children(child.exec_id)

    def _cancel_one(self, exec_id: str) -> bool:
        """Cancel ``exec_id`` if it has not finished (and its pending waits); False if it had."""
        now = time.time()
        if not self._store.transition(
            exec_id,
            to="cancelled",
            from_statuses=("queued", "running", "waiting"),
            ended_at=now,
            updated_at=now,
            owner=None,
            lease_expires_at=None,
        ):
            return False
        cancel_pending(self._store, exec_id)
        return True


class ArtifactsAPI:
    """``client.artifacts``."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def list(
        self, exec_id: str | None = None, name: str | None = None, limit: int = 100
    ) -> list[Artifact]:
        """Newest first."""
        return [
            Artifact(record, self._settings)
            for record in self._store.list_artifacts(exec_id=exec_id, name=name, limit=limit)
        ]

    def get(self, artifact_id: str) -> Artifact:
        """One artifact version by id."""
        return Artifact(self._store.get_artifact(artifact_id), self._settings)

    def latest(self, exec_id: str, name: str) -> Artifact:
        """The newest version of ``name`` in ``exec_id``."""
        found = self._store.list_artifacts(exec_id=exec_id, name=name, limit=1)
        if not found:
            self._store.get_execution(exec_id)
            raise ArtifactNotFound(
                f"Execution {exec_id} saved no artifact named {name!r}. "
                f"List its artifacts with `kitaru artifacts list --exec {exec_id}`."
            )
        return Artifact(found[0], self._settings)


class KitaruClient:
    """Entry point for reading and steering executions of a stack."""

    def __init__(
        self,
        stack: str | None = None,
        *,
        store_url: str | None = None,
        artifact_url: str | None = None,
    ) -> None:
        settings = settings_for_stack(stack) if stack else load_settings()
        if store_url or artifact_url:
            settings = replace(
                settings,
                stack=replace(
                    settings.stack,
                    store_url=store_url or settings.stack.store_url,
                    artifact_url=artifact_url or settings.stack.artifact_url,
                ),
            )
        self.settings = settings
        self.store = current_store(settings)
        self.executions = ExecutionsAPI(self.store, settings)
        self.artifacts = ArtifactsAPI(self.store, settings)
        self.deployments = DeploymentsAPI(self.store, settings)
