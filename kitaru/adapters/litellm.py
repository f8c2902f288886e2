"""LiteLLM for Kitaru: ``durable_completion`` and the backend of ``kitaru.llm()``: the public
names of the ``kitaru_litellm`` package.

Needs the ``litellm`` extra: ``pip install 'kitaru[litellm]'``.
"""

from __future__ import annotations

import importlib.util

from kitaru_core.errors import MissingExtraError

if importlib.util.find_spec("litellm") is None:
    raise MissingExtraError("litellm", "litellm")

from kitaru_litellm import (
    LiteLLMBackend,
    adurable_completion,
    durable_completion,
)

# The package's ``__all__`` (tests/adapters/test_convention.py checks they are equal).
__all__ = [
    "LiteLLMBackend",
    "adurable_completion",
    "durable_completion",
]
