"""``KitaruSaver``: LangGraph's checkpointer on Kitaru's store. The official conformance suite
(async methods), the same cases through the sync methods, and graphs that use it."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph")
pytest.importorskip("langgraph.checkpoint.conformance")

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.graph import START, StateGraph
from langgraph.types import Command, interrupt

import kitaru
from kitaru.adapters.langgraph import KitaruSaver, durable_graph
from kitaru_core.toolkit import AdapterRecords


class SyncDrivenSaver(KitaruSaver):
    """The conformance suite calls the async methods: these run the sync ones, directly."""

    async def aget_tuple(self, config: RunnableConfig) -> Any:
        return self.get_tuple(config)

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        for item in self.list(config, **kwargs):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)


@checkpointer_test(name="KitaruSaver")
async def kitaru_saver() -> AsyncIterator[KitaruSaver]:
    yield KitaruSaver()


@checkpointer_test(name="KitaruSaver, sync methods")
async def kitaru_saver_sync() -> AsyncIterator[KitaruSaver]:
    yield SyncDrivenSaver()


BASE = {"put", "put_writes", "get_tuple", "list", "delete_thread"}


@pytest.mark.parametrize("registered", [kitaru_saver, kitaru_saver_sync], ids=["async", "sync"])
def test_kitaru_saver_passes_the_conformance_suite(registered: Any) -> None:
    report = asyncio.run(validate(registered))
    results = report.results
    detected = {name for name, result in results.items() if result.detected}
    assert BASE | {"copy_thread"} <= detected
    failures = {name: r.failures for name, r in results.items() if r.detected and not r.passed}
    assert not failures
    assert sum(r.tests_passed for r in results.values()) > 60


class State(TypedDict):
    items: Annotated[list[str], operator.add]


def add(label: str) -> Any:
    def node(state: State) -> dict[str, Any]:
        return {"items": [label]}

    return node


def test_a_graph_keeps_its_thread_memory_and_history_in_kitarus_store() -> None:
    builder = StateGraph(State)
    builder.add_node("one", add("one"))
    builder.add_edge(START, "one")
    graph = builder.compile(checkpointer=KitaruSaver())
    config: RunnableConfig = {"configurable": {"thread_id": "memory"}}
    graph.invoke({"items": ["a"]}, config)
    assert graph.invoke({"items": ["b"]}, config) == {"items": ["a", "one", "b", "one"]}
    history = list(graph.get_state_history(config))
    assert len(history) == 6  # input and node steps of two runs, newest first
    # time travel: run again from the state after the first run
    first_end = next(s for s in history if s.values == {"items": ["a", "one"]} and not s.next)
    forked = graph.invoke({"items": ["c"]}, first_end.config)
    assert forked == {"items": ["a", "one", "c", "one"]}
    # a fresh saver (another process) reads the same store
    assert KitaruSaver().get_tuple(config) is not None


def test_an_interrupt_outside_a_flow_resumes_from_the_saved_thread() -> None:
    def ask(state: State) -> dict[str, Any]:
        return {"items": [interrupt("name?")]}

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=KitaruSaver())
    config: RunnableConfig = {"configurable": {"thread_id": "asking"}}
    assert graph.invoke({"items": []}, config)["__interrupt__"][0].value == "name?"
    again = builder.compile(checkpointer=KitaruSaver())  # as another process would
    assert again.invoke(Command(resume="Ada"), config) == {"items": ["Ada"]}


def test_large_checkpoints_are_kept_in_the_artifact_store(kitaru_home: Any) -> None:
    builder = StateGraph(State)
    builder.add_node("big", lambda state: {"items": ["x" * 200_000]})
    builder.add_edge(START, "big")
    graph = builder.compile(checkpointer=KitaruSaver())
    config: RunnableConfig = {"configurable": {"thread_id": "large"}}
    graph.invoke({"items": []}, config)
    assert graph.get_state(config).values["items"][0] == "x" * 200_000
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{kitaru_home / 'kitaru.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT value IS NULL, ref FROM kitaru_adapter_records WHERE partition='large'")
        ).all()
    engine.dispose()
    assert any(inline_missing and ref for inline_missing, ref in rows), rows


def test_async_graph_with_the_saver() -> None:
    asyncio.run(_async_graph_with_the_saver())


async def _async_graph_with_the_saver() -> None:
    builder = StateGraph(State)
    builder.add_node("one", add("one"))
    builder.add_edge(START, "one")
    graph = builder.compile(checkpointer=KitaruSaver())
    config: RunnableConfig = {"configurable": {"thread_id": "async"}}
    assert await graph.ainvoke({"items": ["a"]}, config) == {"items": ["a", "one"]}
    assert (await graph.aget_state(config)).values == {"items": ["a", "one"]}


def test_in_a_flow_kitarus_resume_wins_and_applies_the_input_once() -> None:
    ran: list[str] = []
    crash = {"on": True}

    def first(state: State) -> dict[str, Any]:
        ran.append("first")
        return {"items": ["first"]}

    def second(state: State) -> dict[str, Any]:
        ran.append("second")
        if crash.pop("on", False):
            raise RuntimeError("crash in the second node")
        return {"items": ["second"]}

    builder = StateGraph(State)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    graph = durable_graph(builder, name="saved_graph", checkpointer=KitaruSaver())
    config: RunnableConfig = {"configurable": {"thread_id": "in-flow"}}

    @kitaru.flow
    def turn(text: str) -> list[str]:
        return graph.invoke({"items": [text]}, config)["items"]

    handle = turn.run("hi")
    with pytest.raises(RuntimeError):
        handle.wait()
    assert kitaru.KitaruClient().executions.retry(handle.exec_id).wait() == [
        "hi",
        "first",
        "second",
    ]
    assert ran == ["first", "second", "second"]
    assert turn("more") == ["hi", "first", "second", "more", "first", "second"]


def test_adapter_records_scan_in_key_order_and_delete_by_prefix() -> None:
    records = AdapterRecords("tests.records")
    records.put("p", {"b": b"2", "a": b"1", "c": b"3" * 100_000})
    records.put("q", {"a": b"other"})
    assert [key for _, key, _ in records.scan("p")] == ["a", "b", "c"]
    assert records.scan("p", newest_first=True, limit=1)[0][2] == b"3" * 100_000
    assert [key for _, key, _ in records.scan("p", below="c")] == ["a", "b"]
    assert records.get("q", "a") == b"other" and records.get("q", "z") is None
    records.put("p", {"a": b"changed"})
    assert records.get("p", "a") == b"changed"
    assert records.delete("p", prefix="a") == 1
    assert [key for _, key, _ in records.scan(None)] == ["b", "c", "a"]
