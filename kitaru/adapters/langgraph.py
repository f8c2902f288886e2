"""LangGraph for Kitaru: ``durable_node``, ``durable_graph``, ``DurableGraph``, ``KitaruSaver``,
``UsageHandler``:
the public names of the ``kitaru_langgraph`` package.

Needs the ``langgraph`` extra: ``pip install 'kitaru[langgraph]'``.
"""

from __future__ import annotations

import importlib.util

from kitaru_core.errors import MissingExtraError

if importlib.util.find_spec("langgraph") is None:
    raise MissingExtraError("langgraph", "langgraph")

from kitaru_langgraph import (
    DurableGraph,
    KitaruSaver,
    UsageHandler,
    durable_graph,
    durable_node,
    durable_task,
)

# The package's ``__all__`` (tests/adapters/test_convention.py checks they are equal).
__all__ = [
    "DurableGraph",
    "KitaruSaver",
    "UsageHandler",
    "durable_graph",
    "durable_node",
    "durable_task",
]
