"""Kitaru adapter for the OpenAI Agents SDK: ``DurableRunner`` (alias ``KitaruRunner``).

Import the public names from ``kitaru.adapters.openai_agents`` (which re-exports ``__all__``).
They load on first use, so loading the plugin (``_plugin.py``) never imports the SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kitaru_openai_agents._model import DurableModel, DurableModelProvider
    from kitaru_openai_agents._runner import DurableRunner, KitaruRunner
    from kitaru_openai_agents._tools import ApprovalAnswer

_EXPORTS = {
    "ApprovalAnswer": "_tools",
    "DurableModel": "_model",
    "DurableModelProvider": "_model",
    "DurableRunner": "_runner",
    "KitaruRunner": "_runner",
}

__all__ = [
    "ApprovalAnswer",
    "DurableModel",
    "DurableModelProvider",
    "DurableRunner",
    "KitaruRunner",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
