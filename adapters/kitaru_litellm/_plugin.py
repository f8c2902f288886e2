"""Hook implementations of the LiteLLM adapter (imports no harness)."""

from __future__ import annotations

import importlib.util

from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import LLMBackend, RegisterSerializer

EXTRA = "litellm"
REQUIRES = ("litellm",)


@hookimpl
def llm_backend() -> LLMBackend | None:
    """LiteLLM performs ``kitaru.llm()`` calls when it is installed."""
    if importlib.util.find_spec("litellm") is None:
        return None
    from kitaru_litellm._backend import LiteLLMBackend

    return LiteLLMBackend()


@hookimpl
def register_serializers(register: RegisterSerializer) -> None:
    """LiteLLM responses round-trip through their own JSON, not pickle."""
    from kitaru_litellm._serializers import LiteLLMResponseSerializer

    register(LiteLLMResponseSerializer())
