"""One node run inside a flow is one durable operation; ``interrupt()`` in it is a Kitaru wait.

:func:`run_node` / :func:`arun_node` are the shared core of ``@durable_node`` and
``durable_graph``. Outside a flow (or inside another operation, which records everything in
it) the node just runs. Inside one, the run is the operation ``langgraph__node.<node>``,
identified by the node path, the state it reads and its ordinal (``_identity.py``); a resume
returns the recorded output, and LangGraph applies it to the state as if the node had run.

An ``interrupt(value)`` raised in the node asks a human through ``kitaru.wait()``: unanswered,
the execution suspends and the process lets go of it. Answered, the node runs again with the
answer handed to ``interrupt()`` exactly as LangGraph's ``Command(resume=...)`` would.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from langgraph._internal._constants import CONFIG_KEY_SCRATCHPAD
from langgraph.errors import GraphInterrupt
from langgraph.types import Interrupt

from kitaru_core.toolkit import (
    aask_human,
    arun_operation,
    ask_human,
    canonical_json,
    in_durable_unit,
    run_operation,
)
from kitaru_langgraph._callbacks import HANDLER, active_handler
from kitaru_langgraph._codec import NodeOutput
from kitaru_langgraph._identity import graph_path, is_plain_json, node_identity, plain
from kitaru_langgraph._names import NODE_PREFIX, TASK_PREFIX

T = TypeVar("T")
PREFIXES = {"node": NODE_PREFIX, "task": TASK_PREFIX}
NodeCall = Callable[[RunnableConfig | None], Any]

DEFAULT_INTERRUPT_TIMEOUT: float | None = 0
"""Seconds an ``interrupt()`` polls for an answer before the execution suspends: none, as in
LangGraph, where ``interrupt()`` returns control at once."""


def _scratchpad(config: RunnableConfig | None) -> Any:
    """The interrupt scratchpad of the graph task ``config`` runs in (None outside a task)."""
    return ((config or {}).get("configurable") or {}).get(CONFIG_KEY_SCRATCHPAD)


def _attempt(config: RunnableConfig | None, scratch: Any, answers: list[Any]) -> RunnableConfig:
    """``config`` with a fresh copy of its scratchpad ``scratch`` that hands ``answers`` to
    ``interrupt()``."""
    fresh = dataclasses.replace(
        scratch,
        interrupt_counter=itertools.count().__next__,
        resume=[*scratch.resume, *answers],
    )
    configurable = (config or {}).get("configurable") or {}
    patched: dict[str, Any] = {
        **(config or {}),
        "configurable": {**configurable, CONFIG_KEY_SCRATCHPAD: fresh},
    }
    return patched  # type: ignore[return-value]


def interrupt_question(node: str, interrupt: Interrupt) -> tuple[str, dict[str, Any]]:
    """The wait's question and metadata for an ``interrupt(value)`` raised in ``node``."""
    value = interrupt.value
    if isinstance(value, str):
        question = value
    elif isinstance(value, Mapping) and isinstance(value.get("question"), str):
        question = value["question"]
    else:
        question = canonical_json(plain(value))
    metadata: dict[str, Any] = {"langgraph_node": node, "interrupt": plain(value)}
    if interrupt.response_schema:
        metadata["response_schema"] = interrupt.response_schema
    return question, metadata


def _raised(exc: GraphInterrupt) -> Interrupt | None:
    interrupts = exc.args[0] if exc.args else ()
    return interrupts[-1] if interrupts else None


def wait_name(node: str) -> str:
    """The name of the wait an ``interrupt()`` in ``node`` becomes."""
    return f"{node}.interrupt"


@dataclasses.dataclass(frozen=True, slots=True)
class _Call:
    """A step of :func:`_answering`: call the node with ``config``."""

    config: RunnableConfig | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Ask:
    """A step of :func:`_answering`: ask a human about the node's ``interrupt()``."""

    question: str
    metadata: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class _Done:
    """The end of :func:`_answering`: the node's result."""

    value: Any


Steps = Generator[_Call | _Ask, Any, Any]


