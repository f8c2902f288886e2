"""Claude Agent SDK for Kitaru: ``durable_query``, ``DurableClaudeClient``,
``KitaruSessionStore``, ``ask_permission``: the public names of the ``kitaru_claude_agent_sdk``
package.

Needs the ``claude-agent-sdk`` extra: ``pip install 'kitaru[claude-agent-sdk]'``.
"""

from __future__ import annotations

import importlib.util

from kitaru_core.errors import MissingExtraError

if importlib.util.find_spec("claude_agent_sdk") is None:
    raise MissingExtraError("claude-agent-sdk", "claude-agent-sdk")

from kitaru_claude_agent_sdk import (
    NOT_IDENTIFYING,
    DurableClaudeClient,
    KitaruSessionStore,
    PermissionAnswer,
    ask_permission,
    durable_query,
)

# The package's ``__all__`` (tests/adapters/test_convention.py checks they are equal).
__all__ = [
    "NOT_IDENTIFYING",
    "DurableClaudeClient",
    "KitaruSessionStore",
    "PermissionAnswer",
    "ask_permission",
    "durable_query",
]
