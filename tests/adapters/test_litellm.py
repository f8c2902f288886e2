"""The LiteLLM adapter, offline: kitaru.llm() and durable_completion, mocked."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("litellm")

import kitaru
from kitaru.adapters.litellm import adurable_completion, durable_completion
from kitaru_core.llm._llm import MOCK_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai/gpt-4o-mini"


def expected_cost(tokens_in: int, tokens_out: int) -> float:
    import litellm

    prompt, completion = litellm.cost_per_token(
        model=MODEL, prompt_tokens=tokens_in, completion_tokens=tokens_out
    )
    return float(prompt + completion)


def test_llm_offline_records_tokens_cost_and_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MOCK_ENV, "Paris.")
    kitaru.configure(models={"fast": MODEL})

    @kitaru.flow
    def capital() -> str:
        return kitaru.llm("Capital of France?", model="fast", temperature=0.2)

    handle = capital.run()
    assert handle.wait() == "Paris."
    (op,) = handle.get().operations
    assert (op.kind, op.model) == ("llm", MODEL)
    assert op.tokens_in > 0 and op.tokens_out > 0
    assert op.cost == pytest.approx(expected_cost(op.tokens_in, op.tokens_out))
    assert op.cost > 0
    assert op.metadata["mock"] is True and op.metadata["latency_ms"] >= 0
    assert '"temperature":0.2' in (op.input_text or "")


def test_mock_response_keyword_runs_offline_too() -> None:
    @kitaru.flow
    def mocked() -> str:
        return kitaru.llm("hi", model=MODEL, mock_response="hello!")

    handle = mocked.run()
    assert handle.wait() == "hello!"
    assert handle.get().cost_spent > 0


def test_unknown_model_costs_nothing_and_says_so() -> None:
    @kitaru.flow
    def unknown() -> str:
        return kitaru.llm("hi", model="openai/not-a-real-model-x", mock_response="ok")

    handle = unknown.run()
    assert handle.wait() == "ok"
    (op,) = handle.get().operations
    assert op.cost == 0.0 and op.metadata["cost_known"] is False


def test_durable_completion_returns_full_responses_and_reuses_them() -> None:
    import litellm

    state = {"fail": True}

    @kitaru.flow
    def complete() -> str:
        response = durable_completion(
            model=MODEL, messages=[{"role": "user", "content": "x"}], mock_response="full"
        )
        assert isinstance(response, litellm.ModelResponse)
        if state["fail"]:
            state["fail"] = False
            raise RuntimeError("crash after the completion")
        usage = getattr(response, "usage", None)
        return f"{response.choices[0].message.content}:{getattr(usage, 'prompt_tokens', None)}"

    handle = complete.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    client = kitaru.KitaruClient()
    assert client.executions.retry(handle.exec_id).wait() == "full:10"
    execution = client.executions.get(handle.exec_id)
    (op,) = execution.operations
    assert op.reused and op.name == "completion"
    assert execution.cost_saved == pytest.approx(op.cost) and op.cost > 0
    assert op._record is not None and op._record.output_codec == "litellm"


def test_async_durable_completion() -> None:
    import asyncio

    @kitaru.flow
    async def complete_async() -> str:
        response = await adurable_completion(
            name="summary",
            model=MODEL,
            messages=[{"role": "user", "content": "y"}],
            mock_response="async ok",
        )
        return str(response.choices[0].message.content)

    async def start() -> object:
        return await complete_async.run()

    handle: Any = asyncio.run(start())
    assert handle.wait() == "async ok"
    assert [op.name for op in handle.get().operations] == ["summary"]


def test_streaming_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="without stream=True"):
        durable_completion(model=MODEL, messages=[], stream=True)


def test_cost_spent_and_saved_in_executions_get_json(
    monkeypatch: pytest.MonkeyPatch, subprocess_env: dict[str, str]
) -> None:
    monkeypatch.setenv(MOCK_ENV, "ok")
    state = {"fail": True}

    @kitaru.flow
    def costly() -> str:
        first = kitaru.llm("a", model=MODEL)
        if state["fail"]:
            state["fail"] = False
            raise RuntimeError("crash")
        return first + kitaru.llm("b", model=MODEL)

    handle = costly.run()
    with pytest.raises(RuntimeError):
        handle.wait()
    kitaru.KitaruClient().executions.retry(handle.exec_id).wait()
    out = subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", "executions", "get", handle.exec_id, "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=subprocess_env,
        cwd=REPO_ROOT,
    )
    data = json.loads(out.stdout)
    one = expected_cost(10, 20)
    assert data["cost_saved"] == pytest.approx(one)
    assert data["cost_spent"] == pytest.approx(2 * one)
    assert (data["tokens_in"], data["tokens_out"]) == (20, 40)


def test_using_litellm_makes_no_network_request(subprocess_env: dict[str, str]) -> None:
    code = (
        "import socket\n"
        "seen = []\n"
        "real = socket.getaddrinfo\n"
        "socket.getaddrinfo = lambda host, *a, **k: seen.append(host) or real(host, *a, **k)\n"
        "import kitaru\n"
        "print(kitaru.llm('hi', model='openai/gpt-4o-mini', mock_response='x'), seen)\n"
    )
    env = {k: v for k, v in subprocess_env.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=REPO_ROOT,
    )
    assert out.stdout.strip() == "x []"


def test_the_llm_guide_runs(run_doc: Callable[..., Any]) -> None:
    run_doc("docs/guides/llm.md")


def test_litellm_price_map_was_loaded_locally_without_a_request() -> None:
    import litellm
    from litellm.litellm_core_utils.get_model_cost_map import get_model_cost_map_source_info

    info = get_model_cost_map_source_info()
    assert (info["source"], info["url"], info["is_env_forced"]) == ("local", None, True), info
    assert info["fallback_reason"] is None and litellm.model_cost


FIRST_CALLS = '''
import importlib.abc, importlib.machinery, json, time, sys
import kitaru
from kitaru.adapters.litellm import durable_completion

imported = []


class WatchLiteLLM(importlib.abc.MetaPathFinder):
    """Notes the time at which ``import litellm`` finishes."""

    def find_spec(self, name, path, target=None):
        if name != "litellm":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            imported.append(time.time())

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, WatchLiteLLM())
assert "litellm" not in sys.modules


@kitaru.flow
def first_call(kind):
    if kind == "llm":
        return kitaru.llm("hi", model="openai/gpt-4o-mini", mock_response="x")
    response = durable_completion(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], mock_response="y"
    )
    return response.choices[0].message.content


handle = first_call.run(sys.argv[1])
handle.wait()
(op,) = handle.get().operations
print(json.dumps({"imported": imported, "started": op.started_at, "kind": op.kind}))
'''


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["llm", "durable_completion"])
def test_first_llm_call_latency_excludes_the_litellm_import(
    kind: str, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    # A fresh process, so this call is the one that imports LiteLLM (seconds on a cold start).
    # The operation's clock must start after that import: its duration is the call's latency.
    script = tmp_path / "first_call.py"
    script.write_text(FIRST_CALLS)
    out = subprocess.run(
        [sys.executable, "-W", "ignore", str(script), kind],
        capture_output=True,
        text=True,
        env=subprocess_env,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["kind"] == "llm" and len(seen["imported"]) == 1, seen
    assert seen["started"] >= seen["imported"][0], "the LiteLLM import was timed as the call"
