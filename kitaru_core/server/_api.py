"""``/api/...``: every client action over HTTP. User code never runs in a request: resume,
retry and replay are handed off (:mod:`kitaru_core.client._handoff`)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from kitaru_core.client import ArtifactsAPI, Execution, ExecutionsAPI, WaitInfo
from kitaru_core.client._deployments import DeploymentsAPI
from kitaru_core.client._handoff import Action, hand_off, hand_off_replay
from kitaru_core.server._auth import require_caller
from kitaru_core.server._schemas import (
    ERRORS,
    AbortIn,
    Accepted,
    ArtifactOut,
    ArtifactValue,
    DeploymentOut,
    ExecutionOut,
    InputIn,
    InvokeIn,
    LogOut,
    ReplayIn,
    WaitOut,
)
from kitaru_core.store._preview import full

router = APIRouter(prefix="/api", dependencies=[Depends(require_caller)], responses=ERRORS)
ExecId = Annotated[str, "An execution id"]


def executions(request: Request) -> ExecutionsAPI:
    """The server's ``client.executions``."""
    return request.app.state.executions


def artifacts(request: Request) -> ArtifactsAPI:
    """The server's ``client.artifacts``."""
    return request.app.state.artifacts


Executions = Annotated[ExecutionsAPI, Depends(executions)]
Artifacts = Annotated[ArtifactsAPI, Depends(artifacts)]


def execution_out(execution: Execution, *, with_operations: bool) -> dict[str, Any]:
    """An execution as the API shows it (values as previews)."""
    return {
        **execution.to_dict(with_operations=with_operations),
        **execution.value_fields(),
    }


def wait_out(wait: WaitInfo) -> dict[str, Any]:
    """A wait as the API shows it (its answer in JSON form)."""
    data = wait.to_dict()
    data["value"] = full(data["value"]).value
    return data


@router.get("/executions", response_model=list[ExecutionOut], tags=["executions"])
def list_executions(
    api: Executions,
    flow: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    parent: str | None = None,
) -> list[dict[str, Any]]:
    """Executions, newest first, optionally of one flow, in one status, or the children of
    one execution (``parent``)."""
    return [
        execution_out(e, with_operations=False)
        for e in api.list(flow=flow, status=status, limit=limit, parent=parent)
    ]


@router.get("/executions/{exec_id}", response_model=ExecutionOut, tags=["executions"])
def get_execution(exec_id: str, api: Executions) -> dict[str, Any]:
    """One execution with its operations (inputs and outputs previewed)."""
    return execution_out(api.get(exec_id), with_operations=True)


@router.get("/executions/{exec_id}/logs", response_model=list[LogOut], tags=["executions"])
def execution_logs(
    exec_id: str, api: Executions, after: Annotated[int, Query(ge=0)] = 0
) -> list[dict[str, Any]]:
    """Lines the execution printed or logged, and its progress events, oldest first (from
    line number ``after`` on)."""
    return [vars(line) for line in api.logs(exec_id)[after:]]


@router.get("/executions/{exec_id}/lineage", response_model=list[ExecutionOut], tags=["replay"])
def execution_lineage(exec_id: str, api: Executions) -> list[dict[str, Any]]:
    """The execution and those it was replayed from, newest first."""
    return [execution_out(e, with_operations=False) for e in api.lineage(exec_id)]


@router.get("/executions/{exec_id}/waits", response_model=list[WaitOut], tags=["waits"])
def execution_waits(exec_id: str, api: Executions, pending: bool = False) -> list[dict[str, Any]]:
    """Every wait of the execution (or only the pending ones), oldest first."""
    found = api.pending_waits(exec_id) if pending else api.waits(exec_id)
    return [wait_out(w) for w in found]


def _answer(api: ExecutionsAPI, exec_id: str, value: Any, wait: str | None, go: bool) -> WaitInfo:
    answered = api.input(exec_id, value, wait)
    if go and api.get(exec_id).status == "queued":
        hand_off(api._store, api._settings, exec_id, "resume")
    return answered


@router.post("/executions/{exec_id}/input", response_model=WaitOut, tags=["waits"])
def answer_wait(exec_id: str, body: InputIn, api: Executions) -> dict[str, Any]:
    """Answer a pending wait; the value is checked against the wait's schema. With ``resume``
    (the default) the execution is handed off to continue at once."""
    return wait_out(_answer(api, exec_id, body.value, body.wait, body.resume))


