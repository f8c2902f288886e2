"""Child process of test_otel.py: runs a traced flow that SIGKILLs itself inside a checkpoint.

Spans go to stdout as JSON (the SDK's console exporter, one span exported as it ends), so the
test sees what this process exported before it died.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

import kitaru

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout)))
trace.set_tracer_provider(provider)


@kitaru.checkpoint
def fetch(topic: str) -> str:
    return f"notes on {topic}"


@kitaru.checkpoint
def write(notes: str) -> str:
    if os.environ.get("KITARU_TEST_KILL") == "1":
        sys.stdout.flush()
        time.sleep(1.0)  # long enough for the flusher to record the attempt as in flight
        os.kill(os.getpid(), signal.SIGKILL)
    return notes.upper()


@kitaru.flow
def crashy(topic: str) -> str:
    return write(fetch(topic))


if __name__ == "__main__":
    handle = crashy.run("otel")
    print(f"\nEXEC {handle.exec_id}", flush=True)
