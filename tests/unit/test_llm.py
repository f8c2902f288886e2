"""``kitaru.llm()`` with a test backend (no extras): recording, usage, aliases, secrets, imports."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import kitaru
from kitaru_core import _config
from kitaru_core.hookspecs import hookimpl
from kitaru_core.llm._llm import LLMReply, LLMRequest, ModelUsage, resolve_model, scrub
from kitaru_core.plugins import register_plugin, unregister_plugin

REPO_ROOT = Path(__file__).resolve().parents[2]


class EchoBackend:
    """Answers with the last message, upper-cased; 3 tokens in, 2 out, $0.01 a call."""

    def __init__(self) -> None:
        self.requests: list[LLMRequest] = []

    def complete(self, request: LLMRequest) -> LLMReply:
        self.requests.append(request)
        text = str(request.messages[-1]["content"]).upper()
        usage = ModelUsage(request.model, tokens_in=3, tokens_out=2, cost=0.01, latency=0.005)
        return LLMReply(text=text, usage=usage)


class EchoPlugin:
    def __init__(self, backend: EchoBackend) -> None:
        self.backend = backend

    @hookimpl(tryfirst=True)
    def llm_backend(self) -> EchoBackend:
        return self.backend


@pytest.fixture
def backend() -> Iterator[EchoBackend]:
    echo = EchoBackend()
    name = register_plugin(EchoPlugin(echo), name="echo-llm")
    try:
        yield echo
    finally:
        unregister_plugin(name)


def test_outside_a_flow_llm_is_a_plain_call(backend: EchoBackend) -> None:
    assert kitaru.llm("hi", model="m") == "HI"
    assert backend.requests[0].messages == [{"role": "user", "content": "hi"}]


def test_in_a_flow_each_call_is_an_llm_operation_with_usage(backend: EchoBackend) -> None:
    @kitaru.flow
    def ask() -> list[str]:
        return [kitaru.llm("a", model="m", system="be brief"), kitaru.llm("b", model="m")]

    handle = ask.run()
    assert handle.wait() == ["A", "B"]
    execution = handle.get()
    assert [op.kind for op in execution.operations] == ["llm", "llm"]
    op = execution.operations[0]
    assert (op.model, op.tokens_in, op.tokens_out, op.cost) == ("m", 3, 2, 0.01)
    assert op.metadata["latency_ms"] == 5.0
    assert '"be brief"' in (op.input_text or "")
    assert execution.tokens_in == 6 and execution.tokens_out == 4
    assert execution.cost_spent == pytest.approx(0.02)
    assert backend.requests[0].messages[0] == {"role": "system", "content": "be brief"}


def test_a_resumed_flow_reuses_calls_and_counts_their_cost_as_saved(backend: EchoBackend) -> None:
    state = {"fail": True}

    @kitaru.flow
    def two_calls() -> str:
        first = kitaru.llm("one", model="m")
        if state["fail"]:
            state["fail"] = False
            raise RuntimeError("crash after the first call")
        return first + kitaru.llm("two", model="m")

    handle = two_calls.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    client = kitaru.KitaruClient()
    assert client.executions.retry(handle.exec_id).wait() == "ONETWO"
    assert len(backend.requests) == 2  # "one" ran once
    execution = client.executions.get(handle.exec_id)
    assert execution.cost_saved == pytest.approx(0.01)
    assert execution.cost_spent == pytest.approx(0.02)
    data = execution.to_dict()
    assert data["cost_saved"] == pytest.approx(0.01)
    assert data["cost_spent"] == pytest.approx(0.02)
    assert (data["tokens_in"], data["tokens_out"]) == (6, 4)
    summary = execution.to_dict(with_operations=False)  # what `executions list --json` shows
    assert "operations" not in summary
    assert summary["cost_spent"] == pytest.approx(0.02)
    assert (summary["tokens_in"], summary["tokens_out"]) == (6, 4)


def test_inside_a_checkpoint_usage_is_added_to_the_checkpoint(backend: EchoBackend) -> None:
    @kitaru.checkpoint
    def summarize(text: str) -> str:
        return kitaru.llm(text, model="m") + kitaru.llm(text, model="m")

    @kitaru.flow
    def flow_with_checkpoint() -> str:
        return summarize("x")

    handle = flow_with_checkpoint.run()
    assert handle.wait() == "XX"
    (op,) = handle.get().operations
    assert (op.kind, op.tokens_in, op.tokens_out) == ("checkpoint", 6, 4)
    assert op.cost == pytest.approx(0.02)
    calls = op.metadata["llm_calls"]
    assert [c["response"] for c in calls] == ["X", "X"]


def test_secrets_are_used_but_never_stored(backend: EchoBackend, kitaru_home: Path) -> None:
    @kitaru.flow
    def keyed() -> str:
        return kitaru.llm("q", model="m", api_key="sk-live-DO-NOT-STORE", top_p=0.5)

    handle = keyed.run()
    handle.wait()
    assert backend.requests[0].params["api_key"] == "sk-live-DO-NOT-STORE"
    (op,) = handle.get().operations
    assert '"api_key":"***"' in (op.input_text or "")
    assert '"top_p":0.5' in (op.input_text or "")
    for path in kitaru_home.rglob("*"):
        if path.is_file():
            assert b"DO-NOT-STORE" not in path.read_bytes(), path


def test_scrub_keeps_ordinary_parameters() -> None:
    params = {"max_tokens": 5, "api_key": "k", "aws_secret_access_key": "s", "extra_headers": {}}
    assert scrub(params) == {
        "max_tokens": 5,
        "api_key": "***",
        "aws_secret_access_key": "***",
        "extra_headers": "***",
    }


def test_model_aliases_from_configure_and_the_config_file() -> None:
    _config.write_config_file({"models": {"fast": "openai/gpt-4o-mini", "default": "fast"}})
    _config.reset()
    assert resolve_model("fast") == "openai/gpt-4o-mini"
    assert resolve_model(None) == "openai/gpt-4o-mini"
    assert resolve_model("anthropic/claude-x") == "anthropic/claude-x"
    kitaru.configure(models={"fast": "openai/gpt-4.1-nano"})
    assert resolve_model("fast") == "openai/gpt-4.1-nano"


def test_no_model_and_no_default_is_a_clear_error(backend: EchoBackend) -> None:
    with pytest.raises(kitaru.ConfigurationError, match="kitaru model register default"):
        kitaru.llm("hi")


def test_bad_prompt_type_is_a_clear_error(backend: EchoBackend) -> None:
    with pytest.raises(TypeError, match="prompt string or a list of chat messages"):
        kitaru.llm(42, model="m")  # type: ignore[arg-type]


def test_import_kitaru_and_loading_plugins_import_no_harness() -> None:
    code = (
        "import sys, kitaru; kitaru.llm; "
        "from kitaru_core.plugins import list_plugins; list_plugins(); "
        "harnesses = ('litellm', 'pydantic_ai', 'claude_agent_sdk', 'langgraph', "
        "'langchain_core'); "
        "print(','.join(m for m in harnesses if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == ""
