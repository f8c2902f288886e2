"""Function tools as durable operations, and tool approvals answered through ``kitaru.wait()``."""

from __future__ import annotations

import copy
from typing import Any

from agents import FunctionTool
from agents.items import ToolApprovalItem
from agents.run_state import RunState
from pydantic import BaseModel

from kitaru_core import toolkit
from kitaru_openai_agents._identity import tool_inputs

DEFAULT_TIMEOUT: float | None = 600
"""Seconds an approval is polled for an answer before the execution suspends."""


def durable_tool(tool: FunctionTool) -> FunctionTool:
    """A copy of ``tool`` whose calls are ``<agent>__tool.<name>`` operations inside a flow.

    A call is identified by the tool, its arguments and the call id the model gave it (the
    model's responses are recorded, so the call id is the same on resume).
    """
    original = tool.on_invoke_tool
    name = tool.name

    async def invoke(ctx: Any, arguments: str) -> Any:
        if not toolkit.in_durable_unit():
            return await original(ctx, arguments)
        agent = getattr(getattr(ctx, "agent", None), "name", None) or "agent"
        inputs = tool_inputs(name, arguments, getattr(ctx, "tool_call_id", None))

        async def call() -> Any:
            return await original(ctx, arguments)

        return await toolkit.arun_operation(
            f"{agent}__tool.{name}", call, kind="tool", inputs=inputs
        )

    # The SDK reads the wrapper's type hints at every call (to pick the context it passes): as
    # objects, not strings, they are not compiled again each time.
    invoke.__annotations__ = {"ctx": Any, "arguments": str, "return": Any}
    wrapped = copy.copy(tool)
    wrapped.on_invoke_tool = invoke
    return wrapped


class ApprovalAnswer(BaseModel):
    """A detailed answer to a tool approval; a plain ``true``/``false`` works as well."""

    approved: bool
    message: str | None = None


Approval = bool | ApprovalAnswer
"""What an approval wait accepts: ``true``, ``false`` or an :class:`ApprovalAnswer`."""


def _approval_facts(item: ToolApprovalItem) -> dict[str, Any]:
    raw = item.raw_item
    get = raw.get if isinstance(raw, dict) else lambda key, default=None: getattr(raw, key, default)
    return {
        "agent": getattr(item.agent, "name", None),
        "tool_name": item.tool_name or get("name"),
        "arguments": get("arguments"),
        "call_id": get("call_id"),
    }


async def answer_approvals(
    state: RunState[Any], interruptions: list[ToolApprovalItem], *, timeout: float | None
) -> None:
    """Ask a human about each interrupted tool call (one wait each); approve or reject it."""
    for item in interruptions:
        facts = _approval_facts(item)
        answer: Approval = await toolkit.aask_human(
            f"Allow agent {facts['agent']!r} to call {facts['tool_name']}({facts['arguments']})?",
            Approval,
            name=f"approve_{facts['tool_name']}",
            timeout=timeout,
            metadata=facts,
        )
        if isinstance(answer, bool):
            answer = ApprovalAnswer(approved=answer)
        if answer.approved:
            state.approve(item)
        else:
            state.reject(item, rejection_message=answer.message)
