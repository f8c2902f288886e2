"""Kitaru adapter for the Claude Agent SDK: ``durable_query``, ``DurableClaudeClient``,
``KitaruSessionStore``, ``ask_permission``.

Import the public names from ``kitaru.adapters.claude_agent_sdk`` (which re-exports
``__all__``). They load on first use, so loading the plugin (``_plugin.py``) never imports the
SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kitaru_claude_agent_sdk._client import DurableClaudeClient
    from kitaru_claude_agent_sdk._options import NOT_IDENTIFYING
    from kitaru_claude_agent_sdk._permissions import PermissionAnswer, ask_permission
    from kitaru_claude_agent_sdk._query import durable_query
    from kitaru_claude_agent_sdk._session_store import KitaruSessionStore

_EXPORTS = {
    "DurableClaudeClient": "_client",
    "KitaruSessionStore": "_session_store",
    "NOT_IDENTIFYING": "_options",
    "PermissionAnswer": "_permissions",
    "ask_permission": "_permissions",
    "durable_query": "_query",
}

__all__ = [
    "NOT_IDENTIFYING",
    "DurableClaudeClient",
    "KitaruSessionStore",
    "PermissionAnswer",
    "ask_permission",
    "durable_query",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
