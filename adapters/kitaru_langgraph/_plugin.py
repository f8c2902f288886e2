"""Hook implementations of the LangGraph adapter (imports no harness)."""

from __future__ import annotations

from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import RegisterSerializer

EXTRA = "langgraph"
REQUIRES = ("langgraph",)


@hookimpl
def register_serializers(register: RegisterSerializer) -> None:
    """LangGraph values (messages, ``Command``, ``Send``) round-trip through LangGraph's own
    serializer, not pickle."""
    from kitaru_langgraph._codec import LangGraphValueSerializer

    register(LangGraphValueSerializer())
