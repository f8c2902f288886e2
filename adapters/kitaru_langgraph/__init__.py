"""Kitaru adapter for LangGraph: ``durable_node``, ``durable_graph``, ``KitaruSaver``.

Import the public names from ``kitaru.adapters.langgraph`` (which re-exports ``__all__``).
They load on first use, so loading the plugin (``_plugin.py``) never imports LangGraph.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kitaru_langgraph._callbacks import UsageHandler
    from kitaru_langgraph._decorator import durable_node, durable_task
    from kitaru_langgraph._graph import DurableGraph, durable_graph
    from kitaru_langgraph._saver import KitaruSaver

_EXPORTS = {
    "DurableGraph": "_graph",
    "KitaruSaver": "_saver",
    "UsageHandler": "_callbacks",
    "durable_graph": "_graph",
    "durable_node": "_decorator",
    "durable_task": "_decorator",
}

__all__ = [
    "DurableGraph",
    "KitaruSaver",
    "UsageHandler",
    "durable_graph",
    "durable_node",
    "durable_task",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
