"""The adapter toolkit (``kitaru.toolkit``) on a bare install: operations, context, usage, waits,
identity helpers, serializers, and automatic executions resumed in a fresh process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import kitaru
from kitaru import toolkit
from kitaru_core.llm import _pricing

REPO_ROOT = Path(__file__).resolve().parents[2]
calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


def retry(exec_id: str) -> Any:
    return kitaru.KitaruClient().executions.retry(exec_id).wait()


def test_run_operation_is_reused_on_retry_and_counts_equal_calls_apart() -> None:
    state = {"fail": True}

    def fetch(url: str) -> str:
        def call() -> str:
            calls[url] += 1
            return f"page {url} #{calls[url]}"

        return toolkit.run_operation("fetch", call, kind="tool", inputs={"url": url})

    @kitaru.flow
    def crawl() -> list[str]:
        pages = [fetch("a"), fetch("a"), fetch("b")]
        if state.pop("fail", False):
            raise RuntimeError("crash after three calls")
        return pages

    handle = crawl.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    assert calls == {"a": 2, "b": 1}
    assert retry(handle.exec_id) == ["page a #1", "page a #2", "page b #1"]
    assert calls == {"a": 2, "b": 1}  # nothing ran again
    ops = handle.get().operations
    assert [(op.name, op.kind, op.reused) for op in ops] == [("fetch", "tool", True)] * 3
    assert [toolkit.OperationId.parse(op.op_id).n for op in ops] == [0, 1, 0]


def test_arun_operation_retries_a_failing_call_and_records_each_attempt() -> None:
    async def flaky() -> str:
        calls["try"] += 1
        if calls["try"] < 3:
            raise ConnectionError("down")
        return "up"

    @kitaru.flow
    async def probe() -> str:
        return await toolkit.arun_operation(
            "probe", flaky, kind="tool", inputs=["x"], retries=2, retry_delay=0
        )

    async def start() -> Any:
        return await probe.run()

    handle = asyncio.run(start())
    assert handle.wait() == "up" and calls["try"] == 3
    assert handle.get().operations[0].attempts == 3


def test_outside_a_flow_and_inside_an_operation_the_call_just_runs() -> None:
    seen: list[tuple[bool, bool, bool]] = []

    def where() -> str:
        seen.append((toolkit.in_flow(), toolkit.in_operation(), toolkit.in_durable_unit()))
        return "ran"

    assert toolkit.run_operation("outside", where, kind="tool") == "ran"

    @kitaru.checkpoint
    def step() -> str:
        info = toolkit.current_operation()
        assert info is not None and (info.name, info.kind) == ("step", "checkpoint")
        return toolkit.run_operation("nested", where, kind="tool", inputs=1)

    @kitaru.flow
    def outer() -> str:
        where()
        assert toolkit.current_operation() is None
        assert toolkit.current_execution_id() == kitaru.current_execution_id()
        return step()

    handle = outer.run()
    assert handle.wait() == "ran"
    assert seen == [(False, False, False), (True, False, True), (True, True, False)]
    assert [op.name for op in handle.get().operations] == ["step"]  # nested: part of step


def test_ordinals_count_per_body_run_and_start_again_on_resume() -> None:
    state = {"fail": True}
    seen: list[list[int]] = []

    @kitaru.flow
    def numbered() -> list[int]:
        got = [toolkit.ordinal("agent.run:a"), toolkit.ordinal("agent.run:a")]
        got.append(toolkit.ordinal("agent.run:b"))
        seen.append(got)
        if state.pop("fail", False):
            raise RuntimeError("again")
        return got

    handle = numbered.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    assert retry(handle.exec_id) == [0, 1, 0]
    assert seen == [[0, 1, 0], [0, 1, 0]]
    with pytest.raises(kitaru.KitaruError, match="inside a @flow"):
        toolkit.ordinal("outside")


def test_operation_ids_parse_and_format_with_colons_in_names() -> None:
    op = toolkit.OperationId.parse("agent__tool.call_tool:add:0f3a:12")
    assert (op.name, op.fingerprint, op.n) == ("agent__tool.call_tool:add", "0f3a", 12)
    assert str(op) == "agent__tool.call_tool:add:0f3a:12"


def test_reported_usage_is_spent_then_saved_on_resume() -> None:
    state = {"fail": True}

    def model_call() -> str:
        calls["model"] += 1
        toolkit.report_usage("my-model", 10, 5, cost=0.02, provider="acme", latency=0.1)
        return "reply"

    @kitaru.flow
    def agent() -> str:
        text = toolkit.run_operation("agent__model.request", model_call, kind="llm", inputs="hi")
        if state.pop("fail", False):
            raise RuntimeError("crash")
        return text

    handle = agent.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    assert retry(handle.exec_id) == "reply" and calls["model"] == 1
    execution = handle.get()
    (op,) = execution.operations
    assert (op.model, op.tokens_in, op.tokens_out, op.cost) == ("my-model", 10, 5, 0.02)
    assert op.metadata["provider"] == "acme" and op.metadata["latency_ms"] == 100.0
    assert execution.cost_spent == pytest.approx(0.02)
    assert execution.cost_saved == pytest.approx(0.02)


def test_usage_without_a_cost_is_priced_from_genai_prices() -> None:
    genai_prices = pytest.importorskip("genai_prices")
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1000, output_tokens=200), model_ref="gpt-4o-mini"
    )

    @kitaru.flow
    def priced() -> list[Any]:
        def call() -> list[Any]:
            known = toolkit.report_usage("gpt-4o-mini", 1000, 200)
            unknown = toolkit.report_usage("no-such-model-xyz", 1, 1, standalone=False)
            return [known.cost, unknown.cost, unknown.details]

        return toolkit.run_operation("m", call, kind="llm", inputs=None)

    handle = priced.run()
    cost, unknown_cost, details = handle.wait()
    assert cost == pytest.approx(float(expected.total_price)) and cost > 0
    assert unknown_cost == 0.0 and details == {"cost_known": False}
    assert handle.get().operations[0].cost == pytest.approx(cost)


@dataclass
class Plan:
    steps: int
    note: str


def test_ask_human_suspends_and_returns_the_typed_answer() -> None:
    @kitaru.flow
    def plan() -> Plan:
        return toolkit.ask_human("How many steps?", Plan, name="plan", timeout=0)

    handle = plan.run()
    with pytest.raises(kitaru.ExecutionSuspended):
        handle.wait()
    client = kitaru.KitaruClient()
    (pending,) = client.executions.pending_waits(handle.exec_id)
    assert (pending.name, pending.question) == ("plan", "How many steps?")
    client.executions.input(handle.exec_id, {"steps": 3, "note": "ok"})
    assert client.executions.resume(handle.exec_id).wait() == Plan(3, "ok")


def test_strip_volatile_and_message_json_drop_volatile_fields_at_any_depth() -> None:
    first = {"parts": [{"text": "hi", "timestamp": 1}], "run_id": "r1", "kind": "request"}
    again = {"parts": [{"text": "hi", "timestamp": 2}], "run_id": "r2", "kind": "request"}
    assert toolkit.strip_volatile(first) == {"parts": [{"text": "hi"}], "kind": "request"}
    assert toolkit.message_json(first) == toolkit.message_json(again)
    assert toolkit.message_json(first, volatile={"id"}) != toolkit.message_json(again, volatile={})
    live = object()
    assert toolkit.message_json({"client": live}) == '{"client":"<builtins.object>"}'


def test_history_chain_equal_histories_equal_identities_whatever_came_before() -> None:
    chain = toolkit.HistoryChain(lambda m: toolkit.message_json(m).encode())
    one, two, three = ({"text": t, "timestamp": i} for i, t in enumerate("abc"))
    grown, newest = chain.chain([one, two, three])
    assert newest == b'{"text":"c"}'
    other = toolkit.HistoryChain(lambda m: toolkit.message_json(m).encode())
    other.chain([{"text": "x"}])  # something else first
    copies = [dict(one, timestamp=9), dict(two), dict(three)]
    assert other.chain(copies)[0] == grown
    assert chain.chain([one, two])[0] != grown


def test_history_chain_rebuilt_hashes_only_new_copies_and_notices_an_edit() -> None:
    hashed: list[bytes] = []

    def canonical(message: Any) -> bytes:
        text = toolkit.message_json(message).encode()
        hashed.append(text)
        return text

    fresh = toolkit.HistoryChain(lambda m: toolkit.message_json(m).encode())
    chain = toolkit.HistoryChain(canonical, rebuilt=True)
    history = [{"text": str(i)} for i in range(5)]
    chain.chain([dict(m) for m in history[:4]])
    hashed.clear()
    value, _ = chain.chain([dict(m) for m in history])  # copies, equal to the last request's
    assert value == fresh.chain(history)[0]
    assert hashed == [b'{"text":"0"}', b'{"text":"3"}', b'{"text":"4"}']  # key, newest two
    edited = [dict(m) for m in history]
    edited[1]["text"] = "changed"
    assert chain.chain(edited)[0] == fresh.chain(edited)[0] != value


def test_a_flat_price_is_kept_per_model_and_a_tiered_one_is_looked_up_each_time() -> None:
    genai_prices = pytest.importorskip("genai_prices")

    def exact(model: str, tokens_in: int, tokens_out: int) -> float:
        usage = genai_prices.Usage(input_tokens=tokens_in, output_tokens=tokens_out)
        return float(genai_prices.calc_price(usage, model_ref=model).total_price)

    for model in ("gpt-4o-mini", "gemini-2.5-pro"):  # flat; more per token past 200k
        for tokens in ((120, 30), (1000, 200), (300_000, 1_000)):
            assert toolkit.price(model, *tokens) == pytest.approx(exact(model, *tokens))
    assert _pricing._rates[("gpt-4o-mini", None)] is not None
    assert _pricing._rates[("gemini-2.5-pro", None)] is None


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


class PointSerializer(toolkit.JsonSerializer):
    name = "test-point"
    module = "tests.unit.test_toolkit_never_imported"

    def accepts_loaded(self, value: Any) -> bool:
        return isinstance(value, Point)

    def to_json(self, value: Any) -> Any:
        return {"x": value.x}

    def from_json(self, data: Any) -> Any:
        return Point(data["x"])


def test_json_serializer_base_round_trips_and_ignores_an_unloaded_harness() -> None:
    serializer = PointSerializer()
    assert not serializer.accepts(Point(1))  # its harness module is not imported
    serializer.module = __name__
    assert serializer.accepts(Point(1)) and not serializer.accepts(1)
    data = serializer.dumps(Point(4))
    assert data == b'{"x":4}' and serializer.loads(data).x == 4
    packed = toolkit.pack_value({"a": [1, 2]}, what="test value")
    assert toolkit.unpack_value(packed, what="test value") == {"a": [1, 2]}


HARNESS_SCRIPT = '''
"""A fake harness: an Echo object that, called outside a flow, opens an automatic execution."""
import os
import sys

from kitaru import toolkit

LOG = os.environ["KITARU_TEST_LOG"]


def note(line):
    with open(LOG, "a") as f:
        f.write(line + "\\n")


class Echo:
    def __init__(self, name):
        self.name = name
        toolkit.register_object("Echo", name, self)
        self.origin = toolkit.caller_origin()

    def __call__(self, words):
        if not toolkit.in_flow():
            arguments = {"name": self.name, "origin": list(self.origin), "words": words}
            return echo_flow.named(self.name).run(arguments)
        out = []
        for word in words:
            def call(word=word):
                note("echo " + word)
                return word.upper()
            out.append(toolkit.run_operation("echo.say", call, kind="tool", inputs=word))
        if os.environ.get("FAIL_AT_END"):
            raise RuntimeError("fail after recording")
        return out


def _body(name, origin, words):
    return toolkit.find_object("Echo", name, origin)(words)


echo_flow = toolkit.AutomaticFlow(_body, name="echo", attribute="echo_flow")
shouter = Echo("shouter")

if __name__ == "__main__":
    print(shouter(sys.argv[1:]))
'''


@pytest.mark.slow
def test_automatic_execution_resumes_in_a_fresh_process_and_finds_its_object(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    script = tmp_path / "harness.py"
    script.write_text(textwrap.dedent(HARNESS_SCRIPT))
    log = tmp_path / "calls.log"
    env = {**subprocess_env, "KITARU_TEST_LOG": str(log)}
    first = subprocess.run(
        [sys.executable, str(script), "a", "b"],
        env={**env, "FAIL_AT_END": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 1 and "fail after recording" in first.stderr
    execution = kitaru.KitaruClient().executions.latest()
    assert execution is not None
    assert (execution.flow_name, execution.status) == ("shouter", "failed")
    retried = subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", "executions", "retry", execution.exec_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert log.read_text().splitlines() == ["echo a", "echo b"]  # nothing ran twice
    done = kitaru.KitaruClient().executions.get(execution.exec_id)
    assert done.status == "completed" and done.result == ["A", "B"]
    assert [op.reused for op in done.operations] == [True, True]


def test_an_unknown_harness_object_is_a_clear_error() -> None:
    with pytest.raises(kitaru.FlowNotFound, match=r"Echo 'ghost' is defined in no_such_module"):
        toolkit.find_object("Echo", "ghost", ["no_such_module_for_kitaru_tests", None])


def test_importing_the_toolkit_loads_no_price_table_and_no_harness() -> None:
    code = (
        "import sys, kitaru.toolkit; "
        "print(sorted(m for m in ('genai_prices', 'litellm', 'pydantic_ai') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == "[]"
