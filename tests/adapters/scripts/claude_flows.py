"""Scenarios for the Claude Agent SDK adapter's subprocess tests, run through the fake ``claude``
(tests/adapters/fake_claude/claude; its script comes from ``$FAKE_CLAUDE_SCRIPT``).

``python claude_flows.py two|guarded|conversation``: runs that flow and prints its result as
JSON, or ``suspended <exec id>`` (exit 3) when it waits for a human. The in-process SDK MCP tool
``add`` and the fake CLI note every call that really runs (``testing.note_call``), so the
contract kit sees what ran twice. ``$CLAUDE_KILL_AFTER_FIRST`` (a marker file) SIGKILLs the
process once, right after the first exchange of ``conversation``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from claude_agent_sdk import ClaudeAgentOptions, ResultMessage, create_sdk_mcp_server, tool

import kitaru
from kitaru.adapters.claude_agent_sdk import DurableClaudeClient, ask_permission, durable_query
from kitaru_core import testing
from kitaru_core.errors import ExecutionSuspended

FAKE = Path(__file__).resolve().parents[1] / "fake_claude" / "claude"


@tool("add", "Add two numbers", {"a": int, "b": int})
async def add(args: dict[str, Any]) -> dict[str, Any]:
    testing.note_call(f"tool add {args['a']} {args['b']}")
    return {"content": [{"type": "text", "text": str(args["a"] + args["b"])}]}


def options(**extra: Any) -> ClaudeAgentOptions:
    calc = create_sdk_mcp_server("calc", tools=[add])
    return ClaudeAgentOptions(cli_path=str(FAKE), mcp_servers={"calc": calc}, **extra)


@kitaru.flow
async def two_invocations() -> list[Any]:
    results = []
    for prompt in ("first", "second"):
        async for message in durable_query(prompt, options()):
            if isinstance(message, ResultMessage):
                results.append(message.result)
    return results


@kitaru.flow
async def guarded() -> list[Any]:
    results = []
    async for message in durable_query("deploy", options(can_use_tool=ask_permission(timeout=0))):
        if isinstance(message, ResultMessage):
            results.append(message.result)
    return results


@kitaru.flow
async def conversation() -> list[Any]:
    results = []
    async with DurableClaudeClient(options()) as client:
        for prompt in ("first", "second"):
            await client.query(prompt)
            async for message in client.receive_response():
                if isinstance(message, ResultMessage):
                    results.append(message.result)
            marker = os.environ.get("CLAUDE_KILL_AFTER_FIRST")
            if marker and not Path(marker).exists():
                Path(marker).write_text("killed")
                os.kill(os.getpid(), signal.SIGKILL)
    return results


FLOWS = {"two": two_invocations, "guarded": guarded, "conversation": conversation}

if __name__ == "__main__":
    testing.arm_kill_switch()
    try:
        print(json.dumps(asyncio.run(FLOWS[sys.argv[1]]())))
    except ExecutionSuspended as exc:
        print(f"suspended {exc.exec_id}")
        sys.exit(3)
