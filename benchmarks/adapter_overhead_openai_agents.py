"""Adapter overhead, OpenAI Agents SDK: the plain ``Runner`` against Kitaru's ``DurableRunner``.

    python benchmarks/adapter_overhead_openai_agents.py [--n 100 400] [--rounds 5] [--write-docs]

One agent, offline: a minimal ``agents.Model`` that calls a function tool once per response,
N times, then answers; each tool call returns ~800 bytes, so the conversation grows by ~1 KB a
step. Each round runs the plain ``Runner.run`` and ``DurableRunner.run`` (awaited in an async
``@flow``, SQLite on disk in a fresh KITARU_HOME) one after the other, alternating which goes
first; samples are pooled over rounds. Reported: medians of the durable run's added time,
whole and per recorded operation (each model response and each tool call: 2N + 1), wall and
CPU. ``--write-docs`` puts the table into docs/performance.md between its own markers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "performance.md"
MARK_BEGIN = "<!-- adapter_overhead_openai_agents:begin -->"
MARK_END = "<!-- adapter_overhead_openai_agents:end -->"
PAYLOAD = "x" * 800


def build(n: int) -> Any:
    """The agent: N tool calls, one per model response, then a text answer."""
    from agents import Agent, function_tool
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    class Steps(Model):
        model = "gpt-4o-mini"
        provider = "openai"  # priced as OpenAI's gpt-4o-mini

        async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
            items = kwargs["input"]
            done = (
                0
                if isinstance(items, str)
                else sum(1 for item in items if item.get("type") == "function_call_output")
            )
            usage = Usage(requests=1, input_tokens=100, output_tokens=10, total_tokens=110)
            if done < n:
                call = ResponseFunctionToolCall(
                    type="function_call",
                    name="fetch",
                    arguments=json.dumps({"page": done}),
                    call_id=f"call-{done}",
                    id=f"fc-{done}",
                    status="completed",
                )
                return ModelResponse(output=[call], usage=usage, response_id=None)
            text = ResponseOutputText(type="output_text", text="done", annotations=[])
            message = ResponseOutputMessage(
                type="message", id="msg", role="assistant", status="completed", content=[text]
            )
            return ModelResponse(output=[message], usage=usage, response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    @function_tool
    def fetch(page: int) -> str:
        """Fetch one page."""
        return f"page {page}: {PAYLOAD}"

    return Agent(name="bench", instructions="Fetch pages.", model=Steps(), tools=[fetch])


def measure(sizes: list[int], rounds: int) -> dict[str, Any]:
    """Samples per N: plain and durable runs, wall and CPU milliseconds."""
    from agents import set_tracing_disabled

    from kitaru.adapters.openai_agents import DurableRunner

    set_tracing_disabled(True)
    results: dict[str, Any] = {}
    for n in sizes:
        agent = build(n)
        results[str(n)] = sample(agent, DurableRunner(agent, name=f"bench{n}"), n, rounds)
    return results


def sample(agent: Any, runner: Any, n: int, rounds: int) -> dict[str, Any]:
    """Plain and durable runs of ``agent``, alternating which goes first, after a warm-up."""
    from agents import Runner

    import kitaru

    @kitaru.flow(name=f"bench_flow_{n}")
    async def durable(question: str) -> Any:
        return (await runner.run(question, max_turns=n + 5)).final_output

    async def plain() -> Any:
        return (await Runner.run(agent, "go", max_turns=n + 5)).final_output

    async def timed(call: Any) -> tuple[float, float]:
        gc.collect()  # each run starts with no garbage left by the other system's run
        wall, cpu = time.perf_counter(), time.process_time()
        assert await call() == "done"
        return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000

    async def one_round(number: int) -> tuple[tuple[float, float], tuple[float, float]]:
        if number % 2 == 0:
            p = await timed(plain)
            d = await timed(lambda: durable("go"))
        else:
            d = await timed(lambda: durable("go"))
            p = await timed(plain)
        return p, d

    asyncio.run(one_round(0))  # warm up: imports, schema caches, the store
    samples = [asyncio.run(one_round(number)) for number in range(rounds)]
    execution = kitaru.KitaruClient().executions.latest()
    return {
        "ops": len(execution.operations),
        "plain_ms": [p[0] for p, _ in samples],
        "plain_cpu_ms": [p[1] for p, _ in samples],
        "run_ms": [d[0] for _, d in samples],
        "run_cpu_ms": [d[1] for _, d in samples],
    }


def table(results: dict[str, Any]) -> str:
    """Markdown: one row per N."""
    from importlib.metadata import version

    lines = [
        "| system | N tool calls | recorded ops per run | plain Runner run (ms) | "
        "DurableRunner run (ms) | added, whole run (ms) | added per recorded op, wall (CPU) ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n, s in results.items():
        ops = s["ops"]
        wall = [(d - p) for d, p in zip(s["run_ms"], s["plain_ms"], strict=True)]
        cpu = [(d - p) for d, p in zip(s["run_cpu_ms"], s["plain_cpu_ms"], strict=True)]
        lines.append(
            f"| kitaru {version('kitaru')}, openai-agents {version('openai-agents')} | {n} | "
            f"{ops} | {statistics.median(s['plain_ms']):.0f} | "
            f"{statistics.median(s['run_ms']):.0f} | {statistics.median(wall):.0f} | "
            f"{statistics.median(w / ops for w in wall):.3f} "
            f"({statistics.median(c / ops for c in cpu):.3f}) |"
        )
    return "\n".join(lines)


def write_docs(markdown: str, rounds: int, load: tuple[float, float]) -> None:
    """Replace (or append) this benchmark's section in docs/performance.md."""
    text = DOCS.read_text()
    block = (
        f"{MARK_BEGIN}\n{rounds} runs per system and N in alternating rounds, medians; load "
        f"average {load[0]:.1f} at the start and {load[1]:.1f} at the end, on {os.cpu_count()} "
        "cores. Produced by `python benchmarks/adapter_overhead_openai_agents.py --write-docs`."
        f"\n\n{markdown}\n{MARK_END}"
    )
    if MARK_BEGIN in text:
        begin, end = text.index(MARK_BEGIN), text.index(MARK_END) + len(MARK_END)
        text = text[:begin] + block + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[100, 400], help="tool calls per run")
    parser.add_argument("--rounds", type=int, default=5, help="plain and durable runs per N")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as home:
        os.environ["KITARU_HOME"] = home  # a fresh store on disk, before kitaru loads
        os.environ.setdefault("OPENAI_API_KEY", "sk-offline")  # never used: the model is local
        results = measure(args.n, args.rounds)
    markdown = table(results)
    print(markdown)
    if args.write_docs:
        write_docs(markdown, args.rounds, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    sys.exit(main())
