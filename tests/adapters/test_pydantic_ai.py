"""Pydantic AI adapter, offline: real agents on FunctionModel/TestModel; crashes, streams, waits."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pydantic_ai")

import legacy_stores
from pydantic import BaseModel
from pydantic_ai import Agent, FunctionToolset, RunContext, models
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, FunctionModel
from pydantic_ai.models.test import TestModel

import kitaru
from kitaru.adapters.pydantic_ai import DurableAgent, KitaruAgent, KitaruDurability, hitl_tool
from kitaru_core.store._serialization import get_registry

SCRIPT = Path(__file__).parent / "scripts" / "research_agent.py"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_real_models() -> Iterator[None]:
    previous = models.ALLOW_MODEL_REQUESTS
    models.ALLOW_MODEL_REQUESTS = False
    yield
    models.ALLOW_MODEL_REQUESTS = previous


@pytest.fixture(autouse=True)
def close_run_sync_loop() -> Iterator[None]:
    """``run_sync`` leaves its event loop open as the thread's loop; close it after each test."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
    if not loop.is_running() and not loop.is_closed():
        loop.close()
    asyncio.set_event_loop(None)


# --- a small agent used in-process -------------------------------------------------------------

calls: Counter[str] = Counter()


def three_tool_steps(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    calls["model"] += 1
    step = sum(isinstance(m, ModelResponse) for m in messages)
    if step < 3:
        return ModelResponse(
            parts=[ToolCallPart("add", {"a": step, "b": 10}, tool_call_id=f"c{step}")]
        )
    returns = [
        p.content
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, ToolReturnPart)
    ]
    total = sum(int(str(content)) for content in returns)
    return ModelResponse(parts=[TextPart(f"total {total}")])


async def streamed_steps(messages: list[ModelMessage], info: AgentInfo) -> Any:
    calls["model"] += 1
    if not any(isinstance(m, ModelResponse) for m in messages):
        yield {0: DeltaToolCall(name="add", json_args='{"a": 1, "b": 2}', tool_call_id="s1")}
    else:
        for chunk in ("the ", "answer ", "is 3"):
            yield chunk


math = FunctionToolset(id="math")


@math.tool_plain
def add(a: int, b: int) -> int:
    calls["tool"] += 1
    return a + b


def make_agent(**options: Any) -> DurableAgent[Any, Any]:
    model = FunctionModel(
        three_tool_steps, stream_function=streamed_steps, model_name="gpt-4o-mini"
    )
    return DurableAgent(Agent(model, name="calc", toolsets=[math]), **options)


@pytest.fixture(autouse=True)
def reset_calls() -> None:
    calls.clear()


def retry(exec_id: str) -> Any:
    return kitaru.KitaruClient().executions.retry(exec_id).wait()


# --- crash and resume in child processes --------------------------------------------------------


