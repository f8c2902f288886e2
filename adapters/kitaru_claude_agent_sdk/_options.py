"""Which options identify an invocation, and the options an invocation really runs with.

An invocation is identified by its prompt and by every ``ClaudeAgentOptions`` field that
changes what Claude does, except those listed in :data:`NOT_IDENTIFYING`: callbacks and live
objects (they cannot be stored, and the user's code rebuilds them on resume), where the CLI
runs from and how it talks to the SDK, and the environment (it may hold secrets). An
in-process SDK MCP server is identified by its name only. A field the SDK adds later counts
as identifying until it is listed here.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from kitaru_core import toolkit

NOT_IDENTIFYING = frozenset(
    {
        "can_use_tool",
        "hooks",
        "stderr",
        "debug_stderr",
        "cli_path",
        "env",
        "user",
        "client_app",
        "max_buffer_size",
        "session_store",
        "session_store_flush",
        "load_timeout_ms",
    }
)
"""``ClaudeAgentOptions`` fields left out of an invocation's identity."""


def _mcp_servers(servers: Any) -> Any:
    if not isinstance(servers, dict):
        return str(servers)  # a path or JSON text, passed to the CLI as it is
    described = {}
    for name, config in servers.items():
        if isinstance(config, dict) and config.get("type") == "sdk":
            described[name] = {"type": "sdk", "name": config.get("name", name)}
        else:
            described[name] = config
    return described


def identifying_options(options: Any) -> dict[str, Any]:
    """The options of an invocation that enter its identity, as JSON data."""
    if options is None:
        return {}
    from claude_agent_sdk import ClaudeAgentOptions

    defaults = ClaudeAgentOptions()
    chosen: dict[str, Any] = {}
    for spec in dataclasses.fields(options):
        if spec.name in NOT_IDENTIFYING:
            continue
        value = getattr(options, spec.name)
        if value == getattr(defaults, spec.name):
            continue  # a default left out: adding a field to the SDK changes no identity
        chosen[spec.name] = _mcp_servers(value) if spec.name == "mcp_servers" else value
    data: dict[str, Any] = json.loads(toolkit.message_json(chosen, volatile=()))
    return data


RUNTIME = ("cli_path", "user", "client_app", "max_buffer_size", "load_timeout_ms")
"""Options that do not identify an invocation but that an automatic execution stores to run it
again the same way (``env`` is never stored: it may hold secrets)."""


def runtime_options(options: Any) -> dict[str, Any]:
    """The :data:`RUNTIME` options that differ from their defaults, as JSON data."""
    if options is None:
        return {}
    from claude_agent_sdk import ClaudeAgentOptions

    defaults = ClaudeAgentOptions()
    chosen = {
        name: getattr(options, name)
        for name in RUNTIME
        if getattr(options, name) != getattr(defaults, name)
    }
    data: dict[str, Any] = json.loads(toolkit.message_json(chosen, volatile=()))
    return data


def has_live_parts(options: Any) -> list[str]:
    """Names of the options that only live code can provide (callbacks, in-process servers)."""
    if options is None:
        return []
    live = [
        name
        for name in ("can_use_tool", "hooks", "stderr", "session_store")
        if getattr(options, name) is not None
    ]
    servers = options.mcp_servers
    if isinstance(servers, dict) and any(
        isinstance(c, dict) and c.get("type") == "sdk" for c in servers.values()
    ):
        live.append("mcp_servers")
    return live


def rebuild_options(stored: dict[str, Any]) -> Any:
    """``ClaudeAgentOptions`` from :func:`identifying_options` data (no live parts)."""
    from claude_agent_sdk import ClaudeAgentOptions

    return ClaudeAgentOptions(**stored)
