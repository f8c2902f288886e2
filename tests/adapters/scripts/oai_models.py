"""Offline models for the OpenAI Agents SDK adapter's tests: the SDK's own ``ScriptedModel``,
answering each request from its input (so a resumed run gets the same answers).

``PlanModel(steps)`` calls the tools in ``steps`` one after another, one per response, then
answers with text; each response reports 100 input and 20 output tokens and the model is
priced as gpt-4o-mini. Every real request is noted with ``testing.note_call``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from agents import set_tracing_disabled
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call
from agents.usage import Usage

from kitaru_core import testing

set_tracing_disabled(True)  # tests never export traces to the network


def _item(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


def tool_outputs(call: ModelCall, label: str = "") -> list[Any]:
    """The outputs of the function calls (of calls ``label`` made) in a request's input."""
    items = [] if isinstance(call.input, str) else call.input
    return [
        item
        for item in items
        if _item(item, "type") == "function_call_output"
        and str(_item(item, "call_id")).startswith(label)
    ]


class PlanModel(ScriptedModel):
    """Calls ``steps`` (tool name, arguments) in order, then answers ``final``."""

    model = "gpt-4o-mini"
    provider = "openai"

    def __init__(
        self,
        steps: Sequence[tuple[str, dict[str, Any]]],
        *,
        label: str = "model",
        final: Callable[[ModelCall], str] | None = None,
    ) -> None:
        self.plan = list(steps)
        self.label = label
        self.final = final or (lambda call: f"done after {len(tool_outputs(call, label))} tools")
        super().__init__([ModelStep.respond(self.respond) for _ in range(10_000)])

    def respond(self, call: ModelCall) -> ModelStep:
        step = len(tool_outputs(call, f"{self.label}-"))
        testing.note_call(f"{self.label} {step}")
        usage = Usage(requests=1, input_tokens=100, output_tokens=20, total_tokens=120)
        if step < len(self.plan):
            name, arguments = self.plan[step]
            output = [
                function_call(name, json.dumps(arguments), call_id=f"{self.label}-call-{step}")
            ]
        else:
            output = [assistant_message(self.final(call))]
        return ModelStep(output=output, usage=usage)
