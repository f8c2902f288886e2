"""Plain records that move between the runtime, the client and a store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXECUTION_STATUSES = ("queued", "running", "waiting", "completed", "failed", "cancelled")
FINISHED_STATUSES = frozenset({"completed", "failed", "cancelled"})


@dataclass
class ExecutionRecord:
    """One run of a flow as stored."""

    exec_id: str
    flow_name: str
    flow_ref: str
    status: str
    created_at: float
    flow_file: str | None = None
    code_dir: str | None = None
    is_async: bool = False
    inputs_codec: str | None = None
    inputs: bytes | None = None
    result_codec: str | None = None
    result: bytes | None = None
    result_ref: str | None = None
    error: dict[str, Any] | None = None
    original_exec_id: str | None = None
    replay_from: str | None = None
    replay_plan: dict[str, Any] | None = None
    reused_ops: list[str] | None = None
    started_at: float | None = None
    updated_at: float | None = None
    ended_at: float | None = None
    owner: str | None = None
    lease_expires_at: float | None = None
    run_count: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_spent: float = 0.0
    cost_saved: float = 0.0
    parent_exec_id: str | None = None
    """The execution whose flow started this one as a child (``child.run()`` inside a flow)."""
    parent_op_id: str | None = None
    """The parent's operation that started this child."""
    detached: bool = False
    """A detached child is not cancelled with its parent."""
    awaiting: list[str] | None = None
    """The children a ``waiting`` parent is suspended on (None when it waits on no child)."""
    deployment: str | None = None
    """The deployment (published flow name) this execution was started from, if any."""
    deployment_version: int | None = None
    snapshot: str | None = None
    """The digest of the code snapshot it runs (resume, retry and replay load this one)."""


@dataclass
class OperationRecord:
    """One attempt of an operation as stored; the ``completed`` one is what resume reuses."""

    exec_id: str
    op_id: str
    name: str
    kind: str
    fingerprint: str
    n: int
    attempt: int
    status: str
    started_at: float
    ended_at: float
    input_text: str | None = None
    output_codec: str | None = None
    output: bytes | None = None
    output_ref: str | None = None
    error: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    run_no: int = 1
    reused_from: str | None = None
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    input_parts: list[Any] | None = None
    """Large inputs: ``input_text`` in pieces, each a literal string or ``{"blob": sha256}``
    (see ``_inputs.py``); ``input_text`` is then None."""
    seq: int | None = None


@dataclass
class StartedRecord:
    """An operation attempt seen still running by the background flusher: no outcome yet.

    Superseded by any operation row of the same ``op_id`` with an attempt at least as high.
    """

    exec_id: str
    op_id: str
    attempt: int
    name: str
    kind: str
    started_at: float
    run_no: int = 1


@dataclass
class LogRecord:
    """A line printed or logged while a flow ran."""

    exec_id: str
    ts: float
    stream: str
    line: str
    op_id: str | None = None


@dataclass
class ArtifactRecord:
    """One version of a named value saved with ``kitaru.save``."""

    artifact_id: str
    exec_id: str
    name: str
    version: int
    codec: str
    created_at: float
    size: int
    data: bytes | None = None
    ref: str | None = None
    op_id: str | None = None


@dataclass
class WaitRecord:
    """A point where a flow waits for a human, an agent or a webhook."""

    exec_id: str
    wait_id: str
    name: str
    status: str
    created_at: float
    schema: dict[str, Any] | None = None
    question: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    value_codec: str | None = None
    value: bytes | None = None
    answered_at: float | None = None
    rejection: str | None = None
    """Why the flow's own type refused the last answer (the wait is pending again), if it did."""


@dataclass
class AdapterRecord:
    """One record an adapter keeps: ``value`` inline, or ``ref`` to a blob of the artifact
    store (written by the toolkit before the row)."""

    namespace: str
    partition: str
    key: str
    value: bytes | None = None
    ref: str | None = None


@dataclass
class TokenRecord:
    """A server API token: only its SHA-256 digest is kept, never the token itself."""

    token_id: str
    name: str
    digest: str
    created_at: float
    revoked_at: float | None = None


@dataclass
class DeploymentRecord:
    """One version of a published flow: an immutable snapshot of its code."""

    name: str
    version: int
    snapshot: str
    """SHA-256 of the snapshot's manifest blob in the artifact store: its identity."""
    flow_ref: str
    """``module:qualname`` of the flow inside the snapshot."""
    created_at: float
    source: str | None = None
    """Where it was deployed from (a file path), for people; never used to load it."""
    packages: dict[str, str] = field(default_factory=dict)
    deleted_at: float | None = None
    tags: list[str] = field(default_factory=list)
    """Tags pointing at this version (filled in by reads, not stored in this row)."""
    new: bool = False
    """Set by a deploy that made this version (False when the code was already deployed)."""
