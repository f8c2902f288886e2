"""``durable_query``: ``claude_agent_sdk.query`` as one durable operation per invocation."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any

from kitaru_claude_agent_sdk import _autoflow
from kitaru_claude_agent_sdk._invocation import CONTINUE_PROMPT, Live, durable_stream, guard
from kitaru_claude_agent_sdk._names import QUERY
from kitaru_claude_agent_sdk._options import identifying_options
from kitaru_claude_agent_sdk._session_store import with_session_store
from kitaru_core import toolkit
from kitaru_core.errors import KitaruError

Prompt = str | Iterable[dict[str, Any]] | AsyncIterable[dict[str, Any]]


async def prompt_value(prompt: Prompt) -> str | list[dict[str, Any]]:
    """A prompt as stored data: text, or the list of streamed user messages (read once)."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, AsyncIterable):
        return [message async for message in prompt]
    if isinstance(prompt, Iterable):
        return list(prompt)
    raise KitaruError(
        f"durable_query(prompt=...) takes a string or user messages (dicts), not a "
        f"{type(prompt).__qualname__}."
    )


async def _messages(messages: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for message in messages:
        yield message


def continued(options: Any, session: str) -> Any:
    """``options`` that continue CLI session ``session`` (not fork it, not start another)."""
    return dataclasses.replace(
        options, resume=session, fork_session=False, session_id=None, continue_conversation=False
    )


async def query_stream(
    prompt: str | list[dict[str, Any]], options: Any
) -> AsyncGenerator[Any, None]:
    """The messages of one invocation inside a flow (recorded, replayed or continued)."""
    from claude_agent_sdk import ClaudeAgentOptions, query

    options = options or ClaudeAgentOptions()
    inputs = {"prompt": prompt, "options": identifying_options(options)}

    def run(live: Live) -> AsyncIterator[Any]:
        chosen = dataclasses.replace(
            options, can_use_tool=guard(options.can_use_tool, lambda: live)
        )
        chosen = with_session_store(chosen)
        text: Any = prompt if isinstance(prompt, str) else _messages(prompt)
        if live.resume is not None:
            chosen, text = continued(chosen, live.resume), CONTINUE_PROMPT
        return query(prompt=text, options=chosen)

    async with aclosing(durable_stream(QUERY, inputs, run)) as stream:
        async for message in stream:
            yield message


async def durable_query(prompt: Prompt, options: Any = None) -> AsyncGenerator[Any, None]:
    """``claude_agent_sdk.query(prompt=..., options=...)``, durable.

    Yields the same messages. Inside a ``@flow`` the whole invocation is one operation
    (``claude.query``) whose message stream is recorded: on resume a completed invocation
    yields its recorded messages without starting the CLI (so its tools do not run again), and
    one interrupted by a crash continues its CLI session (``resume=``). Outside a flow it opens
    an execution of its own. Identity: the prompt and the options listed in the docs
    (docs/adapters/claude-agent-sdk.md); callbacks and in-process MCP servers are not part of it.
    """
    value = await prompt_value(prompt)
    if not toolkit.in_flow():
        async with aclosing(_autoflow.query_in_execution(value, options)) as automatic:
            async for message in automatic:
                yield message
        return
    async with aclosing(query_stream(value, options)) as stream:
        async for message in stream:
            yield message
