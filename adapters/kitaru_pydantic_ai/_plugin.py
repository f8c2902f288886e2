"""Hook implementations of the Pydantic AI adapter (imports no harness)."""

from __future__ import annotations

from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import RegisterSerializer

EXTRA = "pydantic-ai"
REQUIRES = ("pydantic_ai",)


@hookimpl
def register_serializers(register: RegisterSerializer) -> None:
    """Pydantic AI messages and run results round-trip through their JSON, not pickle."""
    from kitaru_pydantic_ai._serializers import (
        MessagesSerializer,
        PayloadSerializer,
        RunResultSerializer,
    )

    register(PayloadSerializer())
    register(MessagesSerializer())
    register(RunResultSerializer())
