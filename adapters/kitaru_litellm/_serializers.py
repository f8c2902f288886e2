"""Storing LiteLLM responses: their own JSON dump, rebuilt through ``ModelResponse(**data)``."""

from __future__ import annotations

import json
import sys
from typing import Any

SAFE_HIDDEN = ("response_cost", "custom_llm_provider", "litellm_model_name", "model_id")
"""The part of ``_hidden_params`` worth keeping (never headers or API bases)."""


class LiteLLMResponseSerializer:
    """``litellm.ModelResponse`` objects (what ``durable_completion`` returns)."""

    name = "litellm"
    priority = 5

    def accepts(self, value: Any) -> bool:
        if "litellm" not in sys.modules:
            return False
        from litellm import ModelResponse

        return isinstance(value, ModelResponse)

    def dumps(self, value: Any) -> bytes:
        hidden = getattr(value, "_hidden_params", None) or {}
        data = {
            "response": value.model_dump(mode="json"),
            "hidden": {k: hidden[k] for k in SAFE_HIDDEN if hidden.get(k) is not None},
        }
        return json.dumps(data, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        from kitaru_litellm._completion import import_litellm

        litellm = import_litellm()
        payload = json.loads(data)
        response = litellm.ModelResponse(**payload["response"])
        response._hidden_params = dict(payload.get("hidden") or {})
        return response
