"""Which execution and which operation the current code runs in (context variables)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kitaru_core.engine._runtime import ExecutionRun, OperationScope

_run: ContextVar[ExecutionRun | None] = ContextVar("kitaru_run", default=None)
_operation: ContextVar[OperationScope | None] = ContextVar("kitaru_operation", default=None)


def current_run() -> ExecutionRun | None:
    """The execution running in this context, if any."""
    return _run.get()


def current_operation() -> OperationScope | None:
    """The operation whose body is running in this context, if any."""
    return _operation.get()


def durable_run() -> ExecutionRun | None:
    """The execution to record a new operation in: the current one, unless an operation's body
    runs here (that operation records everything inside it). None outside a flow."""
    run = _run.get()
    return None if run is None or _operation.get() is not None else run


def enter_run(run: ExecutionRun) -> Any:
    """Make ``run`` current; returns a token for :func:`exit_run`."""
    return _run.set(run)


def exit_run(token: Any) -> None:
    """Undo :func:`enter_run`."""
    _run.reset(token)


def enter_operation(scope: OperationScope) -> Any:
    """Make ``scope`` the current operation."""
    return _operation.set(scope)


def exit_operation(token: Any) -> None:
    """Undo :func:`enter_operation`."""
    _operation.reset(token)
