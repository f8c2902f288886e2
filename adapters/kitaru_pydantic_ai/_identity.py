"""Operation identity of Pydantic AI's durable units: a kind, and inputs stable across resumes.

A resumed run rebuilds its messages with new timestamps (and, outside Kitaru's run ids, new run
and conversation ids), so those are left out of fingerprints. Everything else the unit depends
on — model, messages, settings, tool definitions, tool name, arguments and call id — is kept, so
an input that changed runs again and the rest is reused.
"""

from __future__ import annotations

from typing import Any

from pydantic_ai.durable_exec import (
    DurableOperationId,
    ModelRequestId,
    ToolsetCallToolId,
    ToolsetGetToolsId,
)
from pydantic_ai.tools import RunContext, ToolDefinition
from pydantic_ai.toolsets import ToolsetTool
from pydantic_core import to_jsonable_python

from kitaru_core.engine._fingerprint import canonical_json, digest

VOLATILE_KEYS = frozenset({"timestamp", "run_id", "conversation_id"})


def strip_volatile(value: Any) -> Any:
    """``value`` (JSON data) without the keys that differ between a run and its resume."""
    if isinstance(value, dict):
        return {k: strip_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [strip_volatile(v) for v in value]
    return value


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


def identity(operation_id: DurableOperationId, cache_key: tuple[Any, ...]) -> tuple[str, str]:
    """``(fingerprint, input text)`` of one durable unit call.

    The fingerprint covers every stable input. The stored input text of a model request shows
    only its newest message (the history is in the earlier requests), so long runs stay small.
    """
    if isinstance(operation_id, ModelRequestId):
        model_id, messages, settings, parameters, _ctx = cache_key
        history = [jsonable(m) for m in messages]
        full = {
            "model_id": model_id,
            "messages": history,
            "settings": jsonable(settings),
            "parameters": jsonable(parameters),
        }
        shown = {"model_id": model_id, "message": history[-1:], "history_length": len(history)}
        return digest(canonical_json(full)), canonical_json(shown)
    if isinstance(operation_id, ToolsetCallToolId):
        name, args, ctx = cache_key[0], cache_key[1], cache_key[2]
        call = {"tool": name, "args": jsonable(args), "tool_call_id": ctx.tool_call_id}
        text = canonical_json(call)
        return digest(text), text
    text = canonical_json([jsonable(item) for item in cache_key])
    return digest(text), text
