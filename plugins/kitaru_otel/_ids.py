"""Trace and span ids worked out from an execution id, so every process agrees on them."""

from __future__ import annotations

import hashlib


def _digest(exec_id: str) -> bytes:
    return hashlib.sha256(f"kitaru-execution:{exec_id}".encode()).digest()


def execution_trace_id(exec_id: str) -> int:
    """The 128-bit trace id of execution ``exec_id``: the same in every process and run."""
    return int.from_bytes(_digest(exec_id)[:16], "big") or 1


def execution_span_id(exec_id: str) -> int:
    """The 64-bit id of the execution's root: the parent of each run's span (no process
    exports a span with this id; every run's span points at it, so they share one trace)."""
    return int.from_bytes(_digest(exec_id)[16:24], "big") or 1
