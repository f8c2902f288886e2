"""Storing a recorded invocation: its messages as the SDK's own types, in order, as JSON.

Messages and content blocks are dataclasses of ``claude_agent_sdk.types``; each is stored as
``{"$claude": "<class name>", "fields": {...}}`` and rebuilt from that class, so a replay yields
the same types with the same fields. Anything else in a field is JSON data already.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from kitaru_core.errors import SerializationError
from kitaru_core.toolkit import JsonSerializer

TAG = "$claude"
ESCAPE = "$dict"


@dataclass
class Recording:
    """What one invocation (or client exchange) produced: its messages and CLI session id."""

    messages: list[Any] = field(default_factory=list)
    session_id: str | None = None


def encode(value: Any) -> Any:
    """JSON data for a message, a content block or plain data inside one."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if not cls.__module__.startswith("claude_agent_sdk"):
            raise SerializationError(
                f"A Claude message holds a {cls.__module__}.{cls.__qualname__}, which is not "
                "one of claude_agent_sdk's types, so it cannot be recorded."
            )
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {TAG: cls.__name__, "fields": fields}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        data = {str(key): encode(item) for key, item in value.items()}
        return {ESCAPE: data} if TAG in data or ESCAPE in data else data
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise SerializationError(
        f"A Claude message holds a {type(value).__qualname__} ({value!r:.80}), which has no "
        "JSON form, so the invocation cannot be recorded."
    )


def decode(data: Any) -> Any:
    """Inverse of :func:`encode`."""
    if isinstance(data, list):
        return [decode(item) for item in data]
    if isinstance(data, dict):
        if TAG in data:
            return _rebuild(data[TAG], data["fields"])
        if ESCAPE in data and len(data) == 1:
            return {key: decode(item) for key, item in data[ESCAPE].items()}
        return {key: decode(item) for key, item in data.items()}
    return data


def _rebuild(name: str, fields: dict[str, Any]) -> Any:
    import claude_agent_sdk.types as types

    cls: Any = getattr(types, name, None)
    if not isinstance(cls, type) or not dataclasses.is_dataclass(cls):
        raise SerializationError(
            f"A recorded Claude message is a {name}, which this claude-agent-sdk version "
            "does not define. Install the version that recorded it, or replay the execution "
            "from before that invocation."
        )
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    return cls(**{key: decode(value) for key, value in fields.items() if key in known})


class RecordingSerializer(JsonSerializer):
    """A :class:`Recording`: the operation output of an invocation."""

    name = "claude-agent-sdk-recording"
    priority = 5
    module = "claude_agent_sdk"

    def accepts_loaded(self, value: Any) -> bool:
        return type(value) is Recording

    def to_json(self, value: Any) -> Any:
        return {"session_id": value.session_id, "messages": encode(value.messages)}

    def from_json(self, data: Any) -> Any:
        return Recording(decode(data["messages"]), data.get("session_id"))
