"""Operation identity of Pydantic AI's durable units: a kind, and inputs stable across resumes.

A resumed run rebuilds its messages with new timestamps (and, outside Kitaru's run ids, new run
and conversation ids), so those are left out of fingerprints. Everything else the unit depends
on — model, messages, settings, tool definitions, tool name, arguments and call id — is kept, so
an input that changed runs again and the rest is reused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic_ai.durable_exec import (
    DurableOperationId,
    ModelRequestId,
    ToolsetCallToolId,
    ToolsetGetToolsId,
)
from pydantic_ai.tools import RunContext, ToolDefinition
from pydantic_ai.toolsets import ToolsetTool
from pydantic_core import to_json, to_jsonable_python

from kitaru_core import toolkit
from kitaru_core.toolkit import HistoryChain, canonical_json, digest

VOLATILE_KEYS = frozenset({"timestamp", "run_id", "conversation_id"})


def strip_volatile(value: Any) -> Any:
    """``value`` (JSON data) without the keys that differ between a run and its resume."""
    return toolkit.strip_volatile(value, VOLATILE_KEYS)


def _fallback(obj: Any) -> str:
    return f"<{type(obj).__module__}.{type(obj).__qualname__}>"


def jsonable(value: Any) -> Any:
    """JSON data for ``value``; live objects (clients, toolsets) become their type name."""
    if isinstance(value, RunContext):
        return {"run_step": value.run_step, "tool_call_id": value.tool_call_id}
    if isinstance(value, ToolsetTool):
        return jsonable(value.tool_def)
    if isinstance(value, ToolDefinition):
        return to_jsonable_python(value, fallback=_fallback)
    try:
        return strip_volatile(to_jsonable_python(value, fallback=_fallback))
    except (ValueError, TypeError):  # circular or unserializable: identify by type only
        return _fallback(value)


def kind_of(operation_id: DurableOperationId) -> str:
    """The Kitaru operation kind: ``llm``, ``tool``, ``mcp``, or ``pydantic_ai`` for the rest."""
    if isinstance(operation_id, ModelRequestId):
        return "llm"
    if isinstance(operation_id, ToolsetCallToolId):
        return "mcp" if operation_id.toolset_kind == "mcp" else "tool"
    if isinstance(operation_id, ToolsetGetToolsId) and operation_id.toolset_kind == "mcp":
        return "mcp"
    return "pydantic_ai"


VOLATILE_FIELDS: dict[str, Any] = {
    **dict.fromkeys(VOLATILE_KEYS, True),
    "parts": {"__all__": dict.fromkeys(VOLATILE_KEYS, True)},
}
"""The volatile fields of a ``ModelRequest``/``ModelResponse`` and of their parts."""


def message_text(message: Any) -> bytes:
    """JSON of one message without its volatile fields: what the history chain hashes.

    Pydantic's own serializer in field order (fixed by the message classes), which is several
    times faster than :func:`jsonable` plus sorted JSON; an unserializable message falls back
    to that.
    """
    try:
        return to_json(message, exclude=VOLATILE_FIELDS, fallback=_fallback, bytes_mode="base64")
    except (ValueError, TypeError):
        return canonical_json(jsonable(message)).encode()


def _json(value: Any) -> bytes:
    try:
        return to_json(value, fallback=_fallback, bytes_mode="base64")
    except (ValueError, TypeError):
        return canonical_json(jsonable(value)).encode()


def identity(
    operation_id: DurableOperationId,
    cache_key: tuple[Any, ...],
    history: HistoryChain | None = None,
) -> tuple[str, str]:
    """``(fingerprint, input text)`` of one durable unit call.

    The fingerprint covers every stable input. A model request's history enters it as its hash
    chain (``history``, see ``_scheme``), or, for executions recorded before the chain, as the
    whole serialized history. The stored input text of a model request shows only its newest
    message (the history is in the earlier requests), so long runs stay small.
    """
    if isinstance(operation_id, ModelRequestId):
        if history is not None:
            return _chained_request_identity(cache_key, history)
        model_id, messages, settings, parameters, _ctx = cache_key
        history_json = [jsonable(m) for m in messages]
        full = {
            "model_id": model_id,
            "messages": history_json,
            "settings": jsonable(settings),
            "parameters": jsonable(parameters),
        }
        shown = {
            "model_id": model_id,
            "message": history_json[-1:],
            "history_length": len(history_json),
        }
        return digest(canonical_json(full)), canonical_json(shown)
    if isinstance(operation_id, ToolsetCallToolId):
        name, args, ctx = cache_key[0], cache_key[1], cache_key[2]
        call = {"tool": name, "args": jsonable(args), "tool_call_id": ctx.tool_call_id}
        text = canonical_json(call)
        return digest(text), text
    text = canonical_json([jsonable(item) for item in cache_key])
    return digest(text), text


def _chained_request_identity(cache_key: tuple[Any, ...], history: HistoryChain) -> tuple[str, str]:
    model_id, messages, settings, parameters, _ctx = cache_key
    chain, newest = history.chain(messages)
    head = canonical_json([model_id, chain, len(messages)]).encode()
    full = b"\n".join((head, _json(settings), _json(parameters)))
    fingerprint = hashlib.blake2b(full, digest_size=10).hexdigest()
    shown = (  # the shape of the full-history scheme's input text
        f'{{"history_length":{len(messages)},"message":[{newest.decode()}],'
        f'"model_id":{canonical_json(model_id)}}}'
    )
    return fingerprint, shown
