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


Rates = tuple[Table, float, float]
"""A table whose price for a model is flat: (table, dollars per input token, per output token)."""
_rates: dict[tuple[str, str | None], Rates | None] = {}
PROBES = ((1_000, 0), (0, 1_000), (400_000, 50_000))
"""Token counts a model is priced at once to find out whether its price is flat: a model with
tiered prices (more per token past a context size) fails the check at the large probe."""


def _flat_rates(table: Table, model: str, provider: str | None) -> Rates | None:
    """Per-token rates of ``model`` in ``table`` if its price is linear in the tokens."""
    found = [table(model, i, o, provider) for i, o in PROBES]
    if any(cost is None for cost in found):
        return None
    per_in, per_out, large = (float(cost or 0.0) for cost in found)
    rate_in, rate_out = per_in / 1_000, per_out / 1_000
    expected = rate_in * PROBES[2][0] + rate_out * PROBES[2][1]
    return (table, rate_in, rate_out) if abs(expected - large) <= 1e-9 * max(1.0, large) else None


def price(
    model: str | None, tokens_in: int, tokens_out: int, *, provider: str | None = None
) -> float | None:
    """Dollar cost of a call of ``model`` from the installed price tables; None if unknown.

    A model whose price is flat (the same per token however many) is looked up once; its
    per-token rates are kept, so later calls cost a multiplication, not a table lookup.
    """
    if not model:
        return None
    key = (model, provider)
    if key in _unpriced:
        return None
    rates = _rates.get(key)
    if rates is not None:
        return rates[1] * tokens_in + rates[2] * tokens_out
    for table in tables():
        cost = table(model, tokens_in, tokens_out, provider)
        if cost is not None:
            if key not in _rates:
                with _lock:
                    _rates[key] = _flat_rates(table, model, provider)
            return cost
    with _lock:
        _unpriced.add(key)
    return None
