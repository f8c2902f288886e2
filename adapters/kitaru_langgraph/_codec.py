"""Storing LangGraph values (node outputs with messages, ``Command``, ``Send``) in Kitaru.

A node's output is stored with LangGraph's own serializer (``JsonPlusSerializer``: the format
LangGraph trusts for its checkpoints) wrapped in :class:`NodeOutput`, so the registry picks
:class:`LangGraphValueSerializer` for it instead of pickle.
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
        return isinstance(value, NodeOutput)

    def to_json(self, value: Any) -> Any:
        return dump(value.value)

    def from_json(self, data: Any) -> Any:
        return NodeOutput(load(data))
