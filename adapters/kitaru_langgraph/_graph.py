"""``durable_graph``: every node of a LangGraph graph (subgraphs included) made durable at once.

The wrapped graph behaves as the original. Inside a ``@flow`` each node run is one operation;
outside any flow ``invoke``/``stream`` (and their async twins) open an execution of their own
(``_autoflow.py``), like ``DurableAgent`` in the Pydantic AI adapter.

A graph with a checkpointer, run inside a flow with a ``thread_id``: the first run records
which checkpoint the thread stood at (operation ``langgraph__graph.<name>.start``). When the
flow runs again on resume, the thread already holds the checkpoints of the interrupted run;
running the input on top of them would apply it twice. So the graph runs again from the
recorded checkpoint instead (a fork of the thread, as LangGraph's time travel makes one), or,
for a thread that was new, from an emptied thread; its nodes are reused from Kitaru's record.
Kitaru's resume wins; the thread's history keeps the interrupted run as a side branch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import StateGraph
from langgraph.pregel import Pregel

from kitaru_core.toolkit import arun_operation, caller_origin, in_flow, run_operation
from kitaru_langgraph import _autoflow
from kitaru_langgraph._names import START_PREFIX
from kitaru_langgraph._node import DEFAULT_INTERRUPT_TIMEOUT
from kitaru_langgraph._wrap import wrap_pregel


class DurableGraph:
    """A compiled LangGraph graph whose nodes are durable operations inside a flow.

    Use it as the graph: ``invoke``, ``ainvoke``, ``stream`` and ``astream`` are durable;
    every other attribute is the wrapped graph's (``graph`` is that graph).
    """

    def __init__(
        self,
        graph: Pregel,
        *,
        name: str,
        origin: tuple[str | None, str | None],
        interrupt_timeout: float | None,
    ) -> None:
        self.graph = wrap_pregel(graph, interrupt_timeout)
        self.durable_name = name
        self.origin = origin
        _autoflow.register_graph(self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.graph, name)

    def __repr__(self) -> str:
        return f"<DurableGraph {self.durable_name!r}>"

    # --- outside or inside a flow ----------------------------------------------------------

    def invoke(self, input: Any, config: RunnableConfig | None = None, **options: Any) -> Any:
        """``graph.invoke``; outside a flow, in an execution of its own."""
        if in_flow():
            return self.invoke_in_flow(input, config, **options)
        return _autoflow.run_automatic(self, input, config, options)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **options: Any
    ) -> Any:
        """``graph.ainvoke``; outside a flow, in an execution of its own."""
        if in_flow():
            return await self.ainvoke_in_flow(input, config, **options)
        return await _autoflow.arun_automatic(self, input, config, options)

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **options: Any
    ) -> Iterator[Any]:
        """``graph.stream``; a resumed run streams the reused nodes' updates again."""
        if in_flow():
            return self.stream_in_flow(input, config, **options)
        return _autoflow.stream_automatic(self, input, config, options)

    def astream(
        self, input: Any, config: RunnableConfig | None = None, **options: Any
    ) -> AsyncIterator[Any]:
        """``graph.astream``; a resumed run streams the reused nodes' updates again."""
        if in_flow():
            return self.astream_in_flow(input, config, **options)
        return _autoflow.astream_automatic(self, input, config, options)

    # --- inside a flow ---------------------------------------------------------------------

    def invoke_in_flow(self, input: Any, config: RunnableConfig | None, **options: Any) -> Any:
        """Run the graph in the current flow."""
        return self.graph.invoke(input, self._resumable(config), **options)

    async def ainvoke_in_flow(
        self, input: Any, config: RunnableConfig | None, **options: Any
    ) -> Any:
        """Run the graph in the current flow (async)."""
        return await self.graph.ainvoke(input, await self._aresumable(config), **options)

    def stream_in_flow(
        self, input: Any, config: RunnableConfig | None, **options: Any
    ) -> Iterator[Any]:
        """Stream the graph in the current flow."""
        yield from self.graph.stream(input, self._resumable(config), **options)

    async def astream_in_flow(
        self, input: Any, config: RunnableConfig | None, **options: Any
    ) -> AsyncIterator[Any]:
        """Stream the graph in the current flow (async)."""
        async for chunk in self.graph.astream(input, await self._aresumable(config), **options):
            yield chunk

    # --- a user's checkpointer inside a flow ---------------------------------------------------

    def _thread(self, config: RunnableConfig | None) -> tuple[Any, str] | None:
        saver = self.graph.checkpointer
        thread = ((config or {}).get("configurable") or {}).get("thread_id")
        if saver in (None, True, False) or thread is None:
            return None
        if ((config or {}).get("configurable") or {}).get("checkpoint_id"):
            return None  # the caller chose the checkpoint (time travel): run as asked
        return saver, str(thread)

    def _start_name(self) -> str:
        return f"{START_PREFIX}{self.durable_name}.start"

    def _resumable(self, config: RunnableConfig | None) -> RunnableConfig | None:
        found = self._thread(config)
        if found is None:
            return config
        saver, thread = found

        def latest() -> str | None:
            current = saver.get_tuple(_thread_config(thread))
            return None if current is None else str(current.config["configurable"]["checkpoint_id"])

        start = run_operation(self._start_name(), latest, kind="graph", inputs={"thread": thread})
        if latest() == start:
            return config
        if start is None:
            saver.delete_thread(thread)
            return config
        return _at_checkpoint(config, start)

    async def _aresumable(self, config: RunnableConfig | None) -> RunnableConfig | None:
        found = self._thread(config)
        if found is None:
            return config
        saver, thread = found

        async def latest() -> str | None:
            current = await saver.aget_tuple(_thread_config(thread))
            return None if current is None else str(current.config["configurable"]["checkpoint_id"])

        start = await arun_operation(
            self._start_name(), latest, kind="graph", inputs={"thread": thread}
        )
        if await latest() == start:
            return config
        if start is None:
            await saver.adelete_thread(thread)
            return config
        return _at_checkpoint(config, start)


