"""A DurableAgent run outside any @flow (an automatic execution) whose second tool call fails.

Imported as ``legacy_autoflow_agent`` (tests/adapters/scripts on sys.path) by the test and by
tests/adapters/fixtures/make_legacy_autoflow_store.py, which recorded the committed store with
the adapter code from before the adapter toolkit (``_autoflow.py`` on the runner's privates).
"""

from __future__ import annotations

from collections import Counter

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from kitaru.adapters.pydantic_ai import DurableAgent

calls: Counter[str] = Counter()
state = {"fail": True}


def plan(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    calls["model"] += 1
    step = sum(isinstance(m, ModelResponse) for m in messages)
    if step < 2:
        call = ToolCallPart("lookup", {"topic": f"topic {step}"}, tool_call_id=f"call-{step}")
        return ModelResponse(parts=[call])
    return ModelResponse(parts=[TextPart(f"looked up {step} topics")])


agent = Agent(FunctionModel(plan, model_name="gpt-4o-mini"), name="legacy_auto")


@agent.tool_plain
def lookup(topic: str) -> str:
    """Look a topic up; the second lookup fails while ``state["fail"]``."""
    calls["tool"] += 1
    if state["fail"] and topic == "topic 1":
        raise RuntimeError("the second lookup fails")
    return f"notes on {topic}"


durable = DurableAgent(agent)
