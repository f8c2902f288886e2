"""Calling LiteLLM: importing it offline-safe, reading tokens and cost, ``durable_completion``."""

from __future__ import annotations

import os
import time
from types import ModuleType
from typing import Any

from kitaru_core.toolkit import (
    MOCK_ENV,
    ModelUsage,
    arecord_model_call,
    record_model_call,
    resolve_model,
    scrub,
)

LOCAL_COST_MAP_ENV = "LITELLM_LOCAL_MODEL_COST_MAP"


def import_litellm() -> ModuleType:
    """Import LiteLLM with its bundled price map, so importing it never fetches one."""
    os.environ.setdefault(LOCAL_COST_MAP_ENV, "True")
    import litellm

    return litellm


def response_cost(litellm: ModuleType, response: Any) -> float | None:
    """Dollar cost of ``response`` from LiteLLM's local price map; None for unknown models."""
    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost")
    if cost is not None:
        return float(cost)
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # an unmapped model or a provider LiteLLM cannot price
        return None


def usage_of(
    litellm: ModuleType, response: Any, model: str, latency: float, *, mock: bool
) -> ModelUsage:
    """Tokens, cost and latency of one LiteLLM response."""
    usage = getattr(response, "usage", None)
    cost = response_cost(litellm, response)
    details: dict[str, Any] = {"provider": "litellm"}
    hidden = getattr(response, "_hidden_params", None) or {}
    if hidden.get("custom_llm_provider"):
        details["provider"] = hidden["custom_llm_provider"]
    if mock:
        details["mock"] = True
    if cost is None:
        details["cost_known"] = False
    return ModelUsage(
        model=model,
        tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
        tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
        cost=cost or 0.0,
        latency=latency,
        details=details,
    )


def first_text(response: Any) -> str:
    """The text of the first choice ('' when the model only called tools)."""
    choices = getattr(response, "choices", None) or []
    if not choices:
        return ""
    message = getattr(choices[0], "message", None)
    return getattr(message, "content", None) or ""


def prepare(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Resolve a model alias and apply ``KITARU_LLM_MOCK_RESPONSE``; refuses streaming."""
    if kwargs.get("stream"):
        raise ValueError(
            "durable_completion() records whole responses; call it without stream=True "
            "(or use a Pydantic AI DurableAgent for streamed, recorded runs)."
        )
    params = dict(kwargs)
    params["model"] = resolve_model(params.get("model"))
    mock = os.environ.get(MOCK_ENV)
    if mock is not None and "mock_response" not in params:
        params["mock_response"] = mock
    return params


def completion(params: dict[str, Any]) -> tuple[Any, ModelUsage]:
    """One ``litellm.completion`` call with its usage."""
    litellm = import_litellm()
    started = time.perf_counter()
    response = litellm.completion(**params)
    latency = time.perf_counter() - started
    mock = "mock_response" in params
    return response, usage_of(litellm, response, params["model"], latency, mock=mock)


async def acompletion(params: dict[str, Any]) -> tuple[Any, ModelUsage]:
    """One ``litellm.acompletion`` call with its usage."""
    litellm = import_litellm()
    started = time.perf_counter()
    response = await litellm.acompletion(**params)
    latency = time.perf_counter() - started
    mock = "mock_response" in params
    return response, usage_of(litellm, response, params["model"], latency, mock=mock)


def _inputs(params: dict[str, Any]) -> dict[str, Any]:
    return {"completion": scrub(params)}


def durable_completion(*, name: str | None = None, **litellm_kwargs: Any) -> Any:
    """``litellm.completion(**kwargs)``, recorded as a durable operation while a flow runs.

    Returns LiteLLM's full ``ModelResponse``; on resume the recorded one is rebuilt instead of
    calling the model again. Tokens, cost and latency are recorded like ``kitaru.llm()``'s.
    """
    params = prepare(litellm_kwargs)
    return record_model_call(
        name or "completion",
        _inputs(params),
        lambda: completion(params),
        prompt=params.get("messages"),
        prepare=import_litellm,
    )


async def adurable_completion(*, name: str | None = None, **litellm_kwargs: Any) -> Any:
    """Async twin of :func:`durable_completion` (``litellm.acompletion``)."""
    params = prepare(litellm_kwargs)
    return await arecord_model_call(
        name or "completion",
        _inputs(params),
        lambda: acompletion(params),
        prompt=params.get("messages"),
        prepare=import_litellm,
    )
