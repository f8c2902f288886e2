"""The Claude Agent SDK adapter, offline, through a fake ``claude`` executable.

The fake (tests/adapters/fake_claude/claude) speaks the SDK's stream-JSON control protocol and
logs every start, so these tests count how often the CLI really ran.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("claude_agent_sdk")

from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ResultMessage,
    SystemMessage,
    UserMessage,
    create_sdk_mcp_server,
    tool,
)
from claude_agent_sdk.testing import run_session_store_conformance
from kitaru_claude_agent_sdk._names import OPERATION_NAMES
from kitaru_claude_agent_sdk._options import identifying_options
from kitaru_claude_agent_sdk._serializers import Recording, RecordingSerializer

import kitaru
from kitaru.adapters.claude_agent_sdk import (
    DurableClaudeClient,
    KitaruSessionStore,
    durable_query,
)
from kitaru_core import testing
from kitaru_core.toolkit import AdapterLog as KitaruStreams

HERE = Path(__file__).parent
FAKE = HERE / "fake_claude" / "claude"
SCRIPT = HERE / "scripts" / "claude_flows.py"
CONTRACT_LOG = "KITARU_CONTRACT_LOG"


class Fake:
    """The fake CLI's script, its start log and its config dir, for one test."""

    def __init__(self, root: Path, steps: dict[str, list[dict[str, Any]]]) -> None:
        self.root = root
        self.script = root / "fake-script.json"
        self.script.write_text(json.dumps({"model": "claude-fake-1", "turns": steps}))
        self.log = root / "fake-starts.log"
        self.config = root / "claude-config"
        self.kill_marker = root / "killed-once"

    @property
    def env(self) -> dict[str, str]:
        return {
            "FAKE_CLAUDE_SCRIPT": str(self.script),
            "FAKE_CLAUDE_LOG": str(self.log),
            "CLAUDE_CONFIG_DIR": str(self.config),
        }

    def starts(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


STEPS: dict[str, list[dict[str, Any]]] = {
    "first": [
        {"text": "adding"},
        {"tool": "add", "server": "calc", "input": {"a": 2, "b": 3}},
        {"text": "first done", "usage": {"input_tokens": 50, "output_tokens": 10}, "cost": 0.01},
    ],
    "second": [
        {"text": "adding again"},
        {"tool": "add", "server": "calc", "input": {"a": 4, "b": 5}},
        {"text": "second done"},
    ],
    "deploy": [
        {"permission": "Bash", "input": {"command": "deploy --prod"}},
        {"text": "deployed"},
    ],
}


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    made = Fake(tmp_path, STEPS)
    for key, value in made.env.items():
        monkeypatch.setenv(key, value)
    yield made


TOOL_RUNS: list[dict[str, Any]] = []


@tool("add", "Add two numbers", {"a": int, "b": int})
async def add(args: dict[str, Any]) -> dict[str, Any]:
    TOOL_RUNS.append(args)
    return {"content": [{"type": "text", "text": str(args["a"] + args["b"])}]}


def options(**extra: Any) -> ClaudeAgentOptions:
    calc = create_sdk_mcp_server("calc", tools=[add])
    return ClaudeAgentOptions(cli_path=str(FAKE), mcp_servers={"calc": calc}, **extra)


def run_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120
    )


def resume(env: dict[str, str], exec_id: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "kitaru_core.cli", "executions", "resume", exec_id]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def only_execution() -> Any:
    (execution,) = kitaru.KitaruClient().executions.list()
    return kitaru.KitaruClient().executions.get(execution.exec_id)


# --- in process --------------------------------------------------------------------------------


