"""The operation names this adapter records, by kind: persisted data, pinned by the contract kit.

``durable_completion(name=...)`` records under a name the caller chooses; without one it is
``completion``.
"""

from __future__ import annotations

OPERATION_NAMES: dict[str, tuple[str, ...]] = {"llm": ("completion",)}
