"""The contract kit's scenario for the LangGraph adapter: LangChain's ``create_agent`` under
``durable_graph``, with an offline chat model that calls three tools, then answers.

Each node run (the model node, the tools node) is one operation of kind ``node``; each real
model and tool call is noted with ``testing.note_call``. Run as a script by kitaru_core.testing.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langgraph_fakes import lookup, scripted_model, summarize

import kitaru
from kitaru.adapters.langgraph import durable_graph
from kitaru_core import testing

agent = durable_graph(create_agent(scripted_model(), [lookup, summarize]), name="contract_agent")


@kitaru.flow
def contract_agent() -> str:
    result = agent.invoke({"messages": [HumanMessage("tell me about otters")]})
    return str(result["messages"][-1].content)


if __name__ == "__main__":
    testing.arm_kill_switch(frozenset({"node"}))
    print(contract_agent())