def test_a_resumed_flow_replays_recorded_invocations_without_the_cli(fake: Fake) -> None:
    TOOL_RUNS.clear()
    state = {"crash": True}

    @kitaru.flow
    async def two() -> list[Any]:
        seen = []
        for prompt in ("first", "second"):
            seen.append([m async for m in durable_query(prompt, options())])
        if state.pop("crash", False):
            raise RuntimeError("crash after both invocations")
        return seen

    with pytest.raises(RuntimeError, match="crash after"):
        asyncio.run(two())
    assert len(fake.starts()) == 2 and len(TOOL_RUNS) == 2
    exec_id = kitaru.KitaruClient().executions.latest().exec_id
    first_run = kitaru.KitaruClient().executions.get(exec_id)

    again = kitaru.KitaruClient().executions.retry(exec_id)
    replayed = again.wait()
    assert len(fake.starts()) == 2 and len(TOOL_RUNS) == 2  # no CLI, no tool
    kinds = [type(m) for m in replayed[0]]
    assert kinds == [
        SystemMessage,
        AssistantMessage,
        AssistantMessage,
        UserMessage,
        AssistantMessage,
        ResultMessage,
    ]
    result = replayed[0][-1]
    assert result.result == "first done" and result.total_cost_usd == pytest.approx(0.013)
    assert result.usage["input_tokens"] == 250

    execution = again.get()
    ops = [op for op in execution.operations if op.name == "claude.query"]
    assert [op.reused for op in ops] == [True, True]
    first = ops[0]
    assert (first.kind, first.model, first.tokens_in, first.tokens_out) == (
        "agent",
        "claude-fake-1",
        250,
        50,
    )
    assert first.cost == pytest.approx(0.013)
    assert first_run.cost_spent == pytest.approx(0.013 + 0.0045)
    assert execution.cost_saved == pytest.approx(0.013 + 0.0045)


def test_messages_are_yielded_as_they_arrive(fake: Fake) -> None:
    """The first message reaches the caller before the invocation has ended."""
    order: list[str] = []

    @kitaru.flow
    async def watch() -> None:
        async for message in durable_query("first", options()):
            order.append(type(message).__name__)
            if isinstance(message, SystemMessage):
                order.append(f"tool runs {len(TOOL_RUNS)}")

    TOOL_RUNS.clear()
    asyncio.run(watch())
    assert order[:2] == ["SystemMessage", "tool runs 0"]
    assert order[-1] == "ResultMessage"


def test_a_recording_round_trips_as_the_sdks_types(fake: Fake) -> None:
    async def collect() -> list[Any]:
        from claude_agent_sdk import query

        return [m async for m in query(prompt="first", options=options())]

    messages = asyncio.run(collect())
    serializer = RecordingSerializer()
    back = serializer.loads(serializer.dumps(Recording(messages, "s-1")))
    assert back.messages == messages and back.session_id == "s-1"
    assert [type(m) for m in back.messages] == [type(m) for m in messages]


def test_the_identity_ignores_callbacks_and_transport_options() -> None:
    async def allow(*_: Any) -> Any:
        return None

    plain = identifying_options(ClaudeAgentOptions(model="claude-x", max_turns=3))
    busy = ClaudeAgentOptions(
        model="claude-x",
        max_turns=3,
        can_use_tool=allow,
        cli_path="/somewhere/claude",
        env={"ANTHROPIC_API_KEY": "secret"},
        stderr=print,
    )
    assert identifying_options(busy) == plain == {"model": "claude-x", "max_turns": 3}
    assert identifying_options(ClaudeAgentOptions(model="claude-y")) != plain
    calc = create_sdk_mcp_server("calc", tools=[add])
    with_server = identifying_options(ClaudeAgentOptions(mcp_servers={"calc": calc}))
    assert with_server == {"mcp_servers": {"calc": {"type": "sdk", "name": "calc"}}}


def test_outside_a_flow_an_invocation_opens_an_execution(fake: Fake) -> None:
    async def ask() -> list[Any]:
        return [m async for m in durable_query("hello", ClaudeAgentOptions(cli_path=str(FAKE)))]

    messages = asyncio.run(ask())
    assert isinstance(messages[-1], ResultMessage)
    execution = only_execution()
    assert execution.flow_name == "claude_query" and execution.status == "completed"
    assert [op.name for op in execution.operations] == ["claude.query"]
    assert execution.result["result"] == "echo: hello"