def _answering(node: str, config: RunnableConfig | None) -> Steps:
    """A node run that answers its ``interrupt()`` calls, written once for sync and async.

    It yields :class:`_Call` to have the node called (the driver sends back its result, or
    throws its exception in) and :class:`_Ask` to have a human asked (the driver sends back the
    answer), and returns the node's result. Each answer reaches ``interrupt()`` through a fresh
    scratchpad in the next attempt's config, as with LangGraph's ``Command(resume=...)``.
    """
    scratch = _scratchpad(config)
    answers: list[Any] = []
    while True:
        # the first attempt runs in LangGraph's own config (its scratchpad is fresh)
        attempt = _attempt(config, scratch, answers) if answers else config
        context = var_child_runnable_config.set(attempt) if answers else None
        try:
            result = yield _Call(attempt)
        except GraphInterrupt as exc:
            raised = _raised(exc)
            if raised is None or scratch is None:
                raise  # not in a graph's task: nothing to hand the answer to
        else:
            return result
        finally:
            if context is not None:
                var_child_runnable_config.reset(context)
        question, metadata = interrupt_question(node, raised)
        answers.append((yield _Ask(question, metadata)))


def _next(resume: Callable[[Any], _Call | _Ask], value: Any) -> _Call | _Ask | _Done:
    """The step after sending (or throwing) ``value`` into the steps; :class:`_Done` at the end."""
    try:
        return resume(value)
    except StopIteration as stop:
        return _Done(stop.value)


def _call_answered(
    node: str, config: RunnableConfig | None, call: NodeCall, timeout: float | None
) -> Any:
    """Run :func:`_answering` in this thread."""
    steps = _answering(node, config)
    token = active_handler.set(HANDLER)
    try:
        step: _Call | _Ask | _Done = next(steps)
        while not isinstance(step, _Done):
            try:
                if isinstance(step, _Call):
                    done = call(step.config)
                else:
                    done = ask_human(
                        step.question,
                        Any,
                        name=wait_name(node),
                        timeout=timeout,
                        metadata=step.metadata,
                    )
            except StopIteration:
                steps.close()  # the node's own StopIteration: raised as it is
                raise
            except BaseException as exc:
                step = _next(steps.throw, exc)
            else:
                step = _next(steps.send, done)
        return step.value
    finally:
        active_handler.reset(token)


async def _acall_answered(
    node: str,
    config: RunnableConfig | None,
    call: Callable[[RunnableConfig | None], Awaitable[Any]],
    timeout: float | None,
) -> Any:
    """Run :func:`_answering` in a coroutine."""
    steps = _answering(node, config)
    token = active_handler.set(HANDLER)
    try:
        step: _Call | _Ask | _Done = next(steps)
        while not isinstance(step, _Done):
            try:
                if isinstance(step, _Call):
                    done = await call(step.config)
                else:
                    done = await aask_human(
                        step.question,
                        Any,
                        name=wait_name(node),
                        timeout=timeout,
                        metadata=step.metadata,
                    )
            except StopIteration:
                steps.close()  # the node's own StopIteration: raised as it is
                raise
            except BaseException as exc:
                step = _next(steps.throw, exc)
            else:
                step = _next(steps.send, done)
        return step.value
    finally:
        active_handler.reset(token)


def _stored(output: Any) -> Any:
    """What is recorded: plain JSON as it is, anything else in LangGraph's own format."""
    return output if is_plain_json(output) else NodeOutput(output)


def _output(recorded: Any) -> Any:
    return recorded.value if isinstance(recorded, NodeOutput) else recorded


def run_node(
    node: str,
    state: Any,
    config: RunnableConfig | None,
    call: NodeCall,
    *,
    interrupt_timeout: float | None = DEFAULT_INTERRUPT_TIMEOUT,
    kind: str = "node",
) -> Any:
    """Run ``call(config)``, the node ``node`` reading ``state``, as a durable operation
    (``kind`` ``"task"``: a functional-API task called with ``state`` as its arguments)."""
    if not in_durable_unit():
        return call(config)
    identity = node_identity(graph_path(config), node, state)

    def body() -> Any:
        return _stored(_call_answered(node, config, call, interrupt_timeout))

    return _output(run_operation(PREFIXES[kind] + node, body, kind=kind, identity=identity))


async def arun_node(
    node: str,
    state: Any,
    config: RunnableConfig | None,
    call: Callable[[RunnableConfig | None], Awaitable[Any]],
    *,
    interrupt_timeout: float | None = DEFAULT_INTERRUPT_TIMEOUT,
    kind: str = "node",
) -> Any:
    """:func:`run_node` for an async node."""
    if not in_durable_unit():
        return await call(config)
    identity = node_identity(graph_path(config), node, state)

    async def body() -> Any:
        return _stored(await _acall_answered(node, config, call, interrupt_timeout))

    recorded = await arun_operation(PREFIXES[kind] + node, body, kind=kind, identity=identity)
    return _output(recorded)
