"""``kitaru mcp``: serve the MCP tools over stdio, or over streamable HTTP with a token."""

from __future__ import annotations

import importlib.util
from typing import Annotated

import typer

from kitaru_core.errors import ConfigurationError, MissingExtraError

TOKEN_ENV = "KITARU_MCP_TOKEN"


def mcp_command(
    stack: Annotated[
        str | None, typer.Option("--stack", help="Serve this stack (default: the active one).")
    ] = None,
    http: Annotated[
        bool,
        typer.Option("--http", help="Serve streamable HTTP instead of stdio (needs a token)."),
    ] = False,
    host: Annotated[str, typer.Option("--host", help="HTTP: the address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="HTTP: the port.")] = 8390,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar=TOKEN_ENV,
            help=f"HTTP: the bearer token clients must send (or set {TOKEN_ENV}).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve Kitaru's executions, waits and artifacts to MCP clients (Claude Code, Cursor, ...).

    Over stdio (the default) the server acts with your own access to the stack. Resume, retry
    and replay are handed to a worker or a detached process; no flow runs in this server.
    """
    if importlib.util.find_spec("mcp") is None:
        raise MissingExtraError("mcp", "mcp")
    if http and not token:
        raise ConfigurationError(
            f"`kitaru mcp --http` needs a token: pass --token or set {TOKEN_ENV}. Clients then "
            "send it as `Authorization: Bearer TOKEN`."
        )
    from kitaru_core.client import KitaruClient
    from kitaru_mcp._server import build_server

    server = build_server(KitaruClient(stack))
    if not http:
        server.run("stdio")
        return
    from kitaru_mcp._http import serve_http

    assert token is not None
    serve_http(server, host=host, port=port, token=token)
