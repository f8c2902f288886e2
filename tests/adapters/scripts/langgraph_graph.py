"""Scenarios of the LangGraph adapter's crash, interrupt and stream tests, run as a script.

``python langgraph_graph.py MODE``: each real node (or model, tool) run is noted with
``testing.note_call`` (``$KITARU_CONTRACT_LOG``), and ``$KITARU_CONTRACT_KILL_AFTER=N`` kills
the process right after its N-th recorded node run. Modes:

- ``graph``: a sync ``@flow`` invoking a ``durable_graph`` with parallel branches and a ``Send``
  fan-out; ``astream``: the same graph streamed from an async flow (updates written to
  ``$KITARU_TEST_STREAM``); ``nodes``: ``@durable_node`` functions (sync and async, with
  ``config`` and ``runtime`` parameters) in an async flow; ``standalone``: the graph invoked
  outside any flow;
- ``react`` / ``agent``: LangGraph's ``create_react_agent`` / LangChain's ``create_agent`` with
  an offline chat model, under ``durable_graph``;
- ``interrupt``: a node asks ``interrupt()``; the process exits 3 with the execution id when
  the execution waits.
"""

from __future__ import annotations

import asyncio
import json
import operator
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any, TypedDict

sys.path.insert(0, str(Path(__file__).parent))

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt
from langgraph_fakes import lookup, scripted_model, summarize

import kitaru
from kitaru.adapters.langgraph import durable_graph, durable_node
from kitaru_core import testing


class State(TypedDict):
    topic: str
    parts: Annotated[list[str], operator.add]


def note(label: str) -> None:
    testing.note_call(label)


def plan(state: State) -> dict[str, Any]:
    note("plan")
    return {"parts": ["plan"]}


def left(state: State) -> dict[str, Any]:
    note("left")
    return {"parts": ["left"]}


def right(state: State, config: RunnableConfig) -> dict[str, Any]:
    note("right")
    return {"parts": [f"right:{config['metadata']['langgraph_node']}"]}


def fan_out(state: State) -> list[Send]:
    return [Send("work", {"topic": f"{state['topic']}-{i}", "parts": []}) for i in range(3)]


def work(state: State) -> dict[str, Any]:
    note(f"work {state['topic']}")
    return {"parts": [f"work:{state['topic']}"]}


def final(state: State) -> dict[str, Any]:
    note(f"final {len(state['parts'])}")
    return {"parts": ["final"]}


def build(nodes: dict[str, Any]) -> StateGraph[Any, Any, Any, Any]:
    builder = StateGraph(State)
    for name, func in nodes.items():
        builder.add_node(name, func)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "left")
    builder.add_edge("plan", "right")
    builder.add_conditional_edges("left", fan_out, ["work"])
    builder.add_edge(["work", "right"], "final")
    builder.add_edge("final", END)
    return builder


NODES = {"plan": plan, "left": left, "right": right, "work": work, "final": final}
graph = durable_graph(build(NODES), name="crash_graph")


@kitaru.flow
def graph_flow(topic: str) -> list[str]:
    return sorted(graph.invoke({"topic": topic, "parts": []})["parts"])


@kitaru.flow
async def astream_flow(topic: str) -> list[str]:
    seen = []
    async for update in graph.astream({"topic": topic, "parts": []}, stream_mode="updates"):
        seen.extend(update)
    path = os.environ.get("KITARU_TEST_STREAM")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(sorted(seen)) + "\n")
    return sorted(seen)


# --- @durable_node on the functions themselves ---------------------------------------------------


@durable_node
async def a_plan(state: State) -> dict[str, Any]:
    note("plan")
    await asyncio.sleep(0)
    return {"parts": ["plan"]}


@durable_node
def a_left(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
    note("left")
    return {"parts": [f"left:{runtime.context}"]}


@durable_node(name="right")
async def a_right(state: State, config: RunnableConfig) -> dict[str, Any]:
    note("right")
    return {"parts": [f"right:{config['metadata']['langgraph_node']}"]}


decorated = build(
    {
        "plan": a_plan,
        "left": a_left,
        "right": a_right,
        "work": durable_node(work),
        "final": durable_node(final),
    }
).compile()


@kitaru.flow
async def nodes_flow(topic: str) -> list[str]:
    result = await decorated.ainvoke({"topic": topic, "parts": []}, context="ctx")
    return sorted(result["parts"])


# --- prebuilt agents ---------------------------------------------------------------------------

with warnings.catch_warnings():
    from langgraph.warnings import LangGraphDeprecatedSinceV10

    warnings.filterwarnings(
        "ignore", message="create_react_agent has been moved", category=LangGraphDeprecatedSinceV10
    )
    from langgraph.prebuilt import create_react_agent

    react = durable_graph(create_react_agent(scripted_model(), [lookup, summarize]), name="react")


def make_agent() -> Any:
    from langchain.agents import create_agent

    return durable_graph(create_agent(scripted_model(), [lookup, summarize]), name="agent")


agent = make_agent()


@kitaru.flow
def agent_flow(which: str) -> str:
    chosen = react if which == "react" else agent
    result = chosen.invoke({"messages": [HumanMessage("tell me about otters")]})
    return str(result["messages"][-1].content)


# --- interrupts --------------------------------------------------------------------------------


class Draft(TypedDict):
    topic: str
    parts: Annotated[list[str], operator.add]


def draft(state: Draft) -> dict[str, Any]:
    note("draft")
    return {"parts": [f"draft about {state['topic']}"]}


def review(state: Draft) -> dict[str, Any]:
    note("review")
    answer = interrupt({"question": f"Publish {state['parts'][-1]!r}?", "draft": state["parts"]})
    note(f"review answered {answer}")
    return {"parts": [f"review:{answer}"]}


def publish(state: Draft) -> dict[str, Any]:
    note("publish")
    return {"parts": ["published"]}


review_builder = StateGraph(Draft)
review_builder.add_node("draft", draft)
review_builder.add_node("review", review)
review_builder.add_node("publish", publish)
review_builder.add_edge(START, "draft")
review_builder.add_edge("draft", "review")
review_builder.add_edge("review", "publish")
review_graph = durable_graph(review_builder, name="review_graph")


@kitaru.flow
def interrupt_flow(topic: str) -> list[str]:
    return review_graph.invoke({"topic": topic, "parts": []})["parts"]


def main(mode: str) -> int:
    testing.arm_kill_switch(frozenset({"node"}))
    if mode == "graph":
        print(graph_flow("otters"))
    elif mode == "astream":
        print(asyncio.run(astream_flow("otters")))
    elif mode == "nodes":
        print(asyncio.run(nodes_flow("otters")))
    elif mode == "standalone":
        print(sorted(graph.invoke({"topic": "otters", "parts": []})["parts"]))
    elif mode in ("react", "agent"):
        print(agent_flow(mode))
    elif mode == "interrupt":
        handle = interrupt_flow.run("otters")
        try:
            print(handle.wait())
        except kitaru.ExecutionSuspended:
            print(handle.exec_id)
            return 3
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
