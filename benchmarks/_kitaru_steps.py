"""Kitaru's side of checkpoint_overhead.py: prints one JSON object of raw samples (ms).

Run with the project's python: ``python benchmarks/_kitaru_steps.py --steps 200 --repeats 7
--workdir DIR``. Same shape as the peers' scripts in benchmarks/_peers/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _import_ms(samples: int = 7) -> float:
    """Cold ``import kitaru`` in a fresh interpreter, minus the interpreter's own start-up."""

    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return (time.perf_counter() - start) * 1000

    base = statistics.median(run("pass") for _ in range(samples))
    return statistics.median(run("import kitaru") for _ in range(samples)) - base


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--resume-steps", type=int, default=1000)
    parser.add_argument("--durability", choices=["process", "power"], default="process")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--store-url", default=None, help="e.g. a PostgreSQL URL; default SQLite")
    parser.add_argument(
        "--without-plugin", default=None, help="unregister this plugin first (e.g. otel)"
    )
    parser.add_argument(
        "--tracer",
        choices=["none", "sdk"],
        default="none",
        help="sdk: configure an OpenTelemetry SDK tracer provider (spans kept in memory)",
    )
    args = parser.parse_args()

    os.environ["KITARU_HOME"] = str(args.workdir / f"kitaru-{args.durability}")
    os.environ["KITARU_DURABILITY"] = args.durability
    if args.store_url:
        os.environ["KITARU_STORE_URL"] = args.store_url
    import_ms = _import_ms()

    import kitaru
    from kitaru import checkpoint, flow

    if args.without_plugin:
        from kitaru_core.plugins import unregister_plugin

        unregister_plugin(args.without_plugin)
    if args.tracer == "sdk":
        _configure_tracing()

    @checkpoint
    def step(x: int) -> int:
        return x + 1

    fail_at_end = {"on": False}

    @flow
    def chain(n: int) -> int:
        x = 0
        for _ in range(n):
            x = step(x)
        if fail_at_end["on"]:
            raise RuntimeError("stop after recording every step")
        return x

    def plain(n: int) -> int:
        x = 0
        for _ in range(n):
            x = step.func(x)
        return x

    chain(args.steps)  # warm up: opens the store, runs migrations, imports lazily
    run_ms, plain_ms, run_cpu_ms, plain_cpu_ms = [], [], [], []
    for _ in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        assert chain(args.steps) == args.steps
        run_ms.append((time.perf_counter() - start) * 1000)
        run_cpu_ms.append((time.process_time() - cpu) * 1000)
        start, cpu = time.perf_counter(), time.process_time()
        plain(args.steps)
        plain_ms.append((time.perf_counter() - start) * 1000)
        plain_cpu_ms.append((time.process_time() - cpu) * 1000)

    client = kitaru.KitaruClient()
    resume_ms, resume_cpu_ms = [], []
    for _ in range(max(3, args.repeats // 2)):
        fail_at_end["on"] = True
        handle = chain.run(args.resume_steps)
        fail_at_end["on"] = False
        start, cpu = time.perf_counter(), time.process_time()
        assert client.executions.retry(handle.exec_id).wait() == args.resume_steps
        resume_ms.append((time.perf_counter() - start) * 1000)
        resume_cpu_ms.append((time.process_time() - cpu) * 1000)

    print(
        json.dumps(
            {
                "peer": f"kitaru ({args.durability})",
                "version": kitaru.__version__,
                "import_ms": import_ms,
                "run_ms": run_ms,
                "plain_ms": plain_ms,
                "per_step_ms": [
                    (r - p) / args.steps for r, p in zip(run_ms, plain_ms, strict=True)
                ],
                "per_step_cpu_ms": [
                    (r - p) / args.steps for r, p in zip(run_cpu_ms, plain_cpu_ms, strict=True)
                ],
                "resume_1000_ms": statistics.median(resume_ms),
                "resume_1000_cpu_ms": statistics.median(resume_cpu_ms),
                "notes": (
                    "PostgreSQL over loopback, one commit per checkpoint"
                    if args.store_url
                    else "SQLite WAL, synchronous="
                    + ("FULL" if args.durability == "power" else "NORMAL")
                ),
            }
        )
    )


def _configure_tracing() -> None:
    """A real SDK provider whose spans go to memory: the cost of tracing itself, no I/O."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    trace.set_tracer_provider(provider)


if __name__ == "__main__":
    main()
