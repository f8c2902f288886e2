"""The operation backend: each Pydantic AI durable unit becomes one Kitaru operation."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from pydantic_ai.durable_exec import (
    BoundDurableOperation,
    DurableOperation,
    DurableOperationId,
    JournalCallableOperationBackend,
    ModelRequestId,
    RoleBasedOperationConfig,
    durable_unit_scope,
    record_durable_unit,
)
from pydantic_core import to_json

from kitaru_core.toolkit import HistoryChain, Identity, arun_operation, in_durable_unit
from kitaru_core.toolkit import report_model_usage as note_usage
from kitaru_pydantic_ai._identity import identity, kind_of
from kitaru_pydantic_ai._model import payload_usage
from kitaru_pydantic_ai._scheme import uses_history_chain
from kitaru_pydantic_ai._serializers import EncodedPayload

ParamsT = TypeVar("ParamsT")
WireT = TypeVar("WireT")
ResultT = TypeVar("ResultT")

NO_CONFIG: RoleBasedOperationConfig[None] = RoleBasedOperationConfig(
    model=None, event=None, capability=None, tool=None
)
"""Kitaru needs no per-unit configuration: retries are Pydantic AI's own."""

TOOL_RETURN = "tool_return"
"""The recorded shape (``kind``) of a tool call that returned a value."""


def encoded(payload: Any) -> Any:
    """``payload`` with its JSON text (pydantic-core, NaN kept as JSON's loaders read it)."""
    try:
        return EncodedPayload(payload, to_json(payload, inf_nan_mode="constants"))
    except (ValueError, TypeError):  # not JSON after all: the registry finds its serializer
        return payload


def loads_back_equal(result: Any, payload: Any) -> bool:
    """Whether loading ``payload`` (the codec's dump of ``result``) would give ``result`` again.

    True for a tool call that returned text, the common case: its dump is ``{"result": text,
    "kind": "tool_return"}`` and loads back as the same text, so the load can be skipped.
    """
    return (
        type(payload) is dict
        and payload.get("kind") == TOOL_RETURN
        and type(payload.get("result")) is str
        and type(getattr(result, "result", None)) is str
    )


class _Bound(Generic[ParamsT, WireT, ResultT]):
    """A bound operation whose calls go straight to the backend's dispatch."""

    def __init__(
        self,
        operation: DurableOperation[ParamsT, WireT, ResultT],
        dispatch: Callable[[ParamsT, object | None], Awaitable[ResultT]],
    ) -> None:
        self._operation = operation
        self._dispatch = dispatch

    @property
    def operation(self) -> DurableOperation[ParamsT, WireT, ResultT]:
        return self._operation

    async def __call__(self, params: ParamsT, *, config: object | None = None) -> ResultT:
        return await self._dispatch(params, config)


class KitaruOperationBackend(JournalCallableOperationBackend[None]):
    """Runs a unit's body once per execution and returns its recorded payload ever after.

    Payloads are JSON (``JSON_CODEC``), stored as they are. A model request also records its
    tokens, cost and latency, so a resume that reuses it counts that cost as saved.

    Binding is Pydantic AI's (``CallableOperationBackend.bind``: the same operation names,
    identity inputs and codec), done in one step per call: the name of each operation is worked
    out once, and a fresh result that its payload would load back as unchanged is returned as
    it is rather than loaded again.
    """

    def __init__(
        self, *, agent_name: str, history: HistoryChain, default_model_id: str | None = None
    ) -> None:
        super().__init__(agent_name=agent_name, default_model_id=default_model_id, config=NO_CONFIG)
        self._history = history
        self.names = (agent_name, default_model_id)
        """What the operation names are made of: the agent's name and default model id."""
        self._names: dict[DurableOperationId, str] = {}

    def operation_name(self, operation_id: DurableOperationId) -> str:
        """The stored name of ``operation_id``'s operations (no label), worked out once."""
        name = self._names.get(operation_id)
        if name is None:
            name = self._namer.invocation_name(operation_id, label=None).operation_name
            if len(self._names) < 1024:
                self._names[operation_id] = name
        return name

    def bind(
        self, operation: DurableOperation[ParamsT, WireT, ResultT]
    ) -> BoundDurableOperation[ParamsT, WireT, ResultT]:
        outside = super().bind(operation)  # Pydantic AI's own dispatch, used outside a flow
        operation_id = operation.operation_id
        handler = operation.handler
        codec = operation.result_codec
        project = operation.cache_identity.project
        label_of = operation.invocation_label
        kind = kind_of(operation_id)
        model_request = isinstance(operation_id, ModelRequestId)
        names: dict[str | None, str] = {}

        def name_of(label: str | None) -> str:
            name = names.get(label)
            if name is None:
                name = self._namer.invocation_name(operation_id, label=label).operation_name
                if len(names) < 1024:
                    names[label] = name
            return name

        async def dispatch(params: ParamsT, config: object | None) -> ResultT:
            if not in_durable_unit():
                return await outside(params, config=config)
            name = name_of(label_of(params) if label_of is not None else None)
            cache_key = project(params)
            history = self._history if model_request and uses_history_chain() else None
            found = Identity(*identity(operation_id, cache_key, history))
            fresh: list[Any] = []

            async def call() -> Any:
                started = time.perf_counter()
                with durable_unit_scope():
                    result = await handler(params)
                    payload = codec.dump(result)
                if model_request:
                    usage = payload_usage(payload, latency=time.perf_counter() - started)
                    if usage is not None:
                        note_usage(usage, standalone=True)
                fresh.append(result)
                return encoded(payload)

            stored = await arun_operation(name, call, kind=kind, identity=found)
            record_durable_unit(executed=bool(fresh))
            payload = stored.value if type(stored) is EncodedPayload else stored
            if fresh and loads_back_equal(fresh[0], payload):
                result: ResultT = fresh[0]
                return result
            loaded: ResultT = codec.load(payload)
            return loaded

        return _Bound(operation, dispatch)

    async def execute(
        self,
        *,
        operation_id: DurableOperationId,
        name: str,
        body: Callable[[], Awaitable[object]],
        cache_key: tuple[object, ...],
        config: None,
    ) -> object:
        """Outside a durable unit only (see :meth:`bind`): the body just runs."""
        return await body()
