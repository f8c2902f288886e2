"""LiteLLM for Kitaru: ``durable_completion`` and the backend of ``kitaru.llm()``.

Needs the ``litellm`` extra: ``pip install 'kitaru[litellm]'``.
"""

from __future__ import annotations

import importlib.util

from kitaru_core.errors import MissingExtraError

if importlib.util.find_spec("litellm") is None:
    raise MissingExtraError("litellm", "litellm")

from kitaru_litellm import LiteLLMBackend, adurable_completion, durable_completion

__all__ = ["LiteLLMBackend", "adurable_completion", "durable_completion"]
