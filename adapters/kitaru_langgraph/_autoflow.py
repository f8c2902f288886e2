"""A durable graph run outside a ``@flow`` opens a flow of its own: one execution per run.

The execution records which graph ran (its name, and the module or script that defines it),
the method (``invoke``, ``stream``, ...), the input, the config and the run options, so
``kitaru executions resume`` can run it again in another process: it imports that module,
finds the graph by name and reruns the call, reusing every recorded node run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from kitaru_core.errors import KitaruError, SerializationError
from kitaru_core.toolkit import (
    AutomaticFlow,
    find_object,
    pack_value,
    register_object,
    unpack_value,
)

if TYPE_CHECKING:
    from kitaru_langgraph._graph import DurableGraph

KIND = "DurableGraph"
"""What graphs are registered as (and named as in errors)."""


def register_graph(graph: DurableGraph) -> None:
    """Make ``graph`` findable by name when one of its executions is resumed in this process."""
    register_object(KIND, graph.durable_name, graph)


def find_graph(name: str, origin: list[str | None]) -> DurableGraph:
    """The DurableGraph called ``name``, importing the code that defines it if needed."""
    found: DurableGraph = find_object(KIND, name, origin)
    return found


def _pack(graph: str, what: str, value: Any) -> list[str]:
    try:
        return pack_value(value, what=what)
    except SerializationError as exc:
        raise KitaruError(
            f"DurableGraph {graph!r} ran outside a @flow, so its call is stored to resume it "
            f"later, but its {what} cannot be stored ({exc}). Call the graph inside your own "
            "@flow, where nothing of the call is stored."
        ) from exc


def flow_arguments(
    graph: DurableGraph, method: str, input: Any, config: Any, options: dict[str, Any]
) -> dict[str, Any]:
    """The stored arguments of an automatic flow."""
    name = graph.durable_name
    return {
        "graph": name,
        "origin": list(graph.origin),
        "method": method,
        "input": _pack(name, "input", input),
        "config": _pack(name, "config", config),
        "options": {k: _pack(name, f"option {k}=", v) for k, v in options.items()},
    }


def _unpacked(input: list[str], config: list[str], options: dict[str, list[str]]) -> Any:
    return (
        unpack_value(input, what="Graph input"),
        unpack_value(config, what="Graph config"),
        {k: unpack_value(v, what=f"Graph option {k!r}") for k, v in options.items()},
    )


def _graph_flow_body(
    graph: str,
    origin: list[str | None],
    method: str,
    input: list[str],
    config: list[str],
    options: dict[str, list[str]],
) -> Any:
    """The body of an automatic flow: run graph ``graph`` again with the stored call."""
    durable = find_graph(graph, origin)
    value, cfg, opts = _unpacked(input, config, options)
    if method == "stream":
        chunks = list(durable.stream_in_flow(value, cfg, **opts))
        return chunks[-1] if chunks else None
    return durable.invoke_in_flow(value, cfg, **opts)


async def _agraph_flow_body(
    graph: str,
    origin: list[str | None],
    method: str,
    input: list[str],
    config: list[str],
    options: dict[str, list[str]],
) -> Any:
    """The async body: ``ainvoke`` or ``astream`` again."""
    durable = find_graph(graph, origin)
    value, cfg, opts = _unpacked(input, config, options)
    if method == "astream":
        chunks = [chunk async for chunk in durable.astream_in_flow(value, cfg, **opts)]
        return chunks[-1] if chunks else None
    return await durable.ainvoke_in_flow(value, cfg, **opts)


graph_flow = AutomaticFlow(_graph_flow_body, name="langgraph_graph", attribute="graph_flow")
"""The flow of every automatic sync graph run (``kitaru_langgraph._autoflow:graph_flow``)."""
agraph_flow = AutomaticFlow(_agraph_flow_body, name="langgraph_graph", attribute="agraph_flow")
"""The flow of every automatic async graph run (``kitaru_langgraph._autoflow:agraph_flow``)."""


def run_automatic(graph: DurableGraph, input: Any, config: Any, options: dict[str, Any]) -> Any:
    """``graph.invoke(...)`` in a new execution: its result (or its error raised)."""
    flow = graph_flow.named(graph.durable_name)
    return flow.run(flow_arguments(graph, "invoke", input, config, options))


async def arun_automatic(
    graph: DurableGraph, input: Any, config: Any, options: dict[str, Any]
) -> Any:
    """``graph.ainvoke(...)`` in a new execution."""
    flow = agraph_flow.named(graph.durable_name)
    return await flow.arun(flow_arguments(graph, "ainvoke", input, config, options))


def stream_automatic(
    graph: DurableGraph, input: Any, config: Any, options: dict[str, Any]
) -> Iterator[Any]:
    """``graph.stream(...)`` in an execution that lasts as long as the iteration."""
    flow = graph_flow.named(graph.durable_name)
    with flow.open(flow_arguments(graph, "stream", input, config, options)) as opened:
        for chunk in graph.stream_in_flow(input, config, **options):
            opened.value = chunk
            yield chunk


async def astream_automatic(
    graph: DurableGraph, input: Any, config: Any, options: dict[str, Any]
) -> AsyncIterator[Any]:
    """``graph.astream(...)`` in an execution that lasts as long as the iteration."""
    flow = agraph_flow.named(graph.durable_name)
    with flow.open(flow_arguments(graph, "astream", input, config, options)) as opened:
        async for chunk in graph.astream_in_flow(input, config, **options):
            opened.value = chunk
            yield chunk
