"""Model requests: tokens and cost of a recorded ``ModelResponse``, and a finished run's usage."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic_ai.durable_exec import JSON_CODEC
from pydantic_ai.messages import ModelMessage, ModelResponse

from kitaru_core.toolkit import ModelUsage
from kitaru_core.toolkit import report_model_usage as note_usage


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


_unpriced: set[tuple[Any, ...]] = set()
"""(provider, provider URL, model) that genai-prices has no price for: not looked up again."""


def payload_usage(payload: Any, *, latency: float) -> ModelUsage | None:
    """Usage of a model unit's recorded payload (a ``ModelResponse`` in JSON form).

    Read from the payload itself when there is no price to look up (the provider gave the cost,
    or the model is known to have no price); else the response is loaded to be priced.
    """
    if not (isinstance(payload, dict) and payload.get("kind") == "response"):
        return None
    usage = payload.get("usage") or {}
    model = (payload.get("provider_name"), payload.get("provider_url"), payload.get("model_name"))
    if usage.get("cost") is not None or model in _unpriced:
        cost = usage.get("cost")
        details: dict[str, Any] = {}
        if payload.get("provider_name"):
            details["provider"] = payload["provider_name"]
        if payload.get("finish_reason"):
            details["finish_reason"] = payload["finish_reason"]
        if cost is None:
            details["cost_known"] = False
        return ModelUsage(
            model=payload.get("model_name"),
            tokens_in=int(usage.get("input_tokens") or 0),
            tokens_out=int(usage.get("output_tokens") or 0),
            cost=float(cost or 0.0),
            latency=latency,
            details=details,
        )
    response = JSON_CODEC.load(ModelResponse, payload)
    found = response_usage(response, latency=latency)
    if found.details.get("cost_known") is False and not response.usage.unmeasured_requests:
        _unpriced.add(model)  # no price for the model itself, not an incomplete response
    return found


def live_usage(response: ModelResponse, *, latency: float) -> ModelUsage:
    """Usage of a fresh ``ModelResponse``, as :func:`payload_usage` reads it from its payload.

    The price is looked up (``response_usage``) only when the provider gave no cost and the
    model is not known to have none.
    """
    usage = response.usage
    model = (response.provider_name, response.provider_url, response.model_name)
    cost = getattr(usage, "cost", None)
    if cost is None and model not in _unpriced:
        found = response_usage(response, latency=latency)
        if found.details.get("cost_known") is False and not usage.unmeasured_requests:
            _unpriced.add(model)
        return found
    details: dict[str, Any] = {}
    if response.provider_name:
        details["provider"] = response.provider_name
    if response.finish_reason:
        details["finish_reason"] = response.finish_reason
    if cost is None:
        details["cost_known"] = False
    return ModelUsage(
        model=response.model_name,
        tokens_in=int(usage.input_tokens or 0),
        tokens_out=int(usage.output_tokens or 0),
        cost=float(cost or 0.0),
        latency=latency,
        details=details,
    )


def add_run_usage(messages: Iterable[ModelMessage]) -> None:
    """Add each model response's usage to the running operation (a run inside a checkpoint)."""
    for message in messages:
        if isinstance(message, ModelResponse):
            note_usage(response_usage(message), standalone=False, response=message.text)
