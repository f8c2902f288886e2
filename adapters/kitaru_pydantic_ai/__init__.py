"""Kitaru adapter for Pydantic AI: ``DurableAgent``, ``KitaruDurability``, ``hitl_tool``.

Import the public names from ``kitaru.adapters.pydantic_ai`` (which re-exports ``__all__``).
They load on first use, so loading the plugin (``_plugin.py``) never imports Pydantic AI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kitaru_pydantic_ai._agent import DurableAgent, KitaruAgent
    from kitaru_pydantic_ai._capability import KitaruDurability
    from kitaru_pydantic_ai._tools import ApprovalAnswer, KitaruEventWaiter, hitl_tool

_EXPORTS = {
    "ApprovalAnswer": "_tools",
    "DurableAgent": "_agent",
    "KitaruAgent": "_agent",
    "KitaruDurability": "_capability",
    "KitaruEventWaiter": "_tools",
    "hitl_tool": "_tools",
}

__all__ = [
    "ApprovalAnswer",
    "DurableAgent",
    "KitaruAgent",
    "KitaruDurability",
    "KitaruEventWaiter",
    "hitl_tool",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
