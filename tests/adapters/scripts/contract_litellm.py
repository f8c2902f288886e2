"""The contract kit's scenario for the LiteLLM adapter: three ``durable_completion`` calls.

The model is a LiteLLM custom provider (``contract/echo``) that notes each real call with
``testing.note_call`` and answers offline through LiteLLM's mock of ``openai/gpt-4o-mini`` (so
each call has tokens and a price). Run as a script by kitaru_core.testing.
"""

from __future__ import annotations

from typing import Any

from kitaru_litellm._completion import import_litellm

import kitaru
from kitaru.adapters.litellm import durable_completion
from kitaru_core import testing

litellm = import_litellm()


class Echo(litellm.CustomLLM):  # type: ignore[misc]
    def completion(self, *args: Any, **kwargs: Any) -> Any:
        question = kwargs["messages"][-1]["content"]
        testing.note_call(f"model {question}")
        return litellm.completion(
            model="openai/gpt-4o-mini",
            messages=kwargs["messages"],
            mock_response=f"answer to {question}",
        )


litellm.custom_provider_map = [{"provider": "contract", "custom_handler": Echo()}]


@kitaru.flow
def contract_questions() -> list[str]:
    answers = []
    for question in ("one", "two", "three"):
        messages = [{"role": "user", "content": question}]
        response = durable_completion(model="contract/echo", messages=messages)
        answers.append(response.choices[0].message.content)
    return answers


if __name__ == "__main__":
    testing.arm_kill_switch()
    print(contract_questions())
