"""Permission prompts (``can_use_tool``) answered by a human through ``kitaru.wait()``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from kitaru_claude_agent_sdk._names import PERMISSION_WAIT
from kitaru_core import toolkit


class PermissionAnswer(BaseModel):
    """A human's answer to a permission prompt: ``{"allow": true}`` or ``{"allow": false,
    "message": "why"}``; ``updated_input`` replaces the tool's input when allowing."""

    allow: bool
    message: str = ""
    updated_input: dict[str, Any] | None = None


def question(tool_name: str, tool_input: dict[str, Any]) -> str:
    """The wait's question: it names the tool and its input, so a re-asked request (the same
    tool with the same input, after a resume) finds the stored answer."""
    return f"Allow Claude to use {tool_name} with {toolkit.canonical_json(tool_input)}?"


def ask_permission(timeout: float | None = 600, name: str = PERMISSION_WAIT) -> Any:
    """A ``can_use_tool`` callback that asks a human through ``kitaru.wait()``.

    Inside a flow, an unanswered prompt suspends the execution after ``timeout`` seconds (the
    CLI process ends); answer it with ``kitaru executions input ID --value '{"allow": true}'``
    (or the client, or the dashboard) and resume: the invocation continues its session and the
    answer is matched to the re-asked request by tool name and input. Outside a flow there is
    nobody to ask through Kitaru: the prompt is denied.
    """

    async def can_use_tool(tool_name: str, tool_input: dict[str, Any], context: Any) -> Any:
        from claude_agent_sdk import PermissionResultAllow, PermissionResultDeny

        if not toolkit.in_flow():
            return PermissionResultDeny(message="No Kitaru flow runs to ask a human through.")
        answer: PermissionAnswer = await toolkit.aask_human(
            question(tool_name, tool_input),
            PermissionAnswer,
            name=name,
            timeout=timeout,
            metadata={"tool_name": tool_name, "tool_input": tool_input},
        )
        if answer.allow:
            return PermissionResultAllow(updated_input=answer.updated_input)
        return PermissionResultDeny(message=answer.message or "Denied by a human through Kitaru.")

    return can_use_tool
