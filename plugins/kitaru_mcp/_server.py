"""The MCP server: the client's verbs as tools, an execution's record as a resource.

Built on the official MCP SDK's ``MCPServer``. Tools that only read or change records (list,
get, logs, waits, answer, cancel, artifacts) act on the store directly; the ones that run user
code (resume, retry, replay) hand the execution off to a worker or a detached
``kitaru executions resume`` process, so no flow ever runs inside this server. A Kitaru error
becomes a tool error whose text is the CLI's one-line message.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from kitaru_core.client import KitaruClient
from kitaru_core.errors import KitaruError
from kitaru_mcp._handoff import hand_off, hand_off_replay
from kitaru_mcp._models import (
    ArtifactList,
    ArtifactSummary,
    ArtifactValue,
    Deployment,
    Deployments,
    ExecutionList,
    ExecutionRecord,
    ExecutionSummary,
    HandedOff,
    LogLine,
    Logs,
    Wait,
    Waits,
    jsonable,
)

P = ParamSpec("P")
R = TypeVar("R")

INSTRUCTIONS = (
    "Kitaru runs durable Python agent flows. Use these tools to inspect executions (list, get, "
    "logs, artifacts), answer what a waiting execution asks, and steer executions: resume, "
    "retry, replay from an operation with overrides, cancel. Resume, retry and replay start the "
    "work elsewhere and return at once: poll get_execution for the outcome."
)

ExecId = Annotated[str, Field(description="Execution id (kr-...).")]
Status = Literal["queued", "running", "waiting", "completed", "failed", "cancelled"]
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
CHANGES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)


def _tool_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """A KitaruError (what the CLI prints as one red line) becomes a tool error, same text."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except KitaruError as exc:
            raise ToolError(str(exc)) from exc

    return wrapper


