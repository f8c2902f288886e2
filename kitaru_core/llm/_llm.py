"""``kitaru.llm()`` and the bookkeeping every model call shares: aliases, secrets, tokens, cost.

A model call made while a flow runs is a durable operation of kind ``llm``: its prompt is the
operation's input, its reply the output, and its tokens, cost and latency are recorded with it, so
a resume returns the recorded reply and counts its cost as saved. Inside a checkpoint the call is
part of that checkpoint, and its usage is added to it. Outside a flow it is a plain call.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from kitaru_core._config import load_settings
from kitaru_core.engine import _context
from kitaru_core.engine._drive import CALL, Steps, adrive, drive
from kitaru_core.engine._fingerprint import canonical_json, digest
from kitaru_core.engine._runtime import OperationSpec, operation_steps
from kitaru_core.errors import ConfigurationError, MissingExtraError
from kitaru_core.hooktypes import LLMBackend, LLMReply, LLMRequest, ModelUsage  # noqa: F401 (re-export)
from kitaru_core.plugins import get_plugin_manager

T = TypeVar("T")

MOCK_ENV = "KITARU_LLM_MOCK_RESPONSE"
"""When set, ``kitaru.llm()`` answers with this text offline (LiteLLM's ``mock_response``)."""

DEFAULT_ALIAS = "default"
PREVIEW_CHARS = 2000
_SECRET = re.compile(
    r"(^|_)(api_?key|key|secret|password|passwd|credentials?|token|authorization|headers)$"
    r"|secret|password|credential",
    re.IGNORECASE,
)


# --- small helpers ------------------------------------------------------------------------------


def is_secret(name: str) -> bool:
    """Whether a parameter name looks like a credential (``api_key``, ``aws_secret_...``)."""
    return bool(_SECRET.search(name))


def scrub(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with every credential-like value replaced: safe to store, hash and log."""
    return {k: ("***" if is_secret(k) and v is not None else v) for k, v in params.items()}


def resolve_model(model: str | None) -> str:
    """The model name behind an alias (``kitaru.configure(models=...)``, the config file)."""
    models = load_settings().models
    name = model if model is not None else models.get(DEFAULT_ALIAS)
    if not name:
        raise ConfigurationError(
            "kitaru.llm() needs a model: pass model='openai/gpt-4o-mini' (or an alias), or set a "
            "default with `kitaru model register default openai/gpt-4o-mini`."
        )
    return models.get(name, name)


def chat_messages(prompt_or_messages: Any, system: str | None) -> list[dict[str, Any]]:
    """Chat messages from a prompt string or a message list, with ``system`` first."""
    if isinstance(prompt_or_messages, str):
        messages = [{"role": "user", "content": prompt_or_messages}]
    elif isinstance(prompt_or_messages, list | tuple) and all(
        isinstance(m, Mapping) for m in prompt_or_messages
    ):
        messages = [dict(m) for m in prompt_or_messages]
    else:
        raise TypeError(
            "kitaru.llm() takes a prompt string or a list of chat messages "
            f"({{'role': ..., 'content': ...}}), not {type(prompt_or_messages).__name__}."
        )
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    return messages


def get_backend() -> LLMBackend:
    """The backend from the ``llm_backend`` hook (the ``litellm`` adapter by default)."""
    backend = get_plugin_manager().hook.llm_backend()
    if backend is None:
        raise MissingExtraError("litellm", "litellm")
    return backend


def _preview(value: Any) -> Any:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def note_usage(
    usage: ModelUsage, *, standalone: bool, prompt: Any = None, response: Any = None
) -> None:
    """Add ``usage`` to the running operation (no-op outside one).

    ``standalone`` means the operation *is* this model call: its metadata gets the model and
    latency. Otherwise the call is appended to the operation's ``llm_calls`` metadata.
    """
    scope = _context.current_operation()
    if scope is None:
        return
    scope.add_usage(
        model=usage.model, tokens_in=usage.tokens_in, tokens_out=usage.tokens_out, cost=usage.cost
    )
    summary = {
        "model": usage.model,
        "latency_ms": round(usage.latency * 1000, 1),
        **usage.details,
    }
    if standalone:
        scope.metadata.update(summary)
        return
    entry = {**summary, "tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out}
    entry["cost"] = usage.cost
    if prompt is not None:
        entry["prompt"] = _preview(prompt)
    if response is not None:
        entry["response"] = _preview(response)
    scope.metadata.setdefault("llm_calls", []).append(entry)


# --- recording ----------------------------------------------------------------------------------


def _prepare(prepare: Callable[[], object] | None) -> None:
    """Run ``prepare`` inside the operation, then restart its clock: its time is not the call's."""
    if prepare is None:
        return
    prepare()
    scope = _context.current_operation()
    if scope is not None:
        scope.started_at = time.time()


def _identity(inputs: Mapping[str, Any]) -> tuple[str, str]:
    text = canonical_json(dict(inputs))
    return digest(text), text


def record_model_call(
    name: str,
    inputs: Mapping[str, Any],
    call: Callable[[], tuple[T, ModelUsage]],
    *,
    prompt: Any = None,
    prepare: Callable[[], object] | None = None,
) -> T:
    """Run ``call`` as a durable ``llm`` operation named ``name`` (see the module docstring).

    ``inputs`` identify the call and are stored as its input: pass them through :func:`scrub`.
    ``call`` returns ``(value, usage)``; ``value`` is what is recorded and returned.
    ``prepare`` (importing the provider library, say) runs first when the call is not reused,
    and its time is left out of the operation's duration.
    """
    return drive(_model_call(name, inputs, prompt, prepare), call)


async def arecord_model_call(
    name: str,
    inputs: Mapping[str, Any],
    call: Callable[[], Awaitable[tuple[T, ModelUsage]]],
    *,
    prompt: Any = None,
    prepare: Callable[[], object] | None = None,
) -> T:
    """:func:`record_model_call` from async code: ``call`` returns an awaitable."""
    return await adrive(_model_call(name, inputs, prompt, prepare), call)


def _model_call(
    name: str, inputs: Mapping[str, Any], prompt: Any, prepare: Callable[[], object] | None
) -> Steps[Any]:
    """Both of the above, written once (see ``engine/_drive.py``): ``CALL`` runs the call."""
    run = _context.durable_run()
    if run is None:
        value, usage = yield CALL
        note_usage(usage, standalone=False, prompt=prompt, response=value)
        return value

    def settle(reply: tuple[Any, ModelUsage]) -> Any:
        value, usage = reply
        note_usage(usage, standalone=True)
        return value

    fingerprint, text = _identity(inputs)
    spec = OperationSpec(name=name, kind="llm")
    return (
        yield from operation_steps(
            run, spec, fingerprint, text, before=lambda: _prepare(prepare), after=settle
        )
    )


# --- the public function ------------------------------------------------------------------------


def llm(
    prompt_or_messages: str | list[dict[str, Any]],
    *,
    model: str | None = None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    name: str | None = None,
    **litellm_kwargs: Any,
) -> str:
    """Ask a model and return its text; recorded with tokens and cost while a flow runs.

    ``model`` is a LiteLLM model name (``"openai/gpt-4o-mini"``) or an alias from
    ``kitaru.configure(models=...)`` / ``kitaru model register``. API keys come from the
    environment (``OPENAI_API_KEY``, ...); a key passed here is used but never stored.
    ``KITARU_LLM_MOCK_RESPONSE=text`` (or ``mock_response="text"``) answers offline.
    """
    resolved = resolve_model(model)
    messages = chat_messages(prompt_or_messages, system)
    params = dict(litellm_kwargs)
    if temperature is not None:
        params["temperature"] = temperature
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    mock = os.environ.get(MOCK_ENV)
    if mock is not None and "mock_response" not in params:
        params["mock_response"] = mock
    request = LLMRequest(model=resolved, messages=messages, params=params)
    backend = get_backend()

    def call() -> tuple[str, ModelUsage]:
        reply = backend.complete(request)
        return reply.text, reply.usage

    inputs = {"model": resolved, "messages": messages, "params": scrub(params)}
    load = getattr(backend, "load", None)
    return record_model_call(name or "llm", inputs, call, prompt=messages, prepare=load)
