"""Pydantic AI for Kitaru: ``DurableAgent`` (alias ``KitaruAgent``), ``KitaruDurability``,
``hitl_tool``: the public names of the ``kitaru_pydantic_ai`` package.

Needs the ``pydantic-ai`` extra: ``pip install 'kitaru[pydantic-ai]'``.
"""

from __future__ import annotations

import importlib.util

from kitaru_core.errors import MissingExtraError

if importlib.util.find_spec("pydantic_ai") is None:
    raise MissingExtraError("pydantic-ai", "pydantic-ai-slim")

from kitaru_pydantic_ai import (
    ApprovalAnswer,
    DurableAgent,
    KitaruAgent,
    KitaruDurability,
    KitaruEventWaiter,
    hitl_tool,
)

# The package's ``__all__`` (tests/adapters/test_convention.py checks they are equal).
__all__ = [
    "ApprovalAnswer",
    "DurableAgent",
    "KitaruAgent",
    "KitaruDurability",
    "KitaruEventWaiter",
    "hitl_tool",
]
