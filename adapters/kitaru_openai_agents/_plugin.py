"""Hook implementations of the OpenAI Agents SDK adapter (imports no harness)."""

from __future__ import annotations

from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import RegisterSerializer

EXTRA = "openai-agents"
REQUIRES = ("agents",)


@hookimpl
def register_serializers(register: RegisterSerializer) -> None:
    """Model responses and run results are stored as JSON, never pickled."""
    from kitaru_openai_agents._serializers import ModelResponseSerializer, RunResultSerializer

    register(ModelResponseSerializer())
    register(RunResultSerializer())
