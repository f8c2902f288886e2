"""Hook implementations of the MCP plugin: the ``kitaru mcp`` command (imports no MCP SDK)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kitaru_core.hookspecs import hookimpl

if TYPE_CHECKING:
    import typer

EXTRA = "mcp"
REQUIRES = ("mcp",)


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    """Add ``kitaru mcp``."""
    from kitaru_mcp._command import mcp_command

    cli.command("mcp")(mcp_command)
