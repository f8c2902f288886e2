"""Model requests recorded without Pydantic AI's durable-operation dispatch in between.

A plain (not streamed) model request is the hot path of every agent run. Pydantic AI's
durability layer sends it through a bound durable operation (its parameters, its dispatch, its
codec's dump and load); here the request is recorded by Kitaru directly, under the same operation
name and identity, and runs inside the unit exactly as the layer runs it
(``_model_request_operation``: the guarded run context, the model rebuilt for the unit, the
capabilities' model wrappers). Streamed requests, compaction and the cancellation of a suspended
response still go through the layer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from pydantic_ai.durable_exec import (
    JSON_CODEC,
    ModelRequestId,
    ModelRequestParams,
    durable_unit_scope,
    record_durable_unit,
)
from pydantic_ai.durable_exec._utils import DurableModel
from pydantic_ai.messages import ModelResponse
from pydantic_ai.models import ModelRequestContext
from pydantic_ai.tools import RunContext

from kitaru_core.toolkit import Identity, arun_operation
from kitaru_core.toolkit import report_model_usage as note_usage
from kitaru_pydantic_ai._identity import identity
from kitaru_pydantic_ai._model import live_usage
from kitaru_pydantic_ai._scheme import uses_history_chain
from kitaru_pydantic_ai._serializers import EncodedPayload

if TYPE_CHECKING:
    from kitaru_pydantic_ai._capability import KitaruDurability

RESPONSE_JSON: TypeAdapter[ModelResponse] = TypeAdapter(ModelResponse)
"""Serializes a fresh ``ModelResponse`` to the JSON its codec's payload would be stored as."""


async def record_request(
    capability: KitaruDurability[Any],
    ctx: RunContext[Any],
    model_id: str | None,
    model_name: str,
    request: ModelRequestContext,
) -> ModelResponse:
    """Run one model request as a Kitaru operation, or return its recorded response.

    A fresh response is stored as JSON straight from the object and returned as it is; a
    recorded one is loaded by the layer's codec, as before.
    """
    operation_id = ModelRequestId(model_id, streaming=False, model_name=model_name)
    name = capability.request_operation_name(operation_id)
    messages = request.messages
    settings = request.model_settings
    parameters = request.model_request_parameters
    history = capability.history if uses_history_chain() else None
    cache_key = (model_id, messages, settings, parameters, ctx)
    found = Identity(*identity(operation_id, cache_key, history))
    fresh: list[ModelResponse] = []

    async def call() -> EncodedPayload:
        started = time.perf_counter()
        params = ModelRequestParams(
            model_id,
            messages=messages,
            model_settings=settings,
            model_request_parameters=parameters,
            run_context=ctx,
        )
        with durable_unit_scope():
            response = await capability.run_request_unit(params)
            data = RESPONSE_JSON.dump_json(response)
        note_usage(live_usage(response, latency=time.perf_counter() - started), standalone=True)
        fresh.append(response)
        return EncodedPayload(response, data)

    stored = await arun_operation(name, call, kind="llm", identity=found)
    record_durable_unit(executed=bool(fresh))
    if fresh:
        return fresh[0]
    payload = stored.value if type(stored) is EncodedPayload else stored
    loaded: ModelResponse = JSON_CODEC.load(ModelResponse, payload)
    return loaded


class RecordedModel(DurableModel):
    """The layer's ``DurableModel`` with its plain requests recorded by :func:`record_request`;
    its other segments (streamed request, compaction, cancellation) are the layer's own."""

    def __init__(
        self,
        layer_model: DurableModel,
        *,
        record: Callable[[ModelRequestContext], Awaitable[ModelResponse]],
    ) -> None:
        super().__init__(
            layer_model.wrapped,
            request_segment=record,
            request_stream_segment=layer_model._request_stream_segment,
            compact_messages_segment=layer_model._compact_messages_segment,
            cancel_suspended_response_segment=layer_model._cancel_suspended_response_segment,
        )
