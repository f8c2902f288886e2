"""What the MCP tools return: Pydantic models, so each tool has a JSON output schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python

from kitaru_core.client import Artifact, Execution, WaitInfo


def jsonable(value: Any) -> tuple[Any, bool]:
    """``(value as JSON data, True)``, or ``(its repr, False)`` when it has no JSON form."""
    try:
        return to_jsonable_python(value), True
    except Exception:  # any type pydantic cannot serialize: show what it is instead
        return repr(value), False


class ExecutionSummary(BaseModel):
    """One execution in a list: status, times, cost."""

    exec_id: str
    flow_name: str
    status: str = Field(description="queued, running, waiting, completed, failed or cancelled")
    created_at: float
    started_at: float | None
    ended_at: float | None
    run_count: int
    original_exec_id: str | None = Field(description="the execution this one replays")
    error: dict[str, Any] | None
    cost_spent: float
    cost_saved: float

    @classmethod
    def of(cls, execution: Execution) -> ExecutionSummary:
        """The summary of a client ``Execution``."""
        data = execution.to_dict(with_operations=False)
        return cls.model_validate({k: data[k] for k in cls.model_fields})


class ExecutionList(BaseModel):
    """Executions, newest first."""

    executions: list[ExecutionSummary]


class ExecutionRecord(BaseModel):
    """An execution as ``kitaru executions get --json`` shows it: operations, inputs, result."""

    exec_id: str
    flow_name: str
    status: str
    record: dict[str, Any] = Field(
        description="every field: error, times, tokens, cost, operations (inputs and outputs "
        "as previews), inputs and result"
    )

    @classmethod
    def of(cls, execution: Execution) -> ExecutionRecord:
        """The full record of a client ``Execution``."""
        record = {**execution.to_dict(), **execution.value_fields()}
        return cls(
            exec_id=execution.exec_id,
            flow_name=execution.flow_name,
            status=execution.status,
            record=record,
        )


class LogLine(BaseModel):
    """One line the execution printed or logged."""

    ts: float
    stream: str
    line: str
    op_id: str | None


class Logs(BaseModel):
    """Lines of one execution, oldest first."""

    exec_id: str
    lines: list[LogLine]
    truncated: bool = Field(description="True when only the last `tail` lines are shown")


class Wait(BaseModel):
    """A wait of an execution: what it asks, the JSON schema of its answer, its state."""

    wait_id: str
    name: str
    status: str
    question: str | None
    answer_schema: dict[str, Any] | None = Field(description="JSON schema the answer must match")
    created_at: float
    command: str = Field(description="the CLI command that answers it")

    @classmethod
    def of(cls, wait: WaitInfo) -> Wait:
        """The model of a client ``WaitInfo``."""
        return cls(
            wait_id=wait.wait_id,
            name=wait.name,
            status=wait.status,
            question=wait.question,
            answer_schema=wait.schema,
            created_at=wait.created_at,
            command=wait.command,
        )


class Waits(BaseModel):
    """Pending waits of one execution, oldest first."""

    exec_id: str
    waits: list[Wait]


class HandedOff(BaseModel):
    """An action that runs user code, handed to a worker or a detached process."""

    exec_id: str = Field(description="the execution that runs (a replay's is a new one)")
    action: str = Field(description="resume, retry, replay or invoke")
    status: str = Field(description="the execution's status right after the hand-off")
    note: str


class Deployment(BaseModel):
    """One deployed version of a flow (``kitaru deploy``) and the tags pointing at it."""

    name: str
    version: int
    flow_ref: str = Field(description="module:qualname of the flow in its code snapshot")
    created_at: float
    tags: list[str]


class Deployments(BaseModel):
    """Deployed versions, by name, newest version first."""

    deployments: list[Deployment]


class ArtifactSummary(BaseModel):
    """One saved artifact version."""

    artifact_id: str
    exec_id: str
    name: str
    version: int
    codec: str
    size: int | None
    created_at: float
    op_id: str | None

    @classmethod
    def of(cls, artifact: Artifact) -> ArtifactSummary:
        """The summary of a client ``Artifact``."""
        return cls.model_validate(artifact.to_dict())


class ArtifactList(BaseModel):
    """Artifacts, as ``kitaru artifacts list`` shows them."""

    artifacts: list[ArtifactSummary]


class ArtifactValue(BaseModel):
    """An artifact with its value."""

    artifact: ArtifactSummary
    value: Any = Field(description="the value as JSON, or its repr when it has no JSON form")
    value_is_repr: bool = False
