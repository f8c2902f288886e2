"""Model requests: tokens and cost of a recorded ``ModelResponse``, and a finished run's usage."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic_ai.durable_exec import JSON_CODEC
from pydantic_ai.messages import ModelMessage, ModelResponse

from kitaru_core.llm._llm import ModelUsage, note_usage


def response_cost(response: ModelResponse) -> float | None:
    """Dollar cost of ``response``: the provider's figure, else genai-prices; None if unknown."""
    if response.usage.cost is not None:
        return float(response.usage.cost)
    try:
        return float(response.cost().total_price)
    except Exception:  # no price for this model/provider
        return None


def response_usage(response: ModelResponse, *, latency: float = 0.0) -> ModelUsage:
    """Tokens, cost and latency of one model response."""
    cost = response_cost(response)
    details: dict[str, Any] = {}
    if response.provider_name:
        details["provider"] = response.provider_name
    if response.finish_reason:
        details["finish_reason"] = response.finish_reason
    if cost is None:
        details["cost_known"] = False
    return ModelUsage(
        model=response.model_name,
        tokens_in=response.usage.input_tokens,
        tokens_out=response.usage.output_tokens,
        cost=cost or 0.0,
        latency=latency,
        details=details,
    )


def payload_usage(payload: Any, *, latency: float) -> ModelUsage | None:
    """Usage of a model unit's recorded payload (a ``ModelResponse`` in JSON form)."""
    if not (isinstance(payload, dict) and payload.get("kind") == "response"):
        return None
    response = JSON_CODEC.load(ModelResponse, payload)
    return response_usage(response, latency=latency)


def add_run_usage(messages: Iterable[ModelMessage]) -> None:
    """Add each model response's usage to the running operation (a run inside a checkpoint)."""
    for message in messages:
        if isinstance(message, ModelResponse):
            note_usage(response_usage(message), standalone=False, response=message.text)