def _thread_config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


def _at_checkpoint(config: RunnableConfig | None, checkpoint_id: str) -> RunnableConfig:
    configurable = {**((config or {}).get("configurable") or {}), "checkpoint_id": checkpoint_id}
    return {**(config or {}), "configurable": configurable}


def durable_graph(
    graph: StateGraph[Any, Any, Any, Any] | Pregel,
    *,
    name: str | None = None,
    interrupt_timeout: float | None = DEFAULT_INTERRUPT_TIMEOUT,
    **compile_options: Any,
) -> DurableGraph:
    """Make every node of ``graph`` (subgraphs included) a durable operation inside a flow.

    ``graph`` is a compiled graph (``builder.compile()``, ``create_agent(...)``,
    ``create_react_agent(...)``) or a ``StateGraph`` builder, compiled here with
    ``compile_options``. The result is used as the graph. ``name`` (default: the graph's
    name) names the graph's automatic executions and must be unique per process; create the
    graph at module level so that a resume in another process finds it.
    """
    if isinstance(graph, DurableGraph):
        graph = graph.graph  # wrapping again: its nodes are left as they are
    if isinstance(graph, StateGraph):
        graph = graph.compile(**compile_options)
    elif compile_options:
        raise TypeError(
            f"durable_graph() got compile options {sorted(compile_options)} for a graph that is "
            "already compiled: pass them to builder.compile(), or pass the builder."
        )
    if not isinstance(graph, Pregel):
        raise TypeError(
            f"durable_graph() takes a LangGraph StateGraph or a compiled graph, not "
            f"{type(graph).__name__}. For a node function use @durable_node."
        )
    return DurableGraph(
        graph,
        name=name or graph.name,
        origin=caller_origin(),
        interrupt_timeout=interrupt_timeout,
    )
