"""The operation backend: each Pydantic AI durable unit becomes one Kitaru operation."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic_ai.durable_exec import (
    DurableOperationId,
    JournalCallableOperationBackend,
    ModelRequestId,
    RoleBasedOperationConfig,
    record_durable_unit,
)
from pydantic_core import to_json

from kitaru_core.toolkit import HistoryChain, Identity, arun_operation, in_durable_unit
from kitaru_core.toolkit import report_model_usage as note_usage
from kitaru_pydantic_ai._identity import identity, kind_of
from kitaru_pydantic_ai._model import payload_usage
from kitaru_pydantic_ai._scheme import uses_history_chain
from kitaru_pydantic_ai._serializers import EncodedPayload

NO_CONFIG: RoleBasedOperationConfig[None] = RoleBasedOperationConfig(
    model=None, event=None, capability=None, tool=None
)
"""Kitaru needs no per-unit configuration: retries are Pydantic AI's own."""


def encoded(payload: Any) -> Any:
    """``payload`` with its JSON text (pydantic-core, NaN kept as JSON's loaders read it)."""
    try:
        return EncodedPayload(payload, to_json(payload, inf_nan_mode="constants"))
    except (ValueError, TypeError):  # not JSON after all: the registry finds its serializer
        return payload


class KitaruOperationBackend(JournalCallableOperationBackend[None]):
    """Runs a unit's body once per execution and returns its recorded payload ever after.

    Payloads are JSON (``JSON_CODEC``), stored as they are. A model request also records its
    tokens, cost and latency, so a resume that reuses it counts that cost as saved.
    """

    def __init__(
        self, *, agent_name: str, history: HistoryChain, default_model_id: str | None = None
    ) -> None:
        super().__init__(agent_name=agent_name, default_model_id=default_model_id, config=NO_CONFIG)
        self._history = history
        self.names = (agent_name, default_model_id)
        """What the operation names are made of: the agent's name and default model id."""

    async def execute(
        self,
        *,
        operation_id: DurableOperationId,
        name: str,
        body: Callable[[], Awaitable[object]],
        cache_key: tuple[object, ...],
        config: None,
    ) -> object:
        if not in_durable_unit():
            return await body()
        executed = False

        async def call() -> Any:
            nonlocal executed
            executed = True
            started = time.perf_counter()
            payload = await body()
            if isinstance(operation_id, ModelRequestId):
                usage = payload_usage(payload, latency=time.perf_counter() - started)
                if usage is not None:
                    note_usage(usage, standalone=True)
            return encoded(payload)

        chained = isinstance(operation_id, ModelRequestId) and uses_history_chain()
        found = Identity(*identity(operation_id, cache_key, self._history if chained else None))
        payload = await arun_operation(name, call, kind=kind_of(operation_id), identity=found)
        record_durable_unit(executed=executed)
        return payload.value if type(payload) is EncodedPayload else payload
