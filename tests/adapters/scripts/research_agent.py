"""A Pydantic AI research agent on a FunctionModel, for crash/resume/approval tests.

    python research_agent.py flow|standalone|approval

Every model request and every tool call appends a line to the file named by KITARU_TEST_LOG, so
a test can count what ran across processes. With KITARU_TEST_KILL_AFTER=N the process kills
itself with SIGKILL right after the N-th tool call has been recorded. Resuming (through
``kitaru executions resume``) imports this file without running the block at the bottom.
"""

from __future__ import annotations

import os
import signal
import sys

from pydantic_ai import Agent, FunctionToolset
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

import kitaru
from kitaru.adapters.pydantic_ai import DurableAgent
from kitaru_core.hookspecs import hookimpl

STEPS = ("search", "fetch", "read", "summarize")


def note(line: str) -> None:
    with open(os.environ["KITARU_TEST_LOG"], "a") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())


def plan(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    step = sum(isinstance(m, ModelResponse) for m in messages)
    note(f"model {step}")
    if step < len(STEPS):
        args = {"topic": f"durable agents {step}"}
        return ModelResponse(parts=[ToolCallPart(STEPS[step], args, tool_call_id=f"call-{step}")])
    return ModelResponse(parts=[TextPart(f"report after {step} steps")])


tools = FunctionToolset(id="research")


@tools.tool_plain
def search(topic: str) -> str:
    note("tool search")
    return f"3 results for {topic}"


@tools.tool_plain
def fetch(topic: str) -> str:
    note("tool fetch")
    return f"page about {topic}"


@tools.tool_plain
def read(topic: str) -> str:
    note("tool read")
    return f"notes on {topic}"


@tools.tool_plain
def summarize(topic: str) -> str:
    note("tool summarize")
    return f"summary of {topic}"


@tools.tool_plain(requires_approval=True)
def publish(topic: str) -> str:
    note("tool publish")
    return f"published {topic}"


def publish_plan(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    step = sum(isinstance(m, ModelResponse) for m in messages)
    note(f"model {step}")
    if step == 0:
        return ModelResponse(parts=[ToolCallPart("search", {"topic": "x"}, tool_call_id="s")])
    if step == 1:
        return ModelResponse(parts=[ToolCallPart("publish", {"topic": "x"}, tool_call_id="p")])
    return ModelResponse(parts=[TextPart("published")])


researcher = DurableAgent(
    Agent(FunctionModel(plan, model_name="gpt-4o-mini"), name="researcher", toolsets=[tools])
)
publisher = DurableAgent(
    Agent(FunctionModel(publish_plan), name="publisher", toolsets=[tools]), approval_timeout=0
)


@kitaru.flow
def research(topic: str) -> str:
    return researcher.run_sync(topic).output


@kitaru.flow
def publish_flow(topic: str) -> str:
    return publisher.run_sync(topic).output


class KillAfterToolCalls:
    """Kills this process once the N-th tool call is recorded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen = 0

    @hookimpl
    def on_operation_event(self, event: str, operation: object) -> None:
        if event == "completed" and getattr(operation, "kind", None) == "tool":
            self.seen += 1
            if self.seen == self.limit:
                os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    from kitaru_core.plugins import register_plugin

    if os.environ.get("KITARU_TEST_KILL_AFTER"):
        register_plugin(KillAfterToolCalls(int(os.environ["KITARU_TEST_KILL_AFTER"])), "killer")
    mode = sys.argv[1]
    try:
        if mode == "flow":
            print(research("durable agents"))
        elif mode == "standalone":
            print(researcher.run_sync("durable agents").output)
        elif mode == "approval":
            print(publish_flow("x"))
    except kitaru.ExecutionSuspended as suspended:
        print(suspended.exec_id)
        sys.exit(3)