def test_a_client_records_each_exchange_and_continues_the_conversation(fake: Fake) -> None:
    state = {"crash": True}

    @kitaru.flow
    async def chat() -> list[Any]:
        results = []
        async with DurableClaudeClient(options()) as client:
            for prompt in ("first", "second"):
                await client.query(prompt)
                async for message in client.receive_response():
                    if isinstance(message, ResultMessage):
                        results.append(message.result)
                if state.pop("crash", False):
                    raise RuntimeError("crash after the first exchange")
        return results

    with pytest.raises(RuntimeError):
        asyncio.run(chat())
    (first_start,) = fake.starts()
    exec_id = kitaru.KitaruClient().executions.latest().exec_id
    assert kitaru.KitaruClient().executions.retry(exec_id).wait() == ["first done", "second done"]
    starts = fake.starts()
    assert len(starts) == 2 and first_start["resume"] is None
    execution = kitaru.KitaruClient().executions.get(exec_id)
    ops = [op for op in execution.operations if op.name == "claude.client.query"]
    assert [op.reused for op in ops] == [True, False]
    # the second exchange continued the first one's CLI session, so Claude saw both
    sessions = execution.metadata["claude_agent_sdk.sessions"]
    assert starts[1]["resume"] == sessions[ops[0].op_id]


def test_kitaru_session_store_passes_the_sdk_conformance_suite(kitaru_home: Path) -> None:
    made = itertools.count()

    def fresh() -> KitaruSessionStore:  # each contract gets a store of its own
        return KitaruSessionStore(namespace=f"conformance-{next(made)}")

    asyncio.run(run_session_store_conformance(fresh))
    assert next(made) > 14  # every contract ran, the optional ones too


def test_session_store_keeps_a_transcript_across_store_instances(kitaru_home: Path) -> None:
    key = {"project_key": "p", "session_id": "s"}
    entries = [{"type": "user", "uuid": "u1"}, {"type": "assistant", "uuid": "u2"}]
    asyncio.run(KitaruSessionStore().append(key, entries))
    asyncio.run(KitaruSessionStore().append(key, entries[1:]))  # a retried batch: deduped
    assert asyncio.run(KitaruSessionStore().load(key)) == entries


# --- across processes ----------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_between_invocations_starts_the_cli_only_for_the_unfinished_one(
    fake: Fake, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    contract = testing.AdapterContract(
        "claude_agent_sdk", SCRIPT, OPERATION_NAMES, kill_after=1, args=("two",), extra_env=fake.env
    )
    log = tmp_path / "calls.log"
    seen = testing.crash_and_resume(contract, subprocess_env, log)
    assert seen.calls_before_kill == ["model first", "tool add 2 3"]
    assert seen.calls == ["model first", "tool add 2 3", "model second", "tool add 4 5"]
    starts = fake.starts()
    assert len(starts) == 2, starts  # one per invocation: the first was not started again
    assert [start["resume"] for start in starts] == [None, None]
    assert seen.execution.result == ["first done", "second done"]


