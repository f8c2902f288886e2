"""An offline chat model for the LangGraph adapter's tests: scripted tool calls, then an answer.

Its reply depends only on the conversation (how many tool results it holds), so a resumed run
that reuses some model calls gets the same next reply as the run it resumes. Every reply has
token usage under the name of a priced model, so cost is recorded. ``bind_tools`` returns the
model itself (LangChain's fake models do not implement it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool

from kitaru_core import testing


class ScriptedChatModel(BaseChatModel):
    """Calls the tools of ``plan`` one by one, then answers with how many results it saw."""

    plan: list[tuple[str, dict[str, Any]]] = []
    model_name: str = "gpt-4o-mini"

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        done = sum(isinstance(m, ToolMessage) for m in messages)
        testing.note_call(f"model {done}")
        usage = {
            "input_tokens": 100 + 10 * done,
            "output_tokens": 20,
            "total_tokens": 120 + 10 * done,
        }
        meta = {"model_name": self.model_name, "model_provider": "openai"}
        if done < len(self.plan):
            name, args = self.plan[done]
            message = AIMessage(
                content="",
                tool_calls=[
                    {"name": name, "args": args, "id": f"call_{done}", "type": "tool_call"}
                ],
                usage_metadata=usage,  # type: ignore[arg-type]
                response_metadata=meta,
            )
        else:
            message = AIMessage(
                content=f"answer after {done} tools",
                usage_metadata=usage,  # type: ignore[arg-type]
                response_metadata=meta,
            )
        return ChatResult(generations=[ChatGeneration(message=message)])


@tool
def lookup(topic: str) -> str:
    """Look a topic up."""
    testing.note_call(f"tool lookup {topic}")
    return f"facts about {topic}"


@tool
def summarize(text: str) -> str:
    """Summarize a text."""
    testing.note_call(f"tool summarize {text}")
    return f"summary of {text}"


PLAN = [
    ("lookup", {"topic": "otters"}),
    ("summarize", {"text": "facts"}),
    ("lookup", {"topic": "seals"}),
]


def scripted_model() -> ScriptedChatModel:
    return ScriptedChatModel(plan=PLAN)
