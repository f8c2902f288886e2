"""Storing Pydantic AI values as JSON: messages, responses and whole run results (never pickle)."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import Any


def _loaded() -> bool:
    return "pydantic_ai" in sys.modules


@cache
def _run_result_adapter() -> Any:
    """``TypeAdapter(AgentRunResult[Any])``, built once: building it takes a tenth of a second."""
    from pydantic import TypeAdapter
    from pydantic_ai import AgentRunResult

    return TypeAdapter(AgentRunResult[Any])


def _is_message(value: Any) -> bool:
    from pydantic_ai.messages import ModelRequest, ModelResponse

    return isinstance(value, ModelRequest | ModelResponse)


class MessagesSerializer:
    """A ``ModelRequest``/``ModelResponse``, or a list of them (a message history)."""

    name = "pydantic-ai-messages"
    priority = 5

    def accepts(self, value: Any) -> bool:
        if not _loaded():
            return False
        if type(value) is list:
            return bool(value) and all(_is_message(item) for item in value)
        return _is_message(value)

    def dumps(self, value: Any) -> bytes:
        from pydantic_ai.messages import ModelMessagesTypeAdapter

        single = type(value) is not list
        body = ModelMessagesTypeAdapter.dump_json([value] if single else value)
        return (b"one\n" if single else b"list\n") + body

    def loads(self, data: bytes) -> Any:
        from pydantic_ai.messages import ModelMessagesTypeAdapter

        shape, _, body = data.partition(b"\n")
        messages = ModelMessagesTypeAdapter.validate_json(body)
        return messages[0] if shape == b"one" else messages


class EncodedPayload:
    """A durable unit's JSON payload with its JSON text, made once by pydantic-core."""

    __slots__ = ("data", "value")

    def __init__(self, value: Any, data: bytes) -> None:
        self.value = value
        self.data = data


class PayloadSerializer:
    """The recorded payload of a model request or tool call: JSON, already serialized.

    Stored as the JSON serializer would store it, minus its walk over the value in Python; it
    loads back as plain JSON data (what Pydantic AI's codec expects).
    """

    name = "pydantic-ai-payload"
    priority = -1

    def accepts(self, value: Any) -> bool:
        return type(value) is EncodedPayload

    def dumps(self, value: Any) -> bytes:
        data: bytes = value.data
        return data

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


class RunResultSerializer:
    """An ``AgentRunResult``: its public JSON shape, with the output stored by Kitaru's registry.

    The output goes through the registry on its own so a typed output (a Pydantic model, a
    dataclass) comes back as that type rather than as a dict.
    """

    name = "pydantic-ai-run"
    priority = 5

    def accepts(self, value: Any) -> bool:
        if not _loaded():
            return False
        from pydantic_ai import AgentRunResult

        return isinstance(value, AgentRunResult)

    def dumps(self, value: Any) -> bytes:
        from kitaru_core.toolkit import pack_value

        result = _run_result_adapter().dump_python(value, mode="json", exclude={"output"})
        output = pack_value(value.output, what="The output of an agent run")
        payload = {"result": result, "output": output}
        return json.dumps(payload, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        from kitaru_core.toolkit import unpack_value

        payload = json.loads(data)
        value = unpack_value(payload["output"], what="An agent run's output")
        return _run_result_adapter().validate_python({**payload["result"], "output": value})
