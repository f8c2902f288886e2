"""``--help`` of every command: flags are listed without a value type after them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from kitaru_core.cli import create_app


def command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The argv prefix of every command and group under ``command`` (Typer's own click)."""
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_paths(sub, (*path, name))


def test_help_shows_no_bool_metavar_after_flags() -> None:
    app = create_app()
    root = typer.main.get_command(app)
    runner = CliRunner()
    listing = runner.invoke(app, ["executions", "list", "--help"], env={"COLUMNS": "120"})
    assert listing.exit_code == 0, listing.output
    assert "--json" in listing.output and "--limit" in listing.output
    assert "<bool>" not in listing.output, listing.output
    assert "<int range>" in listing.output  # options that take a value still show its type
    for path in command_paths(root):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