def run_script(mode: str, env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), mode],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["flow", "standalone"])
def test_sigkill_after_third_tool_call_then_resume_repeats_nothing(
    mode: str, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "side-effects.log"
    env = {**subprocess_env, "KITARU_TEST_LOG": str(log)}
    killed = run_script(mode, env, KITARU_TEST_KILL_AFTER="3")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    before = log.read_text().splitlines()
    assert before == [
        "model 0",
        "tool search",
        "model 1",
        "tool fetch",
        "model 2",
        "tool read",
    ]
    execution = kitaru.KitaruClient().executions.latest()
    assert execution is not None and execution.status in ("running", "failed")  # owner died
    resumed = cli(env, "executions", "resume", execution.exec_id)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    lines = log.read_text().splitlines()
    models_once = [f"model {n}" for n in range(5)]
    tools_once = ["tool search", "tool fetch", "tool read", "tool summarize"]
    assert Counter(lines) == Counter([*models_once, *tools_once]), lines
    after = kitaru.KitaruClient().executions.get(execution.exec_id)
    assert after.status == "completed"
    reused = [op.name for op in after.operations if op.reused]
    assert len(reused) == 6  # three model requests and three tool calls came from the log
    assert after.cost_saved > 0 and after.cost_spent > after.cost_saved
    summary = after.to_dict(with_operations=False)  # totals stored on the execution itself
    assert summary["cost_spent"] == pytest.approx(after.cost_spent)  # incl. the killed run's
    assert summary["tokens_in"] == after.tokens_in > 0
    result = after.result
    output = result if isinstance(result, str) else result.output
    assert output == "report after 4 steps"


@pytest.mark.slow
def test_tool_approval_suspends_the_process_and_completes_after_input(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "side-effects.log"
    env = {**subprocess_env, "KITARU_TEST_LOG": str(log)}
    first = run_script("approval", env)
    assert first.returncode == 3, first.stdout + first.stderr
    exec_id = first.stdout.strip().splitlines()[-1]
    client = kitaru.KitaruClient()
    assert client.executions.get(exec_id).status == "waiting"
    (pending,) = client.executions.pending_waits(exec_id)
    assert pending.name == "approve_publish"
    assert "publish" in (pending.question or "") and '"topic": "x"' in (pending.question or "")
    assert log.read_text().splitlines() == ["model 0", "tool search", "model 1"]

    client.executions.input(exec_id, True)
    resumed = cli(env, "executions", "resume", exec_id)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert log.read_text().splitlines() == [
        "model 0",
        "tool search",
        "model 1",
        "tool publish",
        "model 2",
    ]
    assert client.executions.get(exec_id).result == "published"


# --- in-process behaviour -----------------------------------------------------------------------


def test_calls_strategy_records_each_request_and_tool_call_and_reuses_them() -> None:
    agent = make_agent()
    state = {"fail": True}

    @kitaru.flow
    def add_up() -> str:
        output = agent.run_sync("add things").output
        if state["fail"]:
            state["fail"] = False
            raise RuntimeError("crash after the agent")
        return str(output)

    handle = add_up.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    assert calls == {"model": 4, "tool": 3}
    calls.clear()
    assert retry(handle.exec_id) == "total 33"
    assert calls == {}
    execution = handle.get()
    kinds = [op.kind for op in execution.operations]
    assert kinds == ["llm", "tool", "llm", "tool", "llm", "tool", "llm"]
    assert all(op.reused for op in execution.operations)
    first = execution.operations[0]
    assert first.name == "calc__model.request" and first.model == "gpt-4o-mini"
    assert first.tokens_in > 0 and first.cost > 0
    assert execution.cost_saved == pytest.approx(execution.cost_spent)
    assert execution.operations[1].name == "calc__function_toolset__math.call_tool:add"


def test_a_streamed_run_replays_its_recorded_response_as_a_stream() -> None:
    agent = make_agent()
    state = {"fail": True}

    seen: list[list[str]] = []

    @kitaru.flow
    async def stream_it() -> list[str]:
        async with agent.run_stream("stream please") as streamed:
            chunks = [c async for c in streamed.stream_text(delta=True)]
        seen.append(chunks)
        if state["fail"]:
            state["fail"] = False
            raise RuntimeError("crash after streaming")
        return chunks

    async def start() -> Any:
        return await stream_it.run()

    handle = asyncio.run(start())
    with pytest.raises(RuntimeError):
        handle.wait()
    assert calls == {"model": 2, "tool": 1}
    calls.clear()
    replayed = retry(handle.exec_id)
    assert calls == {}
    assert "".join(replayed) == "the answer is 3"
    assert seen[0] == seen[1] == replayed  # the same stream, from the recorded response
    names = [(op.name, op.reused) for op in handle.get().operations]
    assert names[0] == ("calc__model.request_stream", True)


def test_run_stream_and_iter_outside_a_flow_open_their_own_execution() -> None:
    agent = make_agent()

    async def both() -> tuple[str, str]:
        async with agent.run_stream("stream please") as streamed:
            text = await streamed.get_output()
        async with agent.iter("iterate") as agent_run:
            async for _ in agent_run:
                pass
        assert agent_run.result is not None
        return text, agent_run.result.output

    assert asyncio.run(both()) == ("the answer is 3", "total 33")
    executions = kitaru.KitaruClient().executions.list()
    assert [e.flow_name for e in executions] == ["calc", "calc"]
    assert all(e.status == "completed" for e in executions)


def test_run_outside_a_flow_is_an_execution_of_its_own() -> None:
    agent = make_agent()
    result = agent.run_sync("add things")
    assert result.output == "total 33"
    execution = kitaru.KitaruClient().executions.latest()
    assert execution is not None and execution.flow_name == "calc"
    assert len(execution.operations) == 7
    stored = execution.result
    assert stored.output == "total 33" and stored.all_messages() == result.all_messages()


@dataclass
class Deps:
    bonus: int


def test_per_run_model_and_deps() -> None:
    def other(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if not any(isinstance(m, ModelResponse) for m in messages):
            return ModelResponse(parts=[ToolCallPart("with_bonus", {"x": 1}, tool_call_id="b")])
        return ModelResponse(parts=[TextPart("other model done")])

    inner = Agent(FunctionModel(three_tool_steps), name="deps_agent", deps_type=Deps)

    @inner.tool
    def with_bonus(ctx: RunContext[Deps], x: int) -> int:
        calls["tool"] += 1
        return x + ctx.deps.bonus

    agent = DurableAgent(inner)
    other_model = FunctionModel(other)

    @kitaru.flow
    def pick() -> list[str]:
        a = agent.run_sync("x", model=other_model, deps=Deps(bonus=41))
        b = agent.run_sync("y", model="test", deps=Deps(bonus=1))
        return [a.output, b.output]

    handle = pick.run()
    first, second = handle.wait()
    assert first == "other model done"
    assert "with_bonus" in second
    ops = handle.get().operations
    assert ops[0].name == "deps_agent__model.request.function:function:other:"
    tool_op = next(op for op in ops if op.kind == "tool")
    assert tool_op._record is not None and b"42" in (tool_op._record.output or b"")
    assert any(op.name == "deps_agent__model.request.test" for op in ops)


class Report(BaseModel):
    title: str
    score: int


def test_turn_strategy_records_one_operation_per_run() -> None:
    agent = DurableAgent(Agent(TestModel(), name="reporter", output_type=Report), strategy="turn")
    state = {"fail": True}

    @kitaru.flow
    def report() -> Report:
        output = agent.run_sync("write it").output
        if state["fail"]:
            state["fail"] = False
            raise RuntimeError("crash")
        return output

    handle = report.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    value = retry(handle.exec_id)
    assert isinstance(value, Report)
    (op,) = handle.get().operations
    assert (op.name, op.kind, op.reused) == ("reporter__run", "agent", True)
    assert op.tokens_in > 0 and op.metadata["llm_calls"]


def test_turn_strategy_refuses_iter_inside_a_flow() -> None:
    agent = DurableAgent(Agent(TestModel(), name="turner"), strategy="turn")

    @kitaru.flow
    async def iterate() -> None:
        async with agent.iter("x"):
            pass

    async def start() -> Any:
        return await iterate.run()

    with pytest.raises(kitaru.KitaruError, match="strategy='turn'"):
        asyncio.run(start()).wait()


def test_a_run_inside_a_checkpoint_adds_its_usage_to_the_checkpoint() -> None:
    agent = make_agent()

    @kitaru.checkpoint
    def research_step() -> str:
        return str(agent.run_sync("inside").output)

    @kitaru.flow
    def outer() -> str:
        return research_step()

    handle = outer.run()
    assert handle.wait() == "total 33"
    (op,) = handle.get().operations
    assert op.kind == "checkpoint"
    assert len(op.metadata["llm_calls"]) == 4
    assert op.tokens_in > 0 and op.cost > 0


def test_hitl_tool_waits_for_a_human_and_returns_the_answer() -> None:
    def asker(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        calls["model"] += 1
        if not any(isinstance(m, ModelResponse) for m in messages):
            args = {"context": "deploy v2"}
            return ModelResponse(parts=[ToolCallPart("confirm", args, tool_call_id="h")])
        answer = messages[-1].parts[0]
        assert isinstance(answer, ToolReturnPart)
        return ModelResponse(parts=[TextPart(f"human said {answer.content}")])

    tool = hitl_tool("Ship it?", schema=bool, name="confirm", timeout=0)
    agent = DurableAgent(Agent(FunctionModel(asker), name="shipper", tools=[tool]))

    @kitaru.flow
    def ship() -> str:
        return str(agent.run_sync("go").output)

    handle = ship.run()
    with pytest.raises(kitaru.ExecutionSuspended):
        handle.wait()
    client = kitaru.KitaruClient()
    (pending,) = client.executions.pending_waits(handle.exec_id)
    assert pending.question == "Ship it?\n\ndeploy v2"
    client.executions.input(handle.exec_id, True)
    calls.clear()
    assert client.executions.resume(handle.exec_id).wait() == "human said True"
    assert calls["model"] == 1  # only the request after the answer


def test_denied_approval_reaches_the_model() -> None:
    def deleter(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if not any(isinstance(m, ModelResponse) for m in messages):
            return ModelResponse(parts=[ToolCallPart("delete", {"path": "/"}, tool_call_id="d")])
        part = messages[-1].parts[0]
        assert isinstance(part, ToolReturnPart)
        return ModelResponse(parts=[TextPart(f"tool said: {part.content}")])

    inner = Agent(FunctionModel(deleter), name="deleter")

    @inner.tool_plain(requires_approval=True)
    def delete(path: str) -> str:
        calls["tool"] += 1
        return "deleted"

    agent = DurableAgent(inner, approval_timeout=0)

    @kitaru.flow
    def clean() -> str:
        return str(agent.run_sync("clean up").output)

    handle = clean.run()
    with pytest.raises(kitaru.ExecutionSuspended):
        handle.wait()
    client = kitaru.KitaruClient()
    client.executions.input(handle.exec_id, {"approved": False, "message": "never delete /"})
    assert client.executions.resume(handle.exec_id).wait() == "tool said: never delete /"
    assert calls["tool"] == 0


def test_capability_can_be_attached_to_an_agent_directly() -> None:
    agent = Agent(TestModel(), name="plain", capabilities=[KitaruDurability()])

    @kitaru.flow
    async def use_plain() -> str:
        return (await agent.run("hi")).output

    async def start() -> Any:
        return await use_plain.run()

    handle = asyncio.run(start())
    assert handle.wait() == "success (no tool calls)"
    assert [op.kind for op in handle.get().operations] == ["llm"]


def test_a_backend_made_before_binding_is_not_reused_under_another_agent_name() -> None:
    capability: KitaruDurability[Any] = KitaruDurability()
    capability.get_durable_operation_backend()  # kept: asked for again at each model request
    agent = Agent(TestModel(), name="named_later", capabilities=[capability])

    @kitaru.flow
    async def use_named_later() -> str:
        return (await agent.run("hi")).output

    async def start() -> Any:
        return await use_named_later.run()

    handle = asyncio.run(start())
    handle.wait()
    assert [op.name for op in handle.get().operations] == ["named_later__model.request"]


def test_messages_and_results_use_their_own_serializers() -> None:
    result = Agent(TestModel(), output_type=Report).run_sync("x")
    registry = get_registry()
    for value, codec in (
        (result, "pydantic-ai-run"),
        (result.all_messages(), "pydantic-ai-messages"),
        (result.all_messages()[-1], "pydantic-ai-messages"),
    ):
        name, data = registry.dumps(value, what="test value")
        assert name == codec
        back = registry.loads(name, data, what="test value")
        if codec == "pydantic-ai-run":
            assert back.output == result.output and back.all_messages() == result.all_messages()
        else:
            assert back == value


def test_a_name_is_required_and_strategy_is_checked() -> None:
    with pytest.raises(kitaru.KitaruError, match="needs a name"):
        DurableAgent(Agent(TestModel()))
    with pytest.raises(kitaru.KitaruError, match="strategy"):
        bad: Any = "whole"
        DurableAgent(Agent(TestModel(), name="x"), strategy=bad)
    assert KitaruAgent is DurableAgent


def test_checkpoint_strategy_keyword_of_kitaru_docs_is_accepted() -> None:
    """Kitaru's published docs write ``KitaruAgent(agent, checkpoint_strategy="calls")``."""
    agent = KitaruAgent(Agent(TestModel(), name="docs_agent"), checkpoint_strategy="turn")
    assert agent.strategy == "turn"
    same = KitaruAgent(
        Agent(TestModel(), name="docs_agent"), strategy="turn", checkpoint_strategy="turn"
    )
    assert same.strategy == "turn"
    with pytest.raises(kitaru.KitaruError, match="checkpoint_strategy"):
        KitaruAgent(
            Agent(TestModel(), name="docs_agent"), strategy="calls", checkpoint_strategy="turn"
        )
    with pytest.raises(kitaru.KitaruError, match="strategy"):
        bad: Any = "whole"
        KitaruAgent(Agent(TestModel(), name="docs_agent"), checkpoint_strategy=bad)


def test_mcp_tool_calls_are_operations() -> None:
    pytest.importorskip("pydantic_ai.mcp", reason="needs pip install 'kitaru[mcp]'")
    from fastmcp import FastMCP  # the server side: fastmcp-slim[server], in the dev extra
    from pydantic_ai.mcp import MCPToolset

    server = FastMCP("loud")

    @server.tool
    def shout(text: str) -> str:
        calls["mcp"] += 1
        return text.upper()

    toolset = MCPToolset(server, id="loud")  # a real MCP session with an in-process server
    agent = DurableAgent(Agent(TestModel(), name="mcp_user", toolsets=[toolset]))
    assert agent.run_sync("x").output == '{"shout":"A"}'
    execution = kitaru.KitaruClient().executions.latest()
    assert execution is not None
    mcp_ops = [op.name for op in execution.operations if op.kind == "mcp"]
    assert mcp_ops == [
        "mcp_user__mcp_server__loud.get_tools",
        "mcp_user__mcp_server__loud.call_tool",
    ]
    assert calls["mcp"] == 1


@pytest.mark.slow
def test_the_adapter_page_runs(run_doc: Callable[..., Any]) -> None:
    run_doc("docs/adapters/pydantic-ai.md")


def test_request_input_capability_waits_through_kitaru() -> None:
    from pydantic import TypeAdapter
    from pydantic_ai.capabilities import RequestInput
    from pydantic_ai.tools import DeferredToolRequests, DeferredToolResults, ToolApproved

    tokens: list[str] = []

    def ask(ctx: RunContext[Any], requests: DeferredToolRequests, token: str) -> None:
        tokens.append(token)  # e.g. send the token to a reviewer; None: answer comes later

    def remover(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if not any(isinstance(m, ModelResponse) for m in messages):
            return ModelResponse(parts=[ToolCallPart("rm", {"path": "x"}, tool_call_id="r")])
        part = messages[-1].parts[0]
        assert isinstance(part, ToolReturnPart)
        return ModelResponse(parts=[TextPart(f"done: {part.content}")])

    inner = Agent(
        FunctionModel(remover), name="remover", capabilities=[RequestInput(ask, name="review")]
    )

    @inner.tool_plain(requires_approval=True)
    def rm(path: str) -> str:
        calls["tool"] += 1
        return f"removed {path}"

    agent = DurableAgent(inner, approval_timeout=0)

    @kitaru.flow
    def remove() -> str:
        return str(agent.run_sync("remove x").output)

    handle = remove.run()
    with pytest.raises(kitaru.ExecutionSuspended):
        handle.wait()
    client = kitaru.KitaruClient()
    (pending,) = client.executions.pending_waits(handle.exec_id)
    assert pending.name == "review" and tokens == [f"{handle.exec_id}/remover/review/0"]
    answer = DeferredToolResults(approvals={"r": ToolApproved()})
    client.executions.input(
        handle.exec_id, TypeAdapter(DeferredToolResults).dump_python(answer, mode="json")
    )
    assert client.executions.resume(handle.exec_id).wait() == "done: removed x"
    assert len(tokens) == 1 and calls["tool"] == 1  # ask() ran once: it is an operation


# --- operation identity across versions ---------------------------------------------------------

LEGACY_EXEC = "kr-01m8s1w1kjkvv8dpz6eh7bq17c"
SCHEME_KEY = "kitaru_pydantic_ai.identity"


@pytest.fixture
def legacy_flow(kitaru_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The store recorded by the adapter before the history chain (see its fixtures script)."""
    legacy_stores.restore("legacy_pydantic_ai_store", kitaru_home)
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import legacy_identity_flow

    legacy_identity_flow.calls.clear()
    legacy_identity_flow.state["fail"] = False
    yield legacy_identity_flow
    legacy_identity_flow.state["fail"] = True


def test_execution_recorded_before_the_history_chain_reuses_every_call_on_resume(
    legacy_flow: Any,
) -> None:
    assert retry(LEGACY_EXEC) == "looked up 3 topics"
    assert dict(legacy_flow.calls) == {}
    execution = kitaru.KitaruClient().executions.get(LEGACY_EXEC)
    assert [op.kind for op in execution.operations] == ["llm", "tool"] * 3 + ["llm"]
    assert all(op.reused for op in execution.operations)
    assert execution.metadata[SCHEME_KEY] == "full-history"


def test_replay_of_an_execution_recorded_before_the_history_chain_reuses_its_calls(
    legacy_flow: Any,
) -> None:
    client = kitaru.KitaruClient()
    last_request = client.executions.get(LEGACY_EXEC).operations[-1].op_id
    handle = client.executions.replay(LEGACY_EXEC, from_=last_request)
    assert handle.wait() == "looked up 3 topics"
    assert dict(legacy_flow.calls) == {"model": 1}  # only the one it was asked to run again
    reused = [op.reused for op in handle.get().operations]
    assert reused == [True] * 6 + [False]
    assert handle.get().metadata[SCHEME_KEY] == "full-history"


def test_new_executions_use_the_history_chain_and_their_replays_too() -> None:
    agent = make_agent()

    @kitaru.flow
    def add_up() -> str:
        return str(agent.run_sync("add things").output)

    first = add_up.run()
    assert first.wait() == "total 33"
    assert first.get().metadata[SCHEME_KEY] == "history-chain"
    calls.clear()
    client = kitaru.KitaruClient()
    last_request = client.executions.get(first.exec_id).operations[-1].op_id
    replayed = client.executions.replay(first.exec_id, from_=last_request)
    assert replayed.wait() == "total 33"
    assert calls == {"model": 1}
    assert [op.reused for op in replayed.get().operations] == [True] * 6 + [False]
    assert replayed.get().metadata[SCHEME_KEY] == "history-chain"


def test_equal_histories_get_equal_model_request_identities_whatever_ran_before() -> None:
    """The chain depends on a request's own history, never on the execution's earlier calls."""
    agent = make_agent()

    @kitaru.flow
    def twice(first_prompt: str) -> list[str]:
        outputs = [str(agent.run_sync(first_prompt).output)]
        return [*outputs, str(agent.run_sync("add things").output)]

    handle = twice.run("something else first")
    handle.wait()
    alone = twice.run("add things")
    alone.wait()

    def request_fingerprints(execution: Any, prompt_run: int) -> list[str]:
        llm = [op for op in execution.operations if op.kind == "llm"]
        return [op._record.fingerprint for op in llm[prompt_run * 4 : prompt_run * 4 + 4]]

    # The second run of `handle` and the first of `alone` have the same histories.
    assert request_fingerprints(handle.get(), 1) == request_fingerprints(alone.get(), 0)
    assert request_fingerprints(handle.get(), 0) != request_fingerprints(alone.get(), 0)


def test_usage_read_from_a_payload_equals_usage_of_the_loaded_response() -> None:
    from kitaru_pydantic_ai._model import payload_usage, response_usage
    from pydantic_ai.durable_exec import JSON_CODEC
    from pydantic_ai.usage import RequestUsage

    for cost in (None, Decimal("0.25")):
        response = ModelResponse(
            parts=[TextPart("hi")],
            usage=RequestUsage(input_tokens=5, output_tokens=7, cost=cost),
            model_name=f"no-such-model-{cost}",
            provider_name="nowhere",
            finish_reason="stop",
        )
        payload = JSON_CODEC.dump(ModelResponse, response)
        expected = response_usage(response, latency=0.5)
        assert payload_usage(payload, latency=0.5) == expected  # looked up, no price: noted
        assert payload_usage(payload, latency=0.5) == expected  # read from the payload
    assert expected.cost == 0.25 and "cost_known" not in expected.details


def test_recorded_payloads_are_stored_as_json_and_reused() -> None:
    agent = make_agent()
    state = {"fail": True}

    @kitaru.flow
    def add_up() -> str:
        output = str(agent.run_sync("add things").output)
        if state.pop("fail", False):
            raise RuntimeError("crash after the agent")
        return output

    handle = add_up.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    records = [op._record for op in handle.get().operations]
    assert {r.output_codec for r in records if r is not None} == {"pydantic-ai-payload"}
    assert get_registry().loads("pydantic-ai-payload", b'{"a":[1.5,NaN]}', what="x")["a"][0] == 1.5
    calls.clear()
    assert retry(handle.exec_id) == "total 33" and calls == {}


LEGACY_AUTOFLOW_EXEC = "kr-01m8s3yhbc07hkcryvkgnkdycq"


def test_automatic_execution_recorded_before_the_toolkit_reuses_its_calls_on_retry(
    kitaru_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded by ``_autoflow.py`` on the runner's privates (see
    fixtures/make_legacy_autoflow_store.py): the automatic flow keeps its reference and
    arguments, so the toolkit's flow resumes it."""
    legacy_stores.restore("legacy_autoflow_store", kitaru_home)
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import legacy_autoflow_agent

    legacy_autoflow_agent.calls.clear()
    monkeypatch.setitem(legacy_autoflow_agent.state, "fail", False)
    result = retry(LEGACY_AUTOFLOW_EXEC)
    assert result.output == "looked up 2 topics"
    # The failed second lookup and the last model request ran; the rest was reused.
    assert dict(legacy_autoflow_agent.calls) == {"tool": 1, "model": 1}
    execution = kitaru.KitaruClient().executions.get(LEGACY_AUTOFLOW_EXEC)
    assert execution.status == "completed" and execution.flow_name == "legacy_auto"
    reused = [(op.kind, op.reused) for op in execution.operations if op.status == "completed"]
    assert reused == [("llm", True), ("tool", True), ("llm", True), ("tool", False), ("llm", False)]
    assert execution.cost_saved > 0


# --- what the dispatch hands back, fresh and reused ---------------------------------------------


class Reading(BaseModel):
    label: str
    value: int


def tool_returns(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    if not any(isinstance(m, ModelResponse) for m in messages):
        return ModelResponse(
            parts=[
                ToolCallPart("note", {"text": "hi"}, tool_call_id="t1"),
                ToolCallPart("reading", {"value": 7}, tool_call_id="t2"),
            ]
        )
    return ModelResponse(parts=[TextPart("done")])


def returns_agent() -> DurableAgent[Any, Any]:
    agent = Agent(FunctionModel(tool_returns, model_name="returns-model"), name="returns")

    @agent.tool_plain
    def note(text: str) -> str:
        calls["tool"] += 1
        return f"noted {text}"

    @agent.tool_plain
    def reading(value: int) -> Reading:
        calls["tool"] += 1
        return Reading(label="temp", value=value)

    return DurableAgent(agent)


def tool_contents(messages: list[ModelMessage]) -> list[Any]:
    return [
        part.content
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]


def test_tool_results_are_the_same_fresh_and_reused() -> None:
    """A text result is handed back as it is, anything else as its payload loads back: the
    same values, of the same types, in a fresh run and in a resumed one."""
    agent = returns_agent()
    state = {"fail": True}
    seen: list[list[Any]] = []

    @kitaru.flow
    def use_tools() -> str:
        result = agent.run_sync("use the tools")
        seen.append(tool_contents(result.all_messages()))
        if state.pop("fail", False):
            raise RuntimeError("crash after the agent")
        return str(result.output)

    handle = use_tools.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    assert calls == {"tool": 2}
    calls.clear()
    assert retry(handle.exec_id) == "done" and calls == {}
    fresh, reused = seen
    assert fresh == reused == ["noted hi", {"label": "temp", "value": 7}]
    assert [type(c) for c in fresh] == [type(c) for c in reused] == [str, dict]


def test_an_event_stream_handler_sees_the_runs_events_inside_a_flow() -> None:
    kinds: list[str] = []

    async def handler(ctx: RunContext[Any], events: Any) -> None:
        async for event in events:
            kinds.append(event.event_kind)

    agent = make_agent(event_stream_handler=handler)

    @kitaru.flow
    def add_up() -> str:
        return str(agent.run_sync("add things").output)

    assert add_up() == "the answer is 3"  # with a handler, requests are streamed
    assert kinds.count("function_tool_call") == 1
    assert kinds.count("function_tool_result") == 1
    assert "part_delta" in kinds  # the model's stream reached the handler too
