"""An invocation outside any ``@flow`` opens an execution of its own.

The execution stores the prompt and the identifying options (``_options.py``), so
``kitaru executions resume`` can run the invocation again in any process: a completed one is
replayed, an interrupted one continues its CLI session. Callbacks and in-process MCP servers
cannot be stored: an automatic execution whose invocation used them records that, and resuming
it elsewhere is refused with what to do instead (call ``durable_query`` inside your own
``@flow``, whose code rebuilds them).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from kitaru_claude_agent_sdk._options import (
    has_live_parts,
    identifying_options,
    rebuild_options,
    runtime_options,
)
from kitaru_core.errors import KitaruError
from kitaru_core.toolkit import AutomaticFlow

FLOW_NAME = "claude_query"
CLIENT_FLOW_NAME = "claude_client"


async def _query_flow_body(
    prompt: Any,
    options: dict[str, Any] | None = None,
    live_parts: list[str] | None = None,
    client: dict[str, Any] | None = None,
    runtime: dict[str, Any] | None = None,
) -> Any:
    """Run the stored invocation (or client exchange) again: replay it, or continue its session.

    ``client`` holds what identifies a ``DurableClaudeClient`` exchange besides its prompt: the
    session it continued and the prompts of the exchanges before it.
    """
    from kitaru_claude_agent_sdk._client import DurableClaudeClient
    from kitaru_claude_agent_sdk._query import query_stream

    if live_parts:
        raise KitaruError(
            f"This automatic Claude execution used {', '.join(live_parts)} (callbacks or "
            "in-process MCP servers), which cannot be stored, so it cannot be resumed from "
            "its stored arguments. Call durable_query() inside your own @flow: its code "
            "rebuilds them on resume."
        )
    rebuilt = rebuild_options({**(options or {}), **(runtime or {})})
    if client is None:
        return summary([m async for m in query_stream(prompt, rebuilt)])
    async with DurableClaudeClient(rebuilt) as durable:
        durable.restore(client)
        await durable.query(prompt)
        return summary([m async for m in durable.receive_response()])


query_flow = AutomaticFlow(_query_flow_body, name=FLOW_NAME, attribute="query_flow")
"""The flow of every automatic invocation, recorded as
``kitaru_claude_agent_sdk._autoflow:query_flow``."""

client_flow = AutomaticFlow(_query_flow_body, name=CLIENT_FLOW_NAME, attribute="client_flow")
"""The flow of every automatic client exchange (``..._autoflow:client_flow``)."""


def summary(messages: list[Any]) -> dict[str, Any]:
    """The result of an automatic execution: the final result text and the session."""
    from claude_agent_sdk import ResultMessage

    results = [m for m in messages if isinstance(m, ResultMessage)]
    if not results:
        return {"result": None, "session_id": None, "messages": len(messages)}
    last = results[-1]
    return {"result": last.result, "session_id": last.session_id, "messages": len(messages)}


async def query_in_execution(prompt: Any, options: Any) -> AsyncGenerator[Any, None]:
    """The invocation's messages, inside an execution opened for it (and recorded there)."""
    from kitaru_claude_agent_sdk._query import query_stream

    arguments = {
        "prompt": prompt,
        "options": identifying_options(options),
        "live_parts": has_live_parts(options),
        "runtime": runtime_options(options),
    }
    seen: list[Any] = []
    with query_flow.open(arguments) as opened:
        async with aclosing(query_stream(prompt, options)) as stream:
            async for message in stream:
                seen.append(message)
                yield message
        opened.value = summary(seen)
