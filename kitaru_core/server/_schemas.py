"""Request and answer bodies of the REST API (they make its OpenAPI description)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """An answer that may carry more fields than it names."""

    model_config = ConfigDict(extra="allow")


class ExecutionOut(Open):
    """An execution: status, timings, tokens and cost; inputs and result as previews; its
    parent (a child started by another flow); with ``operations``, ``children`` and the usage
    they roll up when one execution is read."""

    exec_id: str
    flow_name: str
    status: str
    created_at: float
    started_at: float | None = None
    ended_at: float | None = None
    original_exec_id: str | None = None
    replay_from: str | None = None
    error: dict[str, Any] | None = None
    run_count: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_spent: float = 0.0
    cost_saved: float = 0.0
    parent_id: str | None = None
    detached: bool = False
    children: list[str] | None = None
    reused_children: list[str] | None = None
    children_usage: dict[str, Any] | None = None
    total_usage: dict[str, Any] | None = None
    operations: list[dict[str, Any]] | None = None


class LogOut(BaseModel):
    """A line an execution printed or logged (``stream`` ``progress`` for progress events)."""

    exec_id: str
    ts: float
    stream: str
    line: str
    op_id: str | None = None


class WaitOut(Open):
    """A point where an execution waits (or waited) for input."""

    exec_id: str
    wait_id: str
    name: str
    status: str
    created_at: float
    question: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    answered_at: float | None = None
    value: Any = None
    rejection: str | None = None

    model_config = ConfigDict(extra="allow", populate_by_name=True, serialize_by_alias=True)


class ArtifactOut(BaseModel):
    """One saved artifact version (its value is read from ``/value``)."""

    artifact_id: str
    exec_id: str
    name: str
    version: int
    codec: str
    size: int
    created_at: float
    op_id: str | None = None


class ArtifactValue(BaseModel):
    """An artifact's value in its JSON form (``is_repr`` when it has none: its ``repr``)."""

    artifact_id: str
    value: Any = None
    is_repr: bool = False


class InputIn(BaseModel):
    """An answer to a pending wait (by name or wait id; none when exactly one is pending)."""

    value: Any = None
    wait: str | None = None
    resume: bool = Field(
        default=True, description="Hand the execution off to run on at once when answered."
    )


class AbortIn(BaseModel):
    """Abort a pending wait."""

    wait: str | None = None
    reason: str | None = None


class ReplayIn(BaseModel):
    """Replay an execution from an operation, with overrides (``checkpoint.NAME``,
    ``wait.NAME``, ``arg.NAME``) and changed flow arguments."""

    from_: str | None = Field(default=None, alias="from")
    overrides: dict[str, Any] = Field(default_factory=dict)
    flow_kwargs: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(populate_by_name=True)


class DeploymentOut(BaseModel):
    """One deployed version of a flow and the tags pointing at it."""

    name: str
    version: int
    snapshot: str
    flow_ref: str
    created_at: float
    source: str | None = None
    packages: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)


class InvokeIn(BaseModel):
    """Start a deployment: keyword arguments, and a tag or a version (``default`` tag when
    neither is given)."""

    args: dict[str, Any] = Field(default_factory=dict)
    tag: str | None = None
    version: int | str | None = None


class Accepted(BaseModel):
    """An action handed off to run elsewhere (workers, or a detached process)."""

    exec_id: str
    action: str
    status: str


class ErrorOut(BaseModel):
    """What went wrong, and what to do."""

    detail: str
    type: str | None = None


class Health(BaseModel):
    """The server answers."""

    status: str
    version: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 422)
}
"""The error answers every ``/api`` operation may give."""
