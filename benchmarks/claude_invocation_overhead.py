"""Claude Agent SDK adapter: what a durable invocation adds, and what a replayed one costs.

    python benchmarks/claude_invocation_overhead.py [--n 10] [--rounds 3]

Runs offline through the fake ``claude`` executable of the tests (a Python script speaking the
SDK's stream-JSON protocol; each invocation makes one in-process SDK MCP tool call and writes a
five-line transcript). For N invocations it times, per invocation: ``claude_agent_sdk.query``
plain; ``durable_query`` in a ``@flow`` (recording the stream, storing the session id, and
mirroring the transcript into Kitaru's store); and the same flow retried after a crash, where
every invocation is replayed from the store without starting the CLI. Medians over rounds.
Needs ``pip install 'kitaru[claude-agent-sdk]'``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from claude_agent_sdk import ClaudeAgentOptions, create_sdk_mcp_server, query, tool

import kitaru
from kitaru.adapters.claude_agent_sdk import durable_query

FAKE = Path(__file__).resolve().parents[1] / "tests" / "adapters" / "fake_claude" / "claude"
STEPS = [
    {"text": "adding"},
    {"tool": "add", "server": "calc", "input": {"a": 2, "b": 3}},
    {"text": "done"},
]


@tool("add", "Add two numbers", {"a": int, "b": int})
async def add(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": str(args["a"] + args["b"])}]}


def options() -> ClaudeAgentOptions:
    calc = create_sdk_mcp_server("calc", tools=[add])
    return ClaudeAgentOptions(cli_path=str(FAKE), mcp_servers={"calc": calc})


async def plain(prompts: list[str]) -> None:
    for prompt in prompts:
        async for _ in query(prompt=prompt, options=options()):
            pass


state = {"crash": False}


@kitaru.flow
async def durable(prompts: list[str]) -> int:
    for prompt in prompts:
        async for _ in durable_query(prompt, options()):
            pass
    if state.pop("crash", False):
        raise RuntimeError("crash after every invocation")
    return len(prompts)


def one_round(n: int, root: Path) -> tuple[float, float, float]:
    prompts = [f"task {i}" for i in range(n)]
    script = root / "script.json"
    script.write_text(json.dumps({"turns": {p: STEPS for p in prompts}}))
    os.environ.update(
        FAKE_CLAUDE_SCRIPT=str(script),
        CLAUDE_CONFIG_DIR=str(root / "claude"),
        KITARU_HOME=str(root / "kitaru"),
    )
    started = time.perf_counter()
    asyncio.run(plain(prompts))
    plain_s = time.perf_counter() - started
    state["crash"] = True
    started = time.perf_counter()
    with contextlib.suppress(RuntimeError):
        asyncio.run(durable(prompts))
    durable_s = time.perf_counter() - started
    client = kitaru.KitaruClient()
    crashed = client.executions.latest()
    started = time.perf_counter()
    client.executions.retry(crashed.exec_id).wait()
    replay_s = time.perf_counter() - started
    return plain_s / n, durable_s / n, replay_s / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    samples = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            samples.append(one_round(args.n, Path(tmp)))
    plain_s, durable_s, replay_s = (
        statistics.median(column) for column in zip(*samples, strict=True)
    )
    print(f"{args.n} invocations x {args.rounds} rounds, per invocation (median):")
    print(f"  query (plain)            {plain_s * 1000:8.1f} ms")
    added = (durable_s - plain_s) * 1000
    print(f"  durable_query, live      {durable_s * 1000:8.1f} ms  (+{added:.1f})")
    print(f"  durable_query, replayed  {replay_s * 1000:8.1f} ms  (no CLI started)")


if __name__ == "__main__":
    main()
