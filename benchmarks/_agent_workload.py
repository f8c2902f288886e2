"""The agent every adapter_overhead.py system runs: Pydantic AI only, offline, deterministic.

A ``FunctionModel`` asks for one ``fetch`` tool call per model request until it has made ``n``
of them, then answers in text: ``n + 1`` model requests and ``n`` tool calls, each tool call
returning ~800 bytes, so the conversation grows by ~1 KB per step. Imported by Kitaru's side
(benchmarks/_kitaru_agent.py) and by each peer (benchmarks/_peers/*_agent.py) in their own venvs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import UsageLimits

PROMPT = "Collect the records and summarise them."
RETURN_BYTES = 800


def record(index: int) -> str:
    """The tool's answer for ``index``: ~800 bytes of text, different per index."""
    head = f"record {index}: "
    body = "".join(f"{(index * 31 + i) % 997:03d} " for i in range(RETURN_BYTES // 4))
    return (head + body)[:RETURN_BYTES]


def make_agent(n: int, name: str = "bench") -> Agent[None, str]:
    """An agent that makes ``n`` tool calls, one per model request, then answers."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        step = sum(isinstance(m, ModelResponse) for m in messages)
        if step < n:
            call = ToolCallPart("fetch", {"index": step}, tool_call_id=f"call-{step}")
            return ModelResponse(parts=[call])
        return ModelResponse(parts=[TextPart(f"collected {step} records")])

    agent: Agent[None, str] = Agent(FunctionModel(respond, model_name="bench-model"), name=name)

    @agent.tool_plain
    def fetch(index: int) -> str:
        """Fetch one record."""
        return record(index)

    return agent


def options(n: int) -> dict[str, Any]:
    """Run options: room for the ``n + 1`` model requests (the default limit is 50)."""
    return {"usage_limits": UsageLimits(request_limit=n + 1)}


def check(result: Any, n: int) -> None:
    """The run really made its ``n`` tool calls."""
    assert result.output == f"collected {n} records", result.output


def timed_ms(start_run: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """Wall milliseconds of one awaited run, and its result (the event loop's set-up excluded)."""
    wall, _cpu, out = timed(start_run)
    return wall, out


def timed(start_run: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    """Wall and CPU milliseconds of one awaited run (CPU of the whole process, every thread),
    and its result. CPU time hardly moves when a shared machine takes the core away."""

    async def timed_run() -> tuple[float, float, Any]:
        start, cpu = time.perf_counter(), time.process_time()
        out = await start_run()
        return (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000, out

    return asyncio.run(timed_run())
