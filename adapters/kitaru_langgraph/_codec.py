"""Storing LangGraph values (node outputs with messages, ``Command``, ``Send``) in Kitaru.

A node output that is not plain JSON is stored with LangGraph's own serializer
(``JsonPlusSerializer``: the format LangGraph trusts for its checkpoints) wrapped in
:class:`NodeOutput`. Other values holding LangChain or LangGraph objects (a graph's input or
result with messages, as an automatic execution stores them, or a flow's result) take the same
way instead of pickle.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache
from typing import Any

from kitaru_core.toolkit import JsonSerializer


@cache
def serde() -> Any:
    """LangGraph's serializer (one per process)."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    return JsonPlusSerializer()


@dataclass(frozen=True)
class NodeOutput:
    """What a node run returned, as recorded (unwrap with ``.value``)."""

    value: Any


def dump(value: Any) -> list[str]:
    """``[type, base64 data]`` of ``value`` in LangGraph's format."""
    kind, data = serde().dumps_typed(value)
    return [kind, base64.b64encode(data).decode()]


def load(packed: list[str]) -> Any:
    """Inverse of :func:`dump`."""
    kind, data = packed
    return serde().loads_typed((kind, base64.b64decode(data)))


class LangGraphValueSerializer(JsonSerializer):
    """Node outputs as LangGraph serializes them (never rename: stored with each value)."""

    name = "langgraph"
    module = "langgraph"
    priority = 5

    def accepts_loaded(self, value: Any) -> bool:
        return isinstance(value, NodeOutput) or holds_harness_object(value)

    def to_json(self, value: Any) -> Any:
        if isinstance(value, NodeOutput):
            return {"node_output": dump(value.value)}
        return {"value": dump(value)}

    def from_json(self, data: Any) -> Any:
        if "node_output" in data:
            return NodeOutput(load(data["node_output"]))
        return load(data["value"])


def _harness_types() -> tuple[type, ...]:
    from langchain_core.load.serializable import Serializable
    from langgraph.types import Command, Interrupt, Send

    return (Serializable, Command, Send, Interrupt)


def holds_harness_object(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is, or holds in its dicts, lists and tuples, a LangChain or
    LangGraph object (a message, a ``Command``, a ``Send``)."""
    if isinstance(value, _harness_types()):
        return True
    if depth > 4:
        return False
    if isinstance(value, dict):
        return any(holds_harness_object(v, depth + 1) for v in value.values())
    if isinstance(value, list | tuple):
        return any(holds_harness_object(v, depth + 1) for v in value)
    return False
