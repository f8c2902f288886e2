"""Operation identity of model requests and tool calls, stable across resumes.

A model request is identified by the agent that makes it, the model, its instructions,
settings, tools, handoffs and output schema, and its input items. The items enter as a hash
chain (``toolkit.HistoryChain``), so a long conversation costs only its new items per request.
Ids and timestamps the provider or the SDK generate are left out: a resumed run rebuilds its
input with the recorded responses, and nothing that differs between two attempts may count.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from pydantic_core import to_jsonable_python

from kitaru_core import toolkit

VOLATILE_KEYS = frozenset({"id", "created_at", "timestamp", "response_id", "created_by"})
"""Keys of input items (at any depth) that differ between a run and its resume."""

current_agent: ContextVar[str | None] = ContextVar("kitaru_openai_agents_agent", default=None)
"""Name of the agent whose model request comes next (set just before each request)."""


def jsonable(value: Any) -> Any:
    """JSON data for ``value``; live objects become their type name."""
    try:
        return to_jsonable_python(value, fallback=toolkit.type_name, bytes_mode="base64")
    except (ValueError, TypeError):  # circular or unserializable: identify by type only
        return toolkit.type_name(value)


def item_text(item: Any) -> bytes:
    """Canonical JSON of one input item without its volatile fields: what the chain hashes."""
    return toolkit.canonical_json(toolkit.strip_volatile(jsonable(item), VOLATILE_KEYS)).encode()


def new_history() -> toolkit.HistoryChain:
    """A history chain for one model: the SDK passes fresh copies of its items each turn."""
    return toolkit.HistoryChain(item_text, rebuilt=True)


_tool_texts: dict[int, tuple[Any, str]] = {}
"""id(tool) -> (tool, its canonical description): tools are described once, not per request."""


def tool_text(tool: Any) -> str:
    """Canonical JSON of what the model sees of ``tool`` (name, description, parameters)."""
    found = _tool_texts.get(id(tool))
    if found is not None and found[0] is tool:
        return found[1]
    described = {
        "type": type(tool).__name__,
        "name": getattr(tool, "name", None),
        "description": getattr(tool, "description", None),
        "parameters": getattr(tool, "params_json_schema", None),
    }
    text = toolkit.canonical_json(jsonable(described))
    if len(_tool_texts) > 4096:
        _tool_texts.clear()
    _tool_texts[id(tool)] = (tool, text)
    return text


_last_settings: dict[str, tuple[Any, str]] = {}
"""The last model settings described, with their text: the SDK makes equal ones each turn."""


def settings_text(model_settings: Any) -> str:
    """Canonical JSON of model settings, without the prompt cache key (a hint, not content)."""
    last = _last_settings.get("last")
    if last is not None and (last[0] is model_settings or last[0] == model_settings):
        return last[1]
    data = model_settings.to_json_dict() if model_settings is not None else None
    if isinstance(data, dict):
        data.pop("prompt_cache_key", None)
    text = toolkit.canonical_json(data)
    try:  # a copy: settings changed in place must not match their old text
        _last_settings["last"] = (copy.deepcopy(model_settings), text)
    except Exception:  # settings holding something that cannot be copied: not remembered
        _last_settings.pop("last", None)
    return text


def request_identity(
    *,
    agent: str,
    model: str | None,
    history: toolkit.HistoryChain,
    system_instructions: str | None,
    input: str | Sequence[Any],
    model_settings: Any,
    tools: Sequence[Any],
    output_schema: Any,
    handoffs: Sequence[Any],
    previous_response_id: str | None,
    conversation_id: str | None,
    prompt: Any,
) -> toolkit.Identity:
    """Identity of one model request (see the module docstring).

    The stored input text shows the agent, the model and the newest input item only: the
    earlier items are in the earlier requests' records.
    """
    items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
    chain, newest = history.chain(items)
    head = {
        "agent": agent,
        "model": model,
        "instructions": system_instructions,
        "output": None if output_schema is None else output_schema.name(),
        "handoffs": [getattr(h, "tool_name", None) for h in handoffs],
        "previous_response_id": previous_response_id,
        "conversation_id": conversation_id,
        "prompt": None if prompt is None else jsonable(prompt),
        "items": [len(items), chain],
    }
    texts = [toolkit.canonical_json(head), settings_text(model_settings)]
    whole = "\n".join([*texts, *(tool_text(t) for t in tools)])
    fingerprint = hashlib.blake2b(whole.encode(), digest_size=10).hexdigest()
    shown = (
        f'{{"agent":{toolkit.canonical_json(agent)},"history_length":{len(items)},'
        f'"message":[{newest.decode()}],"model":{toolkit.canonical_json(model)}}}'
    )
    return toolkit.Identity(fingerprint, shown)


def tool_inputs(tool: str, arguments: str, call_id: str | None) -> dict[str, Any]:
    """Identifying inputs of one function-tool call: the model chose the call id."""
    return {"tool": tool, "arguments": arguments, "call_id": call_id}
