"""``KitaruDurability``: Pydantic AI's durability capability, backed by Kitaru executions."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from copy import copy
from functools import partial
from typing import Any, ClassVar

from pydantic_ai._enqueue import EnqueueGuard
from pydantic_ai._run_context import set_current_run_context
from pydantic_ai.agent import EventStreamHandler
from pydantic_ai.durable_exec import (
    JSON_CODEC,
    BaseDurabilityCapability,
    DurabilityEngineSpec,
    DurableOperationBackend,
    ModelRequestId,
    ModelRequestParams,
    conversation_id_from_run_id,
    external_event_scope,
)
from pydantic_ai.durable_exec._toolset import CancelGuard, cancel_not_supported_message
from pydantic_ai.durable_exec._utils import DurableModel
from pydantic_ai.messages import AgentStreamEvent, ModelResponse
from pydantic_ai.models import Model, ModelRequestContext
from pydantic_ai.tools import AgentDepsT, RunContext

from kitaru_core import toolkit
from kitaru_pydantic_ai._backend import KitaruOperationBackend
from kitaru_pydantic_ai._identity import message_text
from kitaru_pydantic_ai._requests import RecordedModel, record_request

RUN_COUNTER = "pydantic_ai.run"
DEFAULT_TIMEOUT: float | None = 600
"""Seconds a wait is polled before the execution suspends (as ``kitaru.wait``)."""


class KitaruDurability(BaseDurabilityCapability[AgentDepsT]):
    """Makes every model request, tool call and MCP call of an agent a Kitaru operation.

    Attach it to an agent (``Agent(..., capabilities=[KitaruDurability()])``) and run the agent
    inside a ``@flow``; ``DurableAgent`` does this for you. Outside a flow, or inside a
    checkpoint (where the checkpoint is the durable unit), it changes nothing.
    """

    engine_spec: ClassVar[DurabilityEngineSpec] = DurabilityEngineSpec(
        engine_name="Kitaru",
        durable_unit_noun="operation",
        durable_container_noun="flow",
        codec=JSON_CODEC,
        wrapped_toolset_kinds=frozenset({"function", "mcp", "dynamic"}),
        toolset_lifecycles={
            "function": "enter-always",
            "mcp": "enter-in-durable-unit",
            "dynamic": "enter-never",
        },
        unsupported_runtime_toolset_kinds=frozenset({"function", "mcp", "dynamic"}),
    )

    def __init__(
        self,
        *,
        models: Mapping[str, Model] | None = None,
        event_stream_handler: EventStreamHandler[AgentDepsT] | None = None,
        name: str | None = None,
        wait_timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        """``wait_timeout``: seconds an external-event wait (``RequestInput``) is polled for an
        answer before the execution suspends, when the capability gives no timeout itself."""
        super().__init__(models=models, event_stream_handler=event_stream_handler, name=name)
        self.wait_timeout = wait_timeout
        self._history = toolkit.HistoryChain(message_text)
        self._backend: KitaruOperationBackend | None = None
        self._model_operations: dict[tuple[str | None, str], tuple[Any, ...]] = {}

    @property
    def in_durable_context(self) -> bool:
        """Inside a flow, and not inside a checkpoint (which records the whole thing itself)."""
        return toolkit.in_durable_unit()

    def get_default_run_id(self) -> str | None:
        """``<exec id>/<agent>/<n>``: the n-th run of this agent in the execution."""
        if not self.in_durable_context:
            return None
        n = toolkit.ordinal(f"{RUN_COUNTER}:{self.name}")
        return f"{toolkit.current_execution_id()}/{self.name}/{n}"

    def get_default_conversation_id(self, run_id: str) -> str | None:
        """Derived from the run id, so it too is the same on resume."""
        return conversation_id_from_run_id(run_id) if self.in_durable_context else None

    def get_durable_operation_backend(self) -> KitaruOperationBackend:
        """One Kitaru operation per durable unit (one backend, asked for at each model request)."""
        backend = self._backend
        if backend is None or backend.names != (self.name, self.default_model_id):
            # A bound copy (``for_agent``) may carry its original's: it is made again for its name.
            backend = self._backend = KitaruOperationBackend(
                agent_name=self.name, history=self._history, default_model_id=self.default_model_id
            )
        return backend

    def _bind_model_operations(
        self, backend: DurableOperationBackend[Any], *, model_id: str | None, model_name: str
    ) -> Any:
        """The model operations bound for ``(model_id, model_name)``, bound once, not per request.

        Pydantic AI binds them afresh at each model request unless the engine keeps them (DBOS
        binds its own once); bound operations hold no per-request state. Kept per capability
        object and backend, so a bound copy (``for_agent``) binds its own.
        """
        key = (model_id, model_name)
        kept = self._model_operations.get(key)
        if kept is not None and kept[0] is self and kept[1] is backend:
            return kept[2]
        operations = super()._bind_model_operations(
            backend, model_id=model_id, model_name=model_name
        )
        self._model_operations[key] = (self, backend, operations)
        return operations

    @property
    def history(self) -> toolkit.HistoryChain:
        """The hash chain of this capability's model-request histories (their identity)."""
        return self._history

    def request_operation_name(self, operation_id: ModelRequestId) -> str:
        """The stored name of a model request's operation (Pydantic AI's journal namer's)."""
        return self.get_durable_operation_backend().operation_name(operation_id)

    def _durable_run_context(self, ctx: RunContext[AgentDepsT]) -> RunContext[AgentDepsT]:
        """The run context user code sees inside an operation: ``enqueue()`` and ``cancel()`` raise.

        What the layer makes (``guard_run_context``), made by a shallow copy: the layer's
        ``dataclasses.replace`` rebuilds all ~50 fields through ``__init__``, twice per recorded
        op. A ``RunContext`` has no ``__post_init__`` and no ``init=False`` fields, so the copy
        is the same object the layer would build; a subclass still goes through the layer.
        """
        if type(ctx) is not RunContext:
            return super()._durable_run_context(ctx)
        guarded = copy(ctx)
        unit, container = self.durable_unit_noun, self.durable_container_noun
        guarded.pending_messages = EnqueueGuard(unit, container)
        guarded._cancellation = CancelGuard(cancel_not_supported_message(unit, container))
        return guarded

    async def run_request_unit(self, params: ModelRequestParams) -> ModelResponse:
        """One model request as the layer runs it inside its durable unit.

        For the agent's default model with no capability wrapping it (the usual case), that is
        the default model's request under the guarded run context, without rebuilding the model
        for the unit; anything else is the layer's ``_model_request_operation`` itself.
        """
        ctx = params.run_context
        model = self._models_by_id.get("default") if params.model_id is None else None
        root = ctx.root_capability
        if (
            model is None
            or type(ctx) is not RunContext
            or (root is not None and root.get_wrapper_model(model) is not None)
        ):
            return await self._model_request_operation(params)
        response: ModelResponse | None = None
        try:
            guarded = self._durable_run_context(ctx)
            guarded.model = model
            with set_current_run_context(guarded), self._request_policy_scope(guarded):
                response = await model.request(
                    params.messages, params.model_settings, params.model_request_parameters
                )
        except BaseException:
            await self._withdraw_unreturned_response(params, response)
            raise
        self._stamp_response(response, params.messages)
        return response

    async def _build_durable_model(
        self, ctx: RunContext[AgentDepsT], request_context: ModelRequestContext
    ) -> DurableModel:
        """The layer's durable model, with its plain requests recorded by Kitaru directly.

        Built by the layer (the model entered for the request when the request owns it, the
        same model id), but a plain request goes from the model to ``record_request`` instead of
        through a bound durable operation; its other segments are the layer's.
        """
        layer_model = await super()._build_durable_model(ctx, request_context)
        model_id = self._model_id_for_request(ctx, request_context)  # as the layer worked it out
        record = partial(record_request, self, ctx, model_id, request_context.model.model_name)
        return RecordedModel(layer_model, record=record)

    def wrap_run_event_stream(
        self, ctx: RunContext[AgentDepsT], *, stream: AsyncIterable[AgentStreamEvent]
    ) -> AsyncIterable[AgentStreamEvent]:
        """With no event stream handler, the run's events pass by untouched (no extra layer).

        Pydantic AI calls this on every capability once any of them wraps the event stream; the
        base class then relays each event through a generator of its own even with nothing to
        do with it.
        """
        if self._effective_event_stream_handler() is None:
            return stream
        return super().wrap_run_event_stream(ctx, stream=stream)

    async def wrap_run(self, ctx: RunContext[AgentDepsT], *, handler: Any) -> Any:
        """Inside a flow, answer ``RequestInput`` (external events) with ``kitaru.wait()``."""
        if not self.in_durable_context:
            return await super().wrap_run(ctx, handler=handler)
        from kitaru_pydantic_ai._tools import KitaruEventWaiter

        with external_event_scope(KitaruEventWaiter(self.name, timeout=self.wait_timeout)):
            return await super().wrap_run(ctx, handler=handler)
