"""Automatic executions: a harness call made outside any ``@flow`` opens an execution of its own.

An adapter defines one :class:`AutomaticFlow` at module level (its body re-runs a stored harness
call) and registers each harness object under a stable name with the module or script that
defines it, so a resume in another process imports that code and finds the object again. The
adapter toolkit (``kitaru_core.toolkit``) exposes these; adapters never touch the runner.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kitaru_core.engine._code import _load_script, locate, register_flow
from kitaru_core.engine._runner import (
    LocalOutcome,
    _complete,
    _fail,
    _Running,
    _unwind,
    aexecute,
    create_execution,
    execute,
    settings_for,
)
from kitaru_core.engine._runtime import CONTROL_FLOW, check_storable
from kitaru_core.errors import ExecutionCancelled, ExecutionFailed, ExecutionSuspended, FlowNotFound

Origin = tuple[str | None, str | None]
"""Where a harness object is defined: ``(module name, script file)``."""


class AutomaticFlow:
    """A flow (an engine ``FlowLike``) whose body re-runs a harness call stored as arguments.

    ``attribute`` is the module attribute this object is bound to: executions record
    ``<module of body>:<attribute>``, so define it at module level under that name.
    :meth:`named` gives the same flow recorded under a harness object's own name.
    """

    stack: str | None = None
    retries: int = 0

    def __init__(self, body: Callable[..., Any], *, name: str, attribute: str) -> None:
        check_storable("Flow name", name)
        self.func = body
        self.name = name
        self.is_async = inspect.iscoroutinefunction(body)
        self.signature = inspect.signature(body)
        ref, self.file, self.code_dir = locate(body)
        self.ref = f"{ref.partition(':')[0]}:{attribute}"
        register_flow(self)

    def __repr__(self) -> str:
        return f"<automatic flow {self.name} ({self.ref})>"

    def named(self, name: str) -> AutomaticFlow:
        """This flow recorded under ``name`` (same code, so any process resumes it)."""
        check_storable("Flow name", name)
        renamed = copy.copy(self)
        renamed.name = name
        return renamed

    def run(self, arguments: dict[str, Any]) -> Any:
        """Run a sync body in a new execution; its result, or its error raised."""
        run = create_execution(self, arguments, settings=settings_for(self))
        ran = execute(self, run, arguments)
        return result_of(ran.run.exec_id, ran.outcome)

    async def arun(self, arguments: dict[str, Any]) -> Any:
        """Run an async body in a new execution; its result, or its error raised."""
        run = create_execution(self, arguments, settings=settings_for(self))
        ran = await aexecute(self, run, arguments)
        return result_of(ran.run.exec_id, ran.outcome)

    @contextmanager
    def open(self, arguments: dict[str, Any]) -> Iterator[Opened]:
        """An execution that lasts as long as the ``with`` block (for harness calls that hand
        control back to the caller, such as iterators and streams). Set ``.value`` on what it
        yields to record the result; an exception fails, suspends or cancels the execution."""
        run = create_execution(self, arguments, settings=settings_for(self))
        opened = Opened(run.exec_id)
        with _Running(run):
            run.log.restart()
            try:
                yield opened
            except CONTROL_FLOW as exc:
                _unwind(run, exc)
                raise
            except BaseException as exc:
                _fail(run, exc)
                raise
            _complete(run, self, opened.value)


@dataclass
class Opened:
    """An execution opened by :meth:`AutomaticFlow.open`; ``value`` is its recorded result."""

    exec_id: str
    value: Any = None


def result_of(exec_id: str, outcome: LocalOutcome | None) -> Any:
    """What a caller gets from a finished body run: its value, or its error raised."""
    if outcome is None:
        raise ExecutionFailed(exec_id, "unknown")
    if outcome.status == "completed":
        return outcome.value
    if outcome.error is not None:
        raise outcome.error
    if outcome.status == "waiting":
        raise ExecutionSuspended(exec_id)
    if outcome.status == "cancelled":
        raise ExecutionCancelled(f"Execution {exec_id} was cancelled.", exec_id=exec_id)
    raise ExecutionFailed(exec_id, outcome.status)


# the registry of harness objects ----------------------------------------------------------------

_objects: dict[tuple[str, str], Any] = {}


def caller_origin(depth: int = 1) -> Origin:
    """``(module, file)`` of the code ``depth`` frames above the caller of this function."""
    caller = sys._getframe(depth + 1).f_globals
    return caller.get("__name__"), caller.get("__file__")


def register_object(kind: str, name: str, obj: Any) -> None:
    """Make ``obj`` findable as the ``kind`` called ``name`` (the last registration wins)."""
    _objects[(kind, name)] = obj


def find_object(kind: str, name: str, origin: Origin | list[str | None]) -> Any:
    """The ``kind`` called ``name``, importing the module or script ``origin`` names if needed."""
    key = (kind, name)
    if key not in _objects:
        module, file = [*origin, None, None][:2]
        try:
            if module == "__main__" and file:
                _load_script(file)
            elif module and module != "__main__":
                importlib.import_module(module)
        except ImportError as exc:
            raise FlowNotFound(
                f"{kind} {name!r} is defined in {module}, which cannot be imported here: {exc}. "
                "Resume from a place where that code is importable."
            ) from exc
    found = _objects.get(key)
    if found is None:
        where = f" ({origin[1] or origin[0]})" if any(origin) else ""
        raise FlowNotFound(
            f"{kind} {name!r} is not defined in this process{where}. Create it at module "
            "level so that importing its module defines it, then resume again."
        )
    return found
