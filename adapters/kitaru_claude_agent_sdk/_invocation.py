"""One durable invocation: run live and record its message stream, or replay the record.

The whole invocation is one operation. Its body runs the CLI in a task of its own and hands
each message to the caller as it arrives (the stream is not held back until the end); the
operation's output is the :class:`Recording` of every message. A resumed flow gets the recorded
messages back, in order and as the same types, without starting the CLI.

The CLI session id is written to the execution's metadata as soon as the first message
carrying it arrives, keyed by the operation's id. When a crash (or a permission prompt that
suspended the flow) stopped the invocation before it completed, the next run of that same
operation continues that session with ``resume=`` instead of starting over.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

from kitaru_claude_agent_sdk._names import SESSIONS_KEY
from kitaru_claude_agent_sdk._serializers import Recording
from kitaru_core import toolkit
from kitaru_core.errors import ExecutionCancelled, ExecutionSuspended, ExecutionTakenOver

CONTROL_FLOW = (ExecutionSuspended, ExecutionCancelled, ExecutionTakenOver)

CONTINUE_PROMPT = (
    "This session was interrupted before it finished: the process that ran it stopped. "
    "Continue the request from where it stopped, without redoing steps that already completed."
)
"""What a continued session is told (the original request is in the session already)."""

LiveRun = Callable[["Live"], AsyncIterator[Any]]
"""Starts the CLI for one live run: ``live.resume`` is the session to continue, if any."""


class Live:
    """One live run of an invocation: the session it continues, and how to stop it when a
    callback (a permission prompt) suspends or cancels the flow."""

    def __init__(self, resume: str | None) -> None:
        self.resume = resume
        self.stopped: BaseException | None = None
        self.task: asyncio.Task[None] | None = None
        self.context: contextvars.Context | None = None
        """The context of the operation this run belongs to (callbacks run in it)."""

    def stop(self, exc: BaseException) -> None:
        """End the run (the CLI process ends with it) and raise ``exc`` from the invocation."""
        if self.stopped is None:
            self.stopped = exc
        if self.task is not None:
            self.task.cancel()


def guard(callback: Callable[..., Awaitable[Any]] | None, live: Callable[[], Live | None]) -> Any:
    """``callback`` (a ``can_use_tool``) with Kitaru's suspension carried out of the SDK.

    The SDK runs the callback in a task of its own and turns its exceptions into an error for
    the CLI; a ``kitaru.wait()`` that suspends the flow must stop the invocation instead (the
    one ``live()`` returns when the callback runs). The callback runs in the context of that
    run's operation: a client's connection outlives the exchange that opened it.
    """
    if callback is None:
        return None

    async def can_use_tool(tool_name: str, tool_input: dict[str, Any], context: Any) -> Any:
        running = live()

        async def call() -> Any:
            return await callback(tool_name, tool_input, context)

        try:
            if running is not None and running.context is not None:
                return await asyncio.create_task(call(), context=running.context)
            return await call()
        except CONTROL_FLOW as exc:
            if running is None:
                raise
            running.stop(exc)
            from claude_agent_sdk import PermissionResultDeny

            return PermissionResultDeny(message=str(exc), interrupt=True)

    return can_use_tool


def stored_session(op_id: str) -> str | None:
    """The CLI session of an earlier, unfinished run of operation ``op_id``."""
    sessions = toolkit.execution_metadata(SESSIONS_KEY) or {}
    found = sessions.get(op_id)
    return found if isinstance(found, str) else None


def remember_session(op_id: str, session_id: str) -> None:
    """Store the CLI session of operation ``op_id`` at once (a crash may follow)."""
    sessions = dict(toolkit.execution_metadata(SESSIONS_KEY) or {})
    if sessions.get(op_id) != session_id:
        sessions[op_id] = session_id
        toolkit.set_execution_metadata(SESSIONS_KEY, sessions)


def session_of(message: Any) -> str | None:
    """The CLI session id a message carries, if any."""
    session = getattr(message, "session_id", None)
    if session is None:
        data = getattr(message, "data", None)
        if isinstance(data, dict):
            session = data.get("session_id")
    return session if isinstance(session, str) and session else None


def model_of(message: Any) -> str | None:
    """The model named by an init system message or an assistant message."""
    model = getattr(message, "model", None)
    if model is None and getattr(message, "subtype", None) == "init":
        model = getattr(message, "data", {}).get("model")
    return model if isinstance(model, str) else None


def report_result(result: Any, model: str | None, first: bool) -> None:
    """Tokens and cost of a ``ResultMessage`` on the running operation."""
    usage = result.usage or {}
    cache_write = int(usage.get("cache_creation_input_tokens") or 0)
    cache_read = int(usage.get("cache_read_input_tokens") or 0)
    toolkit.report_usage(
        model,
        int(usage.get("input_tokens") or 0) + cache_write + cache_read,
        int(usage.get("output_tokens") or 0),
        result.total_cost_usd,
        provider="anthropic",
        latency=(result.duration_ms or 0) / 1000,
        details={
            "session_id": result.session_id,
            "num_turns": result.num_turns,
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read,
        },
        standalone=first,
    )


async def record_live(live: Live, run: LiveRun, sink: Callable[[Any], None]) -> Recording:
    """Run the CLI once, handing each message to ``sink``; the recording of them all."""
    from claude_agent_sdk import ResultMessage

    operation = toolkit.current_operation()
    recording = Recording()
    model: str | None = None
    results = 0

    async def consume() -> None:
        stream = run(live)
        try:
            await take(stream)
        finally:  # stop the CLI now, not when the generator is collected
            await stream.aclose()  # type: ignore[attr-defined]

    async def take(stream: AsyncIterator[Any]) -> None:
        nonlocal model, results
        async for message in stream:
            session = session_of(message)
            if session and recording.session_id is None:
                recording.session_id = session
                if operation is not None:
                    remember_session(operation.op_id, session)
            model = model_of(message) or model
            if isinstance(message, ResultMessage):
                report_result(message, model, results == 0)
                results += 1
            recording.messages.append(message)
            sink(message)

    live.context = contextvars.copy_context()
    live.task = asyncio.create_task(consume())
    try:
        await live.task
    except asyncio.CancelledError:
        if live.stopped is not None:
            raise live.stopped from None
        raise
    if live.stopped is not None:
        raise live.stopped
    return recording


async def durable_stream(name: str, inputs: Any, run: LiveRun) -> AsyncGenerator[Any, None]:
    """The messages of one invocation, recorded as operation ``name`` or replayed from it."""
    if not toolkit.in_durable_unit():
        stream = run(Live(None))
        try:
            async for message in stream:
                yield message
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return
    queue: asyncio.Queue[Any] = asyncio.Queue()
    ran = False

    async def call() -> Recording:
        nonlocal ran
        ran = True
        operation = toolkit.current_operation()
        session = stored_session(operation.op_id) if operation is not None else None
        if session is None:
            return await record_live(Live(None), run, queue.put_nowait)
        handed: list[Any] = []

        def sink(message: Any) -> None:
            handed.append(message)
            queue.put_nowait(message)

        try:
            return await record_live(Live(session), run, sink)
        except CONTROL_FLOW:
            raise
        except Exception:
            if handed:
                raise
        # The CLI could not continue the session before saying anything (its transcript is in
        # no store this machine reads): start the invocation over rather than fail forever.
        return await record_live(Live(None), run, queue.put_nowait)

    task = asyncio.create_task(toolkit.arun_operation(name, call, kind="agent", inputs=inputs))
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
                continue
            getter.cancel()
            break
        while not queue.empty():
            yield queue.get_nowait()
        recording: Recording = task.result()
        if not ran:  # reused: the recorded stream, and no CLI
            for message in recording.messages:
                yield message
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
