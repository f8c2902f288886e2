"""Humans in the loop: tool approvals, ``hitl_tool`` and external events, all on ``kitaru.wait()``.

Each question is a Kitaru wait. Unanswered, it suspends the execution (after its timeout) and
the process can stop; once someone answers (``kitaru executions input``) and the execution
resumes, every recorded model request and tool call is reused and the run carries on from the
answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, JsonValue
from pydantic_ai.durable_exec import ExternalEventWaiter
from pydantic_ai.tools import (
    AgentDepsT,
    DeferredToolRequests,
    DeferredToolResults,
    RunContext,
    Tool,
    ToolApproved,
    ToolDenied,
)

from kitaru_core import toolkit
from kitaru_core.errors import KitaruError
from kitaru_pydantic_ai._capability import DEFAULT_TIMEOUT, KitaruDurability


class ApprovalAnswer(BaseModel):
    """A detailed answer to a tool approval; a plain ``true``/``false`` works as well."""

    approved: bool
    message: str | None = None
    override_args: dict[str, Any] | None = None


Approval = bool | ApprovalAnswer
"""What an approval wait accepts: ``true``, ``false`` or an :class:`ApprovalAnswer`."""


def _args_text(args: Any) -> str:
    if isinstance(args, str):
        return args
    return json.dumps(args, sort_keys=True, default=str)


def _decision(answer: Approval) -> ToolApproved | ToolDenied:
    if isinstance(answer, bool):
        return ToolApproved() if answer else ToolDenied()
    if answer.approved:
        return ToolApproved(override_args=answer.override_args)
    return ToolDenied(answer.message or "The user denied this tool call.")


def approval_handler(
    agent_name: str, *, timeout: float | None = DEFAULT_TIMEOUT
) -> Callable[[RunContext[Any], DeferredToolRequests], Awaitable[DeferredToolResults | None]]:
    """A deferred-tool-calls handler that asks a human about each call needing approval."""

    async def handle(
        ctx: RunContext[Any], requests: DeferredToolRequests
    ) -> DeferredToolResults | None:
        if not requests.approvals:
            return None
        decisions: dict[str, bool | ToolApproved | ToolDenied] = {}
        for call in requests.approvals:
            args = _args_text(call.args)
            answer: Approval = await toolkit.aask_human(
                f"Allow agent {agent_name!r} to call {call.tool_name}({args})?",
                Approval,
                name=f"approve_{call.tool_name}",
                timeout=timeout,
                metadata={
                    "agent": agent_name,
                    "tool_name": call.tool_name,
                    "args": args,
                    "tool_call_id": call.tool_call_id,
                    "metadata": requests.metadata.get(call.tool_call_id),
                },
            )
            decisions[call.tool_call_id] = _decision(answer)
        return requests.build_results(approvals=decisions)

    return handle


class ApprovingDurability(KitaruDurability[AgentDepsT]):
    """``KitaruDurability`` that also answers tool approvals through ``kitaru.wait()``.

    One capability instead of the durability one plus a ``HandleDeferredToolCalls``: Pydantic AI
    passes every hook of a run through each capability (a copy of the run context each time), so
    one fewer is cheaper per model request and tool call. Deferred calls reach it after the
    agent's own capabilities, as they reached the separate handler (durability is innermost).
    """

    def __init__(self, *, approval_timeout: float | None = DEFAULT_TIMEOUT, **options: Any) -> None:
        super().__init__(**options)
        self._approve = approval_handler(self.name, timeout=approval_timeout)

    async def handle_deferred_tool_calls(
        self, ctx: RunContext[AgentDepsT], *, requests: DeferredToolRequests
    ) -> DeferredToolResults | None:
        """Ask a human about each call that needs approval (``None`` when none does)."""
        return await self._approve(ctx, requests)


def hitl_tool(
    question: str | None = None,
    *,
    schema: Any = str,
    name: str = "ask_human",
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Tool[Any]:
    """A tool the model calls to ask a human; the answer (validated by ``schema``) is its result.

    With ``question``, the human sees that question plus the ``context`` the model passes;
    without it, the model writes the ``question`` itself. Inside a flow the tool call waits
    through ``kitaru.wait()``: unanswered, the execution suspends and resumes after ``input``.
    """
    if question is None:

        async def ask_human(question: str) -> Any:
            return await toolkit.aask_human(question, schema, name=name, timeout=timeout)

        text = description or "Ask a human a question and return their answer."
    else:
        fixed = question

        async def ask_human(context: str) -> Any:  # type: ignore[misc]
            asked = f"{fixed}\n\n{context}" if context else fixed
            return await toolkit.aask_human(asked, schema, name=name, timeout=timeout)

        text = description or f"Ask a human: {question} Pass what they need to know as context."
    return Tool(ask_human, name=name, description=text, takes_ctx=False)


class KitaruEventWaiter(ExternalEventWaiter):
    """Answers Pydantic AI's external-event waits (``RequestInput``) with ``kitaru.wait()``."""

    def __init__(self, agent_name: str, *, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self.agent_name = agent_name
        self.timeout = timeout

    async def wait(
        self,
        name: str,
        *,
        ask: Callable[[str], Awaitable[JsonValue]],
        timeout: timedelta | None,
    ) -> JsonValue:
        """Record ``ask(token)`` once; unless it answered, wait for the token to be resolved."""
        exec_id = toolkit.current_execution_id()
        if exec_id is None:
            raise KitaruError("An external-event wait needs a running flow.")
        n = toolkit.ordinal(f"pydantic_ai.event:{self.agent_name}:{name}")
        token = f"{exec_id}/{self.agent_name}/{name}/{n}"
        answer = await toolkit.arun_operation(
            f"{self.agent_name}__external_event.{name}.ask",
            lambda: ask(token),
            kind="pydantic_ai",
            identity=toolkit.Identity(toolkit.digest(token), json.dumps({"token": token})),
        )
        if answer is not None:
            return answer
        seconds = timeout.total_seconds() if timeout is not None else self.timeout
        result: JsonValue = await toolkit.aask_human(
            f"Agent {self.agent_name!r} waits for {name!r} (token {token}).",
            JsonValue,
            name=name,
            timeout=seconds,
            metadata={"agent": self.agent_name, "token": token},
        )
        return result
