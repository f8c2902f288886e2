"""Storing the SDK's values as JSON, never pickle: model responses, and run results.

A ``ModelResponse`` (a model operation's output) is stored as pydantic-core's JSON of it,
fields the provider left unset left out, so a reused response rebuilds the same input items.
A ``RunResult`` holds live objects (agents, the run context), so it is stored as a summary:
its final output, the last agent's name, the new items as input items, and the usage. It
loads back as that summary (a dict).
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

from kitaru_core.errors import SerializationError
from kitaru_core.toolkit import JsonSerializer, pack_value, type_name, unpack_value


def _output(value: Any) -> Any:
    try:
        return {"packed": pack_value(value, what="The final output of an agent run")}
    except SerializationError:
        return {"repr": repr(value)}


class ModelResponseSerializer(JsonSerializer):
    """An ``agents.items.ModelResponse``, as its JSON (serialized once, by pydantic-core)."""

    name = "openai-agents-response"
    module = "agents"

    def accepts_loaded(self, value: Any) -> bool:
        from agents.items import ModelResponse

        return type(value) is ModelResponse

    def dumps(self, value: Any) -> bytes:
        from kitaru_openai_agents._model import response_adapter

        data: bytes = response_adapter().dump_json(value, exclude_unset=True)
        return data

    def loads(self, data: bytes) -> Any:
        from kitaru_openai_agents._model import response_adapter

        return response_adapter().validate_json(data)


class RunResultSerializer(JsonSerializer):
    """A ``RunResult`` (or streamed result) as its JSON summary."""

    name = "openai-agents-run"
    module = "agents"

    def accepts_loaded(self, value: Any) -> bool:
        from agents.result import RunResultBase

        return isinstance(value, RunResultBase)

    def to_json(self, value: Any) -> Any:
        usage = value.context_wrapper.usage
        return {
            "final_output": _output(value.final_output),
            "last_agent": value.last_agent.name,
            "new_items": [
                to_jsonable_python(item.to_input_item(), fallback=type_name)
                for item in value.new_items
            ],
            "usage": {
                "requests": usage.requests,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
            },
        }

    def from_json(self, data: Any) -> Any:
        output = data["final_output"]
        if "packed" in output:
            final = unpack_value(output["packed"], what="The final output of an agent run")
        else:
            final = output["repr"]
        return {**data, "final_output": final}
