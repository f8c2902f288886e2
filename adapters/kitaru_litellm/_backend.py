"""The LiteLLM backend behind ``kitaru.llm()``."""

from __future__ import annotations

from kitaru_core.hooktypes import LLMReply, LLMRequest
from kitaru_litellm._completion import completion, first_text, import_litellm


class LiteLLMBackend:
    """Performs ``kitaru.llm()`` calls with ``litellm.completion``."""

    name = "litellm"

    def load(self) -> None:
        """Import LiteLLM (seconds on a cold start), before the call's clock starts."""
        import_litellm()

    def complete(self, request: LLMRequest) -> LLMReply:
        """One completion: text, tokens, cost (LiteLLM's local price map) and latency."""
        params = {**request.params, "model": request.model, "messages": request.messages}
        response, usage = completion(params)
        return LLMReply(text=first_text(response), usage=usage, raw=response)
