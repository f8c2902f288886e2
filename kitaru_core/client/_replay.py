"""``client.executions`` methods for replays and their lineage."""

from __future__ import annotations

import builtins
from typing import Any

from kitaru_core._config import Settings
from kitaru_core.client._handle import FlowHandle
from kitaru_core.client._models import Execution
from kitaru_core.engine._code import load_flow
from kitaru_core.replay._replay import ReplayRequest, lineage, start_replay
from kitaru_core.store._store import Store


class ReplayMixin:
    """Part of ``ExecutionsAPI``: replay and lineage."""

    _store: Store
    _settings: Settings

    def replay(
        self,
        exec_id: str,
        from_: str | None = None,
        overrides: dict[str, Any] | None = None,
        **flow_kwargs: Any,
    ) -> FlowHandle:
        """Run a new execution of ``exec_id``'s flow here, reusing its operations before ``from_``.

        ``from_`` is a checkpoint (operation) name or an operation id; ``overrides`` maps
        ``checkpoint.NAME`` to a replacement output, ``wait.NAME`` to an answer and
        ``arg.NAME`` to a flow argument; ``flow_kwargs`` change flow arguments too. Bad input
        raises :class:`InvalidReplay` before anything runs.
        """
        flow = load_flow(self._store.get_execution(exec_id), self._settings)
        request = ReplayRequest(exec_id, from_, dict(overrides or {}), flow_kwargs)
        started = start_replay(flow, request, store=self._store, settings=self._settings)
        if flow.is_async:
            import asyncio

            return FlowHandle.of(asyncio.run(started))
        return FlowHandle.of(started)

    def lineage(self, exec_id: str) -> builtins.list[Execution]:
        """``exec_id`` and the executions it was replayed from, newest first."""
        return [
            Execution(record, self._store, self._settings)
            for record in lineage(self._store, exec_id)
        ]