def build_server(client: KitaruClient, *, name: str = "kitaru") -> MCPServer:
    """An MCP server over ``client``'s stack (any store, a server's too)."""
    server: MCPServer = MCPServer(name, instructions=INSTRUCTIONS, log_level="WARNING")
    executions, artifacts = client.executions, client.artifacts

    def tool(annotations: ToolAnnotations) -> Callable[[Callable[P, R]], Callable[P, R]]:
        def register(fn: Callable[P, R]) -> Callable[P, R]:
            server.add_tool(_tool_errors(fn), annotations=annotations, structured_output=True)
            return fn

        return register

    @tool(READ_ONLY)
    def list_executions(
        flow: Annotated[str | None, Field(description="Only this flow's executions.")] = None,
        status: Annotated[
            Status | None, Field(description="Only executions in this status.")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=1000, description="At most this many.")] = 50,
    ) -> ExecutionList:
        """List executions, newest first, optionally by flow name and status."""
        found = executions.list(flow=flow, status=status, limit=limit)
        return ExecutionList(executions=[ExecutionSummary.of(e) for e in found])

    @tool(READ_ONLY)
    def get_execution(exec_id: ExecId) -> ExecutionRecord:
        """One execution: status, error, operations (reused or run), tokens, cost, result."""
        return ExecutionRecord.of(executions.get(exec_id))

    @tool(READ_ONLY)
    def execution_logs(
        exec_id: ExecId,
        tail: Annotated[int, Field(ge=1, le=10000, description="Only the last N lines.")] = 200,
    ) -> Logs:
        """Lines the execution printed or logged, oldest first."""
        lines = executions.logs(exec_id)
        shown = lines[-tail:]
        return Logs(
            exec_id=exec_id,
            lines=[LogLine(ts=x.ts, stream=x.stream, line=x.line, op_id=x.op_id) for x in shown],
            truncated=len(shown) < len(lines),
        )

    @tool(READ_ONLY)
    def pending_waits(exec_id: ExecId) -> Waits:
        """What a waiting execution asks: each pending wait's question and answer schema."""
        return Waits(exec_id=exec_id, waits=[Wait.of(w) for w in executions.pending_waits(exec_id)])

    @tool(CHANGES)
    def answer_wait(
        exec_id: ExecId,
        value: Annotated[
            Any, Field(description="The answer, as JSON matching the wait's answer_schema.")
        ],
        wait: Annotated[
            str | None,
            Field(description="The wait's name or id; may be left out when only one is pending."),
        ] = None,
    ) -> Wait:
        """Answer a pending wait. On a worker stack a worker then resumes the execution; on a
        local stack call resume."""
        return Wait.of(executions.input(exec_id, value, wait))

    @tool(CHANGES)
    def resume(exec_id: ExecId) -> HandedOff:
        """Continue a crashed, failed or answered execution; recorded operations are reused."""
        return _handed_off(client, exec_id, "resume")

    @tool(CHANGES)
    def retry(exec_id: ExecId) -> HandedOff:
        """Run a failed execution again from the top; the failed operation runs again."""
        return _handed_off(client, exec_id, "retry")

    @tool(CHANGES)
    def replay(
        exec_id: ExecId,
        from_: Annotated[
            str | None,
            Field(
                description="The checkpoint name or operation id that runs again first; "
                "operations before it are reused.",
            ),
        ] = None,
        overrides: Annotated[
            dict[str, Any] | None,
            Field(
                description="Replacements: 'checkpoint.NAME' for a recorded output, "
                "'wait.NAME' for a wait's answer, 'arg.NAME' for a flow argument."
            ),
        ] = None,
        flow_kwargs: Annotated[
            dict[str, Any] | None, Field(description="Flow arguments to change.")
        ] = None,
    ) -> HandedOff:
        """Start a new execution of the same flow that reuses the source's operations before
        `from_`, with overrides."""
        new_id = hand_off_replay(
            client, exec_id, from_, dict(overrides or {}), dict(flow_kwargs or {})
        )
        status = executions.get(new_id).status
        return HandedOff(
            exec_id=new_id, action="replay", status=status, note=_NOTE.format(exec_id=new_id)
        )

    @tool(READ_ONLY)
    def list_deployments(
        name: Annotated[str | None, Field(description="Only this deployment's versions.")] = None,
    ) -> Deployments:
        """Published flows (`kitaru deploy`): every version and its tags."""
        found = client.deployments.list(name)
        return Deployments(
            deployments=[
                Deployment(
                    name=d.name,
                    version=d.version,
                    flow_ref=d.flow_ref,
                    created_at=d.created_at,
                    tags=list(d.tags),
                )
                for d in found
            ]
        )

    @tool(CHANGES)
    def invoke_deployment(
        name: Annotated[str, Field(description="The deployment (published flow) name.")],
        args: Annotated[
            dict[str, Any] | None, Field(description="The flow's keyword arguments.")
        ] = None,
        tag: Annotated[
            str | None, Field(description="Run the version this tag points at (default tag).")
        ] = None,
        version: Annotated[int | None, Field(description="Run this version instead.")] = None,
    ) -> HandedOff:
        """Start a published flow by name, from its pinned code snapshot; arguments are
        checked against its signature first."""
        exec_id = client.deployments.hand_off_invoke(name, args, tag=tag, version=version)
        status = executions.get(exec_id).status
        return HandedOff(
            exec_id=exec_id, action="invoke", status=status, note=_NOTE.format(exec_id=exec_id)
        )

    @tool(CHANGES)
    def cancel(exec_id: ExecId) -> ExecutionSummary:
        """Cancel an unfinished (queued, running or waiting) execution."""
        return ExecutionSummary.of(executions.cancel(exec_id))

    @tool(READ_ONLY)
    def list_artifacts(
        exec_id: Annotated[str | None, Field(description="Only this execution's.")] = None,
        name: Annotated[str | None, Field(description="Only artifacts of this name.")] = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 100,
    ) -> ArtifactList:
        """Artifacts saved with kitaru.save(), newest first."""
        found = artifacts.list(exec_id=exec_id, name=name, limit=limit)
        return ArtifactList(artifacts=[ArtifactSummary.of(a) for a in found])

    @tool(READ_ONLY)
    def get_artifact(
        artifact_id: Annotated[str, Field(description="Artifact id (ka-...).")],
    ) -> ArtifactValue:
        """One artifact and its value (JSON, or its repr when it has none)."""
        artifact = artifacts.get(artifact_id)
        value, ok = jsonable(artifact.load())
        return ArtifactValue(
            artifact=ArtifactSummary.of(artifact), value=value, value_is_repr=not ok
        )

    @server.resource(
        "kitaru://executions/{exec_id}",
        name="execution",
        description="An execution's record, as `kitaru executions get --json` prints it.",
        mime_type="application/json",
    )
    def execution_resource(exec_id: str) -> str:
        try:
            record = ExecutionRecord.of(executions.get(exec_id)).record
        except KitaruError as exc:
            raise ResourceError(str(exc)) from exc
        return json.dumps(record, default=lambda v: jsonable(v)[0])

    del list_executions, get_execution, execution_logs, pending_waits, answer_wait
    del resume, retry, replay, cancel, list_artifacts, get_artifact, execution_resource
    return server


_NOTE = (
    "Handed off: it runs in a worker or a detached process, not here. Poll "
    "get_execution('{exec_id}') for its outcome."
)


def _handed_off(
    client: KitaruClient, exec_id: str, action: Literal["resume", "retry"]
) -> HandedOff:
    hand_off(client, exec_id, action)
    status = client.executions.get(exec_id).status
    return HandedOff(
        exec_id=exec_id, action=action, status=status, note=_NOTE.format(exec_id=exec_id)
    )
