"""``/api/store/...`` and ``/api/blobs/...``: the protocol of the HTTP store backend
(:mod:`kitaru_core.store._http_store`), so a client runs flows with no database or storage
credentials. Internal to Kitaru clients: left out of the OpenAPI description."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from kitaru_core.errors import KitaruError
from kitaru_core.server._auth import require_caller
from kitaru_core.server._errors import status_of
from kitaru_core.store._backends import open_blob_store
from kitaru_core.store._wire import STORE_METHODS, WireError, decode, encode, encode_error

router = APIRouter(prefix="/api", dependencies=[Depends(require_caller)], include_in_schema=False)
DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _error(exc: KitaruError) -> JSONResponse:
    return JSONResponse({"error": encode_error(exc)}, status_code=status_of(exc))


@router.post("/store/{method}")
async def store_call(method: str, request: Request) -> Any:
    """Call one store method of the server's store with wire-encoded arguments."""
    if method not in STORE_METHODS:
        raise HTTPException(404, detail=f"No store method {method!r}.")
    try:
        body = await request.json()
        args = decode(body.get("args", []))
        kwargs = decode(body.get("kwargs", {"$d": {}}))
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise WireError("args must be a list and kwargs an object")
    except (ValueError, AttributeError) as exc:
        raise HTTPException(422, detail=f"Malformed store call: {exc}") from exc
    store = request.app.state.store
    from starlette.concurrency import run_in_threadpool

    try:
        result = await run_in_threadpool(getattr(store, method), *args, **kwargs)
    except KitaruError as exc:
        return _error(exc)
    except TypeError as exc:
        raise HTTPException(422, detail=f"Bad arguments for {method}: {exc}") from exc
    return {"result": encode(result)}


def _blobs(request: Request) -> Any:
    return open_blob_store(request.app.state.settings.stack.artifact_url)


@router.put("/blobs")
async def put_blob(request: Request) -> Any:
    """Store the request body as a blob; its SHA-256 digest."""
    from starlette.concurrency import run_in_threadpool

    data = await request.body()
    try:
        return {"digest": await run_in_threadpool(_blobs(request).put, data)}
    except KitaruError as exc:
        return _error(exc)


@router.get("/blobs/{digest}")
def get_blob(digest: str, request: Request) -> Response:
    """A blob's bytes."""
    if not DIGEST.match(digest):
        raise HTTPException(422, detail="A blob digest is 64 lowercase hex characters.")
    try:
        return Response(_blobs(request).get(digest), media_type="application/octet-stream")
    except KitaruError as exc:
        return _error(exc)


@router.get("/blobs/{digest}/size")
def blob_size(digest: str, request: Request) -> Any:
    """A blob's size in bytes."""
    if not DIGEST.match(digest):
        raise HTTPException(422, detail="A blob digest is 64 lowercase hex characters.")
    blobs = _blobs(request)
    try:
        size = blobs.size(digest) if hasattr(blobs, "size") else len(blobs.get(digest))
    except KitaruError as exc:
        return _error(exc)
    return {"size": size}
