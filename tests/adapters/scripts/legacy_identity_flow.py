"""A flow whose Pydantic AI agent makes three tool calls, then fails once every call is recorded.

Imported as ``legacy_identity_flow`` (tests/adapters/scripts on sys.path) both by the test and by
tests/adapters/fixtures/make_legacy_pydantic_ai_store.py, which recorded the committed store
with the adapter code from before the history-chain identity.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

import kitaru
from kitaru.adapters.pydantic_ai import DurableAgent

calls: Counter[str] = Counter()
state = {"fail": True}


def plan(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    calls["model"] += 1
    step = sum(isinstance(m, ModelResponse) for m in messages)
    if step < 3:
        call = ToolCallPart("lookup", {"topic": f"topic {step}"}, tool_call_id=f"call-{step}")
        return ModelResponse(parts=[call])
    return ModelResponse(parts=[TextPart(f"looked up {step} topics")])


agent = Agent(FunctionModel(plan, model_name="legacy-model"), name="legacy_agent")


@agent.tool_plain
def lookup(topic: str) -> str:
    """Look a topic up."""
    calls["tool"] += 1
    return f"notes on {topic}: " + "x" * 200


durable = DurableAgent(agent)


@kitaru.flow
def legacy_research(question: str) -> Any:
    output = durable.run_sync(question).output
    if state["fail"]:
        raise RuntimeError("fail after every operation is recorded")
    return output
