"""Kitaru adapter for LiteLLM: backs ``kitaru.llm()`` and provides ``durable_completion``."""

from kitaru_litellm._backend import LiteLLMBackend
from kitaru_litellm._completion import adurable_completion, durable_completion

__all__ = ["LiteLLMBackend", "adurable_completion", "durable_completion"]
