"""``DurableClaudeClient``: ``ClaudeSDKClient`` whose every exchange is one durable operation.

An exchange is a ``query(prompt)`` and the response that ends with its ``ResultMessage``. Inside
a flow the exchange runs when its response is read (``receive_response`` or
``receive_messages``): a recorded one is replayed without starting the CLI, and the CLI starts
only for the first exchange that must run, continuing the session of the exchanges replayed
before it (``resume=``) so Claude still sees the whole conversation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from kitaru_claude_agent_sdk._autoflow import client_flow, summary
from kitaru_claude_agent_sdk._invocation import (
    CONTINUE_PROMPT,
    Live,
    durable_stream,
    guard,
    session_of,
)
from kitaru_claude_agent_sdk._names import CLIENT_QUERY
from kitaru_claude_agent_sdk._options import (
    has_live_parts,
    identifying_options,
    runtime_options,
)
from kitaru_claude_agent_sdk._query import _messages, continued, prompt_value
from kitaru_claude_agent_sdk._session_store import with_session_store
from kitaru_core import toolkit
from kitaru_core.errors import KitaruError


class DurableClaudeClient:
    """``ClaudeSDKClient(options)`` with the same methods, each exchange durable.

    Identity of an exchange: its prompt, the identifying options and the prompts of the
    exchanges before it in this client. Outside a flow each exchange opens an execution.
    """

    def __init__(self, options: Any = None) -> None:
        from claude_agent_sdk import ClaudeAgentOptions

        self.options = options or ClaudeAgentOptions()
        self._client: Any = None
        self._client_session: str | None = None
        self._session: str | None = self.options.resume
        self._pending: list[Any] = []
        self._history: list[str] = []
        self._live: Live | None = None
        self._current: Any = None

    # connection ---------------------------------------------------------------------------

    async def connect(self, prompt: Any = None) -> None:
        """Ready the client; the CLI starts when the first exchange really runs."""
        if prompt is not None:
            await self.query(prompt)

    async def disconnect(self) -> None:
        """Stop the CLI, if one runs."""
        client, self._client = self._client, None
        if client is not None:
            await client.disconnect()

    async def __aenter__(self) -> DurableClaudeClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.disconnect()

    async def interrupt(self) -> None:
        """Interrupt the exchange the CLI is running (nothing while replaying)."""
        if self._client is not None:
            await self._client.interrupt()

    async def _open(self, resume: str | None) -> Any:
        from claude_agent_sdk import ClaudeSDKClient

        if self._client is not None and (resume is None or resume == self._client_session):
            return self._client
        await self.disconnect()
        options = dataclasses.replace(
            self.options, can_use_tool=guard(self.options.can_use_tool, lambda: self._live)
        )
        options = with_session_store(options)
        if resume is not None:
            options = continued(options, resume)
        self._client = ClaudeSDKClient(options)
        self._client_session = resume
        await self._client.connect()
        return self._client

    # exchanges ----------------------------------------------------------------------------

    async def query(self, prompt: Any, session_id: str = "default") -> None:
        """Queue ``prompt``; it is sent when its response is read."""
        if session_id != "default":
            raise KitaruError(
                "DurableClaudeClient.query(session_id=...) is not supported: use one "
                "DurableClaudeClient per conversation."
            )
        self._pending.append(await prompt_value(prompt))

    async def receive_response(self) -> AsyncGenerator[Any, None]:
        """The messages of the oldest queued exchange, up to and including its result."""
        if not self._pending:
            raise KitaruError(
                "DurableClaudeClient.receive_response() has no query to answer: call "
                "query(prompt) first."
            )
        prompt = self._pending.pop(0)
        if toolkit.in_flow():
            async with aclosing(self._exchange(prompt)) as exchange:
                async for message in exchange:
                    yield message
            return
        arguments = {
            "prompt": prompt,
            "options": identifying_options(self.options),
            "live_parts": has_live_parts(self.options),
            "client": self.position(),
            "runtime": runtime_options(self.options),
        }
        seen: list[Any] = []
        with client_flow.open(arguments) as opened:
            async with aclosing(self._exchange(prompt)) as exchange:
                async for message in exchange:
                    seen.append(message)
                    yield message
            opened.value = summary(seen)

    async def receive_messages(self) -> AsyncGenerator[Any, None]:
        """The messages of every queued exchange, in order (each ends with its result)."""
        while self._pending:
            async with aclosing(self.receive_response()) as response:
                async for message in response:
                    yield message

    def position(self) -> dict[str, Any]:
        """Where the conversation stands (stored to resume an automatic execution)."""
        return {"session": self._session, "history": list(self._history)}

    def restore(self, position: dict[str, Any]) -> None:
        """Continue from a :meth:`position`."""
        self._session = position.get("session")
        self._history = list(position.get("history") or [])

    async def _exchange(self, prompt: Any) -> AsyncGenerator[Any, None]:
        inputs = {
            "prompt": prompt,
            "options": identifying_options(self.options),
            "history": list(self._history),
        }
        self._current = prompt
        async with aclosing(durable_stream(CLIENT_QUERY, inputs, self._run)) as stream:
            async for message in stream:
                session = session_of(message)
                if session is not None:
                    self._session = session
                yield message
        self._history.append(toolkit.digest(toolkit.canonical_json(prompt)))

    def _run(self, live: Live) -> AsyncIterator[Any]:
        return self._live_exchange(live)

    async def _live_exchange(self, live: Live) -> AsyncGenerator[Any, None]:
        prompt = self._current
        self._live = live
        if live.resume is not None:
            client = await self._open(live.resume)
            text: Any = CONTINUE_PROMPT
        else:
            client = await self._open(self._session if self._client is None else None)
            text = prompt if isinstance(prompt, str) else _messages(prompt)
        await client.query(text)
        response = client.receive_response()
        finished = False
        try:
            async for message in response:
                finished = type(message).__name__ == "ResultMessage"
                yield message
        finally:
            await response.aclose()
            if not finished:  # left mid-response: the connection's state is unknown
                await self.disconnect()
