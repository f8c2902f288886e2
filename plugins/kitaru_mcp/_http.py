"""``kitaru mcp --http``: the streamable HTTP transport behind a bearer token."""

from __future__ import annotations

import hmac
from typing import Any

from mcp.server.mcpserver import MCPServer
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class BearerToken:
    """ASGI middleware: every HTTP request must send ``Authorization: Bearer TOKEN``.

    Compared in constant time; a missing or wrong token gets 401 and reaches no tool.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: the app's start-up and shut-down
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"authorization", b"")
        if not hmac.compare_digest(sent, self._expected):
            response = JSONResponse(
                {"error": "Missing or wrong token: send `Authorization: Bearer TOKEN` with the "
                 "token `kitaru mcp --http` was started with."},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, token: str, host: str = "127.0.0.1") -> Any:
    """The server's streamable HTTP app (at ``/mcp``) behind :class:`BearerToken`; bound to
    ``host`` (on a loopback address the SDK also refuses other Host headers)."""
    return BearerToken(server.streamable_http_app(host=host), token)


def serve_http(server: MCPServer, *, host: str, port: int, token: str) -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.run(http_app(server, token, host), host=host, port=port, log_level="warning")
