"""Kitaru adapter for LiteLLM: backs ``kitaru.llm()`` and provides ``durable_completion``.

Import the public names from ``kitaru.adapters.litellm`` (which re-exports ``__all__``). They
load on first use, so loading the plugin (``_plugin.py``) imports neither LiteLLM nor the core's
model-call machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kitaru_litellm._backend import LiteLLMBackend
    from kitaru_litellm._completion import adurable_completion, durable_completion

_EXPORTS = {
    "LiteLLMBackend": "_backend",
    "adurable_completion": "_completion",
    "durable_completion": "_completion",
}

__all__ = ["LiteLLMBackend", "adurable_completion", "durable_completion"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
