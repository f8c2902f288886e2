"""An OpenAI Agents SDK research agent that survives crashes and asks before publishing.

Offline (the SDK's own ScriptedModel answers; no keys, no network):

    python examples/openai_agents_agent.py --offline
    python examples/openai_agents_agent.py --offline --crash    # killed mid-run (kill -9)
    kitaru executions resume <ID>                               # nothing done twice
    kitaru executions get <ID>                                  # each response and tool call
    python examples/openai_agents_agent.py --offline --publish  # waits for your approval
    kitaru executions input <ID> --value true && kitaru executions resume <ID>

For real (EXAMPLE_MODEL is any model name the SDK's default provider knows, default gpt-4o-mini):

    OPENAI_API_KEY=sk-... python examples/openai_agents_agent.py "durable execution"

With ``--publish`` the agent also publishes, which needs approval: the run waits (answer in
the terminal, or later with ``kitaru executions input`` and ``kitaru executions resume``).
Needs ``pip install 'kitaru[openai-agents]'``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from agents import Agent, function_tool, set_tracing_disabled

import kitaru
from kitaru.adapters.openai_agents import DurableRunner

NOTES = {
    "n1": "Durable execution records each completed step, so a crash resumes at the next one.",
    "n2": "An agent that waits for a human can release its process and resume hours later.",
    "n3": "Reusing a recorded model call costs nothing: it was paid for once.",
}


@function_tool
def search_notes(query: str) -> list[str]:
    """Find note ids about ``query``."""
    print(f"searching notes for {query!r}")
    return sorted(NOTES)


@function_tool
def read_note(note_id: str) -> str:
    """Read one note."""
    print(f"reading {note_id}")
    if os.environ.get("EXAMPLE_CRASH") == "1" and note_id == "n2":
        exec_id = kitaru.current_execution_id()
        print(f"simulating a crash while reading n2 (kill -9) in execution {exec_id}")
        print(f"resume it with: kitaru executions resume {exec_id}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return NOTES.get(note_id, "no such note")


@function_tool(needs_approval=True)
def publish_summary(summary: str) -> str:
    """Publish the summary (a person approves this first)."""
    print(f"published: {summary}")
    return "published"


def offline_model(publish: bool) -> Any:
    """The SDK's ScriptedModel, answering each request from the tool results so far."""
    from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
    from agents.usage import Usage

    plan = [
        ("search_notes", {"query": "durable agents"}),
        ("read_note", {"note_id": "n1"}),
        ("read_note", {"note_id": "n2"}),
        ("read_note", {"note_id": "n3"}),
    ]
    if publish:
        plan.append(("publish_summary", {"summary": "Durable agents resume where they stopped."}))

    def respond(call: Any) -> ModelStep:
        done = sum(1 for item in call.input if item.get("type") == "function_call_output")
        usage = Usage(requests=1, input_tokens=400 + 150 * done, output_tokens=40)
        if done < len(plan):
            name, args = plan[done]
            calls = [function_call(name, json.dumps(args), call_id=f"c{done}")]
            return ModelStep(output=calls, usage=usage)
        text = "Durable agents resume where they stopped."
        return ModelStep(output=[assistant_message(text)], usage=usage)

    class Offline(ScriptedModel):
        model = "gpt-4o-mini"  # priced as gpt-4o-mini

    return Offline([ModelStep.respond(respond) for _ in range(100)])


def build_runner(offline: bool, publish: bool) -> DurableRunner:
    """The research agent, durable: scripted offline, else EXAMPLE_MODEL."""
    if offline:
        set_tracing_disabled(True)  # nothing leaves the machine
        os.environ.setdefault("OPENAI_API_KEY", "sk-offline")
    agent = Agent(
        name="researcher",
        instructions="Search the notes, read them, publish a one-line summary.",
        model=offline_model(publish) if offline else os.environ.get("EXAMPLE_MODEL", "gpt-4o-mini"),
        tools=[search_notes, read_note, *([publish_summary] if publish else [])],
    )
    return DurableRunner(agent)


@kitaru.flow
async def research(topic: str, offline: bool = False, publish: bool = False) -> str:
    """``offline`` is a flow argument, so ``kitaru executions resume`` runs offline as well."""
    result = await build_runner(offline, publish).run(f"Research {topic}.")
    return str(result.final_output)


if __name__ == "__main__":
    import asyncio

    if "--crash" in sys.argv:
        os.environ["EXAMPLE_CRASH"] = "1"
    topic = " ".join(a for a in sys.argv[1:] if not a.startswith("--")) or "durable agents"
    print(asyncio.run(research(topic, "--offline" in sys.argv, "--publish" in sys.argv)))
    execution = kitaru.KitaruClient().executions.latest()
    print(f"execution {execution.exec_id}: spent ${execution.cost_spent:.6f}")
