"""Wrapping every node of a compiled graph (and of its subgraphs) without touching the original."""

from __future__ import annotations

from typing import Any

from langgraph._internal._runnable import RunnableCallable
from langgraph.pregel import Pregel
from langgraph.pregel._read import PregelNode

from kitaru_langgraph._decorator import DURABLE_MARK
from kitaru_langgraph._runnable import DurableNodeRunnable


def _already_durable(bound: Any) -> bool:
    if isinstance(bound, DurableNodeRunnable):
        return True
    if isinstance(bound, RunnableCallable):
        func = bound.func or bound.afunc
        return bool(getattr(func, DURABLE_MARK, False))
    return False


def _wrap_node(name: str, node: PregelNode, interrupt_timeout: float | None) -> PregelNode:
    bound = node.bound
    if isinstance(bound, Pregel):  # a compiled subgraph added as a node: wrap its nodes
        inner = wrap_pregel(bound, interrupt_timeout)
        return node.copy({"bound": inner, "subgraphs": [inner]})
    if name.startswith("__") or (not node.writers and bound is None) or _already_durable(bound):
        return node
    from langgraph.pregel._read import DEFAULT_BOUND

    if bound is DEFAULT_BOUND:
        return node
    durable = DurableNodeRunnable(name, bound, interrupt_timeout)
    return node.copy({"bound": durable, "subgraphs": list(node.subgraphs)})


def wrap_pregel(graph: Pregel, interrupt_timeout: float | None) -> Pregel:
    """A copy of ``graph`` whose nodes (and subgraphs' nodes) are durable."""
    nodes = {name: _wrap_node(name, node, interrupt_timeout) for name, node in graph.nodes.items()}
    wrapped: Pregel = graph.copy({"nodes": nodes})
    return wrapped
