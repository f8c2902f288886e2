"""Scenarios for the OpenAI Agents SDK adapter, run as scripts by the crash tests.

``python contract_openai_agents.py SCENARIO [ARG]``, one of:

- ``plain``: a research agent in a ``@flow`` (five model responses, four tool calls);
- ``handoff``: a triage agent hands off to the research agent;
- ``agent_tool``: a lead agent calls the research agent as a tool (its own model and tool calls
  are operations too), then a tool of its own;
- ``stream``: ``plain`` through ``run_streamed``; each event type seen is logged;
- ``session``: ``plain`` with an ``SQLiteSession`` in file ARG;
- ``automatic``: ``plain`` through ``run_sync`` outside any flow (an automatic execution);
- ``approval``: a tool that needs approval (``approval_timeout=0``: the execution suspends).

Every real model request and tool call is noted with ``testing.note_call``.
"""

from __future__ import annotations

import asyncio
import os
import sys

from agents import Agent, FunctionTool, SQLiteSession, function_tool, handoff
from oai_models import PlanModel

import kitaru
from kitaru.adapters.openai_agents import DurableRunner
from kitaru_core import testing
from kitaru_core.errors import ExecutionSuspended

STEPS = ("search", "fetch", "read", "summarize")
EVENTS_ENV = "OAI_EVENTS_LOG"


def make_tool(name: str) -> FunctionTool:
    def body(topic: str) -> str:
        testing.note_call(f"tool {name} {topic}")
        return f"{name} on {topic}"

    body.__name__ = name
    return function_tool(body)


research_plan = [(step, {"topic": f"topic {i}"}) for i, step in enumerate(STEPS)]
researcher = Agent(
    name="researcher",
    instructions="Research the topic with your tools.",
    model=PlanModel(research_plan, label="researcher"),
    tools=[make_tool(step) for step in STEPS],
)

triage = Agent(
    name="triage",
    instructions="Hand research questions to the researcher.",
    model=PlanModel([("transfer_to_researcher", {})], label="triage"),
    handoffs=[handoff(researcher)],
)

lead = Agent(
    name="lead",
    instructions="Ask the researcher, then publish.",
    model=PlanModel(
        [("ask_researcher", {"input": "durable agents"}), ("publish", {"topic": "report"})],
        label="lead",
    ),
    tools=[
        researcher.as_tool(tool_name="ask_researcher", tool_description="Ask the researcher."),
        make_tool("publish"),
    ],
)


@function_tool(needs_approval=True)
def delete_files(path: str) -> str:
    """Delete files under a path."""
    testing.note_call(f"tool delete_files {path}")
    return f"deleted {path}"


janitor = Agent(
    name="janitor",
    instructions="Clean up.",
    model=PlanModel(
        [("delete_files", {"path": "/tmp/old"})],
        label="janitor",
        final=lambda call: "finished: " + str(call.input[-1].get("output"))[:60],
    ),
    tools=[delete_files],
)

RUNNERS = {
    "plain": DurableRunner(researcher),
    "handoff": DurableRunner(triage),
    "agent_tool": DurableRunner(lead),
    "approval": DurableRunner(janitor, approval_timeout=0),
}


def attempt() -> int:
    execution = kitaru.toolkit.current_execution()
    return 0 if execution is None else execution.run_no


@kitaru.flow
async def oai_scenario(scenario: str, arg: str = "") -> str:
    if scenario == "stream":
        result = RUNNERS["plain"].run_streamed("durable agents")
        async for event in result.stream_events():
            data = getattr(event, "data", None)  # raw events: the model's own event
            what = getattr(data, "type", None) or getattr(event, "name", "")
            note = f"{attempt()} {event.type} {what}"
            if os.environ.get(EVENTS_ENV):
                with open(os.environ[EVENTS_ENV], "a") as log:
                    log.write(note + "\n")
        return str(result.final_output)
    if scenario == "session":
        session = SQLiteSession("research", arg)
        result = await RUNNERS["plain"].run("durable agents", session=session)
        return str(result.final_output)
    result = await RUNNERS[scenario].run("durable agents")
    return str(result.final_output)


if __name__ == "__main__":
    testing.arm_kill_switch()
    scenario = sys.argv[1]
    if scenario == "automatic":
        print(RUNNERS["plain"].run_sync("durable agents").final_output)
    else:
        try:
            print(asyncio.run(oai_scenario(scenario, *sys.argv[2:3])))
        except ExecutionSuspended as suspended:
            print(f"suspended {suspended.exec_id}")
