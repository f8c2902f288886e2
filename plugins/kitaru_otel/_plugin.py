"""Hook implementations of the OpenTelemetry plugin (imports no OpenTelemetry until traced).

An execution is traced when, as its run starts, a tracer provider is configured (the
application imported ``opentelemetry.trace`` and set one, or ``OTEL_PYTHON_TRACER_PROVIDER``
names one). Otherwise every hook returns after one dictionary look-up: nothing is imported and
nothing is allocated on the checkpoint path.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import ExecutionEvent, ExecutionInfo, OperationEvent, OperationInfo

if TYPE_CHECKING:
    from kitaru_otel._tracer import ExecutionTrace

EXTRA = "otel"
REQUIRES = ("opentelemetry",)

_traces: dict[str, ExecutionTrace] = {}
"""The executions this process is tracing now, by id."""


def _provider_configured() -> bool:
    if "opentelemetry.trace" not in sys.modules and not os.environ.get(
        "OTEL_PYTHON_TRACER_PROVIDER"
    ):
        return False  # nobody could have set a provider: stay off without importing anything
    from kitaru_otel._tracer import tracing_enabled

    return tracing_enabled()


@hookimpl
def on_execution_event(event: ExecutionEvent, execution: ExecutionInfo) -> None:
    """Open a run's span as it starts; close it with the run's outcome."""
    if event == "started":
        if _provider_configured():
            from kitaru_otel._tracer import ExecutionTrace

            _traces[execution.exec_id] = ExecutionTrace.start(execution)
        return
    trace = _traces.pop(execution.exec_id, None)
    if trace is not None:
        trace.finish(event)


@hookimpl
def on_operation_event(event: OperationEvent, operation: OperationInfo) -> None:
    """Each operation attempt a span, started when it starts; reused ones marked."""
    trace = _traces.get(operation.exec_id)
    if trace is not None:
        trace.operation(event, operation)
