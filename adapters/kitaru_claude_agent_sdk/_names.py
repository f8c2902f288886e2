"""The operation names this adapter records, by kind: persisted data, pinned by the contract kit.

``claude.query`` is one ``durable_query`` invocation; ``claude.client.query`` one
``DurableClaudeClient`` exchange (a ``query`` and its response). Permission prompts are waits
named ``claude.can_use_tool`` (waits are user-named, so the kit does not pin them). A stored
execution resumes only while these stay the same.
"""

from __future__ import annotations

OPERATION_NAMES: dict[str, tuple[str, ...]] = {
    "agent": ("claude.query", "claude.client.query"),
}

QUERY = "claude.query"
CLIENT_QUERY = "claude.client.query"
PERMISSION_WAIT = "claude.can_use_tool"
SESSIONS_KEY = "claude_agent_sdk.sessions"
"""Execution metadata: operation id -> the CLI session id of that invocation's live run."""
