"""Model usage inside a node: a LangChain callback handler reporting tokens and cost.

While a durable node runs, :data:`active_handler` holds a :class:`UsageHandler`; LangChain adds
it to every callback manager configured in that context (``register_configure_hook``), so each
chat model call in the node reports its tokens (and cost) on the node's operation. A resume
that reuses the node counts that cost as saved.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langchain_core.tracers.context import register_configure_hook

from kitaru_core.toolkit import report_usage


class UsageHandler(BaseCallbackHandler):
    """Reports each chat model call's ``usage_metadata`` to the running node operation."""

    run_inline = True  # in the node's context, where its operation is the current one

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """One model call ended: report its tokens, model and provider."""
        output = response.llm_output or {}
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                usage = getattr(message, "usage_metadata", None)
                if not usage:
                    continue
                metadata = getattr(message, "response_metadata", None) or {}
                model = (
                    metadata.get("model_name")
                    or metadata.get("model")
                    or output.get("model_name")
                    or output.get("model")
                )
                provider = metadata.get("model_provider")
                report_usage(
                    model,
                    int(usage.get("input_tokens", 0)),
                    int(usage.get("output_tokens", 0)),
                    standalone=False,
                    provider=provider,
                )


HANDLER = UsageHandler()
active_handler: ContextVar[UsageHandler | None] = ContextVar("kitaru_langgraph_usage", default=None)
register_configure_hook(active_handler, inheritable=True)
