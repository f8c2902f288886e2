"""The OpenAI Agents SDK adapter, offline, with the real SDK and its ``ScriptedModel``.

Crash tests kill a real scenario process (tests/adapters/scripts/contract_openai_agents.py)
with SIGKILL mid-run and resume it in a fresh process: no completed model response or tool
call runs twice (counted from the calls the script notes), through handoffs, agents run as
tools, streamed runs, sessions and automatic executions. Approvals make a round trip across
processes. Tracing never leaves the process (the scenarios disable it; the tracing test
installs a local processor).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    SQLiteSession,
    function_tool,
    input_guardrail,
    set_trace_processors,
    set_tracing_disabled,
)
from agents.tracing import TracingProcessor
from kitaru_openai_agents._names import OPERATION_NAMES

import kitaru
from kitaru.adapters.openai_agents import DurableRunner, KitaruRunner
from kitaru_core import testing
from kitaru_core.errors import KitaruError

SCRIPTS = Path(__file__).parent / "scripts"
SCRIPT = SCRIPTS / "contract_openai_agents.py"
SUBPROCESS_TIMEOUT = 600
"""Seconds per child process: importing the SDK alone takes seconds on a busy machine."""
crash_test = pytest.mark.timeout(4 * SUBPROCESS_TIMEOUT)
sys.path.insert(0, str(SCRIPTS))
os.environ.setdefault("OPENAI_API_KEY", "sk-dummy-offline")  # no request ever leaves

from oai_models import PlanModel  # noqa: E402


def contract(scenario: str, kill_after: int = 3, **env: str) -> testing.AdapterContract:
    return testing.AdapterContract(
        f"openai_agents[{scenario}]",
        SCRIPT,
        OPERATION_NAMES,
        kill_after,
        args=(scenario,),
        timeout=SUBPROCESS_TIMEOUT,
        extra_env={"OPENAI_API_KEY": "sk-dummy-offline", **env},
    )


def run_script(env: dict[str, str], *args: str, kill_after: int | None = None) -> Any:
    extra = {} if kill_after is None else {testing.KILL_ENV: str(kill_after)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env={**env, "OPENAI_API_KEY": "sk-dummy-offline", **extra},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )


def cli(env: dict[str, str], *args: str) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )


# --- crash and resume ------------------------------------------------------------------------


@crash_test
@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "kill_after"),
    [("plain", 3), ("handoff", 3), ("agent_tool", 4), ("automatic", 3)],
)
def test_a_killed_run_resumes_without_repeating_a_call(
    scenario: str, kill_after: int, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    execution = testing.check_contract(contract(scenario, kill_after), subprocess_env, tmp_path)
    assert execution.status == "completed"
    reused = [op for op in execution.operations if op.reused]
    assert {op.kind for op in reused} == {"llm", "tool"}
    assert execution.cost_saved > 0


@crash_test
def test_a_killed_run_resumed_through_the_client_repeats_no_call(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    env = {**subprocess_env, testing.LOG_ENV: str(log)}
    killed = run_script(env, "agent_tool", kill_after=6)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    before = log.read_text().splitlines()
    client = kitaru.KitaruClient()
    (execution,) = client.executions.list()
    os.environ[testing.LOG_ENV] = str(log)
    try:
        handle = client.executions.resume(execution.exec_id)
        assert handle.wait(timeout=60) == "done after 2 tools"
    finally:
        del os.environ[testing.LOG_ENV]
    calls = log.read_text().splitlines()
    assert len(before) == 6 and len(calls) > len(before)
    assert [c for c, n in Counter(calls).items() if n > 1] == []
    # the lead's two tools, the researcher's four and every model response, each once
    assert sum(c.startswith("tool ") for c in calls) == 5
    assert sum(c.startswith("researcher ") for c in calls) == 5


@crash_test
def test_a_streamed_run_replays_its_recorded_responses_as_a_stream(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    events = tmp_path / "events.log"
    execution = testing.check_contract(
        contract("stream", 3, OAI_EVENTS_LOG=str(events)), subprocess_env, tmp_path
    )
    assert {op.name for op in execution.operations if op.kind == "llm"} == {
        "researcher__model.stream"
    }
    seen = Counter(events.read_text().splitlines())
    # attempt 1 was killed as its second response was recorded (before or after its consumer
    # saw it); attempt 2 streams all five: the two recorded ones replayed, the others live
    assert seen["1 raw_response_event response.completed"] in (1, 2)
    assert seen["2 raw_response_event response.completed"] == 5
    assert seen["2 run_item_stream_event tool_output"] == 4


@crash_test
def test_a_session_gets_no_duplicate_items_after_a_crash(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "session.db"
    scenario = contract("session", 5)
    scenario = testing.AdapterContract(
        scenario.name,
        SCRIPT,
        OPERATION_NAMES,
        5,
        args=("session", str(db)),
        extra_env=scenario.extra_env,
    )
    execution = testing.check_contract(scenario, subprocess_env, tmp_path)
    assert execution.status == "completed"
    items = asyncio.run(SQLiteSession("research", str(db)).get_items())
    kinds = Counter(str(item.get("type", item.get("role"))) for item in items)
    # one clean run: the question, four calls with their outputs, the answer
    assert kinds == {"user": 1, "function_call": 4, "function_call_output": 4, "message": 1}
    call_ids = [item["call_id"] for item in items if item.get("type") == "function_call"]
    assert len(call_ids) == len(set(call_ids))
    assert sqlite3.connect(db).execute("select count(*) from agent_messages").fetchone() == (10,)


# --- approvals -------------------------------------------------------------------------------


@crash_test
@pytest.mark.parametrize(
    ("answer", "ran", "final"),
    [
        ("true", True, "finished: deleted /tmp/old"),
        ('{"approved": false, "message": "never delete"}', False, "finished: never delete"),
    ],
)
def test_an_approval_round_trip_across_processes(
    answer: str, ran: bool, final: str, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    env = {**subprocess_env, testing.LOG_ENV: str(log)}
    first = run_script(env, "approval")
    assert first.returncode == 0 and "suspended" in first.stdout, first.stderr[-2000:]
    client = kitaru.KitaruClient()
    (execution,) = client.executions.list()
    assert execution.status == "waiting"
    (pending,) = client.executions.pending_waits(execution.exec_id)
    assert pending.name == "approve_delete_files"
    assert log.read_text().splitlines() == ["janitor 0"]
    answered = cli(env, "executions", "input", execution.exec_id, "--value", answer)
    assert answered.returncode == 0, answered.stdout + answered.stderr
    resumed = cli(env, "executions", "resume", execution.exec_id)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    done = client.executions.get(execution.exec_id)
    assert done.status == "completed"
    assert done.result == final
    calls = log.read_text().splitlines()
    expected = ["janitor 0", *(["tool delete_files /tmp/old"] if ran else []), "janitor 1"]
    assert calls == expected  # the first response was reused, not asked again
    assert any(op.reused and op.kind == "llm" for op in done.operations)


# --- in-process behaviour ----------------------------------------------------------------------


def _researcher(calls: list[str]) -> Agent[Any]:
    @function_tool
    def search(topic: str) -> str:
        calls.append(topic)
        return f"results for {topic}"

    plan = [("search", {"topic": "a"}), ("search", {"topic": "b"})]
    return Agent(
        name="scout", instructions="Search.", model=PlanModel(plan, label="scout"), tools=[search]
    )


def test_run_records_usage_and_cost_on_each_model_response() -> None:
    calls: list[str] = []
    runner = KitaruRunner(_researcher(calls))

    @kitaru.flow
    async def scout(question: str) -> str:
        result = await runner.run(question)
        assert result.context_wrapper.usage.input_tokens == 300
        return str(result.final_output)

    assert asyncio.run(scout("q")) == "done after 2 tools"
    execution = kitaru.KitaruClient().executions.latest()
    models = [op for op in execution.operations if op.kind == "llm"]
    assert [op.name for op in models] == ["scout__model.response"] * 3
    assert all(op.cost > 0 for op in models)
    assert execution.cost_spent == pytest.approx(sum(op.cost for op in models))
    assert [op.name for op in execution.operations if op.kind == "tool"] == [
        "scout__tool.search"
    ] * 2
    assert calls == ["a", "b"]


def test_a_retried_execution_reuses_every_call_and_saves_their_cost() -> None:
    calls: list[str] = []
    runner = DurableRunner(_researcher(calls))
    state = {"crash": True}

    @kitaru.flow
    def flaky(question: str) -> str:
        result = runner.run_sync(question)
        if state.pop("crash", False):
            raise RuntimeError("crash after the run")
        return str(result.final_output)

    handle = flaky.run("q")
    with pytest.raises(RuntimeError):
        handle.wait()
    again = kitaru.KitaruClient().executions.retry(handle.exec_id)
    assert again.wait() == "done after 2 tools"
    assert calls == ["a", "b"]
    execution = again.get()
    assert execution.cost_saved == pytest.approx(execution.cost_spent) and execution.cost_saved > 0


def test_run_outside_a_flow_opens_an_execution() -> None:
    calls: list[str] = []
    runner = DurableRunner(_researcher(calls), name="scout_auto")
    result = runner.run_sync("q")
    assert result.final_output == "done after 2 tools"
    execution = kitaru.KitaruClient().executions.latest()
    assert execution.status == "completed" and execution.flow_name == "scout_auto"
    assert execution.result["final_output"] == "done after 2 tools"
    assert execution.result["last_agent"] == "scout"


def test_an_input_guardrail_tripwire_fails_the_flow_once() -> None:
    checked: list[str] = []

    @input_guardrail
    def no_secrets(ctx: Any, agent: Any, input: Any) -> GuardrailFunctionOutput:
        checked.append(str(input))
        return GuardrailFunctionOutput(output_info="secret", tripwire_triggered=True)

    agent = _researcher([]).clone(input_guardrails=[no_secrets])
    runner = DurableRunner(agent, name="guarded")

    @kitaru.flow
    def guarded(question: str) -> str:
        return str(runner.run_sync(question).final_output)

    handle = guarded.run("the password")
    with pytest.raises(InputGuardrailTripwireTriggered):
        handle.wait()
    execution = kitaru.KitaruClient().executions.get(handle.exec_id)
    assert execution.status == "failed"
    assert "InputGuardrailTripwireTriggered" in str(execution.error)
    assert checked == ["the password"]


class Collector(TracingProcessor):
    def __init__(self) -> None:
        self.traces: list[Any] = []

    def on_trace_start(self, trace: Any) -> None:
        self.traces.append(trace)

    def on_trace_end(self, trace: Any) -> None: ...
    def on_span_start(self, span: Any) -> None: ...
    def on_span_end(self, span: Any) -> None: ...
    def shutdown(self) -> None: ...
    def force_flush(self) -> None: ...


def test_each_attempt_makes_one_trace_tagged_with_the_execution() -> None:
    collector = Collector()
    set_trace_processors([collector])  # replaces the exporter: nothing leaves the process
    set_tracing_disabled(False)
    try:
        runner = DurableRunner(_researcher([]), name="traced")
        state = {"crash": True}

        @kitaru.flow
        def traced(question: str) -> str:
            result = runner.run_sync(question)
            if state.pop("crash", False):
                raise RuntimeError("crash")
            return str(result.final_output)

        handle = traced.run("q")
        with pytest.raises(RuntimeError):
            handle.wait()
        kitaru.KitaruClient().executions.retry(handle.exec_id).wait()
    finally:
        set_tracing_disabled(True)
        set_trace_processors([])
    traces = [t.export() for t in collector.traces]
    assert len(traces) == 2
    assert [t["metadata"]["kitaru.attempt"] for t in traces] == ["1", "2"]
    assert {t["group_id"] for t in traces} == {handle.exec_id}
    assert {t["metadata"]["kitaru.execution_id"] for t in traces} == {handle.exec_id}


def test_bad_input_is_named() -> None:
    with pytest.raises(KitaruError, match=r"wraps an agents\.Agent"):
        DurableRunner("not an agent")  # type: ignore[arg-type]
    runner = DurableRunner(_researcher([]), name="streamer")
    with pytest.raises(KitaruError, match="inside a @flow"):
        runner.run_streamed("q")


def test_operation_names_are_pinned() -> None:
    assert OPERATION_NAMES == {
        "llm": ("*__model.response", "*__model.stream"),
        "tool": ("*__tool.*",),
        "openai_agents": ("*__session.start",),
    }


@crash_test
def test_the_docs_page_runs(run_doc: Any) -> None:
    proc = run_doc("docs/adapters/openai-agents.md", timeout=SUBPROCESS_TIMEOUT)
    assert "forecaster__model.response" in proc.stdout
