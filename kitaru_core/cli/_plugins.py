"""``kitaru plugins``: every plugin with its hooks, and what to install for missing extras."""

from __future__ import annotations

import typer

from kitaru_core.cli._common import JsonFlag
from kitaru_core.cli._output import console, plain, print_json, table
from kitaru_core.plugins import list_plugins


def register(app: typer.Typer) -> None:
    """Add the ``plugins`` command to the root app."""
    app.command("plugins")(plugins_command)


def plugins_command(as_json: JsonFlag = False) -> None:
    """Every plugin found (built-in and entry points), its hooks, and install hints."""
    plugins = list_plugins()
    if as_json:
        print_json(
            [
                {
                    "name": info.name,
                    "module": info.module,
                    "source": info.source,
                    "hooks": info.hooks,
                    "extra": info.extra,
                    "missing": info.missing,
                    "install_hint": info.install_hint,
                    "error": info.error,
                }
                for info in plugins
            ]
        )
        return
    rows = table("NAME", "SOURCE", "HOOKS", "STATUS")
    for info in plugins:
        if info.error:
            state = plain(f"failed to load: {info.error}", "red")
        elif info.missing:
            hint = f": {info.install_hint}" if info.install_hint else ""
            state = plain(f"needs {', '.join(info.missing)}{hint}", "yellow")
        else:
            state = plain("ok", "green")
        rows.add_row(
            plain(info.name), plain(info.source), plain(", ".join(info.hooks) or None), state
        )
    console().print(rows)
