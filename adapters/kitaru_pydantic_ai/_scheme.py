"""Which identity scheme an execution's model requests use, kept in the execution's metadata.

Fingerprints are persisted data: an execution recorded before the history chain
(``_history_hash``) has model requests fingerprinted over their whole serialized history, and a
resume must compute them the same way to reuse them. So the first model request of an
execution decides its scheme once and writes it to the execution's metadata before any
operation of the new scheme is recorded:

- an execution that already holds model requests of this adapter and no marker was recorded by
  the earlier code: ``full-history``;
- a replay takes the scheme of its source (whose records it reuses);
- anything else (a new execution): ``history-chain``.
"""

from __future__ import annotations

from typing import Any

from kitaru_core.engine._runtime import ExecutionRun
from kitaru_core.store._store import Store

SCHEME_KEY = "kitaru_pydantic_ai.identity"
CHAIN = "history-chain"
FULL_HISTORY = "full-history"
MODEL_REQUEST = "__model."
"""In the names of model-request operations (``<agent>__model.request``, ``…request_stream``)."""


def _holds_model_requests(store: Store, exec_id: str) -> bool:
    return any(
        record.kind == "llm" and MODEL_REQUEST in record.name
        for record in store.load_operations(exec_id)
    )


def _decide(run: ExecutionRun) -> str:
    if _holds_model_requests(run.store, run.exec_id):
        return FULL_HISTORY
    source = run.record.original_exec_id
    if source is not None:
        marked: Any = run.store.get_execution(source).metadata.get(SCHEME_KEY)
        if marked is not None:
            return str(marked)
        if _holds_model_requests(run.store, source):
            return FULL_HISTORY
    return CHAIN


def uses_history_chain(run: ExecutionRun) -> bool:
    """Whether ``run``'s model requests are identified by the history chain (decided once)."""
    scheme = run.metadata.get(SCHEME_KEY)
    if scheme is None:
        scheme = run.metadata[SCHEME_KEY] = _decide(run)
        run.store.update_execution(run.exec_id, metadata=run.metadata)
    return bool(scheme == CHAIN)
