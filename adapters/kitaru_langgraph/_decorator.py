"""``@durable_node``: a node function whose every run inside a flow is one durable operation."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config

from kitaru_core.toolkit import in_durable_unit
from kitaru_langgraph._identity import node_name
from kitaru_langgraph._node import DEFAULT_INTERRUPT_TIMEOUT, arun_node, run_node

F = TypeVar("F", bound=Callable[..., Any])

DURABLE_MARK = "__kitaru_durable_node__"
"""Set on a decorated function: ``durable_graph`` leaves such nodes as they are."""


def _with_config(kwargs: dict[str, Any], config: RunnableConfig | None) -> dict[str, Any]:
    return {**kwargs, "config": config} if "config" in kwargs else kwargs


def _decorate(func: F, name: str | None, interrupt_timeout: float | None, kind: str = "node") -> F:
    default: str = name or getattr(func, "__name__", None) or kind

    def where(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any, Any]:
        config = kwargs.get("config") or var_child_runnable_config.get()
        node = name or node_name(config, default)
        if kind == "task":  # a task reads its arguments
            return node, {"args": list(args), "kwargs": kwargs}, config
        return node, (args[0] if args else kwargs.get("state")), config

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def anode(*args: Any, **kwargs: Any) -> Any:
            if not in_durable_unit():
                return await func(*args, **kwargs)
            node, state, config = where(args, kwargs)
            return await arun_node(
                node,
                state,
                config,
                lambda cfg: func(*args, **_with_config(kwargs, cfg)),
                interrupt_timeout=interrupt_timeout,
                kind=kind,
            )

        wrapped: Any = anode
    else:

        @functools.wraps(func)
        def node(*args: Any, **kwargs: Any) -> Any:
            if not in_durable_unit():
                return func(*args, **kwargs)
            node, state, config = where(args, kwargs)
            return run_node(
                node,
                state,
                config,
                lambda cfg: func(*args, **_with_config(kwargs, cfg)),
                interrupt_timeout=interrupt_timeout,
                kind=kind,
            )

        wrapped = node
    setattr(wrapped, DURABLE_MARK, True)
    return wrapped


@overload
def durable_node(func: F, /) -> F: ...


@overload
def durable_node(
    *, name: str | None = None, interrupt_timeout: float | None = DEFAULT_INTERRUPT_TIMEOUT
) -> Callable[[F], F]: ...


def durable_node(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    interrupt_timeout: float | None = DEFAULT_INTERRUPT_TIMEOUT,
) -> F | Callable[[F], F]:
    """Make each run of a node function inside a ``@flow`` one durable operation.

    Sync and async functions, with or without LangGraph's ``config``/``runtime`` parameters.
    The operation is named after the node the function runs as in its graph (or ``name``)
    and identified by the state it reads and its ordinal; a resume returns its recorded
    output instead of running it. ``interrupt()`` inside becomes a Kitaru wait that polls
    ``interrupt_timeout`` seconds before the execution suspends. Outside a flow the function
    behaves exactly as undecorated.
    """
    if func is not None:
        if not callable(func):
            raise TypeError(
                f"@durable_node decorates a node function, not {type(func).__name__}: use "
                "@durable_node or @durable_node(name=...)."
            )
        return _decorate(func, name, interrupt_timeout)
    return lambda f: _decorate(f, name, interrupt_timeout)


def durable_task(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    interrupt_timeout: float | None = DEFAULT_INTERRUPT_TIMEOUT,
    **task_options: Any,
) -> Any:
    """LangGraph's ``@task`` whose every run inside a ``@flow`` is one durable operation.

    Use it instead of ``@task`` in the functional API: the ``@entrypoint`` function runs again
    on resume (as LangGraph reruns it), and each task call returns its recorded result, told
    apart by the task's name, its arguments and its ordinal. ``task_options``
    (``retry_policy``, ``cache_policy``) go to ``@task``. Outside a flow it is ``@task``.
    """
    from langgraph.func import task

    def make(f: Callable[..., Any]) -> Any:
        if not callable(f):
            raise TypeError(
                f"@durable_task decorates a task function, not {type(f).__name__}: use "
                "@durable_task or @durable_task(name=...)."
            )
        task_name: str = name or getattr(f, "__name__", None) or "task"
        durable = _decorate(f, task_name, interrupt_timeout, kind="task")
        return task(name=task_name, **task_options)(durable)

    return make(func) if func is not None else make
