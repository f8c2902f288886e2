"""Pricing a model call from its tokens, for harnesses that report tokens but no cost.

Two price tables, each imported on first use only and only if installed: ``genai-prices``
(a dependency of Pydantic AI; about half a second to import) and else LiteLLM's bundled map
(seconds to import, so only where LiteLLM is installed anyway). Looked-up prices are cached per
model, so only the first call of a model pays for a lookup; nothing here runs on the path of a
call whose cost is known.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

Table = Callable[[str, int, int, str | None], float | None]

_lock = threading.Lock()
_unpriced: set[tuple[str, str | None]] = set()


def _genai_prices(
    model: str, tokens_in: int, tokens_out: int, provider: str | None
) -> float | None:
    # lazy: half a second to import, only when a cost is missing
    from genai_prices import Usage, calc_price

    try:
        found = calc_price(
            Usage(input_tokens=tokens_in, output_tokens=tokens_out),
            model_ref=model,
            provider_id=provider,
        )
    except LookupError:
        return None
    return float(found.total_price)


def _litellm_map(model: str, tokens_in: int, tokens_out: int, provider: str | None) -> float | None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch a price map
    # importlib: the core imports no harness by name (import-linter); LiteLLM serves as a table
    litellm: Any = importlib.import_module("litellm")
    name = f"{provider}/{model}" if provider and "/" not in model else model
    try:
        prompt, completion = litellm.cost_per_token(
            model=name, prompt_tokens=tokens_in, completion_tokens=tokens_out
        )
    except Exception:  # LiteLLM raises its own error types for an unmapped model
        return None
    return float(prompt + completion)


@cache
def tables() -> tuple[Table, ...]:
    """The price tables installed here, best first (looked for once)."""
    found: list[Table] = []
    if importlib.util.find_spec("genai_prices") is not None:
        found.append(_genai_prices)
    if importlib.util.find_spec("litellm") is not None:
        found.append(_litellm_map)
    return tuple(found)


def price(
    model: str | None, tokens_in: int, tokens_out: int, *, provider: str | None = None
) -> float | None:
    """Dollar cost of a call of ``model`` from the installed price tables; None if unknown."""
    if not model:
        return None
    key = (model, provider)
    if key in _unpriced:
        return None
    for table in tables():
        cost = table(model, tokens_in, tokens_out, provider)
        if cost is not None:
            return cost
    with _lock:
        _unpriced.add(key)
    return None
