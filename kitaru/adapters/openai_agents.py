"""OpenAI Agents SDK for Kitaru: ``DurableRunner`` (alias ``KitaruRunner``), ``DurableModel``,
``DurableModelProvider``: the public names of the ``kitaru_openai_agents`` package.

Needs the ``openai-agents`` extra: ``pip install 'kitaru[openai-agents]'``.
"""

from __future__ import annotations

import importlib.util

from kitaru_core.errors import MissingExtraError

if importlib.util.find_spec("agents") is None:
    raise MissingExtraError("openai-agents", "openai-agents")

from kitaru_openai_agents import (
    ApprovalAnswer,
    DurableModel,
    DurableModelProvider,
    DurableRunner,
    KitaruRunner,
)

# The package's ``__all__`` (tests/adapters/test_convention.py checks they are equal).
__all__ = [
    "ApprovalAnswer",
    "DurableModel",
    "DurableModelProvider",
    "DurableRunner",
    "KitaruRunner",
]
