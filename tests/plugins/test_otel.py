"""The OpenTelemetry plugin (issue 14): traces read back with the SDK's in-memory exporter."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs kitaru[otel] and opentelemetry-sdk")

from kitaru_otel import execution_span_id, execution_trace_id
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from opentelemetry.util._once import Once

import kitaru
from kitaru_core import toolkit
from kitaru_core.plugins import list_plugins

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def _reset_global_provider() -> None:
    # What OpenTelemetry's own test utilities do (opentelemetry.test.globals_test): the API
    # lets a process set its provider once, so tests put the unset state back.
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    sdk = TracerProvider()
    sdk.add_span_processor(SimpleSpanProcessor(exporter))
    _reset_global_provider()
    trace.set_tracer_provider(sdk)
    try:
        yield sdk, exporter
    finally:
        sdk.shutdown()
        _reset_global_provider()  # later tests run untraced, as without a provider


@pytest.fixture
def spans(provider: tuple[TracerProvider, InMemorySpanExporter]) -> InMemorySpanExporter:
    exporter = provider[1]
    exporter.clear()
    return exporter


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _runs(finished: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    return [s for s in finished if s.name.startswith("kitaru.run ")]


def _children(finished: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    below = [s for s in finished if s.parent and s.parent.span_id == parent.context.span_id]
    return sorted(below, key=lambda s: s.start_time or 0)


@kitaru.checkpoint
def research(topic: str) -> str:
    toolkit.report_usage("openai/gpt-4o-mini", 120, 30, cost=0.0021)
    return f"notes on {topic}"


flaky_calls = {"n": 0}


@kitaru.checkpoint(retries=1, retry_delay=0.0)
def flaky(notes: str) -> str:
    flaky_calls["n"] += 1
    if flaky_calls["n"] == 1:
        raise ConnectionError("the search API timed out")
    return notes.upper()


@kitaru.flow
def traced_agent(topic: str) -> str:
    return flaky(research(topic))


@kitaru.flow
def approval_agent(topic: str) -> str:
    notes = research(topic)
    approved = kitaru.wait(schema=bool, question="Publish?", name="approve", timeout=0)
    return f"{notes} ({'published' if approved else 'held'})"


def test_the_plugin_is_listed_as_an_entry_point() -> None:
    info = next(p for p in list_plugins() if p.name == "otel")
    assert info.source == "entry point" and not info.missing
    assert info.hooks == ["on_execution_event"]  # operations: only once a run is traced


NO_PROVIDER = """
import sys, kitaru
from kitaru_core.plugins import get_plugin_manager

@kitaru.checkpoint
def step(x: int) -> int:
    return x + 1

@kitaru.flow
def untraced(n: int) -> int:
    return step(step(n))

assert untraced(1) == 3
print(len(get_plugin_manager().hook.on_operation_event.get_hookimpls()))
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""