@pytest.mark.slow
def test_a_crash_during_an_invocation_continues_its_session(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    marker = tmp_path / "killed-once"
    steps = dict(STEPS)
    steps["second"] = [
        {"text": "adding again"},
        {"tool": "add", "server": "calc", "input": {"a": 4, "b": 5}},
        {"kill_parent_once": str(marker), "delay": 1.0},
        {"text": "second done"},
    ]
    fake = Fake(tmp_path, steps)
    calls = tmp_path / "calls.log"
    env = {**subprocess_env, **fake.env, CONTRACT_LOG: str(calls)}
    killed = run_script(env, "two")
    assert killed.returncode == -9, killed.stderr[-2000:]
    execution = only_execution()
    sessions = execution.metadata["claude_agent_sdk.sessions"]
    assert len(sessions) == 2
    killed_session = fake.starts()[1]
    # the transcript_mirror frames filled Kitaru's store while the CLI ran
    streams = KitaruStreams("claude_agent_sdk").streams()
    mirrored = {stream.rsplit("/", 1)[-1] for stream, _ in streams}
    assert set(sessions.values()) <= mirrored
    # another machine: no local transcript, only Kitaru's store has it
    elsewhere = {**env, "CLAUDE_CONFIG_DIR": str(tmp_path / "other-machine")}
    resume(elsewhere, execution.exec_id)
    starts = fake.starts()
    assert len(starts) == 3 and killed_session["resume"] is None
    second_op = [op for op in only_execution().operations if op.name == "claude.query"][1]
    assert starts[2]["resume"] == sessions[second_op.op_id]
    assert calls.read_text().splitlines().count("tool add 4 5") == 1  # done before the kill
    done = only_execution()
    assert done.status == "completed" and done.result == ["first done", "second done"]


@pytest.mark.slow
def test_a_permission_prompt_is_answered_from_another_process(
    fake: Fake, subprocess_env: dict[str, str]
) -> None:
    env = {**subprocess_env, **fake.env}
    first = run_script(env, "guarded")
    assert first.returncode == 3, first.stdout + first.stderr
    exec_id = first.stdout.split()[-1]
    client = kitaru.KitaruClient()
    assert client.executions.get(exec_id).status == "waiting"
    (pending,) = client.executions.pending_waits(exec_id)
    assert pending.name == "claude.can_use_tool" and "Bash" in (pending.question or "")
    assert "deploy --prod" in (pending.question or "")
    client.executions.input(exec_id, {"allow": True})
    resume(env, exec_id)
    execution = client.executions.get(exec_id)
    assert execution.status == "completed", execution.error
    (result,) = execution.result
    assert result == "deployed"
    starts = fake.starts()
    assert len(starts) == 2
    sessions = execution.metadata["claude_agent_sdk.sessions"]
    assert starts[1]["resume"] == next(iter(sessions.values()))


@pytest.mark.slow
def test_the_adapter_keeps_the_contract(
    fake: Fake, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    contract = testing.AdapterContract(
        "claude_agent_sdk", SCRIPT, OPERATION_NAMES, kill_after=1, args=("two",), extra_env=fake.env
    )
    execution = testing.check_contract(contract, subprocess_env, tmp_path)
    assert execution.status == "completed"


# --- the adapter convention (here: the `tests` session does not install this SDK) ---------------


def test_kitaru_adapters_module_re_exports_the_package_public_names() -> None:
    import kitaru_claude_agent_sdk

    import kitaru.adapters.claude_agent_sdk as public

    assert public.__all__ == kitaru_claude_agent_sdk.__all__
    for name in public.__all__:
        assert getattr(public, name) is getattr(kitaru_claude_agent_sdk, name), name


def test_loading_the_plugin_imports_no_sdk() -> None:
    code = (
        "import sys, kitaru_claude_agent_sdk._plugin; "
        "print([m for m in sys.modules if m.split('.')[0] == 'claude_agent_sdk'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_adapter_page_runs(run_doc: Any, tmp_path: Path) -> None:
    fake = Fake(tmp_path, {})
    run_doc("docs/adapters/claude-agent-sdk.md", CLAUDE_CLI_PATH=str(FAKE), **fake.env)
    assert len(fake.starts()) == 2


def test_leaving_an_invocation_early_records_nothing_and_stops_the_cli(fake: Fake) -> None:
    @kitaru.flow
    async def peek() -> str:
        async for message in durable_query("first", options()):
            return type(message).__name__
        return "nothing"

    assert asyncio.run(peek()) == "SystemMessage"
    execution = only_execution()
    assert execution.status == "completed"
    assert [op.name for op in execution.operations] == []  # not a completed invocation


@pytest.mark.slow
def test_a_client_killed_between_exchanges_resumes_the_conversation(
    fake: Fake, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    calls = tmp_path / "calls.log"
    env = {
        **subprocess_env,
        **fake.env,
        CONTRACT_LOG: str(calls),
        "CLAUDE_KILL_AFTER_FIRST": str(tmp_path / "killed"),
    }
    killed = run_script(env, "conversation")
    assert killed.returncode == -9, killed.stderr[-2000:]
    execution = only_execution()
    resume(env, execution.exec_id)
    done = only_execution()
    assert done.status == "completed" and done.result == ["first done", "second done"]
    assert calls.read_text().splitlines() == [
        "model first",
        "tool add 2 3",
        "model second",
        "tool add 4 5",
    ]
    starts = fake.starts()
    first = next(op for op in done.operations if op.name == "claude.client.query")
    assert [s["resume"] for s in starts] == [
        None,
        done.metadata["claude_agent_sdk.sessions"][first.op_id],
    ]


def test_outside_a_flow_each_client_exchange_opens_an_execution(fake: Fake) -> None:
    async def chat() -> list[Any]:
        results = []
        async with DurableClaudeClient(ClaudeAgentOptions(cli_path=str(FAKE))) as client:
            for prompt in ("hello", "again"):
                await client.query(prompt)
                async for message in client.receive_messages():
                    if isinstance(message, ResultMessage):
                        results.append(message.result)
        return results

    assert asyncio.run(chat()) == ["echo: hello", "echo: again"]
    client = kitaru.KitaruClient()
    executions = sorted(client.executions.list(), key=lambda e: e.created_at)
    assert [e.flow_name for e in executions] == ["claude_client", "claude_client"]
    assert len(fake.starts()) == 1  # one CLI for the whole conversation
    # an automatic execution stores its exchange to run it again: a replay (which reuses
    # nothing) runs it in the CLI at the stored path, continuing the first exchange's session
    replay = client.executions.replay(executions[1].exec_id)
    assert replay.wait()["result"] == "echo: again"
    starts = fake.starts()
    assert len(starts) == 2 and starts[1]["resume"] == executions[0].result["session_id"]


@pytest.mark.slow
def test_a_session_that_cannot_be_continued_is_started_over(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    steps = dict(STEPS)
    steps["second"] = [
        {"text": "adding again"},
        {"kill_parent_once": str(tmp_path / "killed-once"), "delay": 0.5},
        {"text": "second done"},
    ]
    fake = Fake(tmp_path, steps)
    env = {**subprocess_env, **fake.env}
    killed = run_script(env, "two")
    assert killed.returncode == -9, killed.stderr[-2000:]
    transcripts = KitaruStreams("claude_agent_sdk")
    for stream, _ in transcripts.streams():  # the transcript is lost everywhere
        transcripts.delete(stream)
    resume({**env, "CLAUDE_CONFIG_DIR": str(tmp_path / "elsewhere")}, only_execution().exec_id)
    done = only_execution()
    assert done.status == "completed" and done.result == ["first done", "second done"]
    resumes = [start["resume"] for start in fake.starts()]
    assert resumes[:2] == [None, None] and resumes[2] is not None and resumes[3] is None


@pytest.mark.slow
def test_the_example_crashes_prints_its_id_and_resumes(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    example = HERE.parents[1] / "examples" / "claude_agent.py"
    env = {**subprocess_env, "CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}
    crashed = subprocess.run(
        [sys.executable, str(example), "--offline", "--crash"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    (exec_id,) = set(re.findall(r"\bkr-[0-9a-z]{26}\b", crashed.stdout))
    resumed = resume(env, exec_id)
    assert "Release notes" in resumed.stdout
    execution = kitaru.KitaruClient().executions.get(exec_id)
    assert execution.status == "completed"
    assert [op.reused for op in execution.operations] == [True, False]


def test_a_permission_in_a_later_client_exchange_is_asked_in_that_exchange(fake: Fake) -> None:
    from kitaru.adapters.claude_agent_sdk import ask_permission

    @kitaru.flow
    async def chat() -> list[Any]:
        results = []
        client = DurableClaudeClient(options(can_use_tool=ask_permission(timeout=0)))
        async with client:
            for prompt in ("first", "deploy"):
                await client.query(prompt)
                async for message in client.receive_response():
                    if isinstance(message, ResultMessage):
                        results.append(message.result)
        return results

    with pytest.raises(kitaru.ExecutionSuspended):
        asyncio.run(chat())
    client = kitaru.KitaruClient()
    exec_id = client.executions.latest().exec_id
    assert len(client.executions.pending_waits(exec_id)) == 1
    client.executions.input(exec_id, {"allow": True})
    assert client.executions.resume(exec_id).wait() == ["first done", "deployed"]
    execution = client.executions.get(exec_id)
    (wait,) = [op for op in execution.operations if op.kind == "wait"]
    deploy = [op for op in execution.operations if op.name == "claude.client.query"][-1]
    assert f'"within":"{deploy.op_id}"' in (wait.input_text or "")
    # the deploy exchange continued its session; the first one was replayed
    assert [s["resume"] is not None for s in fake.starts()] == [False, True]
