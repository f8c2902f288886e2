"""``/api/executions/{id}/events``: an execution's log lines and progress events as
server-sent events, live until it stops (finishes or waits)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from kitaru_core.client import ExecutionsAPI
from kitaru_core.server._auth import require_caller
from kitaru_core.server._schemas import ERRORS
from kitaru_core.store._records import FINISHED_STATUSES

router = APIRouter(prefix="/api", dependencies=[Depends(require_caller)], responses=ERRORS)
POLL_SECONDS = 0.25
STOPPED = FINISHED_STATUSES | {"waiting"}
EVENT_SCHEMA = {
    "type": "object",
    "description": "One server-sent event; `data` is JSON (a log line, a status, or the end).",
    "properties": {
        "event": {"type": "string", "enum": ["log", "progress", "status", "end"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string"},
    },
    "required": ["event", "data"],
}


def _event(name: str, data: object, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n"


async def follow(
    api: ExecutionsAPI, exec_id: str, after: int, request: Request
) -> AsyncIterator[str]:
    """Events for the lines of ``exec_id`` from number ``after`` on, then ``end`` with its
    status once it has stopped and every line was sent."""
    seen = after
    last_status = None
    while not await request.is_disconnected():
        status = (await run_in_threadpool(api.get, exec_id)).status
        lines = await run_in_threadpool(api.logs, exec_id)
        for line in lines[seen:]:
            seen += 1
            yield _event("progress" if line.stream == "progress" else "log", vars(line), seen)
        if status != last_status:
            last_status = status
            yield _event("status", {"exec_id": exec_id, "status": status})
        if status in STOPPED:
            yield _event("end", {"exec_id": exec_id, "status": status})
            return
        await asyncio.sleep(POLL_SECONDS)


@router.get(
    "/executions/{exec_id}/events",
    tags=["executions"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": EVENT_SCHEMA}}}},
)
async def execution_events(
    exec_id: str, request: Request, after: Annotated[int, Query(ge=0)] = 0
) -> StreamingResponse:
    """Server-sent events: ``log`` and ``progress`` (a line, with its number as the event id),
    ``status`` when the status changes, ``end`` once the execution stopped."""
    api: ExecutionsAPI = request.app.state.executions
    await run_in_threadpool(api.get, exec_id)  # 404 before the stream starts
    return StreamingResponse(
        follow(api, exec_id, after, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
