"""Hook implementations of the OpenTelemetry plugin (imports no OpenTelemetry until traced).

An execution is traced when, as its run starts, a tracer provider is configured (the
application imported ``opentelemetry.trace`` and set one, or ``OTEL_PYTHON_TRACER_PROVIDER``
names one). Only then does the plugin register its operation observer (once per process), so
with no provider the engine finds no observer and the checkpoint path does no extra work.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING

from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import ExecutionEvent, ExecutionInfo, OperationEvent, OperationInfo
from kitaru_core.plugins import register_plugin

if TYPE_CHECKING:
    from kitaru_otel._tracer import ExecutionTrace

EXTRA = "otel"
REQUIRES = ("opentelemetry",)

_traces: dict[str, ExecutionTrace] = {}
"""The executions this process is tracing now, by id."""
_observer_lock = threading.Lock()
_observer_name: str | None = None


def _provider_configured() -> bool:
    if "opentelemetry.trace" not in sys.modules and not os.environ.get(
        "OTEL_PYTHON_TRACER_PROVIDER"
    ):
        return False  # nobody could have set a provider: stay off without importing anything
    from kitaru_otel._tracer import tracing_enabled

    return tracing_enabled()


class OperationObserver:
    """The ``on_operation_event`` half, registered once a run is traced in this process."""

    @hookimpl
    def on_operation_event(self, event: OperationEvent, operation: OperationInfo) -> None:
        """Each operation attempt a span, started when it starts; reused ones marked."""
        trace = _traces.get(operation.exec_id)
        if trace is not None:
            trace.operation(event, operation)


def _observe_operations() -> None:
    global _observer_name
    with _observer_lock:
        if _observer_name is None:
            _observer_name = register_plugin(OperationObserver(), name="otel.operations")


@hookimpl
def on_execution_event(event: ExecutionEvent, execution: ExecutionInfo) -> None:
    """Open a run's span as it starts; close it with the run's outcome."""
    if event == "started":
        if _provider_configured():
            from kitaru_otel._tracer import ExecutionTrace

            _traces[execution.exec_id] = ExecutionTrace.start(execution)
            _observe_operations()
        return
    trace = _traces.pop(execution.exec_id, None)
    if trace is not None:
        trace.finish(event)
