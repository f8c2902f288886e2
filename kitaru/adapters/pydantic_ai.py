"""Pydantic AI for Kitaru: ``DurableAgent`` (alias ``KitaruAgent``), ``KitaruDurability``,
``hitl_tool``.

Needs the ``pydantic-ai`` extra: ``pip install 'kitaru[pydantic-ai]'``.
"""

from __future__ import annotations

import importlib.util

from kitaru_core.errors import MissingExtraError

if importlib.util.find_spec("pydantic_ai") is None:
    raise MissingExtraError("pydantic-ai", "pydantic-ai-slim")

from kitaru_pydantic_ai._agent import DurableAgent, KitaruAgent
from kitaru_pydantic_ai._capability import KitaruDurability
from kitaru_pydantic_ai._tools import ApprovalAnswer, KitaruEventWaiter, hitl_tool

__all__ = [
    "ApprovalAnswer",
    "DurableAgent",
    "KitaruAgent",
    "KitaruDurability",
    "KitaruEventWaiter",
    "hitl_tool",
]
