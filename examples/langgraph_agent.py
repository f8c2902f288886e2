"""A LangGraph research agent that survives crashes, asks before publishing, and counts its cost.

Offline (a scripted chat model; no keys, no network):

    python examples/langgraph_agent.py --offline
    python examples/langgraph_agent.py --offline --crash     # killed mid-run (kill -9)
    kitaru executions resume <ID>                             # no node runs twice
    python examples/langgraph_agent.py --offline --publish   # interrupt(): waits for you
    kitaru executions input <ID> --value true && kitaru executions resume <ID>

For real (EXAMPLE_MODEL is any ``init_chat_model`` string, default openai:gpt-4o-mini; needs
its LangChain integration, e.g. ``pip install langchain-openai``):

    OPENAI_API_KEY=sk-... python examples/langgraph_agent.py "durable execution"

The graph is plain LangGraph: a model node and a ``ToolNode`` in a loop, then a review node
that calls ``interrupt()``. ``durable_graph`` makes each node run a durable operation, and the
model node's tokens and cost are recorded on it. Needs ``pip install 'kitaru[langgraph]'``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import interrupt

import kitaru
from kitaru.adapters.langgraph import durable_graph

NOTES = {
    "n1": "Durable execution records each completed step, so a crash resumes at the next one.",
    "n2": "An agent that waits for a human can release its process and resume hours later.",
    "n3": "Reusing a recorded model call costs nothing: it was paid for once.",
}


@tool
def search_notes(query: str) -> list[str]:
    """Find note ids about ``query``."""
    print(f"searching notes for {query!r}")
    return sorted(NOTES)


@tool
def read_note(note_id: str) -> str:
    """Read one note."""
    print(f"reading {note_id}")
    if os.environ.get("EXAMPLE_CRASH") == "1" and note_id == "n2":
        exec_id = kitaru.current_execution_id()
        print(f"simulating a crash while reading n2 (kill -9) in execution {exec_id}")
        print(f"resume it with: kitaru executions resume {exec_id}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return NOTES.get(note_id, "no such note")


TOOLS = [search_notes, read_note]


class ScriptedModel(BaseChatModel):
    """What a model would do, step by step, without calling one (usage as gpt-4o-mini's)."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        step = sum(isinstance(m, ToolMessage) for m in messages)
        plan = [("search_notes", {"query": "durable agents"})]
        plan += [("read_note", {"note_id": note}) for note in NOTES]
        usage = {
            "input_tokens": 200 + 50 * step,
            "output_tokens": 30,
            "total_tokens": 230 + 50 * step,
        }
        meta = {"model_name": "gpt-4o-mini", "model_provider": "openai"}
        if step < len(plan):
            name, args_ = plan[step]
            call = {"name": name, "args": args_, "id": f"call-{step}", "type": "tool_call"}
            message = AIMessage("", tool_calls=[call], usage_metadata=usage, response_metadata=meta)  # type: ignore[arg-type]
        else:
            report = "Report: " + " ".join(NOTES.values())
            message = AIMessage(report, usage_metadata=usage, response_metadata=meta)  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=message)])


def chat_model(offline: bool) -> Any:
    if offline:
        return ScriptedModel()
    from langchain.chat_models import init_chat_model

    return init_chat_model(os.environ.get("EXAMPLE_MODEL", "openai:gpt-4o-mini"))


class State(MessagesState):
    offline: bool
    publish: bool
    published: bool


def model_node(state: State) -> dict[str, Any]:
    model = chat_model(state["offline"]).bind_tools(TOOLS)
    return {"messages": [model.invoke(state["messages"])]}


def review(state: State) -> dict[str, Any]:
    if not state["publish"]:
        return {"published": False}
    report = str(state["messages"][-1].content)
    approved = interrupt({"question": f"Publish this report? {report[:60]}...", "report": report})
    return {"published": approved is True}


builder = StateGraph(State)
builder.add_node("model", model_node)
builder.add_node("tools", ToolNode(TOOLS))
builder.add_node("review", review)
builder.add_edge(START, "model")
builder.add_conditional_edges("model", tools_condition, {"tools": "tools", END: "review"})
builder.add_edge("tools", "model")
builder.add_edge("review", END)
researcher = durable_graph(builder, name="researcher")


@kitaru.flow
def research(topic: str, publish: bool = False, offline: bool = False) -> str:
    """Run the graph (each node run recorded); ``offline`` is an argument so a resume is too."""
    ask = HumanMessage(f"Research {topic} with the notes tools, then write a short report.")
    state = researcher.invoke({"messages": [ask], "offline": offline, "publish": publish})
    verdict = "published" if state["published"] else "not published"
    return f"{state['messages'][-1].content}\n({verdict})"


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    topic = args[0] if args else "durable execution"
    if "--crash" in sys.argv:
        os.environ["EXAMPLE_CRASH"] = "1"
        print("This run is killed while reading note n2. Then run:")
        print("  kitaru executions resume <ID>   (the ID is printed before the kill)\n")
    handle = research.run(topic, publish="--publish" in sys.argv, offline="--offline" in sys.argv)
    try:
        print(f"\n{handle.wait()}\n")
    except kitaru.ExecutionSuspended as waiting:
        print(f"\nWaiting for your answer to interrupt(). {waiting}")
        return
    execution = handle.get()
    print(f"execution {execution.exec_id}: {len(execution.operations)} operations")
    print(
        f"tokens {execution.tokens_in} in / {execution.tokens_out} out, "
        f"${execution.cost_spent:.6f} spent, ${execution.cost_saved:.6f} saved by reuse"
    )


if __name__ == "__main__":
    main()