def test_with_no_provider_nothing_is_imported_and_operations_are_not_observed(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", NO_PROVIDER], env=subprocess_env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert proc.stdout.split("\n")[:2] == ["0", "[]"]


def test_an_execution_is_one_trace_of_a_run_span_and_operation_spans(
    spans: InMemorySpanExporter,
) -> None:
    flaky_calls["n"] = 0
    handle = traced_agent.run("durability")
    assert handle.wait() == "NOTES ON DURABILITY"
    finished = spans.get_finished_spans()

    assert {s.context.trace_id for s in finished} == {execution_trace_id(handle.exec_id)}
    (run,) = _runs(finished)
    assert run.name == "kitaru.run traced_agent"
    assert run.parent is not None and run.parent.span_id == execution_span_id(handle.exec_id)
    assert _attrs(run) == {
        "kitaru.execution.id": handle.exec_id,
        "kitaru.flow.name": "traced_agent",
        "kitaru.execution.run": 1,
        "kitaru.execution.outcome": "completed",
    }

    children = _children(finished, run)
    assert [(s.name, _attrs(s)["kitaru.operation.attempt"]) for s in children] == [
        ("checkpoint research", 1),
        ("checkpoint flaky", 1),
        ("checkpoint flaky", 2),
    ]
    research_span, failed, retried = children
    assert _attrs(research_span)["kitaru.operation.id"].startswith("research:")
    assert _attrs(research_span) | {"kitaru.operation.id": "-"} == {
        "kitaru.execution.id": handle.exec_id,
        "kitaru.operation.id": "-",
        "kitaru.operation.name": "research",
        "kitaru.operation.kind": "checkpoint",
        "kitaru.operation.n": 0,
        "kitaru.operation.attempt": 1,
        "kitaru.operation.reused": False,
        "gen_ai.request.model": "openai/gpt-4o-mini",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        "kitaru.cost_usd": pytest.approx(0.0021),
    }
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "the search API timed out"
    assert [e.name for e in failed.events] == ["exception"]
    assert failed.events[0].attributes["exception.type"] == "builtins.ConnectionError"  # type: ignore[index]
    assert retried.status.status_code is StatusCode.UNSET
    assert "gen_ai.request.model" not in _attrs(retried)
    for span in children:  # the span covers the attempt: started when it started
        assert span.start_time is not None and span.end_time is not None
        assert run.start_time <= span.start_time <= span.end_time <= run.end_time  # type: ignore[operator]


def test_a_resumed_execution_shares_the_trace_and_marks_reused_operations(
    spans: InMemorySpanExporter,
) -> None:
    handle = approval_agent.run("waits")
    assert handle.status == "waiting"
    client = kitaru.KitaruClient()
    client.executions.input(handle.exec_id, True)
    assert client.executions.resume(handle.exec_id).wait() == "notes on waits (published)"

    finished = spans.get_finished_spans()
    assert {s.context.trace_id for s in finished} == {execution_trace_id(handle.exec_id)}
    first, second = sorted(_runs(finished), key=lambda s: _attrs(s)["kitaru.execution.run"])
    assert _attrs(first)["kitaru.execution.outcome"] == "waiting"
    assert [e.name for e in first.events] == ["kitaru.wait.suspended"]
    assert _attrs(second)["kitaru.execution.outcome"] == "completed"
    assert [e.name for e in second.events] == ["kitaru.wait.answered"]
    assert second.events[0].attributes["kitaru.operation.name"] == "approve"  # type: ignore[index]
    for run in (first, second):
        assert run.parent is not None and run.parent.span_id == execution_span_id(handle.exec_id)

    (ran,) = _children(finished, first)
    assert _attrs(ran)["kitaru.operation.reused"] is False
    assert _attrs(ran)["kitaru.cost_usd"] == pytest.approx(0.0021)
    (reused,) = _children(finished, second)
    assert reused.name == "checkpoint research"
    attrs = _attrs(reused)
    assert attrs["kitaru.operation.reused"] is True
    assert attrs["kitaru.cost_saved_usd"] == pytest.approx(0.0021)
    assert (attrs["kitaru.saved.input_tokens"], attrs["kitaru.saved.output_tokens"]) == (120, 30)
    assert "kitaru.cost_usd" not in attrs and "gen_ai.usage.input_tokens" not in attrs


def test_a_replay_links_to_its_source_and_marks_what_it_reused(
    spans: InMemorySpanExporter,
) -> None:
    flaky_calls["n"] = 1  # no failure this time
    source = traced_agent.run("replays")
    assert source.wait() == "NOTES ON REPLAYS"
    spans.clear()
    replay = kitaru.KitaruClient().executions.replay(source.exec_id, from_="flaky")
    assert replay.wait() == "NOTES ON REPLAYS"

    finished = spans.get_finished_spans()
    assert {s.context.trace_id for s in finished} == {execution_trace_id(replay.exec_id)}
    (run,) = _runs(finished)
    assert _attrs(run)["kitaru.execution.replay_of"] == source.exec_id
    (link,) = run.links
    assert link.context.trace_id == execution_trace_id(source.exec_id)
    reused, ran = _children(finished, run)
    assert (reused.name, _attrs(reused)["kitaru.operation.reused"]) == ("checkpoint research", True)
    assert _attrs(reused)["kitaru.operation.reused_from"] == source.exec_id
    assert _attrs(reused)["kitaru.execution.id"] == replay.exec_id
    assert (ran.name, _attrs(ran)["kitaru.operation.reused"]) == ("checkpoint flaky", False)


def test_the_opentelemetry_page_runs(run_doc: Any) -> None:
    proc = run_doc("docs/integrations/opentelemetry.md", timeout=60)
    assert "['checkpoint research', 'checkpoint write', 'kitaru.run writer']" in proc.stdout


def _console_spans(text: str) -> list[dict[str, Any]]:
    """The spans the SDK's console exporter printed, among other output."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := text.find("{\n", at)) != -1:
        span, end = decoder.raw_decode(text, at)
        found.append(span)
        at = end
    return found


@pytest.mark.slow
def test_a_crash_and_its_resume_from_another_process_land_in_one_trace(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    script = SCRIPTS / "otel_crash.py"
    env = {**subprocess_env, "KITARU_LOG_FLUSH_SECONDS": "0.1", "KITARU_TEST_KILL": "1"}
    crashed = subprocess.run(
        [sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert crashed.returncode == -9, crashed.stderr
    exec_id = kitaru.KitaruClient().executions.latest().exec_id
    env["KITARU_TEST_KILL"] = "0"
    resumed = subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", "executions", "resume", exec_id],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr

    trace_id = f"0x{execution_trace_id(exec_id):032x}"
    root = f"0x{execution_span_id(exec_id):016x}"
    before = _console_spans(crashed.stdout)
    after = _console_spans(resumed.stdout)
    # The crashed process exported the operation it finished; its run span never ended.
    assert [s["name"] for s in before] == ["checkpoint fetch"]
    names = sorted(s["name"] for s in after)
    assert names == [
        "checkpoint fetch",
        "checkpoint write",
        "checkpoint write",
        "kitaru.run crashy",
    ]
    assert {s["context"]["trace_id"] for s in before + after} == {trace_id}
    run = next(s for s in after if s["name"] == "kitaru.run crashy")
    assert run["parent_id"] == root and run["attributes"]["kitaru.execution.run"] == 2
    interrupted = next(s for s in after if s["attributes"].get("kitaru.operation.interrupted"))
    assert interrupted["name"] == "checkpoint write"
    assert interrupted["parent_id"] == root  # its run's span was never exported
    assert interrupted["status"]["status_code"] == "ERROR"
    assert interrupted["attributes"]["kitaru.execution.run"] == 1
    reused = next(s for s in after if s["name"] == "checkpoint fetch")
    assert reused["attributes"]["kitaru.operation.reused"] is True