@router.post("/executions/{exec_id}/waits/{wait}/answer", response_model=WaitOut, tags=["waits"])
def wait_webhook(
    exec_id: str,
    wait: str,
    api: Executions,
    value: Annotated[Any, Body(description="The answer itself, as JSON.")] = None,
) -> dict[str, Any]:
    """Webhook for another agent or service: the request body is the answer to wait ``wait``
    (name or id); the execution then continues elsewhere."""
    return wait_out(_answer(api, exec_id, value, wait, True))


@router.post("/executions/{exec_id}/abort-wait", response_model=WaitOut, tags=["waits"])
def abort_wait(exec_id: str, body: AbortIn, api: Executions) -> dict[str, Any]:
    """Abort a pending wait: ``kitaru.wait()`` raises ``WaitAborted`` when the flow goes on."""
    return wait_out(api.abort_wait(exec_id, body.wait, body.reason))


def _handed(api: ExecutionsAPI, exec_id: str, action: Action) -> dict[str, Any]:
    hand_off(api._store, api._settings, exec_id, action)
    return {"exec_id": exec_id, "action": action, "status": api.get(exec_id).status}


@router.post(
    "/executions/{exec_id}/resume", status_code=202, response_model=Accepted, tags=["executions"]
)
def resume_execution(exec_id: str, api: Executions) -> dict[str, Any]:
    """Continue a crashed, queued or answered execution (on workers, or a detached process)."""
    return _handed(api, exec_id, "resume")


@router.post(
    "/executions/{exec_id}/retry", status_code=202, response_model=Accepted, tags=["executions"]
)
def retry_execution(exec_id: str, api: Executions) -> dict[str, Any]:
    """Run a failed execution again from the top (on workers, or a detached process)."""
    return _handed(api, exec_id, "retry")


@router.post(
    "/executions/{exec_id}/replay", status_code=202, response_model=Accepted, tags=["replay"]
)
def replay_execution(exec_id: str, body: ReplayIn, api: Executions) -> dict[str, Any]:
    """Start a replay: checked first (422 on bad input), then handed off; the new id."""
    new_id = hand_off_replay(
        api._store, api._settings, exec_id, body.from_, body.overrides, body.flow_kwargs
    )
    return {"exec_id": new_id, "action": "replay", "status": api.get(new_id).status}


@router.post("/executions/{exec_id}/cancel", response_model=ExecutionOut, tags=["executions"])
def cancel_execution(exec_id: str, api: Executions) -> dict[str, Any]:
    """Stop an execution that has not finished."""
    return execution_out(api.cancel(exec_id), with_operations=False)


@router.get("/artifacts", response_model=list[ArtifactOut], tags=["artifacts"])
def list_artifacts(
    api: Artifacts,
    exec_id: str | None = None,
    name: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Artifact versions, newest first."""
    return [a.to_dict() for a in api.list(exec_id=exec_id, name=name, limit=limit)]


@router.get("/artifacts/{artifact_id}", response_model=ArtifactOut, tags=["artifacts"])
def get_artifact(artifact_id: str, api: Artifacts) -> dict[str, Any]:
    """One artifact version."""
    return api.get(artifact_id).to_dict()


@router.get("/artifacts/{artifact_id}/value", response_model=ArtifactValue, tags=["artifacts"])
def artifact_value(artifact_id: str, api: Artifacts) -> dict[str, Any]:
    """An artifact's value in its JSON form."""
    shown = full(api.get(artifact_id).load())
    return {"artifact_id": artifact_id, "value": shown.value, "is_repr": shown.is_repr}


def deployments(request: Request) -> DeploymentsAPI:
    """The server's ``client.deployments``."""
    return request.app.state.deployments


Deployments = Annotated[DeploymentsAPI, Depends(deployments)]


@router.get("/deployments", response_model=list[DeploymentOut], tags=["deployments"])
def list_deployments(api: Deployments, name: str | None = None) -> list[dict[str, Any]]:
    """Deployed versions (of one flow name), each with its tags; newest version first."""
    return [dataclasses.asdict(record) for record in api.list(name)]


@router.post(
    "/deployments/{name}/invoke",
    status_code=202,
    response_model=Accepted,
    tags=["deployments"],
)
def invoke_deployment(name: str, body: InvokeIn, api: Deployments) -> dict[str, Any]:
    """Start the version of deployment ``name`` that ``tag`` or ``version`` selects (its
    ``default`` tag otherwise): its arguments are checked first (422), then it is queued for
    the workers or run by a detached process; the new execution's id at once."""
    exec_id = api.hand_off_invoke(name, body.args, tag=body.tag, version=body.version)
    status = api._store.get_execution(exec_id).status
    return {"exec_id": exec_id, "action": "invoke", "status": status}
