"""One execution's run as OpenTelemetry spans: a span per run, a child span per operation.

Every run's span has the same parent, a span context worked out from the execution id
(``_ids.py``), so the runs of one execution, in any process, share one trace. Attribute names
are spelled out: the GenAI semantic conventions' Python constants live only in the
semantic-conventions package's incubating module.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    ProxyTracerProvider,
    Span,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
)

from kitaru_core import toolkit
from kitaru_core.hooktypes import ExecutionEvent, ExecutionInfo, OperationEvent, OperationInfo
from kitaru_otel._ids import execution_span_id, execution_trace_id

INSTRUMENTATION = "kitaru"

# Attribute names (docs/integrations/opentelemetry.md lists them).
EXECUTION_ID = "kitaru.execution.id"
FLOW = "kitaru.flow.name"
RUN = "kitaru.execution.run"
REPLAY_OF = "kitaru.execution.replay_of"
OUTCOME = "kitaru.execution.outcome"
OP_ID = "kitaru.operation.id"
OP_NAME = "kitaru.operation.name"
OP_KIND = "kitaru.operation.kind"
OP_N = "kitaru.operation.n"
ATTEMPT = "kitaru.operation.attempt"
REUSED = "kitaru.operation.reused"
REUSED_FROM = "kitaru.operation.reused_from"
INTERRUPTED = "kitaru.operation.interrupted"
COST = "kitaru.cost_usd"
COST_SAVED = "kitaru.cost_saved_usd"
TOKENS_SAVED_IN = "kitaru.saved.input_tokens"
TOKENS_SAVED_OUT = "kitaru.saved.output_tokens"
GEN_AI_MODEL = "gen_ai.request.model"
GEN_AI_TOKENS_IN = "gen_ai.usage.input_tokens"
GEN_AI_TOKENS_OUT = "gen_ai.usage.output_tokens"
WAIT_ANSWERED = "kitaru.wait.answered"
WAIT_REUSED = "kitaru.wait.reused"
WAIT_SUSPENDED = "kitaru.wait.suspended"


def tracing_enabled() -> bool:
    """Whether a tracer provider is configured (not the API's default proxy or no-op one)."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, ProxyTracerProvider | trace.NoOpTracerProvider)


def execution_context(exec_id: str) -> Any:
    """The context whose span is the execution's root: the parent of every run's span."""
    root = SpanContext(
        trace_id=execution_trace_id(exec_id),
        span_id=execution_span_id(exec_id),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(root))


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class ExecutionTrace:
    """The spans of one run of one execution in this process."""

    def __init__(self, execution: ExecutionInfo, tracer: trace.Tracer, run_span: Span) -> None:
        self.execution = execution
        self._tracer = tracer
        self._run_span = run_span
        self._run_context = trace.set_span_in_context(run_span)
        self._open: dict[tuple[str, int], Span] = {}  # attempts running, by (op_id, attempt)
        self._lock = threading.Lock()

    @classmethod
    def start(cls, execution: ExecutionInfo) -> ExecutionTrace:
        """Open the span of the run that starts now (and report what a crash interrupted)."""
        tracer = trace.get_tracer(INSTRUMENTATION)
        exec_id = execution.exec_id
        links = []
        if execution.original_exec_id:  # a replay: link to the trace of its source
            source = trace.get_current_span(execution_context(execution.original_exec_id))
            links.append(Link(source.get_span_context(), {REPLAY_OF: execution.original_exec_id}))
        attributes: dict[str, Any] = {
            EXECUTION_ID: exec_id,
            FLOW: execution.flow_name,
            RUN: execution.run_count,
        }
        if execution.original_exec_id:
            attributes[REPLAY_OF] = execution.original_exec_id
        run_span = tracer.start_span(
            f"kitaru.run {execution.flow_name}",
            context=execution_context(exec_id),
            attributes=attributes,
            links=links,
        )
        traced = cls(execution, tracer, run_span)
        if execution.run_count > 1:
            traced._report_interrupted()
        return traced

    def _report_interrupted(self) -> None:
        """A span for each attempt an earlier run's process left in flight when it died."""
        now = _ns(time.time())
        for attempt in toolkit.interrupted_attempts():
            span = self._tracer.start_span(
                f"{attempt.kind} {attempt.name}",
                context=execution_context(self.execution.exec_id),
                start_time=_ns(attempt.started_at),
                attributes={
                    EXECUTION_ID: self.execution.exec_id,
                    RUN: attempt.run_no,
                    OP_ID: attempt.op_id,
                    OP_NAME: attempt.name,
                    OP_KIND: attempt.kind,
                    ATTEMPT: attempt.attempt,
                    INTERRUPTED: True,
                },
            )
            span.set_status(
                Status(StatusCode.ERROR, "its process stopped before the attempt finished")
            )
            span.end(end_time=now)

    def finish(self, event: ExecutionEvent) -> None:
        """Close the run's span (and any attempt still open) with the run's outcome."""
        with self._lock:
            left, self._open = list(self._open.values()), {}
        for span in left:  # unwound by the run's stop: a wait inside it, a cancel, a failure
            span.set_attribute(OUTCOME, event)
            if event in ("failed", "cancelled"):
                span.set_status(Status(StatusCode.ERROR, f"the run stopped ({event})"))
            span.end()
        self._run_span.set_attribute(OUTCOME, event)
        if event == "waiting":
            self._run_span.add_event(WAIT_SUSPENDED)
        elif event == "failed":
            self._run_span.set_status(Status(StatusCode.ERROR, "the execution failed"))
        self._run_span.end()

    def operation(self, event: OperationEvent, operation: OperationInfo) -> None:
        """Start, end or mark the span of one operation attempt."""
        if operation.kind == "wait":
            self._wait_event(event, operation)
            return
        key = (operation.op_id, operation.attempt)
        if event == "started":
            span = self._tracer.start_span(
                f"{operation.kind} {operation.name}",
                context=self._run_context,
                start_time=_ns(operation.started_at),
                attributes=self._identity(operation),
            )
            with self._lock:
                self._open[key] = span
            return
        if event == "reused":
            self._reused(operation)
            return
        with self._lock:
            opened = self._open.pop(key, None)
        span = opened or self._tracer.start_span(
            f"{operation.kind} {operation.name}",
            context=self._run_context,
            start_time=_ns(operation.started_at),
            attributes=self._identity(operation),
        )
        span.set_attribute(REUSED, False)
        self._usage(span, operation)
        if event == "failed":
            error = operation.error or {}
            span.set_status(Status(StatusCode.ERROR, str(error.get("message", ""))))
            span.add_event(
                "exception",
                {
                    "exception.type": str(error.get("type", "")),
                    "exception.message": str(error.get("message", "")),
                    "exception.stacktrace": str(error.get("traceback", "")),
                },
            )
        span.end(end_time=_ns(operation.ended_at))

    def _identity(self, operation: OperationInfo) -> dict[str, Any]:
        return {
            EXECUTION_ID: operation.exec_id,
            OP_ID: operation.op_id,
            OP_NAME: operation.name,
            OP_KIND: operation.kind,
            OP_N: operation.n,
            ATTEMPT: operation.attempt,
        }

    @staticmethod
    def _usage(span: Span, operation: OperationInfo) -> None:
        if operation.model:
            span.set_attribute(GEN_AI_MODEL, operation.model)
        if operation.model or operation.tokens_in or operation.tokens_out:
            span.set_attribute(GEN_AI_TOKENS_IN, operation.tokens_in)
            span.set_attribute(GEN_AI_TOKENS_OUT, operation.tokens_out)
        if operation.model or operation.cost:
            span.set_attribute(COST, operation.cost)

    def _reused(self, operation: OperationInfo) -> None:
        """A zero-length span marked reused, with what not running it saved."""
        now = _ns(time.time())
        attributes = self._identity(operation)
        attributes[REUSED] = True
        if operation.reused_from:
            attributes[REUSED_FROM] = operation.reused_from
        if operation.model:
            attributes[GEN_AI_MODEL] = operation.model
        if operation.model or operation.cost:
            attributes[COST_SAVED] = operation.cost
            attributes[TOKENS_SAVED_IN] = operation.tokens_in
            attributes[TOKENS_SAVED_OUT] = operation.tokens_out
        span = self._tracer.start_span(
            f"{operation.kind} {operation.name}",
            context=self._run_context,
            start_time=now,
            attributes=attributes,
        )
        span.end(end_time=now)

    def _wait_event(self, event: OperationEvent, operation: OperationInfo) -> None:
        """Waits are events on the run's span: answered (and how long it waited) or reused."""
        attributes: dict[str, Any] = {OP_NAME: operation.name, OP_ID: operation.op_id}
        if event == "reused":
            self._run_span.add_event(WAIT_REUSED, attributes)
        elif event == "completed":
            attributes["kitaru.wait.seconds"] = operation.ended_at - operation.started_at
            self._run_span.add_event(WAIT_ANSWERED, attributes, timestamp=_ns(operation.ended_at))
