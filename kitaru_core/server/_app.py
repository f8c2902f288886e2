"""The FastAPI application: the REST API, the store protocol, streams and the dashboard."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from kitaru_core._config import Settings
from kitaru_core.client import ArtifactsAPI, ExecutionsAPI
from kitaru_core.client._deployments import DeploymentsAPI
from kitaru_core.errors import KitaruError
from kitaru_core.server._auth import Sessions
from kitaru_core.server._errors import status_of
from kitaru_core.server._schemas import Health
from kitaru_core.store._store import Store

log = logging.getLogger("kitaru.server")


def server_version() -> str:
    """The installed Kitaru version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kitaru")
    except PackageNotFoundError:
        return "unknown"


def create_app(store: Store, settings: Settings, *, auth: bool = True) -> FastAPI:
    """The server over ``store`` (the stack of ``settings``); ``auth=False`` only for loopback
    (checked by :func:`kitaru_core.server._serve.serve`)."""
    from kitaru_core.server import _api, _pages, _store_api, _streams

    app = FastAPI(
        title="Kitaru server",
        version=server_version(),
        description=(
            "Durable executions of Kitaru flows: read them, answer their waits, resume, retry, "
            "replay and cancel them. Every /api path needs `Authorization: Bearer TOKEN` (a "
            "token from `kitaru server token create`)."
        ),
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.store = store
    app.state.settings = settings
    app.state.auth = auth
    app.state.sessions = Sessions()
    app.state.executions = ExecutionsAPI(store, settings)
    app.state.artifacts = ArtifactsAPI(store, settings)
    app.state.deployments = DeploymentsAPI(store, settings)

    @app.exception_handler(KitaruError)
    async def kitaru_error(request: Request, exc: KitaruError) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "type": type(exc).__name__}, status_code=status_of(exc)
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return JSONResponse({"detail": problems or "Invalid request."}, status_code=422)

    @app.get("/health", response_model=Health, tags=["server"])
    def health() -> dict[str, Any]:
        """The server answers (no token needed)."""
        return {"status": "ok", "version": server_version()}

    app.include_router(_api.router)
    app.include_router(_streams.router)
    app.include_router(_store_api.router)
    app.include_router(_pages.router)
    _pages.mount_static(app)
    return app
