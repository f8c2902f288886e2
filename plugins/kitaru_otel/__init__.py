"""OpenTelemetry export for Kitaru: every execution one trace, every operation a span.

Loaded as the ``otel`` plugin of the ``kitaru`` entry-point group (``_plugin.py``). It uses the
global tracer provider, like any OpenTelemetry instrumentation library: install
``kitaru[otel]``, configure a provider (in code, or with ``opentelemetry-instrument`` and the
``OTEL_*`` variables), and executions are traced. See docs/integrations/opentelemetry.md.
"""

from __future__ import annotations

from kitaru_otel._ids import execution_span_id, execution_trace_id

__all__ = ["execution_span_id", "execution_trace_id"]
