"""``DurableModel``: each model response (streamed or not) is one durable Kitaru operation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import cache
from typing import Any

from agents.items import ModelResponse, TResponseStreamEvent
from agents.models.interface import Model, ModelProvider
from openai.types.responses import ResponseCompletedEvent
from pydantic import TypeAdapter

from kitaru_core import toolkit
from kitaru_openai_agents._identity import current_agent, new_history, request_identity

DEFAULT_AGENT = "agent"
PARAMETERS = (
    "system_instructions",
    "input",
    "model_settings",
    "tools",
    "output_schema",
    "handoffs",
    "tracing",
)
"""The positional parameters of ``Model.get_response`` and ``Model.stream_response``."""


@cache
def response_adapter() -> TypeAdapter[ModelResponse]:
    """Pydantic's adapter of ``ModelResponse`` (built once)."""
    return TypeAdapter(ModelResponse)


@cache
def _event_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(TResponseStreamEvent)


def model_name_of(model: Model, requested: str | None = None) -> str | None:
    """The model's name, for prices and the operation record."""
    if requested:
        return requested
    for attribute in ("model", "model_name", "name"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return None


def provider_of(model: Model) -> str | None:
    """``openai`` for the SDK's OpenAI models, else the model's ``provider`` attribute (a
    string), else None: pricing a model whose provider is known is several times faster."""
    from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
    from agents.models.openai_responses import OpenAIResponsesModel

    if isinstance(model, OpenAIResponsesModel | OpenAIChatCompletionsModel):
        return "openai"
    provider = getattr(model, "provider", None)
    return provider if isinstance(provider, str) else None


class DurableModel(Model):
    """Wraps an Agents SDK ``Model``: inside a flow each response is recorded once and reused.

    A response records the model's tokens and cost (priced by model name), so a resume that
    reuses it counts the cost as saved. A streamed response records its events and a reused
    one replays them as a stream. Outside a flow (or inside a checkpoint) it is the wrapped
    model unchanged.
    """

    def __init__(
        self,
        wrapped: Model,
        *,
        model_name: str | None = None,
        provider: str | None = None,
        agent_name: str | None = None,
    ) -> None:
        self.wrapped = wrapped
        self.model_name = model_name_of(wrapped, model_name)
        self.provider = provider or provider_of(wrapped)
        self.agent_name = agent_name
        self._history = new_history()

    def __repr__(self) -> str:
        return f"DurableModel({self.wrapped!r})"

    def _identity(self, agent: str, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        request = dict(zip(PARAMETERS, args, strict=False)) | options
        return request_identity(
            agent=agent,
            model=self.model_name,
            history=self._history,
            system_instructions=request.get("system_instructions"),
            input=request.get("input") or [],
            model_settings=request.get("model_settings"),
            tools=request.get("tools") or [],
            output_schema=request.get("output_schema"),
            handoffs=request.get("handoffs") or [],
            previous_response_id=request.get("previous_response_id"),
            conversation_id=request.get("conversation_id"),
            prompt=request.get("prompt"),
        )

    def _agent(self) -> str:
        return current_agent.get() or self.agent_name or DEFAULT_AGENT

    async def get_response(self, *args: Any, **options: Any) -> ModelResponse:
        """``Model.get_response``, one ``<agent>__model.response`` operation in a flow."""
        if not toolkit.in_durable_unit():
            return await self.wrapped.get_response(*args, **options)
        agent = self._agent()
        identity = self._identity(agent, args, options)

        async def call() -> Any:
            started = time.perf_counter()
            response = await self.wrapped.get_response(*args, **options)
            usage = response.usage
            self._report(usage.input_tokens, usage.output_tokens, time.perf_counter() - started)
            return response  # stored by the plugin's ModelResponseSerializer

        response: ModelResponse = await toolkit.arun_operation(
            f"{agent}__model.response", call, kind="llm", identity=identity
        )
        return response

    def _report(self, tokens_in: int, tokens_out: int, latency: float) -> None:
        toolkit.report_usage(
            self.model_name, tokens_in, tokens_out, latency=latency, provider=self.provider
        )

    async def stream_response(self, *args: Any, **options: Any) -> AsyncIterator[Any]:
        """``Model.stream_response``, one ``<agent>__model.stream`` operation in a flow.

        The first run streams the wrapped model's events as they come and records them; a
        resume replays the recorded events.
        """
        if not toolkit.in_durable_unit():
            async for event in self.wrapped.stream_response(*args, **options):
                yield event
            return
        agent = self._agent()
        identity = self._identity(agent, args, options)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        done = object()
        ran = False

        async def call() -> list[Any]:
            nonlocal ran
            ran = True
            started = time.perf_counter()
            recorded: list[Any] = []
            usage: Any = None
            async for event in self.wrapped.stream_response(*args, **options):
                recorded.append(
                    _event_adapter().dump_python(event, mode="json", exclude_unset=True)
                )
                queue.put_nowait(event)
                if isinstance(event, ResponseCompletedEvent):
                    usage = event.response.usage
            tokens_in = getattr(usage, "input_tokens", 0) or 0
            tokens_out = getattr(usage, "output_tokens", 0) or 0
            self._report(tokens_in, tokens_out, time.perf_counter() - started)
            return recorded

        task = asyncio.ensure_future(
            toolkit.arun_operation(f"{agent}__model.stream", call, kind="llm", identity=identity)
        )
        task.add_done_callback(lambda _: queue.put_nowait(done))
        try:
            while (event := await queue.get()) is not done:
                yield event
            recorded = task.result()
        finally:
            if not task.done():
                task.cancel()
        if not ran:
            for data in recorded:
                yield _event_adapter().validate_python(data)

    def get_retry_advice(self, request: Any) -> Any:
        return self.wrapped.get_retry_advice(request)

    async def close(self) -> None:
        await self.wrapped.close()

    async def _cleanup_on_run_end(self, owner: object) -> None:
        await self.wrapped._cleanup_on_run_end(owner)


class DurableModelProvider(ModelProvider):
    """Wraps a ``ModelProvider``: every model it gives is a :class:`DurableModel`."""

    def __init__(self, wrapped: ModelProvider) -> None:
        self.wrapped = wrapped
        self._models: dict[str | None, DurableModel] = {}

    def get_model(self, model_name: str | None) -> Model:
        """The wrapped provider's model, durable (one per name, kept for the provider's life)."""
        found = self._models.get(model_name)
        if found is None:
            found = DurableModel(self.wrapped.get_model(model_name), model_name=model_name)
            self._models[model_name] = found
        return found

    async def aclose(self) -> None:
        await self.wrapped.aclose()
