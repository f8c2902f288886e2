"""Hook implementations of the Pydantic AI adapter (imports no harness)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kitaru_core.hookspecs import hookimpl

EXTRA = "pydantic-ai"
REQUIRES = ("pydantic_ai",)


@hookimpl
def register_serializers(register: Callable[[Any], None]) -> None:
    """Pydantic AI messages and run results round-trip through their JSON, not pickle."""
    from kitaru_pydantic_ai._serializers import (
        MessagesSerializer,
        PayloadSerializer,
        RunResultSerializer,
    )

    register(PayloadSerializer())
    register(MessagesSerializer())
    register(RunResultSerializer())
