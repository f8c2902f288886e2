"""The LangGraph adapter: node runs are durable operations, crash and resume in child processes,
interrupts as Kitaru waits, model usage, streaming, automatic executions outside a flow."""

from __future__ import annotations

import asyncio
import json
import operator
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph")
pytest.importorskip("langchain")

from kitaru_langgraph._names import OPERATION_NAMES
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

import kitaru
from kitaru.adapters.langgraph import DurableGraph, durable_graph, durable_node
from kitaru_core import testing

SCRIPTS = Path(__file__).parent / "scripts"
SCRIPT = SCRIPTS / "langgraph_graph.py"
REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SCRIPTS))

from langgraph_fakes import lookup, scripted_model, summarize  # noqa: E402

# --- child processes ---------------------------------------------------------------------------


def run_script(mode: str, env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), mode],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )


def python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT
    )


def resume(how: str, env: dict[str, str], exec_id: str) -> None:
    if how == "cli":
        done = python(env, "-m", "kitaru_core.cli", "executions", "resume", exec_id)
    else:
        code = f"import kitaru; kitaru.KitaruClient().executions.resume({exec_id!r}).wait()"
        done = python(env, "-c", code)
    assert done.returncode == 0, done.stdout + done.stderr


GRAPH_RUNS = ["plan", "left", "right", *(f"work otters-{i}" for i in range(3)), "final 6"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "how", "kill_after"),
    [
        ("graph", "cli", 4),  # after plan, both branches and one Send: two Sends in flight
        ("graph", "client", 1),
        ("nodes", "client", 5),
        ("astream", "cli", 3),
        ("standalone", "cli", 2),
    ],
)
def test_sigkill_mid_graph_then_resume_runs_no_completed_node_again(
    mode: str, how: str, kill_after: int, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    stream = tmp_path / "stream.jsonl"
    env = {**subprocess_env, testing.LOG_ENV: str(log), "KITARU_TEST_STREAM": str(stream)}
    killed = run_script(mode, env, **{testing.KILL_ENV: str(kill_after)})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    before = log.read_text().splitlines()
    client = kitaru.KitaruClient()
    execution = client.executions.latest()
    assert execution is not None
    crashed = client.executions.get(execution.exec_id)
    completed = [op for op in crashed.operations if op.status == "completed"]
    assert len(completed) >= kill_after
    in_flight = len(before) - len(completed)  # ran, but were killed before their record

    resume(how, env, execution.exec_id)

    runs = Counter(log.read_text().splitlines())
    assert set(runs) == set(GRAPH_RUNS), runs
    # every completed node ran once; only those in flight at the kill may have run twice
    assert sum(runs.values()) - len(GRAPH_RUNS) <= in_flight, (before, runs)
    assert all(count <= 2 for count in runs.values()), runs
    after = client.executions.get(execution.exec_id)
    assert after.status == "completed"
    assert sum(op.reused for op in after.operations) == len(completed)
    assert all(op.name.startswith("langgraph__node.") for op in after.operations)
    testing.check_operation_names_pinned(contract(), after)
    if mode == "astream":  # the resumed run streamed the reused nodes' updates again
        first_line = json.loads(stream.read_text().splitlines()[-1])
        assert first_line == ["final", "left", "plan", "right", "work", "work", "work"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["react", "agent"])
def test_a_prebuilt_agent_resumes_without_paying_again(
    mode: str, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    env = {**subprocess_env, testing.LOG_ENV: str(log)}
    killed = run_script(mode, env, **{testing.KILL_ENV: "3"})  # model, tools, model
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert log.read_text().splitlines() == ["model 0", "tool lookup otters", "model 1"]
    execution = kitaru.KitaruClient().executions.latest()
    assert execution is not None
    resume("cli", env, execution.exec_id)
    calls = log.read_text().splitlines()
    assert Counter(calls) == Counter(
        [*(f"model {n}" for n in range(4)), "tool lookup otters", "tool summarize facts",
         "tool lookup seals"]
    ), calls  # fmt: skip
    after = kitaru.KitaruClient().executions.get(execution.exec_id)
    assert after.result == "answer after 3 tools"
    assert after.cost_saved > 0 and after.cost_spent > after.cost_saved
    assert after.tokens_in == sum(100 + 10 * n for n in range(4))


@pytest.mark.slow
def test_contract_kit_passes_for_langgraph(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    execution = testing.check_contract(contract(), subprocess_env, tmp_path)
    assert execution.result == "answer after 3 tools"


def contract() -> testing.AdapterContract:
    return testing.AdapterContract(
        "langgraph",
        SCRIPTS / "contract_langgraph.py",
        OPERATION_NAMES,
        kill_after=3,
        call_kinds=frozenset({"node"}),
    )


@pytest.mark.slow
def test_interrupt_waits_in_a_freed_process_and_completes_with_an_answer_from_another(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    env = {**subprocess_env, testing.LOG_ENV: str(log)}
    first = run_script("interrupt", env)
    assert first.returncode == 3, first.stdout + first.stderr  # the process exited waiting
    exec_id = first.stdout.strip().splitlines()[-1]
    client = kitaru.KitaruClient()
    assert client.executions.get(exec_id).status == "waiting"
    (pending,) = client.executions.pending_waits(exec_id)
    assert pending.name == "review.interrupt"
    assert pending.question == "Publish 'draft about otters'?"
    answered = python(
        env, "-m", "kitaru_core.cli", "executions", "input", exec_id, "--value", '"ship it"'
    )
    assert answered.returncode == 0, answered.stdout + answered.stderr
    resume("client", env, exec_id)
    after = client.executions.get(exec_id)
    assert after.status == "completed"
    assert after.result == ["draft about otters", "review:ship it", "published"]
    calls = Counter(log.read_text().splitlines())
    assert calls["draft"] == 1 and calls["publish"] == 1  # draft was reused
    assert calls["review answered ship it"] == 1


# --- in this process ---------------------------------------------------------------------------

ran: list[str] = []


class State(TypedDict):
    items: Annotated[list[str], operator.add]


def step(label: str) -> Any:
    def node(state: State) -> dict[str, Any]:
        ran.append(label)
        return {"items": [label]}

    node.__name__ = label
    return node


def chain(*labels: str) -> StateGraph[Any, Any, Any, Any]:
    builder = StateGraph(State)
    previous = START
    for label in labels:
        builder.add_node(label, step(label))
        builder.add_edge(previous, label)
        previous = label
    builder.add_edge(previous, END)
    return builder


@pytest.fixture(autouse=True)
def clear_runs() -> None:
    ran.clear()


def test_a_lone_durable_node_outside_a_flow_is_the_undecorated_function() -> None:
    @durable_node
    def shout(state: State) -> dict[str, Any]:
        return {"items": [s.upper() for s in state["items"]]}

    assert shout({"items": ["a"]}) == {"items": ["A"]}
    builder = StateGraph(State)
    builder.add_node("shout", shout)
    builder.add_edge(START, "shout")
    assert builder.compile().invoke({"items": ["b"]}) == {"items": ["b", "B"]}
    assert kitaru.KitaruClient().executions.list() == []  # no execution was opened


def test_a_durable_graph_outside_a_flow_opens_one_execution() -> None:
    graph = durable_graph(chain("one", "two"), name="outside_graph")
    assert graph.invoke({"items": []}) == {"items": ["one", "two"]}
    (execution,) = kitaru.KitaruClient().executions.list()
    got = kitaru.KitaruClient().executions.get(execution.exec_id)
    assert got.flow_name == "outside_graph" and got.status == "completed"
    assert [op.name for op in got.operations] == ["langgraph__node.one", "langgraph__node.two"]
    assert ran == ["one", "two"]


def test_a_durable_graph_streams_outside_a_flow_in_one_execution() -> None:
    graph = durable_graph(chain("one", "two"), name="streamed_graph")
    updates = list(graph.stream({"items": []}, stream_mode="updates"))
    assert updates == [{"one": {"items": ["one"]}}, {"two": {"items": ["two"]}}]
    (execution,) = kitaru.KitaruClient().executions.list()
    assert kitaru.KitaruClient().executions.get(execution.exec_id).status == "completed"


def test_a_durable_graph_ainvoke_outside_a_flow_opens_one_execution() -> None:
    graph = durable_graph(chain("one", "two"), name="async_outside_graph")
    assert asyncio.run(graph.ainvoke({"items": []})) == {"items": ["one", "two"]}
    (execution,) = kitaru.KitaruClient().executions.list()
    assert kitaru.KitaruClient().executions.get(execution.exec_id).status == "completed"


def test_a_resumed_run_streams_the_reused_nodes_updates_again() -> None:
    graph = durable_graph(chain("one", "two", "three"), name="restream")
    crash = {"on": True}
    streamed: list[list[Any]] = []

    @kitaru.flow
    def streaming() -> int:
        seen = []
        for update in graph.stream({"items": []}, stream_mode="updates"):
            seen.append(update)
            if len(seen) == 2 and crash.pop("on", False):
                raise RuntimeError("crash after two nodes")
        streamed.append(seen)
        return len(seen)

    handle = streaming.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    assert kitaru.KitaruClient().executions.retry(handle.exec_id).wait() == 3
    assert streamed == [[{n: {"items": [n]}} for n in ("one", "two", "three")]]
    assert ran == ["one", "two", "three"]


def test_subgraph_nodes_are_operations_of_their_own() -> None:
    inner = chain("inner_a", "inner_b").compile()

    class Outer(TypedDict):
        items: Annotated[list[str], operator.add]

    builder = StateGraph(Outer)
    builder.add_node("before", step("before"))
    builder.add_node("sub", inner)
    builder.add_edge(START, "before")
    builder.add_edge("before", "sub")
    graph = durable_graph(builder, name="with_subgraph")

    @kitaru.flow
    def outer() -> list[str]:
        return graph.invoke({"items": []})["items"]

    handle = outer.run()
    assert handle.wait() == ["before", "before", "inner_a", "inner_b"]
    names = [op.name for op in handle.get().operations]
    assert names == ["langgraph__node.before", "langgraph__node.inner_a", "langgraph__node.inner_b"]


def test_node_identity_ignores_message_ids_that_add_messages_makes_up() -> None:
    from langgraph.graph import MessagesState

    calls = []

    def respond(state: MessagesState) -> dict[str, Any]:
        calls.append(1)
        return {"messages": [AIMessage(f"seen {len(state['messages'])}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("respond", respond)
    builder.add_edge(START, "respond")
    graph = durable_graph(builder, name="ids")
    crash = {"on": True}

    @kitaru.flow
    def chat() -> str:
        result = graph.invoke({"messages": [HumanMessage("hi")]})  # no id: made up each run
        if crash.pop("on", False):
            raise RuntimeError("crash")
        return str(result["messages"][-1].content)

    handle = chat.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    assert kitaru.KitaruClient().executions.retry(handle.exec_id).wait() == "seen 1"
    assert calls == [1]


def test_model_usage_in_a_node_is_recorded_on_its_operation() -> None:
    model = scripted_model()

    @durable_node
    def ask(state: State) -> dict[str, Any]:
        reply = model.invoke([HumanMessage("hi")])
        return {"items": [str(reply.content)]}

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile()

    @kitaru.flow
    def asking() -> list[str]:
        return graph.invoke({"items": []})["items"]

    handle = asking.run()
    handle.wait()
    (op,) = handle.get().operations
    assert op.name == "langgraph__node.ask"
    assert (op.tokens_in, op.tokens_out) == (100, 20) and op.cost > 0


def test_interrupt_outside_a_flow_is_langgraphs_own() -> None:
    def ask(state: State) -> dict[str, Any]:
        return {"items": [interrupt("name?")]}

    builder = StateGraph(State)
    builder.add_node("ask", durable_node(ask))
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    first = graph.invoke({"items": []}, config)
    assert first["__interrupt__"][0].value == "name?"
    from langgraph.types import Command

    assert graph.invoke(Command(resume="Ada"), config) == {"items": ["Ada"]}


def test_a_user_checkpointer_in_a_flow_gets_the_input_once_on_resume() -> None:
    from langgraph.graph import MessagesState

    def respond(state: MessagesState) -> dict[str, Any]:
        ran.append("respond")
        return {"messages": [AIMessage(f"seen {len(state['messages'])}")]}

    crash = {"on": True}

    def check(state: MessagesState) -> dict[str, Any]:
        ran.append("check")
        if crash.pop("on", False):
            raise RuntimeError("crash in the second node")
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("respond", respond)
    builder.add_node("check", check)
    builder.add_edge(START, "respond")
    builder.add_edge("respond", "check")
    saver = InMemorySaver()
    graph = durable_graph(builder, name="threaded", checkpointer=saver)
    config = {"configurable": {"thread_id": "thread-1"}}

    @kitaru.flow
    def threaded(text: str) -> list[str]:
        result = graph.invoke({"messages": [HumanMessage(text)]}, config)
        return [str(m.content) for m in result["messages"]]

    first = threaded.run("hello")
    with pytest.raises(RuntimeError):
        first.wait()
    again = kitaru.KitaruClient().executions.retry(first.exec_id).wait()
    assert again == ["hello", "seen 1"]  # the input was applied once
    assert ran == ["respond", "check", "check"]
    # the thread continues from the resumed run
    assert threaded("more") == ["hello", "seen 1", "more", "seen 3"]


def test_durable_graph_refuses_what_is_not_a_graph() -> None:
    with pytest.raises(TypeError, match="StateGraph or a compiled graph, not int"):
        durable_graph(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="already compiled"):
        durable_graph(chain("x").compile(), checkpointer=InMemorySaver())
    with pytest.raises(TypeError, match="decorates a node function"):
        durable_node(42)  # type: ignore[call-overload]


def test_durable_graph_is_the_graph_for_everything_else() -> None:
    graph = durable_graph(chain("one"), name="proxy")
    assert isinstance(graph, DurableGraph)
    assert "one" in graph.get_graph().nodes
    assert graph.durable_name == "proxy"


def test_prebuilt_react_agent_warns_only_that_it_moved() -> None:
    import warnings

    from langgraph.warnings import LangGraphDeprecatedSinceV10

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from langgraph.prebuilt import create_react_agent

        durable_graph(create_react_agent(scripted_model(), [lookup, summarize]), name="r")
    assert [str(w.message)[:40] for w in caught] == ["create_react_agent has been moved to `la"]
    assert all(w.category is LangGraphDeprecatedSinceV10 for w in caught)


def test_durable_tasks_of_an_entrypoint_are_reused_on_resume() -> None:
    from langgraph.func import entrypoint

    from kitaru.adapters.langgraph import durable_task

    @durable_task
    def double(x: int) -> int:
        ran.append(f"double {x}")
        return 2 * x

    @durable_task(name="add_up")
    def total(values: list[int]) -> int:
        ran.append("total")
        return sum(values)

    crash = {"on": True}

    @entrypoint()
    def workflow(numbers: list[int]) -> int:
        doubled = [future.result() for future in [double(n) for n in numbers]]
        if crash.pop("on", False):
            raise RuntimeError("crash after the tasks")
        return int(total(doubled).result())

    @kitaru.flow
    def run_workflow(numbers: list[int]) -> int:
        return int(workflow.invoke(numbers))

    handle = run_workflow.run([1, 2, 3])
    with pytest.raises(RuntimeError):
        handle.wait()
    assert kitaru.KitaruClient().executions.retry(handle.exec_id).wait() == 12
    assert sorted(ran) == ["double 1", "double 2", "double 3", "total"]
    names = [op.name for op in handle.get().operations]
    assert sorted(names) == ["langgraph__task.add_up", *["langgraph__task.double"] * 3]
    assert workflow.invoke([5]) == 10  # outside a flow: LangGraph's own task


def test_the_adapter_page_runs(run_doc: Any) -> None:
    run_doc("docs/adapters/langgraph.md")


def test_langgraph_values_are_stored_in_langgraphs_format_not_pickled() -> None:
    from langgraph.types import Command, Send

    from kitaru_core.toolkit import pack_value, unpack_value

    state = {"messages": [HumanMessage("hi", id="h1"), AIMessage("hello")]}
    command = Command(goto=[Send("work", {"n": 1})], update={"k": 1})
    for value in (state, command):
        packed = pack_value(value, what="a LangGraph value")
        assert packed[0] == "langgraph"
        assert unpack_value(packed, what="a LangGraph value") == value


def test_wrapping_a_durable_graph_again_wraps_its_graph() -> None:
    graph = durable_graph(chain("one"), name="once")
    again = durable_graph(graph, name="twice")
    assert again.invoke({"items": []}) == {"items": ["one"]}
    assert ran == ["one"]
