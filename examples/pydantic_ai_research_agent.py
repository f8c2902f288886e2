"""A Pydantic AI research agent that survives crashes, asks before publishing, and counts its cost.

Offline (a scripted FunctionModel and a mocked kitaru.llm(); no keys, no network):

    python examples/pydantic_ai_research_agent.py --offline
    python examples/pydantic_ai_research_agent.py --offline --crash     # killed mid-run (kill -9)
    kitaru executions resume <ID>                                       # nothing done twice
    python examples/pydantic_ai_research_agent.py --offline --publish   # waits for your approval
    kitaru executions input <ID> --value true && kitaru executions resume <ID>

For real (EXAMPLE_MODEL is any Pydantic AI model string, default openai:gpt-4o-mini):

    OPENAI_API_KEY=sk-... python examples/pydantic_ai_research_agent.py "durable execution"

Needs ``pip install 'kitaru[pydantic-ai,litellm]'``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from pydantic_ai import Agent, FunctionToolset
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models import Model
from pydantic_ai.models.function import AgentInfo, FunctionModel

import kitaru
from kitaru.adapters.pydantic_ai import DurableAgent

NOTES = {
    "n1": "Durable execution records each completed step, so a crash resumes at the next one.",
    "n2": "An agent that waits for a human can release its process and resume hours later.",
    "n3": "Reusing a recorded model call costs nothing: it was paid for once.",
}

library = FunctionToolset(id="library")


@library.tool_plain
def search_notes(query: str) -> list[str]:
    """Find note ids about ``query``."""
    print(f"searching notes for {query!r}")
    return sorted(NOTES)


@library.tool_plain
def read_note(note_id: str) -> str:
    """Read one note."""
    print(f"reading {note_id}")
    if os.environ.get("EXAMPLE_CRASH") == "1" and note_id == "n2":
        exec_id = kitaru.current_execution_id()
        print(f"simulating a crash while reading n2 (kill -9) in execution {exec_id}")
        print(f"resume it with: kitaru executions resume {exec_id}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return NOTES.get(note_id, "no such note")


@library.tool_plain(requires_approval=True)
def publish(title: str) -> str:
    """Publish the report (asks a human first)."""
    print(f"publishing {title!r}")
    return f"published {title!r}"


def scripted_model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """What a model would do, step by step, without calling one."""
    step = sum(isinstance(m, ModelResponse) for m in messages)
    wants_publish = "publish" in str(messages[0])
    plan: list[tuple[str, dict[str, str]]] = [
        ("search_notes", {"query": "durable agents"}),
        ("read_note", {"note_id": "n1"}),
        ("read_note", {"note_id": "n2"}),
        ("read_note", {"note_id": "n3"}),
    ]
    if wants_publish:
        plan.append(("publish", {"title": "Durable agents"}))
    if step < len(plan):
        tool, args = plan[step]
        return ModelResponse(parts=[ToolCallPart(tool, args, tool_call_id=f"call-{step}")])
    report = " ".join(NOTES.values())
    return ModelResponse(parts=[TextPart(f"Report: {report}")])


def build_agent(model: Model | str) -> DurableAgent[None, str]:
    agent = Agent(
        model,
        name="researcher",
        toolsets=[library],
        instructions="Research the topic with the notes tools, then write a short report.",
    )
    return DurableAgent(agent, approval_timeout=0)


def model_for(offline: bool) -> Model | str:
    """The scripted model offline; else EXAMPLE_MODEL (a Pydantic AI model string)."""
    if offline:
        return FunctionModel(scripted_model, model_name="gpt-4o-mini")
    return os.environ.get("EXAMPLE_MODEL", "openai:gpt-4o-mini")


@kitaru.flow
def research(topic: str, publish: bool = False, offline: bool = False) -> str:
    """Research with the agent (every model request and tool call recorded), then a headline.

    ``offline`` is a flow argument, so ``kitaru executions resume`` runs offline as well.
    """
    researcher = build_agent(model_for(offline))
    ask = f"Research {topic}." + (" Then publish it." if publish else "")
    report = researcher.run_sync(ask).output
    mock: dict[str, Any] = {"mock_response": "Durable agents never pay twice"} if offline else {}
    headline = kitaru.llm(
        f"One-line headline for: {report}", model="openai/gpt-4o-mini", max_tokens=30, **mock
    )
    return f"{headline}\n\n{report}"


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
        print(f"\nWaiting for approval. {waiting}")
        return
    execution = handle.get()
    print(f"execution {execution.exec_id}: {len(execution.operations)} operations")
    print(
        f"tokens {execution.tokens_in} in / {execution.tokens_out} out, "
        f"${execution.cost_spent:.6f} spent, ${execution.cost_saved:.6f} saved by reuse"
    )


if __name__ == "__main__":
    main()
