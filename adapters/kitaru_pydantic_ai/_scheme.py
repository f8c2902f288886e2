"""Which identity scheme an execution's model requests use, kept in the execution's metadata.

Fingerprints are persisted data: an execution recorded before the history chain
(``toolkit.HistoryChain``) has model requests fingerprinted over their whole serialized
history, and a resume must compute them the same way to reuse them. So the first model request of an
execution decides its scheme once and writes it to the execution's metadata before any
operation of the new scheme is recorded:

- an execution that already holds model requests of this adapter and no marker was recorded by
  the earlier code: ``full-history``;
- a replay takes the scheme of its source (whose records it reuses);
- anything else (a new execution): ``history-chain``.
"""

from __future__ import annotations

from kitaru_core import toolkit

SCHEME_KEY = "kitaru_pydantic_ai.identity"
CHAIN = "history-chain"
FULL_HISTORY = "full-history"
MODEL_REQUEST = "__model."
"""In the names of model-request operations (``<agent>__model.request``, ``…request_stream``)."""


def _holds_model_requests(exec_id: str | None = None) -> bool:
    return any(
        record.kind == "llm" and MODEL_REQUEST in record.name
        for record in toolkit.recorded_operations(exec_id)
    )


def _decide(execution: toolkit.ExecutionInfo) -> str:
    source = execution.replay_of
    if execution.run_no == 1 and source is None:
        # A new execution's first run: nothing stored yet that older code could have recorded.
        return CHAIN
    if _holds_model_requests():
        return FULL_HISTORY
    if source is not None:
        marked = toolkit.stored_execution_metadata(source).get(SCHEME_KEY)
        if marked is not None:
            return str(marked)
        if _holds_model_requests(source):
            return FULL_HISTORY
    return CHAIN


def uses_history_chain() -> bool:
    """Whether the running execution's model requests are identified by the history chain
    (decided once, by its first model request)."""
    scheme = toolkit.execution_metadata(SCHEME_KEY)
    if scheme is None:
        execution = toolkit.current_execution()
        assert execution is not None  # called for model requests inside a flow only
        scheme = _decide(execution)
        toolkit.set_execution_metadata(SCHEME_KEY, scheme)
    return bool(scheme == CHAIN)
