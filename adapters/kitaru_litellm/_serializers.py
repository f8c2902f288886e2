"""Storing LiteLLM responses: their own JSON dump, rebuilt through ``ModelResponse(**data)``."""

from __future__ import annotations

from typing import Any

from kitaru_core.toolkit import JsonSerializer

SAFE_HIDDEN = ("response_cost", "custom_llm_provider", "litellm_model_name", "model_id")
"""The part of ``_hidden_params`` worth keeping (never headers or API bases)."""


class LiteLLMResponseSerializer(JsonSerializer):
    """``litellm.ModelResponse`` objects (what ``durable_completion`` returns)."""

    name = "litellm"
    priority = 5
    module = "litellm"

    def accepts_loaded(self, value: Any) -> bool:
        from litellm import ModelResponse

        return isinstance(value, ModelResponse)

    def to_json(self, value: Any) -> Any:
        hidden = getattr(value, "_hidden_params", None) or {}
        return {
            "response": value.model_dump(mode="json"),
            "hidden": {k: hidden[k] for k in SAFE_HIDDEN if hidden.get(k) is not None},
        }

    def from_json(self, data: Any) -> Any:
        from kitaru_litellm._completion import import_litellm

        litellm = import_litellm()
        response = litellm.ModelResponse(**data["response"])
        response._hidden_params = dict(data.get("hidden") or {})
        return response
