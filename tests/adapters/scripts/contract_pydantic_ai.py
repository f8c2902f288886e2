"""The contract kit's scenario for the Pydantic AI adapter: a research agent in a @flow.

Five model requests and four tool calls (FunctionModel, priced as gpt-4o-mini); each real call
is noted with ``testing.note_call``. Run as a script by kitaru_core.testing.
"""

from __future__ import annotations

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

import kitaru
from kitaru.adapters.pydantic_ai import DurableAgent
from kitaru_core import testing

STEPS = ("search", "fetch", "read", "summarize")


def plan(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    step = sum(isinstance(m, ModelResponse) for m in messages)
    testing.note_call(f"model {step}")
    if step < len(STEPS):
        args = {"topic": f"topic {step}"}
        return ModelResponse(parts=[ToolCallPart(STEPS[step], args, tool_call_id=f"call-{step}")])
    return ModelResponse(parts=[TextPart(f"report after {step} steps")])


agent = Agent(FunctionModel(plan, model_name="gpt-4o-mini"), name="contract_agent")


@agent.tool_plain
def search(topic: str) -> str:
    testing.note_call("tool search")
    return f"results for {topic}"


@agent.tool_plain
def fetch(topic: str) -> str:
    testing.note_call("tool fetch")
    return f"page on {topic}"


@agent.tool_plain
def read(topic: str) -> str:
    testing.note_call("tool read")
    return f"notes on {topic}"


@agent.tool_plain
def summarize(topic: str) -> str:
    testing.note_call("tool summarize")
    return f"summary of {topic}"


durable = DurableAgent(agent)


@kitaru.flow
def contract_research(topic: str) -> str:
    return str(durable.run_sync(topic).output)


if __name__ == "__main__":
    testing.arm_kill_switch()
    print(contract_research("durable agents"))
